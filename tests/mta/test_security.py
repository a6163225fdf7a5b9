"""Security properties: smuggling, STARTTLS injection, limits, no open relay,
header tricks, no secrets in logs."""

from __future__ import annotations

import base64
import itertools
import logging
import re
import smtplib
import ssl

import pytest

import labkit.mta
from labkit.mta import make_message, sender
from labkit.mta.smtpserver import Limits, has_bare_newline

from .conftest import Dialogue, raw_connect

SEQUENCES = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r\n\x00.\r\n", b"\r.\r\n",
             b"\n.\n\r\n", b".\n", b"\r\n.\r"]


def _ehlo(d: Dialogue, name="mail.attacker.test") -> str:
    return d.cmd(f"EHLO {name}")


@pytest.mark.parametrize("seq", SEQUENCES, ids=[repr(s) for s in SEQUENCES])
def test_smtp_smuggling_never_yields_a_second_message(lab, dialogue, seq):
    tag = f"smuggled-{SEQUENCES.index(seq)}"
    d = dialogue("203.0.113.66")
    assert _ehlo(d).startswith("250")
    assert d.cmd("MAIL FROM:<x@attacker.test>").startswith("250")
    assert d.cmd("RCPT TO:<alice@corp.example>").startswith("250")
    assert d.cmd("DATA").startswith("354")
    inner = (b"MAIL FROM:<ceo@brand.example>\r\nRCPT TO:<bob@corp.example>\r\nDATA\r\n"
             b"From: ceo@brand.example\r\nTo: bob@corp.example\r\nSubject: " + tag.encode()
             + b"\r\n\r\nsmuggled body\r\n")
    d.send(b"From: x@attacker.test\r\nTo: alice@corp.example\r\nSubject: outer " + tag.encode()
           + b"\r\n\r\nfirst part" + seq + inner + b".\r\n")
    first = d.reply()
    # whatever the server said, it said it once: the next reply answers our NOOP
    assert d.cmd("NOOP").startswith("250")
    assert first.startswith("550 5.5.2"), first  # bare LF/CR/NUL refused outright
    for rcpt in ("alice@corp.example", "bob@corp.example"):
        assert not [m for m in lab.mailbox(rcpt).messages() if tag.encode() in m]
        assert not [m for m in lab.mailbox(rcpt).messages("Junk") if tag.encode() in m]


def test_bare_newline_check_matches_its_definition_on_every_short_input():
    """Every string of up to 7 characters over {a, CR, LF, NUL}: refused exactly when it
    holds an LF without a CR before it, a CR without an LF after it, or a NUL."""
    definition = re.compile(rb"(?<!\r)\n|\r(?!\n)|\x00")
    for n in range(8):
        for chars in itertools.product((b"a", b"\r", b"\n", b"\x00"), repeat=n):
            data = b"".join(chars)
            assert has_bare_newline(data) == (definition.search(data) is not None), data


def test_clean_crlf_message_still_goes_through(lab, dialogue):
    d = dialogue("203.0.113.66")
    _ehlo(d)
    d.cmd("MAIL FROM:<x@attacker.test>")
    d.cmd("RCPT TO:<alice@corp.example>")
    d.cmd("DATA")
    d.send(b"From: x@attacker.test\r\nSubject: clean crlf\r\n\r\nline\r\n..dot\r\n.\r\n")
    assert d.reply().startswith("250")
    stored = [m for m in lab.mailbox("alice@corp.example").messages() if b"clean crlf" in m]
    assert len(stored) == 1 and stored[0].endswith(b"line\r\n.dot\r\n")


