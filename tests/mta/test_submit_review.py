"""The submission service, SMTP AUTH, POP3 and POP before SMTP checked against RFC 4954,
RFC 6409, RFC 1939 and RFC 2449 in real sessions over loopback.

Tests marked "Before:" failed on the code before their fix; the others confirm
behaviour that was already right and had no test of its own.
"""

from __future__ import annotations

import base64
import time
import uuid

import pytest

from labkit.mta import default_password, make_message

from .conftest import Dialogue, PopDialogue, raw_connect

SUBMISSION = "smtp.isp.example"
ISP_MTA = "mail.isp.example"
TARO = "taro@isp.example"
PC = "198.51.100.140"  # a customer PC in the ISP's dynamic pool
OTHER_PC = "198.51.100.142"  # another pool address, never logged in here


def _tag() -> str:
    return uuid.uuid4().hex[:12]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


PLAIN = _b64(f"\0{TARO}\0{default_password(TARO)}")


def _over_tls(lab, *, ehlo: bool = True) -> Dialogue:
    """A submission session past STARTTLS (and the new EHLO unless ``ehlo=False``)."""
    d = Dialogue(raw_connect(lab, PC, SUBMISSION, 587))
    assert d.reply().startswith("220")
    assert d.cmd("EHLO pc.example").startswith("250")
    assert d.cmd("STARTTLS").startswith("220")
    d = Dialogue(lab.client_tls_context.wrap_socket(d.sock, server_hostname="127.0.0.1"))
    if ehlo:
        assert "AUTH LOGIN PLAIN" in d.cmd("EHLO pc.example")
    return d


@pytest.fixture
def tls(lab):
    """Factory: ``tls(ehlo=True)`` -> a submission :class:`Dialogue` past STARTTLS."""
    opened: list[Dialogue] = []

    def make(ehlo: bool = True) -> Dialogue:
        d = _over_tls(lab, ehlo=ehlo)
        opened.append(d)
        return d

    yield make
    for d in opened:
        d.close()


# -- RFC 4954 section 4: the AUTH command and its error replies --------------------------------

def test_auth_before_ehlo_is_a_bad_sequence(tls):
    # RFC 4954 section 4 (AUTH is an EHLO extension; after STARTTLS the session starts
    # over, RFC 3207 section 4.2): 503 until EHLO
    d = tls(ehlo=False)
    assert d.cmd(f"AUTH PLAIN {PLAIN}").startswith("503 ")
    assert "AUTH" in d.cmd("EHLO pc.example")
    assert d.cmd(f"AUTH PLAIN {PLAIN}").startswith("235 2.7.0 ")


def test_a_second_auth_and_auth_in_a_transaction_are_503(tls):
    # RFC 4954 section 4: "After an AUTH command has been successfully completed, no
    # more AUTH commands may be issued in the same session" and "The AUTH command is not
    # permitted during a mail transaction" (both: 503)
    d = tls()
    assert d.cmd(f"AUTH PLAIN {PLAIN}").startswith("235 2.7.0 ")
    assert d.cmd(f"AUTH PLAIN {PLAIN}").startswith("503 5.5.1 ")
    assert d.cmd(f"MAIL FROM:<{TARO}>").startswith("250 2.1.0 ")
    assert d.cmd(f"AUTH LOGIN {_b64(TARO)}").startswith("503 5.5.1 ")
    assert d.cmd("RCPT TO:<carol@corp.example>").startswith("250 2.1.5 ")  # still in it


@pytest.mark.parametrize("steps", [["AUTH PLAIN"], ["AUTH LOGIN"], ["AUTH LOGIN", _b64(TARO)]],
                         ids=["plain", "login-user", "login-password"])
def test_a_cancelled_exchange_is_501(tls, steps):
    # RFC 4954 section 4: a "*" line cancels; the server MUST reject AUTH with 501.  The
    # section names no enhanced code for it; 5.7.0 (RFC 3463: other security status) is
    # what Postfix sends too.  The session goes on unauthenticated.
    d = tls()
    for step in steps:
        assert d.cmd(step).startswith("334 ")
    assert d.cmd("*").startswith("501 5.7.0 ")
    assert d.cmd(f"MAIL FROM:<{TARO}>").startswith("530 5.7.0 ")
    assert d.cmd(f"AUTH PLAIN {PLAIN}").startswith("235 2.7.0 ")  # a new AUTH may follow


