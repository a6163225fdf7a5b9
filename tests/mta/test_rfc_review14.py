"""SMTP conformance checked in real sessions over loopback: enhanced status codes
(RFC 2034, RFC 3463), an SMTPUTF8 parameter the server does not offer (RFC 5321
4.1.1.11, RFC 6531), BODY=8BITMIME when relaying 8-bit mail (RFC 6152) and the
OP25B refusal at connect (RFC 5321 section 3.1).

Each test here failed on the code before its fix.
"""

from __future__ import annotations

import base64
import re
import uuid

import pytest

from labkit.mta import default_password

from .conftest import Dialogue, raw_connect

MX = "mx.corp.example"
SUBMISSION = "smtp.isp.example"
TARO = "taro@isp.example"
BRAND = "192.0.2.10"  # mail.brand.example
PC = "198.51.100.140"  # a customer PC in the ISP's dynamic pool

# RFC 3463 section 2: class "." subject "." detail; the class repeats the reply's first digit
_CODED = re.compile(r"(?P<reply>[245])\d\d[ -](?P<cls>[245])\.\d{1,3}\.\d{1,3}(?: |$)")


def _tag() -> str:
    return uuid.uuid4().hex[:12]


def _coded(reply: str) -> bool:
    """Every line of ``reply`` carries an RFC 3463 code of the reply's own class."""
    found = [_CODED.match(line) for line in reply.splitlines()]
    return all(m is not None and m["reply"] == m["cls"] for m in found)


# -- RFC 2034: advertise ENHANCEDSTATUSCODES, then code every reply it covers ----------------

def test_ehlo_advertises_enhanced_status_codes(dialogue):
    # Before: the EHLO reply listed SIZE, 8BITMIME and HELP only, though replies such as
    # "550 5.1.1" and "235 2.7.0" carried codes.
    d = dialogue(BRAND)
    ehlo = d.cmd("EHLO mail.brand.example")
    assert "250-ENHANCEDSTATUSCODES" in ehlo.splitlines(), ehlo
    # RFC 2034 section 4: the greeting and the EHLO reply themselves carry no code
    assert not _coded(d.greeting) and ehlo.splitlines()[-1] == "250 HELP"


def test_every_reply_after_ehlo_carries_a_status_code(dialogue):
    # Before: aiosmtpd's and the policies' own replies had none: "250 OK" to MAIL and
    # RCPT, "500 Error: command "FOO" not recognized", "503 Error: nested MAIL command",
    # "221 Bye" ... (RFC 2034 section 4: all replies but the greeting and HELO/EHLO's)
    d = dialogue(BRAND)
    d.cmd("EHLO mail.brand.example")
    replies = {
        "NOOP": d.cmd("NOOP"),
        "VRFY": d.cmd("VRFY carol"),
        "FOO": d.cmd("FOO"),
        "DATA too early": d.cmd("DATA"),
        "MAIL": d.cmd("MAIL FROM:<ceo@brand.example>"),
        "MAIL again": d.cmd("MAIL FROM:<ceo@brand.example>"),
        "RCPT": d.cmd("RCPT TO:<carol@corp.example>"),
        "RCPT unknown": d.cmd("RCPT TO:<nobody@corp.example>"),
        "RCPT bad": d.cmd("RCPT TO: carol"),
        "RSET": d.cmd("RSET"),
    }
    d.cmd("MAIL FROM:<ceo@brand.example>")
    d.cmd("RCPT TO:<carol@corp.example>")
    assert d.cmd("DATA").startswith("354 ")  # 3xx: RFC 3463 has no class 3, no code
    d.send(f"From: ceo@brand.example\r\nTo: carol@corp.example\r\nSubject: {_tag()}\r\n"
           "\r\nhello\r\n.\r\n".encode())
    replies["end of data"] = d.reply()
    replies["QUIT"] = d.cmd("QUIT")
    assert {k: r for k, r in replies.items() if not _coded(r)} == {}
    # the codes RFC 3463 names for these (X.1.0 sender, X.1.5 recipient valid, X.5.x
    # protocol: 5.5.1 invalid or out-of-sequence command, 5.5.2 syntax error)
    assert replies["MAIL"].startswith("250 2.1.0 ")
    assert replies["RCPT"].startswith("250 2.1.5 ")
    assert replies["FOO"].startswith("500 5.5.2 ")
    assert replies["MAIL again"].startswith("503 5.5.1 ")
    assert replies["DATA too early"].startswith("503 5.5.1 ")
    assert replies["QUIT"].startswith("221 2.0.0 ")
    assert replies["RCPT unknown"].startswith("550 5.1.1 ")  # the policy's own code is kept