def test_starttls_pipelined_command_is_ignored_after_handshake(lab):
    sock = raw_connect(lab, "198.51.100.140", "smtp.isp.example", 587)
    d = Dialogue(sock)
    assert d.reply().startswith("220")
    ehlo = _ehlo(d, "pc.example")
    assert "STARTTLS" in ehlo and "AUTH" not in ehlo  # no AUTH before TLS
    # the injected MAIL rides in the same packet as STARTTLS
    d.send(b"STARTTLS\r\nMAIL FROM:<taro@isp.example>\r\n")
    assert d.reply().startswith("220")
    tls = lab.client_tls_context.wrap_socket(sock, server_hostname="127.0.0.1")
    d2 = Dialogue(tls)
    after = d2.cmd("EHLO pc.example")
    assert after.startswith("250-") and "AUTH" in after, after  # not the reply to MAIL
    assert d2.cmd("NOOP").startswith("250")
    d2.cmd("QUIT")
    tls.close()
    sid = lab.events.entries(host="smtp.isp.example", event="connect", client="198.51.100.140")[-1]["session"]
    assert not lab.events.entries(session=sid, event="mail")


def test_submission_requires_starttls_before_anything_else(lab, dialogue):
    d = dialogue("198.51.100.140", "smtp.isp.example", 587)
    _ehlo(d, "pc.example")
    assert d.cmd("MAIL FROM:<taro@isp.example>").startswith("530")
    assert d.cmd("AUTH PLAIN AHRhcm9AaXNwLmV4YW1wbGUAdGFyby1wYXNz").startswith("530")


@pytest.fixture(scope="module")
def tight(lab_dns):
    limits = Limits(message_size=20_000, recipients=3, errors=3, connections_per_client=2)
    with labkit.mta.Lab(dns=lab_dns, limits=limits, scorer=None) as running:
        yield running


def test_message_size_limit_552(tight):
    big = make_message(from_="news@brand.example", to="alice@corp.example", subject="big",
                       body=("x" * 70 + "\n") * 400)
    res = tight.send(big, from_host="mail.brand.example")
    assert res.code == 552
    assert not tight.mailbox("alice@corp.example").messages()


def test_line_length_limit(tight):
    d = Dialogue(raw_connect(tight, "192.0.2.10", "mx.corp.example"))
    d.reply()
    _ehlo(d, "mail.brand.example")
    d.cmd("MAIL FROM:<news@brand.example>")
    d.cmd("RCPT TO:<alice@corp.example>")
    d.cmd("DATA")
    d.send(b"Subject: long\r\n\r\n" + b"y" * 5000 + b"\r\n.\r\n")
    assert d.reply().startswith("500")
    assert d.cmd("MAIL FROM:<" + "z" * 3000 + "@brand.example>").startswith("500")
    d.close()


def test_recipients_per_message_limit(tight):
    to = [f"{u}@corp.example" for u in ("alice", "bob", "carol", "postmaster")]
    res = tight.send(make_message(from_="news@brand.example", to=to, subject="many", body="x"),
                     from_host="mail.brand.example")
    assert res.status == "partial" and res.refused["postmaster@corp.example"].startswith("452")


def test_errors_per_session_limit_closes_the_connection(tight):
    d = Dialogue(raw_connect(tight, "192.0.2.10", "mx.corp.example"))
    d.reply()
    replies = [d.cmd("BOGUS"), d.cmd("RCPT TO:<x@corp.example>"), d.cmd("VRFY")]
    assert replies[0].startswith("500")
    assert "421" in d.reply() + replies[-1]
    assert d.sock.recv(1024) == b""  # closed
    d.close()


def test_idle_timeout_closes_the_connection(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, limits=Limits(idle_timeout=0.5), scorer=None) as lab:
        d = Dialogue(raw_connect(lab, "192.0.2.10", "mx.corp.example"))
        assert d.reply().startswith("220")
        d.sock.settimeout(30)  # far longer than the limit: the server must hang up first
        assert d.sock.recv(1024) == b""  # aiosmtpd closes an idle session without a reply
        d.close()


def test_connections_per_client_address_limit(tight):
    socks = [Dialogue(raw_connect(tight, "192.0.2.10", "mx.corp.example")) for _ in range(3)]
    greetings = [s.reply() for s in socks]
    assert [g[:3] for g in greetings] == ["220", "220", "421"]
    # another client address is unaffected
    other = Dialogue(raw_connect(tight, "203.0.113.66", "mx.corp.example"))
    assert other.reply().startswith("220")
    for s in (*socks, other):
        s.close()


