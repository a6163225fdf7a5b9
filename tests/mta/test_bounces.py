"""Relayed mail never vanishes after a 250: a permanent refusal further on comes back to
the envelope sender as a DSN, a temporary one is retried on the lab clock.

Every failure here is produced by a real lab part: an unknown user at the MX, the MX's
DMARC reject, an MX that is stopped (connection refused).
"""

from __future__ import annotations

import email
import email.policy

import pytest

import labkit.mta
from labkit.mta import default_password, make_message
from labkit.mta.policy import BOUNCE_SIZE_LIMIT, RETRY_AFTER

TARO = "taro@isp.example"
BOB = "bob@corp.example"
MX = "mx.corp.example"


def _msg(frm, to, subject, **kw):
    return make_message(from_=frm, to=to, subject=subject, body="hello\n", **kw)


def _dsns(lab, address, subject_tag):
    """The DSNs in ``address``'s mailbox (any folder) that quote a message with ``subject_tag``."""
    box = lab.mailbox(address)
    found = [m for folder in ("INBOX", "Junk") for m in box.messages(folder)
             if b"multipart/report" in m and subject_tag.encode() in m]
    return [email.message_from_bytes(m, policy=email.policy.default) for m in found]


def _status_fields(dsn):
    """(recipient, action, status, diagnostic) of each per-recipient block of a DSN."""
    (part,) = [p for p in dsn.walk() if p.get_content_type() == "message/delivery-status"]
    blocks = part.get_payload()  # the stdlib parses each block as a set of header fields
    assert blocks[0]["Reporting-MTA"].startswith("dns; ")
    return [(b["Final-Recipient"], b["Action"], b["Status"], b["Diagnostic-Code"])
            for b in blocks[1:]]


@pytest.fixture
def private_lab(lab_dns):
    """A lab of this test's own (the tests below stop its MX)."""
    with labkit.mta.Lab(dns=lab_dns, scorer=None) as running:
        yield running


def test_submission_to_an_unknown_user_bounces_to_the_sender(lab):
    res = lab.submit(_msg(TARO, "nobody@corp.example", "bounce-me-1"), user=TARO,
                     password=default_password(TARO))
    assert res.status == "sent"  # the submission server took it: from here it is its job
    (dsn,) = _dsns(lab, TARO, "bounce-me-1")
    assert dsn["From"].addresses[0].username == "MAILER-DAEMON"
    assert "nobody@corp.example" in dsn.get_body(("plain",)).get_content()
    ((rcpt, action, status, diag),) = _status_fields(dsn)
    assert rcpt == "rfc822; nobody@corp.example" and action == "failed"
    assert status == "5.1.1" and diag.startswith("smtp; 550 5.1.1")
    ev = [e for e in lab.events.entries(host="smtp.isp.example", event="bounce")
          if e.get("to") == TARO and e["rcpts"] == ["nobody@corp.example"]]
    assert ev and ev[-1]["decision"] == "sent"
    # the DSN travelled with the null reverse-path, so it can never cause another bounce
    (arrived,) = [e for e in lab.events.entries(host="mail.isp.example", event="verdict")
                  if e.get("message_id") == dsn["Message-ID"]]
    assert arrived["mail_from"] in ("", "<>"), arrived


def test_forwarded_mail_rejected_at_the_mx_bounces_to_the_envelope_sender(lab):
    # brand.example's From, unsigned: the MX rejects it for DMARC after the forwarder
    # said 250.  The envelope sender is bob, so the bounce has a mailbox to land in.
    res = lab.send(_msg("ceo@brand.example", "alice@fwd.example.net", "bounce-me-2"),
                   from_host="mx.corp.example", mail_from=BOB)
    assert res.status == "sent" and res.server == "mx.fwd.example.net"
    (dsn,) = _dsns(lab, BOB, "bounce-me-2")
    ((rcpt, action, status, diag),) = _status_fields(dsn)
    assert rcpt == "rfc822; alice@corp.example" and action == "failed"
    assert status == "5.7.1" and diag.startswith("smtp; 550 5.7.1") and "DMARC" in diag
    assert "Remote-MTA: dns; mx.corp.example" in dsn.as_string()


def test_with_srs_the_forwarders_bounce_still_reaches_the_original_sender(lab_dns):
    # the forwarder rewrites the envelope sender (SRS) when it passes mail on; a refusal
    # further on must still come back to bob, not to the rewritten address
    with labkit.mta.Lab(dns=lab_dns, srs=True, scorer=None) as lab:
        res = lab.send(_msg("ceo@brand.example", "alice@fwd.example.net", "bounce-srs"),
                       from_host="mx.corp.example", mail_from=BOB)
        assert res.status == "sent" and res.server == "mx.fwd.example.net"
        verdicts = lab.events.entries(host="mx.corp.example", event="verdict")
        (refused,) = [v for v in verdicts if v["mail_from"].startswith("SRS0=")]
        assert refused["decision"] == "reject"
        (dsn,) = _dsns(lab, BOB, "bounce-srs")
        ((rcpt, action, status, _diag),) = _status_fields(dsn)
        assert rcpt == "rfc822; alice@corp.example" and (action, status) == ("failed", "5.7.1")


