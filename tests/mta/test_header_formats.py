"""The trace and list headers the lab writes, read as their RFCs define them.

Every message here travels through a real Lab; the assertions read the stored bytes.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re

import authres
import authres.arc
import authres.dmarc
import pytest

import labkit.mta
from labkit.auth import results
from labkit.mta import default_password, make_message
from labkit.mta.sender import dkim_sign

TARO = "taro@isp.example"
LIST = "lab-list@lists.example.org"


def _msg(frm, to, subject, **kw):
    return make_message(from_=frm, to=to, subject=subject, body="hello\n", **kw)


def _stored(lab, address, marker: str) -> bytes:
    """The one stored message of ``address`` (any folder) that contains ``marker``."""
    box = lab.mailbox(address)
    (raw,) = [m for f in ("INBOX", "Junk") for m in box.messages(f) if marker.encode() in m]
    return raw


def _fields(raw: bytes, name: str) -> list[str]:
    """The (unfolded) values of every ``name`` field in the header of ``raw``."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    return [" ".join(str(v).split()) for v in msg.get_all(name, [])]


def _via_list(lab, sender: str, subject: str, marker: str, **kw) -> bytes:
    """Send a DKIM-signed mail from brand.example's server to the lab list; return the copy
    bob@corp.example (a member) received: the one that contains ``marker``."""
    res = lab.send(_msg(sender, LIST, subject, **kw), from_host="mail.brand.example", dkim=True)
    assert res.status == "sent", res
    return _stored(lab, "bob@corp.example", marker)


def _header_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


_RECEIVED = re.compile(
    r"^from (\S+) \((\S+) \[([0-9a-f.:]+)\]\)(?: \(Authenticated sender: \S+\))?"
    r" by (\S+) \(labkit\) with (SMTP|ESMTP|ESMTPS|ESMTPA|ESMTPSA) id (\w+)"
    r"(?: for <([^>]+)>)?; (.+)$")


def _received(raw: bytes) -> list[re.Match]:
    found = [_RECEIVED.match(v) for v in _fields(raw, "Received")]
    assert all(found), _fields(raw, "Received")
    return found


def test_received_after_helo_says_smtp_and_dates_carry_a_zone(lab, dialogue):
    # RFC 3848 / RFC 5321 4.4: "SMTP" after HELO, "ESMTP" after EHLO; RFC 5322 3.3:
    # "-0000" means "zone unknown", so the date must say +0000
    for greeting, proto in (("HELO", "SMTP"), ("EHLO", "ESMTP")):
        d = dialogue("192.0.2.10")
        assert d.cmd(f"{greeting} mail.brand.example").startswith("250")
        assert d.cmd("MAIL FROM:<news@brand.example>").startswith("250")
        assert d.cmd("RCPT TO:<bob@corp.example>").startswith("250")
        assert d.cmd("DATA").startswith("354")
        tag = f"hdr-helo-{greeting}"
        reply = d.cmd(_msg("news@brand.example", "bob@corp.example", tag).decode() + ".")
        assert reply.startswith("250"), reply
        d.cmd("QUIT")
        raw = _stored(lab, "bob@corp.example", tag)
        top = _received(raw)[0]
        assert top.group(5) == proto and top.group(7) == "bob@corp.example"
        when = email.utils.parsedate_to_datetime(top.group(8))
        assert when.tzinfo is not None and when.utcoffset().total_seconds() == 0
        (date,) = _fields(raw, "Date")
        assert email.utils.parsedate_to_datetime(date).tzinfo is not None


def test_submission_received_says_esmtpsa_and_lines_fold(lab):
    res = lab.submit(_msg(TARO, "bob@corp.example", "hdr-submit"), user=TARO,
                     password=default_password(TARO))
    assert res.status == "sent"
    raw = _stored(lab, "bob@corp.example", "hdr-submit")
    protos = [m.group(5) for m in _received(raw)]
    assert protos == ["ESMTP", "ESMTPSA"]  # the MX hop, then STARTTLS + AUTH on 587
    for line in _header_lines(raw):
        assert len(line) <= 998
    assert all(line[:1] in (b" ", b"\t") or b":" in line for line in _header_lines(raw))