def test_auth_error_replies_carry_the_rfc_4954_codes(tls):
    d = tls()
    assert d.cmd("AUTH CRAM-MD5").startswith("504 5.5.4 ")  # section 4: unknown mechanism
    assert d.cmd("AUTH PLAIN %%%").startswith("501 5.5.2 ")  # section 4: not base64
    assert d.cmd("AUTH PLAIN").startswith("334 ")
    assert d.cmd("%%%").startswith("501 5.5.2 ")  # the same for a response to a challenge
    wrong = _b64(f"\0{TARO}\0not-the-password")
    assert d.cmd(f"AUTH PLAIN {wrong}").startswith("535 5.7.8 ")  # section 6
    assert d.cmd(f"AUTH PLAIN {PLAIN}").startswith("235 2.7.0 ")


def test_auth_is_neither_offered_nor_accepted_before_tls(lab):
    # The submission server requires STARTTLS first (RFC 3207 section 4: 530 to every
    # other command), so AUTH is hidden from the first EHLO, and 538 (RFC 4954 section 6:
    # a mechanism that needs encryption) never comes up: the 530 comes first.
    d = Dialogue(raw_connect(lab, PC, SUBMISSION, 587))
    try:
        assert d.reply().startswith("220")
        ehlo = d.cmd("EHLO pc.example")
        assert "STARTTLS" in ehlo and "AUTH" not in ehlo
        assert d.cmd(f"AUTH PLAIN {PLAIN}").startswith("530 5.7.0 ")
    finally:
        d.close()


@pytest.mark.parametrize(("command", "expected"),
                         [("AUTH LOGIN =", "334 "), ("AUTH PLAIN =", "5")], ids=["login", "plain"])
def test_an_equals_sign_is_an_empty_initial_response(tls, command, expected):
    # RFC 4954 section 4: a zero-length initial response is sent as "=", which is not a
    # base64 error.  AUTH LOGIN = gives an empty user name (then the password challenge);
    # AUTH PLAIN = is an empty PLAIN message (RFC 4616 section 2 wants two NULs), refused.
    # Before: "501 5.5.2 Can't decode base64" to both (aiosmtpd 1.4.6).
    d = tls()
    reply = d.cmd(command)
    assert reply.startswith(expected) and "decode base64" not in reply, reply


# -- RFC 6409: message submission ------------------------------------------------------------

def test_mail_before_auth_is_530_after_tls(tls):
    # RFC 6409 section 4.3 and RFC 4954 section 6: MAIL without AUTH gets 530 5.7.0
    d = tls()
    assert d.cmd(f"MAIL FROM:<{TARO}>").startswith("530 5.7.0 ")
    assert d.cmd("RCPT TO:<carol@corp.example>").startswith("503 ")  # no transaction


def _submit(d: Dialogue, mail_from: str, rcpt: str, tag: str) -> list[str]:
    """Send one message in an authenticated session; the replies to MAIL, RCPT and DATA."""
    replies = [d.cmd(f"MAIL FROM:<{mail_from}>"), d.cmd(f"RCPT TO:<{rcpt}>")]
    if all(r.startswith("250") for r in replies):
        assert d.cmd("DATA").startswith("354")
        d.send(f"From: {TARO}\r\nTo: {rcpt}\r\nSubject: {tag}\r\n\r\nhello\r\n.\r\n".encode())
        replies.append(d.reply())
    d.cmd("RSET")
    return replies


