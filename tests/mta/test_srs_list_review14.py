"""Review of the forwarder's SRS and the mailing list against their specifications.

SRS: Shevek's paper and libsrs2 (as used by Postfix's postsrsd): SRS0 for a first hop,
SRS1 when an SRS0 address is forwarded again, a day stamp checked on the way back (21
days by default), the hash compared without regard to case.  The list: RFC 2369 and
RFC 2919 fields, its own bounce address as envelope sender (RFC 5321 3.10), the From
rewrite of RFC 7960 4.1.3, and a subject tag that survives RFC 2047 encoded words.
Each test sends mail through the running lab and reads the final mailbox or verdict.
"""

from __future__ import annotations

import email
import email.policy
import warnings
from email.header import Header

import pytest

import labkit.mta
from labkit.mta import make_message
from labkit.mta.forwarder import srs_forward, srs_reverse

DAY = 86400


def _msg(frm, to, subject, body="hello\n"):
    return make_message(from_=frm, to=to, subject=subject, body=body)


def _with_raw_subject(data: bytes, subject: bytes) -> bytes:
    """``data`` with its Subject line replaced by ``subject`` exactly as given
    (make_message would encode an encoded word a second time)."""
    lines = data.split(b"\r\n")
    i = next(n for n, line in enumerate(lines) if line.lower().startswith(b"subject:"))
    end = i + 1
    while lines[end][:1] in (b" ", b"\t"):
        end += 1
    return b"\r\n".join(lines[:i] + [b"Subject: " + subject] + lines[end:])


def _by_subject(lab, rcpt, text):
    """Copies in ``rcpt``'s mailbox whose decoded Subject contains ``text``."""
    return [m for f in ("INBOX", "Junk") for m in lab.mailbox(rcpt).messages(f)
            if text in str(email.message_from_bytes(m, policy=email.policy.default)["Subject"])]


@pytest.fixture(scope="module")
def srs_lab(lab_dns):
    """A lab whose forwarder rewrites envelope senders (SRS) and whose list rewrites From."""
    with labkit.mta.Lab(dns=lab_dns, srs=True, list_from_rewrite=True, scorer=None) as lab:
        yield lab


def _delivered(lab, rcpt, marker: bytes):
    return [m for f in ("INBOX", "Junk") for m in lab.mailbox(rcpt).messages(f) if marker in m]


def _secret(lab):
    return lab.handler("mx.fwd.example.net").secret


# --- SRS ------------------------------------------------------------------------------

def test_srs0_shape_hash_any_case_and_equals_in_local_part():
    now = 1_790_000_000
    addr = srs_forward("a=b@isp.example", "fwd.example.net", b"k", now)
    local, _, domain = addr.partition("@")
    tag, h, stamp, orig_domain, orig_local = local.split("=", 4)
    assert (tag, len(h), len(stamp), orig_domain, orig_local, domain) == (
        "SRS0", 4, 2, "isp.example", "a=b", "fwd.example.net")
    assert srs_reverse(addr, b"k", now=now) == "a=b@isp.example"
    lowered = f"SRS0={h.lower()}={stamp.lower()}={orig_domain}={orig_local}@{domain}"
    assert srs_reverse(lowered, b"k", now=now) == "a=b@isp.example"
    assert srs_reverse(addr, b"other", now=now) is None


def test_srs_stamp_expires_after_21_days_and_bad_stamps_are_refused():
    made = 1_790_000_000
    addr = srs_forward("taro@isp.example", "fwd.example.net", b"k", made)
    assert srs_reverse(addr, b"k", now=made + 21 * DAY) == "taro@isp.example"
    assert srs_reverse(addr, b"k", now=made + 22 * DAY) is None
    local, _, domain = addr.partition("@")
    parts = local.split("=")
    parts[2] = "1!"  # not base32
    assert srs_reverse("=".join(parts) + "@" + domain, b"k", now=made) is None