# RFC 8601 section 2.2, simplified to what a strict reader accepts (no comments)
_TOKEN = r"[^\s()<>@,;:\\\"/\[\]?=]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PVALUE = rf"(?:{_QUOTED}|[^\s;\"()]+)"
_RESINFO = re.compile(
    rf"^(?P<method>{_TOKEN})=(?P<result>{_TOKEN})(?: reason={_QUOTED})?"
    rf"(?P<props>(?: (?:smtp|header|body|policy)\.{_TOKEN}={_PVALUE})*)$")


def _resinfos(value: str) -> tuple[str, list[re.Match]]:
    """(authserv-id, one match per resinfo) of an unfolded Authentication-Results value."""
    parts, cur, quoted, esc = [], "", False, False
    for ch in value:
        if esc:
            esc = False
        elif ch == "\\":
            esc = quoted
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += ch
    parts.append(cur.strip())
    found = [_RESINFO.match(p) for p in parts[1:]]
    assert all(found), [p for p, m in zip(parts[1:], found, strict=True) if not m]
    return parts[0], found


def test_authentication_results_carry_header_b_and_the_arc_properties(lab):
    raw = _via_list(lab, "news@brand.example", "hdr-ar", "hdr-ar")
    (signature,) = _fields(raw, "DKIM-Signature")
    b_tag = re.search(r"\bb=([^;]+)", signature).group(1).replace(" ", "")
    (ar,) = [v for v in _fields(raw, "Authentication-Results") if v.startswith("mx.corp.example;")]
    serv, infos = _resinfos(ar)
    assert serv == "mx.corp.example"
    props = {m.group("method"): m.group("props") for m in infos}
    # RFC 6008 2: header.b names the signature (its first characters)
    assert re.search(r'header\.b="?([^"\s]+)"?', props["dkim"]).group(1) == b_tag[:8]
    # RFC 8617 6: arc= with smtp.remote-ip (the list's address) and header.oldest-pass
    assert "smtp.remote-ip=198.51.100.50" in props["arc"]
    assert "header.oldest-pass=0" in props["arc"]  # 0: every AMS verifies (RFC 8617 5.2)
    # both parsers read the same
    ctx = authres.FeatureContext(authres.dmarc, authres.arc)
    other = ctx.parse("Authentication-Results: " + ar)
    ours = results.parse_authentication_results(ar)
    assert [(r.method, r.result) for r in other.results] == [(r.method, r.result) for r in ours.results]
    (arc_res,) = [r for r in other.results if r.method == "arc"]
    assert arc_res.smtp_remote_ip == "198.51.100.50" and arc_res.header_oldest_pass == "0"


def test_a_long_authentication_results_is_folded_between_results(lab):
    # four signatures whose body hash no longer matches: four long dkim=fail reasons
    raw = _msg("news@brand.example", "bob@corp.example", "hdr-fold")
    for _ in range(4):
        raw = dkim_sign(raw, "brand.example")
    raw = raw.replace(b"hello\r\n", b"hello, changed\r\n")
    res = lab.send(raw, from_host="mail.brand.example")
    assert res.status == "sent", res
    stored = _stored(lab, "bob@corp.example", "hdr-fold")
    assert all(len(line) <= 998 for line in _header_lines(stored))
    (ar,) = [v for v in _fields(stored, "Authentication-Results") if v.startswith("mx.corp.example;")]
    _, infos = _resinfos(ar)
    assert [m.group("method") for m in infos].count("dkim") == 4


def test_list_tags_a_reply_once_and_writes_rfc_2369_and_2919_fields(lab):
    raw = _via_list(lab, "news@brand.example", "Re: [lab-list] hdr-list-reply", "hdr-list-reply",
                    headers={"List-Id": "<other.lists.example.net>"})
    (subject,) = _fields(raw, "Subject")
    assert subject == "[lab-list] Re: hdr-list-reply"
    assert _fields(raw, "List-Id") == ["<lab-list.lists.example.org>"]  # RFC 2919: one
    assert _fields(raw, "List-Post") == [f"<mailto:{LIST}>"]
    (unsub,) = _fields(raw, "List-Unsubscribe")
    assert re.fullmatch(r"<[a-z]+:[^<>\s]+>(, <[a-z]+:[^<>\s]+>)*", unsub)
    # the ARC set this list added: AS with i a cv d s t b only; AAR starts with i=1; authserv-id
    (seal,) = _fields(raw, "ARC-Seal")
    tags = [t.split("=", 1)[0].strip() for t in seal.split(";") if t.strip()]
    assert sorted(tags) == sorted(["i", "cv", "a", "d", "s", "t", "b"])
    (aar,) = _fields(raw, "ARC-Authentication-Results")
    assert aar.startswith("i=1; mail.lists.example.org;")


@pytest.fixture(scope="module")
def rewriting_lab(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, list_from_rewrite=True, scorer=None) as running:
        yield running


def test_from_rewrite_quotes_the_name_and_keeps_one_reply_to(rewriting_lab):
    lab = rewriting_lab
    raw = _via_list(lab, '"Ann \\"A\\" Author" <news@brand.example>', "hdr-rewrite", "hdr-rewrite",
                    headers={"Reply-To": "desk@brand.example"})
    (frm,) = _fields(raw, "From")
    assert email.utils.getaddresses([frm]) == [('Ann "A" Author via lab-list', LIST)]
    (reply_to,) = _fields(raw, "Reply-To")  # RFC 5322 3.6: at most one Reply-To
    addrs = [a for _, a in email.utils.getaddresses([reply_to])]
    assert addrs == ["desk@brand.example", "news@brand.example"]


@pytest.mark.parametrize(("from_host", "name"), [
    ("mail.brand.example", "mail.brand.example"),  # PTR and A agree
    ("203.0.113.77", "unknown"),                   # PTR mail.mismatch.example, whose A is .78
    ("203.0.113.99", "unknown"),                   # no PTR at all
])
def test_a_relaying_hop_names_its_client_only_when_the_reverse_name_is_confirmed(lab, from_host,
                                                                                   name):
    # Like Postfix: "(name [address])" carries the forward-confirmed name, else "unknown".
    # The expected names come from the zone files (data/zones/CAST.md), not from the code.
    tag = f"hdr-fwd-rdns-{from_host}"
    res = lab.send(_msg("someone@nospf.example", "alice@fwd.example.net", tag), from_host=from_host)
    assert res.status == "sent", res
    raw = _stored(lab, "alice@corp.example", tag)
    mx_hop, fwd_hop = _received(raw)[:2]
    assert fwd_hop.group(4) == "mx.fwd.example.net"
    assert (fwd_hop.group(2), fwd_hop.group(3)) == (name, lab.hosts.resolve(from_host).address)
    assert mx_hop.group(2) == "mx.fwd.example.net"  # the MX's own line: the forwarder's name


def test_the_list_and_submission_hops_name_their_clients(lab):
    raw = _via_list(lab, "news@brand.example", "hdr-list-rdns", "hdr-list-rdns")
    list_hop = _received(raw)[1]
    assert list_hop.group(4) == "mail.lists.example.org"
    assert (list_hop.group(2), list_hop.group(3)) == ("mail.brand.example", "192.0.2.10")

    res = lab.submit(_msg(TARO, "bob@corp.example", "hdr-submit-rdns"), user=TARO,
                     password=default_password(TARO))
    assert res.status == "sent"
    raw = _stored(lab, "bob@corp.example", "hdr-submit-rdns")
    sub_hop = _received(raw)[1]
    assert sub_hop.group(4) == "smtp.isp.example"
    # taro's PC sits in the ISP's pool: a generic name, but one that points back
    ip = sub_hop.group(3)
    assert sub_hop.group(2) == "dyn-" + ip.replace(".", "-") + ".pool.isp.example", sub_hop.group(0)


@pytest.mark.parametrize(("from_host", "name"), [
    ("mail.brand.example", "mail.brand.example"),
    ("203.0.113.77", "unknown"),  # the PTR exists but does not point back: logged, not trusted
])
def test_the_mx_writes_only_a_confirmed_name_and_logs_the_ptr(lab, from_host, name):
    tag = f"hdr-mx-rdns-{from_host}"
    res = lab.send(_msg("someone@nospf.example", "alice@corp.example", tag), from_host=from_host)
    assert res.status == "sent", res
    top = _received(_stored(lab, "alice@corp.example", tag))[0]
    ip = lab.hosts.resolve(from_host).address
    assert (top.group(2), top.group(3), top.group(4)) == (name, ip, "mx.corp.example")
    (logged,) = [e for e in lab.events.entries(host="mx.corp.example", event="fcrdns")
                 if e["client"] == ip][-1:]
    assert logged["ptr"] == ("mail.brand.example" if name != "unknown" else "mail.mismatch.example")
