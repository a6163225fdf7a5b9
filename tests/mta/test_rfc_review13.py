"""SMTP behaviour checked against RFC 5321, 3463 and 3464 in real sessions over loopback.

Each test here failed on the code before its fix.  What was checked and already right
(reply codes of RSET/NOOP/VRFY/EXPN, source routes ignored, 512-octet command lines and
1000-octet text lines accepted, STARTTLS state reset and no STARTTLS twice, AUTH
cancelled with ``*`` -> 501, AUTH twice -> 503, AUTH before EHLO -> 503, the DSN's
per-recipient fields for an SMTP refusal) is covered elsewhere or by aiosmtpd.
"""

from __future__ import annotations

import base64
import email
import email.policy
import uuid

import pytest

from labkit.mta import default_password, make_message

from .conftest import Dialogue, raw_connect

MX = "mx.corp.example"
SUBMISSION = "smtp.isp.example"
TARO = "taro@isp.example"
PC = "198.51.100.140"  # a customer PC in the ISP's pool
BRAND = "192.0.2.10"  # mail.brand.example
LISTED = "203.0.113.99"  # bot.noptr.test, listed in bl.dnsbl.example (CAST.md)


def _tag() -> str:
    return uuid.uuid4().hex[:12]


def _qid(reply: str) -> str:
    return reply.rsplit(" ", 1)[-1]


def _submission(lab) -> Dialogue:
    """A submission session past STARTTLS, EHLO and AUTH PLAIN as taro."""
    d = Dialogue(raw_connect(lab, PC, SUBMISSION, 587))
    assert d.reply().startswith("220")
    assert d.cmd("EHLO pc.example").startswith("250")
    assert d.cmd("STARTTLS").startswith("220")
    d = Dialogue(lab.client_tls_context.wrap_socket(d.sock, server_hostname="127.0.0.1"))
    assert d.cmd("EHLO pc.example").startswith("250")
    plain = base64.b64encode(f"\0{TARO}\0{default_password(TARO)}".encode()).decode()
    assert d.cmd(f"AUTH PLAIN {plain}").startswith("235")
    return d


# -- RFC 5321 4.5.5 / 6.1: a message from the null reverse-path is never bounced ------------

def test_backscatter_mode_never_bounces_a_null_sender_message(lab):
    # Before: the MX in backscatter mode tried to send its DSN to "<>" (aiosmtpd hands
    # the null reverse-path over as "<>", which the check `if not mail_from` missed);
    # the bounce event said to='<>', decision='refused'.
    tag = _tag()
    msg = make_message(from_="mailer-daemon@attacker.test", to="ghost@corp.example",
                       subject=f"null sender {tag}", body="a bounce\n")
    lab.receiver.backscatter = True
    try:
        res = lab.send(msg, from_host="mail.attacker.test", mail_from="",
                       rcpt_to=["ghost@corp.example"])
    finally:
        lab.receiver.backscatter = False
    assert res.status == "sent", res.steps
    qid = _qid(res.reply)
    (event,) = [e for e in lab.events.entries(host=MX, event="bounce") if e.get("qid") == qid]
    assert event["decision"] == "drop" and "to" not in event, event


# -- RFC 5321 4.5.1: RCPT TO:<Postmaster> MUST be accepted, and the mail must arrive ----------

def test_submission_delivers_mail_for_a_bare_postmaster(lab):
    # Before: the submission host took RCPT TO:<Postmaster> and then relayed it to the
    # domain "" ("postmaster is not a lab destination"): the user got a DSN instead.
    tag = _tag()
    msg = make_message(from_=TARO, to="Postmaster", subject=f"help {tag}", body="hello\n")
    res = lab.submit(msg, user=TARO, password=default_password(TARO), rcpt_to=["Postmaster"])
    assert res.status == "sent", res.steps
    arrived = [m for m in lab.mailbox("postmaster@isp.example").messages() if tag.encode() in m]
    assert len(arrived) == 1
    assert not [m for m in lab.mailbox(TARO).messages()
                if b"multipart/report" in m and tag.encode() in m]


# -- RFC 5321 4.5.3.1.8: at least 100 recipients per message ---------------------------------

def test_one_hundred_recipients_are_taken(lab):
    # Before: Limits.recipients defaulted to 50, and the 51st RCPT got 452 4.5.3 ("a
    # rejection with fewer than 100 RCPT commands is a violation of this specification").
    d = _submission(lab)
    try:
        assert d.cmd(f"MAIL FROM:<{TARO}>").startswith("250")
        replies = [d.cmd(f"RCPT TO:<user{i}@corp.example>") for i in range(100)]
        refused = [(i, r) for i, r in enumerate(replies) if not r.startswith("250")]
        assert refused == []
        assert d.cmd("RSET").startswith("250")
    finally:
        d.close()


# -- RFC 5321 3.1: after a 554 greeting the server waits for QUIT ----------------------------