def test_expired_srs_bounce_is_refused_by_the_forwarder(srs_lab):
    old = srs_forward("taro@isp.example", "fwd.example.net", _secret(srs_lab),
                      srs_lab.clock.now() - 30 * DAY)
    res = srs_lab.send(_msg("MAILER-DAEMON@mx.corp.example", old, "expired srs bounce"),
                       from_host="mx.corp.example", mail_from="")
    assert res.code == 550
    assert not _delivered(srs_lab, "taro@isp.example", b"expired srs bounce")
    fresh = srs_forward("taro@isp.example", "fwd.example.net", _secret(srs_lab),
                        srs_lab.clock.now())
    res = srs_lab.send(_msg("MAILER-DAEMON@mx.corp.example", fresh, "fresh srs bounce"),
                       from_host="mx.corp.example", mail_from="")
    assert res.status == "sent"
    assert len(_delivered(srs_lab, "taro@isp.example", b"fresh srs bounce")) == 1


def test_reforwarding_an_srs0_address_gives_srs1_that_reverses_to_it():
    now = 1_790_000_000
    first = srs_forward("taro@isp.example", "fwd1.example", b"one", now)
    second = srs_forward(first, "fwd.example.net", b"two", now)
    assert second.startswith("SRS1=") and second.endswith("@fwd.example.net")
    assert "fwd1.example" in second and second.count("SRS") == 1
    # a third hop keeps the first forwarder's domain and stays the same length class
    third = srs_forward(second, "fwd3.example", b"three", now)
    assert third.startswith("SRS1=") and third.endswith("@fwd3.example")
    assert third.partition("@")[0].split("=", 2)[2] == second.partition("@")[0].split("=", 2)[2]
    # the bounce goes back to the first forwarder, which reverses its own SRS0
    assert srs_reverse(second, b"two", now=now) == first
    assert srs_reverse(first, b"one", now=now) == "taro@isp.example"
    forged = second.replace("fwd1.example", "evil.example")
    assert srs_reverse(forged, b"two", now=now) is None


def test_forwarder_rewrites_a_forwarded_srs0_sender_as_srs1(srs_lab):
    first = srs_forward("taro@isp.example", "fwd1.example", b"one", srs_lab.clock.now())
    res = srs_lab.send(_msg("taro@isp.example", "alice@fwd.example.net", "srs1 hop"),
                       from_host="mail.isp.example", mail_from=first)
    assert res.status == "sent"
    envelope = srs_lab.verdicts(res.message_id)[-1]["mail_from"]
    assert envelope.startswith("SRS1=") and envelope.endswith("@fwd.example.net")
    assert srs_reverse(envelope, _secret(srs_lab), now=srs_lab.clock.now()) == first


def test_null_sender_is_forwarded_without_rewriting(srs_lab):
    res = srs_lab.send(_msg("MAILER-DAEMON@mx.corp.example", "alice@fwd.example.net",
                            "null sender fwd"), from_host="mx.corp.example", mail_from="")
    assert res.status == "sent"
    assert srs_lab.verdicts(res.message_id)[-1]["mail_from"] in ("", "<>")


# --- the mailing list -----------------------------------------------------------------

def _list_copy(lab, marker: bytes):
    found = _delivered(lab, "bob@corp.example", marker)
    assert len(found) == 1
    return found[0]


def test_list_fields_are_single_and_bracketed(srs_lab):
    data = _msg("taro@isp.example", "lab-list@lists.example.org", "list fields")
    data = b"List-Id: other <other.lists.example.net>\r\nList-Post: NO\r\n" + data
    res = srs_lab.send(data, from_host="mail.isp.example")
    assert res.status == "sent"
    raw = _list_copy(srs_lab, b"list fields")
    msg = email.message_from_bytes(raw)
    assert msg.get_all("List-Id") == ["<lab-list.lists.example.org>"]
    assert msg.get_all("List-Post") == ["<mailto:lab-list@lists.example.org>"]
    assert msg.get_all("List-Unsubscribe") == ["<https://lists.example.org/lab-list>"]
    assert srs_lab.verdicts(res.message_id)[-1]["mail_from"] == "lab-list-bounces@lists.example.org"


def test_bounces_to_the_list_envelope_sender_are_accepted_by_the_list(srs_lab):
    res = srs_lab.send(_msg("MAILER-DAEMON@mx.corp.example", "lab-list-bounces@lists.example.org",
                            "bounce for the list"), from_host="mx.corp.example", mail_from="")
    assert res.status == "sent", res
    # no account has this address, but the list keeps its mail: lab.mailbox must not
    # warn "no mail is ever delivered there" (turned into an error here)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        kept = srs_lab.mailbox("lab-list-bounces@lists.example.org").messages()
    assert len([m for m in kept if b"bounce for the list" in m]) == 1