# -- no open relay ---------------------------------------------------------------------
# Fixed addresses (a foreign brand, the attacker, the ISP's submission host) and a
# customer PC in the ISP's dynamic pool.  The pool PC cannot even open port 25 to a
# server outside its ISP (OP25B), so on the MX its rows check that refusal instead.
POOL_PC = "198.51.100.140"
CLIENTS = ["192.0.2.10", "203.0.113.66", POOL_PC, "198.51.100.26"]
SENDERS = ["alice@corp.example", "taro@isp.example", "x@attacker.test"]
SERVERS = [("mx.corp.example", 25, "alice@corp.example"),
           ("mail.isp.example", 25, "taro@isp.example"),
           ("mx.fwd.example.net", 25, "alice@fwd.example.net"),  # an alias it forwards
           ("mail.lists.example.org", 25, "lab-list@lists.example.org"),  # a list it expands
           ("smtp.isp.example", 587, None)]
OUTSIDE_THE_ISP = {"mx.corp.example", "mx.fwd.example.net", "mail.lists.example.org"}
# remote recipients: a foreign brand, another foreign domain, and the old tricks that
# hide a remote address in a local-looking one (percent hack, quoted local part,
# source route) on every server's own domain
REMOTE = ["victim@brand.example", "someone@attacker.test",
          *(trick.format(d=d) for d in ("corp.example", "isp.example", "fwd.example.net",
                                        "lists.example.org")
            for trick in ("victim%brand.example@{d}", '"victim@brand.example"@{d}',
                          "@mx.{d}:victim@brand.example"))]


def _rcpt_code(lab, client, host, port, mail_from, rcpt, auth):
    """The reply to RCPT TO (or to MAIL FROM, or the refusal of the connection)."""
    address = lab.hosts[host].address
    try:
        smtp = sender.connect(lab, client, address, lab.endpoint(address, port))
    except smtplib.SMTPConnectError as exc:
        return exc.smtp_code
    try:
        smtp.ehlo("client.example")
        if port == 587:
            smtp.starttls(context=lab.client_tls_context)
            smtp.ehlo("client.example")
            if auth:
                smtp.login(*auth)
        code, _ = smtp.mail(mail_from)
        if code >= 400:
            return code
        return smtp.rcpt(rcpt)[0]
    finally:
        smtp.close()


MATRIX = [(*s, False) for s in SERVERS] + [("smtp.isp.example", 587, None, True)]


@pytest.mark.parametrize("host,port,local,authenticated", MATRIX,
                         ids=[f"{m[0]}-{'auth' if m[3] else 'anon'}" for m in MATRIX])
def test_open_relay_matrix(lab, host, port, local, authenticated):
    # port 25 offers no AUTH in the lab (AUTH needs TLS), so only 587 has an "auth" row
    auth = ("taro@isp.example", labkit.mta.default_password("taro@isp.example"))
    for client in CLIENTS:
        op25b = client == POOL_PC and port == 25 and host in OUTSIDE_THE_ISP
        for mail_from in SENDERS:
            if authenticated:
                mail_from = auth[0]  # the submission server lets users send only as themselves
            for rcpt in REMOTE[:2] if authenticated else REMOTE:  # (tricks: anonymous rows)
                remote = _rcpt_code(lab, client, host, port, mail_from, rcpt,
                                    auth if authenticated else None)
                relayed = remote < 300
                assert relayed == (port == 587 and authenticated), (client, mail_from, rcpt, remote)
                if op25b:
                    assert remote == 554, (client, mail_from, rcpt, remote)
            if local is not None:
                code = _rcpt_code(lab, client, host, port, mail_from, local, None)
                assert code == (554 if op25b else 250), (client, mail_from, code)