def test_a_failed_bounce_is_never_bounced(lab):
    # the same rejected forward, sent with the null reverse-path (as a DSN would be)
    res = lab.send(_msg("ceo@brand.example", "alice@fwd.example.net", "bounce-me-3"),
                   from_host="mx.corp.example", mail_from="")
    assert res.status == "sent"
    ev = lab.events.entries(host="mx.fwd.example.net", event="bounce")[-1]
    assert ev["decision"] == "drop" and ev["rcpts"] == ["alice@corp.example"]


def test_a_down_mx_is_retried_on_the_lab_clock_and_the_mail_arrives(private_lab):
    lab = private_lab
    lab.server(MX).stop()
    res = lab.submit(_msg(TARO, BOB, "retry-me-1"), user=TARO, password=default_password(TARO))
    assert res.status == "sent"
    (waiting,) = lab.queue.items()
    assert waiting.rcpts == [BOB] and waiting.attempts == 1
    assert lab.events.entries(host="smtp.isp.example", event="defer")[-1]["rcpts"] == [BOB]
    lab.advance(RETRY_AFTER[0] / 2)  # not due yet: no attempt
    assert len(lab.queue) == 1 and lab.queue.items()[0].attempts == 1
    lab.server(MX).start()  # back on a new port; the lab routes to it
    lab.advance(RETRY_AFTER[0])
    assert len(lab.queue) == 0
    assert [m for m in lab.mailbox(BOB).messages() if b"retry-me-1" in m]
    assert not _dsns(lab, TARO, "retry-me-1")


def test_a_mx_that_stays_down_ends_in_a_dsn_after_the_last_retry(private_lab):
    lab = private_lab
    lab.server(MX).stop()
    res = lab.submit(_msg(TARO, BOB, "retry-me-2"), user=TARO, password=default_password(TARO))
    assert res.status == "sent"
    for i, wait in enumerate(RETRY_AFTER):
        assert not _dsns(lab, TARO, "retry-me-2")  # still trying
        assert lab.queue.items()[0].attempts == i + 1
        lab.advance(wait)
    assert len(lab.queue) == 0
    (dsn,) = _dsns(lab, TARO, "retry-me-2")
    ((rcpt, action, _status, diag),) = _status_fields(dsn)
    assert rcpt == f"rfc822; {BOB}" and action == "failed"
    assert "refused" in diag.lower() and f"gave up after {len(RETRY_AFTER) + 1} attempts" in diag
    attempts = [e["attempt"] for e in lab.events.entries(host="smtp.isp.example", event="relay")]
    assert attempts == list(range(1, len(RETRY_AFTER) + 2))


def test_stopping_the_lab_logs_what_was_still_queued(lab_dns, tmp_path):
    with labkit.mta.Lab(dns=lab_dns, scorer=None, root=tmp_path) as lab:
        lab.server(MX).stop()
        lab.submit(_msg(TARO, BOB, "retry-me-3"), user=TARO, password=default_password(TARO))
        assert len(lab.queue) == 1
    lines = "".join(p.read_text() for p in (tmp_path / "logs").glob("*.jsonl"))
    assert "the lab stopped with the message still queued" in lines


def test_a_bounce_quotes_at_most_the_bounce_size_limit_of_the_original(lab):
    # A message whose "header" is 300 kB (no blank line at all: every line is header):
    # the DSN quotes whole lines up to Postfix's bounce_size_limit, not the whole thing.
    pad = b"".join(b"X-Pad-%06d: %s\r\n" % (i, b"p" * 60) for i in range(4000))
    raw = (f"From: {TARO}\r\nTo: nobody@corp.example\r\nSubject: bounce-me-big\r\n".encode()
           + pad)
    assert b"\r\n\r\n" not in raw and len(raw) > 6 * BOUNCE_SIZE_LIMIT
    res = lab.submit(raw, user=TARO, password=default_password(TARO), rcpt_to=["nobody@corp.example"])
    assert res.status == "sent", res
    (dsn,) = _dsns(lab, TARO, "bounce-me-big")
    (quoted,) = [p for p in dsn.walk() if p.get_content_type() == "text/rfc822-headers"]
    text = quoted.get_payload(decode=True)
    assert len(text) <= BOUNCE_SIZE_LIMIT + 4
    assert f"\r\nFrom: {TARO}\r\n".encode() in text  # below the hops' own fields
    last = text.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
    assert last.startswith(b"X-Pad-") and last.endswith(b"p" * 60)  # whole lines only