def test_from_rewrite_moves_author_to_reply_to_with_via_name(srs_lab):
    srs_lab.send(_msg("Taro Yamada <taro@isp.example>", "lab-list@lists.example.org",
                      "via plain"), from_host="mail.isp.example")
    msg = email.message_from_bytes(_list_copy(srs_lab, b"via plain"), policy=email.policy.default)
    assert msg["From"].addresses[0].display_name == "Taro Yamada via lab-list"
    assert msg["From"].addresses[0].addr_spec == "lab-list@lists.example.org"
    assert [a.addr_spec for a in msg["Reply-To"].addresses] == ["taro@isp.example"]


def test_from_rewrite_keeps_an_encoded_name_readable(srs_lab):
    name = Header("山田太郎", "utf-8").encode()
    srs_lab.send(_msg(f"{name} <taro@isp.example>", "lab-list@lists.example.org",
                      "via encoded"), from_host="mail.isp.example")
    raw = _list_copy(srs_lab, b"via encoded")
    # RFC 2047 section 5: an encoded word is not decoded inside a quoted string
    assert b'"=?' not in raw.split(b"\r\n\r\n")[0]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["From"].addresses[0].display_name == "山田太郎 via lab-list"
    assert msg["From"].addresses[0].addr_spec == "lab-list@lists.example.org"


@pytest.mark.parametrize("bad", ["<<<", ";;;", "\"unterminated <x@isp.example"])
def test_from_rewrite_of_an_unparsable_from_raises_nothing(bad):
    data = (f"From: {bad}\r\nTo: lab-list@lists.example.org\r\nSubject: s\r\n\r\nbody\r\n"
            ).encode()
    out = labkit.mta.mailinglist.edit_message(data, list_address="l@lists.example.org",
                                              tag="l", footer="f", from_rewrite=True)
    msg = email.message_from_bytes(out, policy=email.policy.default)
    assert msg["From"].addresses[0].addr_spec == "l@lists.example.org"


def test_reply_subject_tag_not_doubled(srs_lab):
    srs_lab.send(_msg("taro@isp.example", "lab-list@lists.example.org",
                      "Re: [lab-list] plain reply"), from_host="mail.isp.example")
    msg = email.message_from_bytes(_list_copy(srs_lab, b"plain reply"))
    assert msg["Subject"] == "[lab-list] Re: plain reply"


def test_encoded_subject_is_tagged_without_breaking_it(srs_lab):
    subject = Header("日本語の件名 one", "utf-8").encode().encode()
    data = _with_raw_subject(_msg("taro@isp.example", "lab-list@lists.example.org", "x"),
                             subject)
    assert srs_lab.send(data, from_host="mail.isp.example").status == "sent"
    copies = _by_subject(srs_lab, "bob@corp.example", "件名 one")
    assert len(copies) == 1
    assert b"Subject: [lab-list] " + subject in copies[0]
    msg = email.message_from_bytes(copies[0], policy=email.policy.default)
    assert str(msg["Subject"]) == "[lab-list] 日本語の件名 one"


def test_encoded_reply_subject_carrying_the_tag_is_not_doubled(srs_lab):
    subject = Header("Re: [lab-list] 日本語の件名 two", "utf-8").encode().encode()
    assert b"[lab-list]" not in subject  # the tag is inside the encoded word
    data = _with_raw_subject(_msg("taro@isp.example", "lab-list@lists.example.org", "x"),
                             subject)
    assert srs_lab.send(data, from_host="mail.isp.example").status == "sent"
    copies = _by_subject(srs_lab, "bob@corp.example", "件名 two")
    assert len(copies) == 1
    msg = email.message_from_bytes(copies[0], policy=email.policy.default)
    assert str(msg["Subject"]) == "[lab-list] Re: 日本語の件名 two"


def test_srs_address_with_a_non_ascii_hash_is_refused_not_an_error(srs_lab):
    # hmac.compare_digest raises TypeError on text that is not ASCII
    assert srs_reverse("SRS0=\u00e9AAA=AA=isp.example=taro@fwd.example.net", b"k") is None
    # (the lab's SMTP client will not send a non-ASCII RCPT without SMTPUTF8: ask the
    # running forwarder's policy directly what it does with such an address)
    forwarder = srs_lab.handler("mx.fwd.example.net")
    assert forwarder.targets("SRS0=\u00e9AAA=AA=isp.example=taro@fwd.example.net") == []