def test_op25b_cannot_be_bypassed_with_a_raw_socket(lab, dialogue):
    # the auditor's repro: no lab sender, just TCP from a pool address to a foreign MX
    before = lab.gateway.blocked
    mx_connects = len(lab.events.entries(host="mx.corp.example", event="connect"))
    d = dialogue(POOL_PC, "mx.corp.example", 25)
    assert d.greeting.startswith("554 5.7.1 OP25B"), d.greeting
    assert "isp.example" in d.greeting and "587" in d.greeting and "SMTP-AUTH" in d.greeting
    # nothing gets past the refusal: 503 until QUIT (RFC 5321 section 3.1; see
    # test_rfc_review14.py), and the MX's policy never runs
    assert d.cmd("MAIL FROM:<x@isp.example>").startswith("503 ")
    assert d.cmd("RCPT TO:<alice@corp.example>").startswith("503 ")
    assert d.cmd("QUIT").startswith("221 ")
    assert lab.gateway.blocked == before + 1
    # the MX's policy never saw it; the gateway logged it
    assert len(lab.events.entries(host="mx.corp.example", event="connect")) == mx_connects
    entry = lab.events.entries(host="isp-gateway", event="blocked")[-1]
    assert entry["client"] == POOL_PC and entry["where"] == "server"
    # the ISP's own server on 25, and a fixed address to the MX, are greeted as usual
    assert dialogue(POOL_PC, "mail.isp.example", 25).greeting.startswith("220")
    assert dialogue("192.0.2.10", "mx.corp.example", 25).greeting.startswith("220")


def test_op25b_switched_off_lets_the_raw_socket_through(lab, dialogue):
    lab.gateway.enabled = False
    try:
        assert dialogue(POOL_PC, "mx.corp.example", 25).greeting.startswith("220")
    finally:
        lab.gateway.enabled = True


def test_sender_connect_refuses_op25b_before_connecting(lab):
    address = lab.hosts["mx.corp.example"].address
    mx_connects = len(lab.events.entries(host="mx.corp.example", event="connect"))
    with pytest.raises(smtplib.SMTPConnectError) as err:
        sender.connect(lab, POOL_PC, address, lab.endpoint(address, 25))
    assert err.value.smtp_code == 554 and "OP25B" in str(err.value.smtp_error)
    assert lab.events.entries(host="isp-gateway", event="blocked")[-1]["where"] == "sender"
    assert len(lab.events.entries(host="mx.corp.example", event="connect")) == mx_connects


# -- header tricks -----------------------------------------------------------------------
TRICKS = {
    "two From fields": b"From: x@attacker.test\r\nFrom: ceo@brand.example\r\n",
    "two addresses": b"From: x@attacker.test, ceo@brand.example\r\n",
    "brand first of two": b"From: ceo@brand.example, x@attacker.test\r\n",
    "encoded-word address": b"From: =?utf-8?b?Y2VvQGJyYW5kLmV4YW1wbGU=?=\r\n",
    "encoded-word display over brand": b"From: =?utf-8?q?x@attacker.test?= <ceo@brand.example>\r\n",
    "display name with another address": b'From: "ceo@brand.example" <x@attacker.test>\r\n',
    "no From": b"",
    "plain brand From": b"From: ceo@brand.example\r\n",
}


@pytest.mark.parametrize("name", list(TRICKS))
def test_header_tricks_never_get_dmarc_pass_for_the_brand(lab, name):
    raw = (TRICKS[name] + b"To: alice@corp.example\r\nSubject: trick " + name.encode()
           + b"\r\nMessage-ID: <trick-" + name.replace(" ", "-").encode()
           + b"@attacker.test>\r\n\r\nclick here\r\n")
    signed = sender.dkim_sign(raw, "attacker.test") if TRICKS[name] else raw
    res = lab.send(signed, from_host="mail.attacker.test", mail_from="x@attacker.test",
                   rcpt_to="alice@corp.example")
    found = lab.verdicts(res.message_id)
    assert found, res.steps
    v = found[-1]
    # the attacker authorised only attacker.test: a pass may only ever name that domain
    if v["dmarc"] == "pass":
        assert v["header_from"] == "attacker.test", v
    assert not (v["decision"] == "INBOX" and v.get("header_from") == "brand.example"), v