def test_a_bare_local_part_is_qualified_with_the_isps_domain(lab, tls):
    # RFC 6409 section 4.2: the MSA MUST ensure all envelope domains are fully
    # qualified.  Before: RCPT TO:<taro> got 250, was relayed to the domain "" and came
    # back to the user as a DSN ("taro is not a lab destination").
    tag = _tag()
    d = tls()
    assert d.cmd(f"AUTH PLAIN {PLAIN}").startswith("235")
    replies = _submit(d, TARO, "taro", tag)
    assert [r[:3] for r in replies] == ["250", "250", "250"], replies
    box = lab.mailbox(TARO).messages()
    assert [m for m in box if f"Subject: {tag}".encode() in m and b"multipart/report" not in m]
    assert not [m for m in box if tag.encode() in m and b"multipart/report" in m]
    (rcpt,) = [e for e in lab.events.entries(host=SUBMISSION, event="rcpt")
               if e.get("rcpt") == TARO][-1:]
    assert rcpt["decision"] == "relay"


def test_a_single_label_domain_is_refused_with_554(lab, tls):
    # RFC 6409 section 4.2 (and 4.1): 554 for an envelope domain that is not fully
    # qualified.  Before: RCPT TO:<carol@corp> got 250 and the user a DSN later.
    d = tls()
    assert d.cmd(f"AUTH PLAIN {PLAIN}").startswith("235")
    assert d.cmd(f"MAIL FROM:<{TARO}>").startswith("250")
    reply = d.cmd("RCPT TO:<carol@corp>")
    assert reply.startswith("554 5.1.2 ") and "fully qualified" in reply, reply
    # an address literal is no domain name to qualify (RFC 5321 4.1.3)
    assert d.cmd("RCPT TO:<carol@[IPv6:2001:db8::25]>").startswith("250")


def test_a_bare_sender_is_qualified_before_the_ownership_check(lab, tls):
    # RFC 6409 section 4.2 for MAIL: MAIL FROM:<taro> from taro is his own address.
    # Before: 553 "not owned by user taro@isp.example".
    d = tls()
    assert d.cmd(f"AUTH PLAIN {PLAIN}").startswith("235")
    assert d.cmd("MAIL FROM:<taro>").startswith("250 2.1.0 ")
    d.cmd("RSET")
    assert d.cmd("MAIL FROM:<bob>").startswith("553 5.7.1 <bob@isp.example>")


# -- RFC 1939: POP3 states, deletion, listings ---------------------------------------------------

class POP(PopDialogue):
    """A POP3 session to the ISP's server, from a customer PC, as Taro by default."""

    def __init__(self, lab, client: str = PC, host: str = ISP_MTA) -> None:
        super().__init__(lab, client, host)

    def login(self, user: str = TARO, password: str | None = None) -> str:
        return super().login(user, password)


@pytest.fixture
def pop(lab):
    opened: list[POP] = []

    def make(client: str = PC) -> POP:
        p = POP(lab, client)
        opened.append(p)
        assert p.greeting.startswith("+OK")
        return p

    yield make
    for p in opened:
        p.sock.close()


@pytest.fixture
def taro_box(lab):
    """Taro's mailbox, emptied, with three messages from the brand."""
    box = lab.mailbox(TARO)
    for key in box.keys():
        box.remove(key)
    for i in range(3):
        msg = make_message(from_="news@brand.example", to=TARO, subject=f"pop {i}",
                           body="a line\n.a dot line\n" if i == 0 else "hello\n")
        res = lab.send(msg, from_host="mail.brand.example", to_host=ISP_MTA, rcpt_to=[TARO])
        assert res.status == "sent", res.steps
    assert len(box) == 3
    return box


def _wait_unlocked(lab, user: str = TARO) -> None:
    """Until the server has seen the last session's socket close (the lock is freed)."""
    for _ in range(100):
        p = POP(lab)
        try:
            if p.login(user).startswith("+OK"):
                p.cmd("QUIT")
                return
        finally:
            p.sock.close()
        time.sleep(0.05)
    raise AssertionError("the maildrop stayed locked")