def test_a_554_greeting_is_followed_by_503s_until_quit(lab, dialogue):
    # Before: the MX closed the connection right after its 554 (DNSBL listing), so a
    # client's QUIT met a closed socket.
    d = dialogue(LISTED)
    assert d.greeting.startswith("554 ") and "bl.dnsbl.example" in d.greeting
    assert d.cmd("EHLO bot.noptr.test").startswith("503")
    assert d.cmd("MAIL FROM:<x@noptr.test>").startswith("503")
    assert d.cmd("QUIT").startswith("221")
    assert d.sock.recv(1024) == b""  # closed after QUIT
    assert not lab.events.entries(host=MX, event="spf", client=LISTED)  # no policy step ran


# -- RFC 3463 / 3464: a permanent failure carries a 5.X.X status -----------------------------

def test_a_recipient_domain_without_a_route_is_a_permanent_failure_in_the_dsn(lab):
    # Before: "nowhere.example is not a lab destination" (no MX, no A) was reported as
    # Status: 4.4.1 ("no answer from host", a persistent *transient* failure), though
    # no connection was tried and no retry follows.  Postfix says 5.4.4 (unable to route).
    tag = _tag()
    msg = make_message(from_=TARO, to="x@nowhere.example", subject=f"no route {tag}",
                       body="hello\n")
    res = lab.submit(msg, user=TARO, password=default_password(TARO),
                     rcpt_to=["x@nowhere.example"])
    assert res.status == "sent", res.steps
    (raw,) = [m for m in lab.mailbox(TARO).messages()
              if b"multipart/report" in m and tag.encode() in m]
    dsn = email.message_from_bytes(raw, policy=email.policy.default)
    (part,) = [p for p in dsn.walk() if p.get_content_type() == "message/delivery-status"]
    block = part.get_payload()[1]
    assert block["Final-Recipient"] == "rfc822; x@nowhere.example"
    assert block["Action"] == "failed"
    assert block["Status"] == "5.4.4", block["Status"]


# -- RFC 5321 4.1.1.1 and 4.4: the EHLO/HELO argument is one domain or address literal -------

@pytest.mark.parametrize("line", ["EHLO a b", "HELO x y", "EHLO (mail.brand.example) x",
                                  "EHLO a;b", "HELO <mail.brand.example>"])
def test_a_helo_that_is_no_domain_is_refused(dialogue, line):
    # Before: 250, and the Received line read "from a b (mail.brand.example [...])",
    # outside RFC 5321 4.4's grammar (From-domain = "FROM" FWS Extended-Domain).
    d = dialogue(BRAND)
    assert d.cmd(line).startswith("501 "), line
    assert d.cmd("EHLO mail.brand.example").startswith("250")  # the session goes on


@pytest.mark.parametrize("name", ["mail.brand.example", "mail.brand.example.", "pc",
                                  "my_pc.local", "[192.0.2.10]", "[IPv6:2001:db8::1]"])
def test_domains_and_address_literals_are_taken_as_helo(dialogue, name):
    d = dialogue(BRAND)
    assert d.cmd(f"EHLO {name}").startswith("250"), name
    assert d.cmd(f"HELO {name}").startswith("250"), name


# -- RFC 1939 section 6: QUIT says -ERR when marked messages could not be removed ------------

def test_pop3_quit_reports_a_deleted_message_it_could_not_remove(lab):
    # Before: any OSError while removing was swallowed and QUIT said "+OK bye", so the
    # client believed a message gone that is still in the maildrop.  A directory put in
    # the message file's place makes the removal fail for real (unlink: EISDIR).
    user = "carol@corp.example"
    tag = _tag()
    res = lab.send(make_message(from_="ceo@brand.example", to=user, subject=f"pop {tag}",
                                body="hello\n"), from_host="mail.brand.example")
    assert res.status == "sent", res.steps
    box = lab.mailbox(user)
    keys = box.keys()
    (n,) = [i + 1 for i, k in enumerate(keys) if tag.encode() in box.get(k)]
    d = Dialogue(raw_connect(lab, BRAND, MX, 110))
    try:
        assert d.reply().startswith("+OK")
        assert d.cmd(f"USER {user}").startswith("+OK")
        assert d.cmd(f"PASS {default_password(user)}").startswith("+OK")
        assert d.cmd(f"DELE {n}").startswith("+OK")
        inbox = box.folder_path("INBOX")
        (path,) = [inbox / sub / keys[n - 1] for sub in ("new", "cur")
                   if (inbox / sub / keys[n - 1]).exists()]
        path.unlink()
        path.mkdir()
        (path / "blocker").write_bytes(b"x")
        try:
            assert d.cmd("QUIT").startswith("-ERR"), "QUIT claimed the removal worked"
        finally:
            (path / "blocker").unlink()
            path.rmdir()
    finally:
        d.close()