# -- secrets -------------------------------------------------------------------------------
def test_passwords_and_private_keys_never_reach_a_log(lab, caplog):
    caplog.set_level(logging.DEBUG)
    user, password = "taro@isp.example", labkit.mta.default_password("taro@isp.example")
    msg = make_message(from_=user, to="bob@corp.example", subject="secret test", body="x")
    assert lab.submit(msg, user=user, password=password).status == "sent"
    assert lab.submit(msg, user=user, password="wrong-" + password).status == "rejected"
    # AUTH LOGIN by hand
    address = lab.hosts["smtp.isp.example"].address
    smtp = sender.connect(lab, "198.51.100.140", address, lab.endpoint(address, 587))
    smtp.ehlo("pc")
    smtp.starttls(context=lab.client_tls_context)
    smtp.ehlo("pc")
    assert smtp.docmd("AUTH LOGIN")[0] == 334
    assert smtp.docmd(base64.b64encode(user.encode()).decode())[0] == 334
    assert smtp.docmd(base64.b64encode(password.encode()).decode())[0] == 235
    smtp.quit()
    # alice's mail is DKIM-signed with corp.example's private key on the way out
    alice = "alice@corp.example"
    assert lab.submit(make_message(from_=alice, to="bob@corp.example", subject="signed", body="x"),
                      user=alice, password=labkit.mta.default_password(alice)).status == "sent"
    pem = labkit.auth.dkim.lab_key("corp.example", "lab2026").decode()
    key_line = [ln for ln in pem.splitlines() if ln and not ln.startswith("-----")][1]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    logged += "\n".join(p.read_text() for p in (lab.root / "logs").glob("*.jsonl"))
    secrets = [password, base64.b64encode(password.encode()).decode(),
               base64.b64encode(f"\0{user}\0{password}".encode()).decode(),
               "PRIVATE KEY", key_line]
    for secret in secrets:
        assert secret not in logged
    assert "taro@isp.example" in logged  # the user name is logged, as it should be


def test_auth_plain_over_plaintext_is_not_offered(lab):
    address = lab.hosts["smtp.isp.example"].address
    smtp = sender.connect(lab, "198.51.100.140", address, lab.endpoint(address, 587))
    smtp.ehlo("pc")
    assert not smtp.has_extn("auth")
    with pytest.raises(smtplib.SMTPException):
        smtp.login("taro@isp.example", "taro-pass")
    smtp.close()
    assert isinstance(lab.client_tls_context, ssl.SSLContext)


def test_default_idle_timeouts_are_the_rfc_minimums(lab):
    # RFC 5321 4.5.3.2.7 (SMTP server: at least 5 minutes, a SHOULD) and RFC 1939 section 3
    # (POP3 autologout: at least 10 minutes, a MUST); both were 60 s
    assert Limits().idle_timeout >= 300 and lab.limits.idle_timeout >= 300
    pop3 = lab.server("mx.corp.example", 110)
    assert pop3.idle_timeout >= 600


def test_pop3_idle_timeout_is_its_own_limit(lab_dns):
    # the POP3 servers take Limits.pop3_idle_timeout, not the SMTP idle_timeout
    limits = Limits(idle_timeout=300, pop3_idle_timeout=0.5)
    with labkit.mta.Lab(dns=lab_dns, limits=limits, scorer=None) as lab:
        assert lab.server("mx.corp.example", 110).idle_timeout == 0.5
        d = Dialogue(raw_connect(lab, "192.0.2.10", "mx.corp.example", 110))
        assert d.reply().startswith("+OK")
        d.sock.settimeout(30)  # far longer than the limit: the server must hang up first
        while d.sock.recv(1024):  # (a closing line, if the server writes one)
            pass  # a server that never hangs up times out here and fails the test
        d.close()