def test_transaction_commands_before_login_are_err(pop, taro_box):
    # RFC 1939 section 4: only USER, PASS, QUIT (and the optional APOP) in AUTHORIZATION
    p = pop()
    for command in ("STAT", "LIST", "RETR 1", "DELE 1", "RSET", "UIDL", "TOP 1 0"):
        assert p.cmd(command).startswith("-ERR"), command
    assert p.cmd("PASS x").startswith("-ERR")  # PASS only right after USER
    assert p.login().startswith("+OK")
    assert p.cmd(f"USER {TARO}").startswith("-ERR")  # and USER not in TRANSACTION
    assert p.cmd("STAT").startswith("+OK 3 ")


def test_dele_then_rset_and_deleted_messages_are_not_listed(pop, taro_box):
    # RFC 1939 section 5: a message marked deleted is left out of STAT, LIST and UIDL and
    # may not be named; RSET unmarks everything
    p = pop()
    assert p.login().startswith("+OK")
    sizes = p.multi("LIST")
    assert p.cmd("DELE 2").startswith("+OK")
    assert p.cmd("DELE 2").startswith("-ERR")
    assert p.multi("LIST") == [sizes[0], sizes[2]]
    assert [x.split()[0] for x in p.multi("UIDL")] == ["1", "3"]
    assert p.cmd("STAT") == f"+OK 2 {int(sizes[0].split()[1]) + int(sizes[2].split()[1])}"
    for command in ("LIST 2", "UIDL 2", "RETR 2", "TOP 2 0"):
        assert p.cmd(command).startswith("-ERR"), command
    assert p.cmd("RSET").startswith("+OK")
    assert p.multi("LIST") == sizes
    assert p.cmd("LIST 2") == f"+OK {sizes[1]}"
    assert p.cmd("UIDL 2").startswith("+OK 2 ")


def test_quit_deletes_but_a_dropped_connection_does_not(lab, pop, taro_box):
    # RFC 1939 section 6: deletions happen in the UPDATE state, entered only by QUIT
    # from TRANSACTION; a dropped session deletes nothing, nor does QUIT before login
    p = pop()
    assert p.login().startswith("+OK")
    assert p.cmd("DELE 1").startswith("+OK")
    p.sock.close()
    _wait_unlocked(lab)
    assert len(taro_box) == 3
    p = pop()
    assert p.cmd("DELE 1").startswith("-ERR")
    assert p.cmd("QUIT").startswith("+OK")
    assert len(taro_box) == 3
    p = pop()
    assert p.login().startswith("+OK")
    assert p.cmd("DELE 1").startswith("+OK")
    assert p.cmd("QUIT").startswith("+OK")
    assert len(taro_box) == 2


def test_list_sizes_are_the_octets_retr_sends(pop, taro_box):
    # RFC 1939 sections 5 and 11: the size counts each line's CRLF, not the byte-stuffing
    p = pop()
    assert p.login().startswith("+OK")
    for number, size in (line.split() for line in p.multi("LIST")):
        assert p.cmd(f"LIST {number}") == f"+OK {number} {size}"
        assert p.cmd(f"RETR {number}").startswith("+OK")
        sent = p.raw_multi()[:-3]  # without the final ".\r\n"
        unstuffed = b"".join(ln[1:] if ln.startswith(b".") else ln
                             for ln in sent.splitlines(keepends=True))
        assert len(unstuffed) == int(size)
    assert b"\r\n..a dot line\r\n" in _retr(p, 1)  # the line ".a dot line", stuffed


def _retr(p: POP, number: int) -> bytes:
    assert p.cmd(f"RETR {number}").startswith("+OK")
    return p.raw_multi()


def test_top_zero_sends_the_header_and_the_blank_line(pop, taro_box):
    # RFC 1939 section 7: TOP msg 0 is the header, the blank line, no body line
    p = pop()
    assert p.login().startswith("+OK")
    top = p.multi("TOP 1 0")
    assert top[-1] == "" and "Subject: pop 0" in top and "a line" not in top
    assert p.multi("TOP 1 1")[-1] == "a line"