def test_submission_replies_carry_status_codes(lab):
    # Before: "220 Ready to start TLS" and "530 Must issue a STARTTLS command first".
    d = Dialogue(raw_connect(lab, PC, SUBMISSION, 587))
    try:
        assert d.reply().startswith("220 ")
        assert "250-ENHANCEDSTATUSCODES" in d.cmd("EHLO pc.example").splitlines()
        assert d.cmd(f"MAIL FROM:<{TARO}>").startswith("530 5.7.0 ")  # RFC 3207 section 4
        assert d.cmd("STARTTLS").startswith("220 2.0.0 ")
        d = Dialogue(lab.client_tls_context.wrap_socket(d.sock, server_hostname="127.0.0.1"))
        # a new session after TLS (RFC 3207 section 4.2): no codes before the new EHLO
        assert d.cmd("NOOP") == "250 OK"
        assert "250-ENHANCEDSTATUSCODES" in d.cmd("EHLO pc.example").splitlines()
        plain = base64.b64encode(f"\0{TARO}\0{default_password(TARO)}".encode()).decode()
        assert d.cmd(f"AUTH PLAIN {plain}").startswith("235 2.7.0 ")
        assert d.cmd(f"MAIL FROM:<{TARO}>").startswith("250 2.1.0 ")
        assert d.cmd("RCPT TO:<carol@corp.example>").startswith("250 2.1.5 ")
        assert d.cmd("RSET").startswith("250 2.0.0 ")
    finally:
        d.close()


def test_a_helo_session_is_left_as_it_was(dialogue):
    # RFC 2034 applies once EHLO has offered the extension; HELO offers none
    d = dialogue(BRAND)
    assert d.cmd("HELO mail.brand.example") == "250 mx.corp.example"
    assert d.cmd("MAIL FROM:<ceo@brand.example>") == "250 OK"


# -- RFC 5321 4.1.1.11 / 4.5.3.1 and RFC 6531 section 3.4: an unoffered parameter is 555 -------

@pytest.mark.parametrize("param", ["SMTPUTF8", "smtputf8", "SMTPUTF8=yes"])
def test_an_smtputf8_parameter_that_was_not_offered_gets_555(dialogue, param):
    # Before: "501 Error: SMTPUTF8 disabled" (501 is a syntax error; the parameter is
    # well formed, the server just does not implement it)
    d = dialogue(BRAND)
    ehlo = d.cmd("EHLO mail.brand.example")
    assert "SMTPUTF8" not in ehlo
    reply = d.cmd(f"MAIL FROM:<ceo@brand.example> {param}")
    assert reply.startswith("555 5.5.4 ") and "SMTPUTF8" in reply, reply
    assert d.cmd("MAIL FROM:<ceo@brand.example>").startswith("250 ")  # no transaction was opened


# -- RFC 6152 section 3: 8-bit content goes with BODY=8BITMIME -------------------------------

EIGHT_BIT = ("From: news@brand.example\r\nTo: {to}\r\nSubject: {subject}\r\n"
             "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
             "Content-Transfer-Encoding: 8bit\r\n\r\nGr\u00fc\u00dfe aus dem Labor\r\n")


@pytest.fixture
def mail_params(lab):
    """MAIL FROM parameters the corp MX receives, per envelope sender (a recording
    wrapper around the receiver's real handle_MAIL: the MAIL line's parameters are not
    in any log or stored mail, and the receiver still decides as it always does)."""
    policy = lab.handler(MX)
    seen: list[tuple[str, list[str]]] = []
    real = policy.handle_MAIL

    async def recording(server, session, envelope, address, mail_options):
        seen.append((address, list(mail_options)))
        return await real(server, session, envelope, address, mail_options)

    policy.handle_MAIL = recording
    yield seen
    del policy.handle_MAIL


def test_eight_bit_mail_is_sent_with_body_8bitmime(lab, mail_params):
    # Before: MAIL FROM:<news@brand.example> with no BODY parameter for an 8-bit body
    subject = f"8bit {_tag()}"
    res = lab.send(EIGHT_BIT.format(to="carol@corp.example", subject=subject).encode(),
                   from_host="mail.brand.example")
    assert res.status == "sent", res.steps
    assert any("BODY=8BITMIME ->" in s for s in res.steps), res.steps
    assert ("news@brand.example", ["BODY=8BITMIME"]) in mail_params
    (stored,) = [m for m in lab.mailbox("carol@corp.example").messages()
                 if subject.encode() in m]
    assert "Grüße".encode() in stored  # the 8-bit octets arrive unchanged


def test_the_forwarder_relays_eight_bit_mail_with_body_8bitmime(lab, mail_params):
    # Before: the forwarder (and every relay path: list, submission, ISP relay, all
    # through sender.send) sent the 8-bit body on without declaring it
    subject = f"8bit fwd {_tag()}"
    res = lab.send(EIGHT_BIT.format(to="alice@fwd.example.net", subject=subject).encode(),
                   from_host="mail.brand.example", dkim=True)  # DKIM carries DMARC (p=reject)
    assert res.status == "sent", res.steps
    relayed = [opts for addr, opts in mail_params if addr == "news@brand.example"]
    assert relayed == [["BODY=8BITMIME"]], mail_params
    box = lab.mailbox("alice@corp.example")  # SPF fails after forwarding: maybe Junk
    assert [m for f in ("INBOX", "Junk") for m in box.messages(f) if subject.encode() in m]


def test_seven_bit_mail_declares_nothing(lab, mail_params):
    subject = f"7bit {_tag()}"
    res = lab.send(f"From: news@brand.example\r\nTo: carol@corp.example\r\nSubject: {subject}"
                   "\r\n\r\nplain ASCII\r\n".encode(), from_host="mail.brand.example")
    assert res.status == "sent", res.steps
    assert ("news@brand.example", []) in mail_params
    assert not any("BODY=" in s for s in res.steps)


# -- RFC 5321 section 3.1: after the OP25B 554 the server waits for QUIT ----------------------

def test_op25b_refusal_is_followed_by_503s_until_quit(lab, dialogue):
    # Before: the ISP gateway's 554 5.7.1 was followed by a closed connection, so the
    # client's EHLO met "Connection reset by peer" and its QUIT a broken pipe.
    before = lab.gateway.blocked
    d = dialogue(PC)
    assert d.greeting.startswith("554 5.7.1 OP25B"), d.greeting
    assert d.cmd("EHLO pc.example").startswith("503 5.5.1 ")
    assert d.cmd("MAIL FROM:<x@isp.example>").startswith("503 5.5.1 ")
    assert d.cmd("QUIT").startswith("221 ")
    assert d.sock.recv(1024) == b""  # closed after QUIT
    assert lab.gateway.blocked == before + 1
    assert not lab.events.entries(host=MX, event="connect", client=PC)  # no policy step ran


def test_with_status_code_codes_each_line_and_leaves_3xx_alone():
    from labkit.mta.smtpserver import with_status_code

    assert with_status_code("250 OK", "RCPT") == "250 2.1.5 OK"
    assert with_status_code("250-first\r\n250 last", "NOOP") == "250-2.0.0 first\r\n250 2.0.0 last"
    assert with_status_code("550 5.1.1 <x@corp.example>: no such user", "RCPT") == \
        "550 5.1.1 <x@corp.example>: no such user"
    assert with_status_code("354 End data with <CR><LF>.<CR><LF>", "DATA") == \
        "354 End data with <CR><LF>.<CR><LF>"
    assert with_status_code("421", None) == "421 4.0.0"