def test_a_message_stored_with_lf_line_ends_is_sent_with_crlf(lab, pop, taro_box):
    # RFC 1939 section 3 (every line of a multi-line response ends in CRLF, and a line
    # starting with "." is byte-stuffed) and section 11 (the size counts each line end
    # as two octets).  A Maildir may hold LF-only files (a learner's box.deliver(...), a
    # corpus message copied in).  Before: RETR sent "a\n.\nb" as one line with bare LFs,
    # a dot line unstuffed (so a client saw the message end early), and LIST said 6
    # octets short.
    taro_box.deliver(b"Subject: lf only\n\nfirst\n.\nlast")
    size = len(b"Subject: lf only\r\n\r\nfirst\r\n.\r\nlast\r\n")
    p = pop()
    assert p.login().startswith("+OK 4 ")
    assert p.cmd("LIST 4") == f"+OK 4 {size}"
    wire = _retr(p, 4)
    assert wire == b"Subject: lf only\r\n\r\nfirst\r\n..\r\nlast\r\n.\r\n"
    assert p.cmd("STAT").startswith("+OK 4 ")
    assert p.multi("TOP 4 0") == ["Subject: lf only", ""]


def test_capa_lists_only_what_is_implemented(pop, taro_box):
    # RFC 2449 section 5; STLS (RFC 2595) is not offered, and is refused
    p = pop()
    capa = p.multi("CAPA")
    assert "STLS" not in capa and not [c for c in capa if c.startswith("SASL")]
    assert p.cmd("STLS").startswith("-ERR")
    assert p.login().startswith("+OK")
    assert p.cmd("STAT").startswith("+OK 3 ")  # the session is unharmed


# -- POP before SMTP -----------------------------------------------------------------------------

def test_only_a_successful_login_opens_the_window_for_that_address_only(lab, pop, taro_box):
    # labkit.mta.pop3: "A successful login opens a relay window for the client address"
    client = "198.51.100.143"
    p = pop(client)
    assert p.login(password="wrong").startswith("-ERR [AUTH]")
    assert not lab.isp_window.is_open(client)
    assert p.login().startswith("+OK")
    # the maildrop is locked now: a right password in a second session is refused
    # with [IN-USE], a login that did not succeed, so no window for its address
    q = pop(OTHER_PC)
    assert q.login().startswith("-ERR [IN-USE]")
    assert lab.isp_window.is_open(client) and not lab.isp_window.is_open(OTHER_PC)
    assert lab.isp_window.remaining(client) == pytest.approx(lab.pop_window, abs=5)
    assert p.cmd("QUIT").startswith("+OK")
    lab.advance(lab.pop_window)
    assert not lab.isp_window.is_open(client)  # closed after the configured time


def test_auth_during_a_mail_transaction_is_refused_with_503():
    # RFC 4954 section 4: "An AUTH command issued during a mail transaction MUST be
    # rejected with a 503 reply."  Port 587 asks AUTH before MAIL, so this needs a server
    # whose policy takes MAIL first: a plain handler (aiosmtpd accepts any MAIL) and an
    # authenticator that would accept anyone.  Before: 235, the user logged in mid-mail.
    import socket

    from aiosmtpd.smtp import AuthResult

    from labkit.mta import SMTPServer
    from labkit.mta.submission import make_certificates

    server_tls, client_tls, _ = make_certificates(["t.example"])
    srv = SMTPServer(object(), hostname="t.example", tls_context=server_tls,
                     authenticator=lambda *a: AuthResult(success=True)).start()
    try:
        d = Dialogue(socket.create_connection((srv.bind, srv.port), timeout=10))
        assert d.reply().startswith("220")
        d.cmd("EHLO pc.example")
        assert d.cmd("STARTTLS").startswith("220")
        d = Dialogue(client_tls.wrap_socket(d.sock, server_hostname="127.0.0.1"))
        assert "AUTH" in d.cmd("EHLO pc.example")
        assert d.cmd("MAIL FROM:<a@t.example>").startswith("250")
        assert d.cmd(f"AUTH PLAIN {PLAIN}").startswith("503 5.5.1 ")
        assert d.cmd("RSET").startswith("250")
        assert d.cmd(f"AUTH PLAIN {PLAIN}").startswith("235 ")  # outside a transaction: fine
        d.close()
    finally:
        srv.stop()
