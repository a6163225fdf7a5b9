"""RFC 8601 section 5: the MX deletes incoming Authentication-Results that claim its name."""

from __future__ import annotations

import email

import pytest

from labkit.mta import make_message
from labkit.mta.receiver import remove_results

FORGED = ("mx.corp.example; spf=pass smtp.mailfrom=billing@nospf.example; "
          "dmarc=pass header.from=nospf.example")


def _send_forged(lab, subject: str) -> bytes:
    msg = make_message(from_="billing@nospf.example", to="bob@corp.example", subject=subject,
                       body="Your own server says it passed.",
                       headers={"Authentication-Results": FORGED,
                                "X-Other": "kept"})
    lab.send(msg, from_host="mail.attacker.test", mail_from="bounce@attacker.test")
    stored = [m for m in lab.mailbox("bob@corp.example").messages()
              if email.message_from_bytes(m)["Subject"] == subject]
    assert len(stored) == 1
    return stored[0]


def _results(raw: bytes) -> list[str]:
    return [str(v) for v in email.message_from_bytes(raw).get_all("Authentication-Results", [])]


def test_forged_results_are_removed_and_logged(lab):
    raw = _send_forged(lab, "forged claim, removed")
    results = _results(raw)
    assert len(results) == 1  # only the header our MX wrote
    assert "dmarc=pass" not in results[0] and "spf=pass smtp.mailfrom=billing" not in results[0]
    assert email.message_from_bytes(raw)["X-Other"] == "kept"
    events = lab.events.entries(host="mx.corp.example", event="forged-results")
    assert events and events[-1]["removed"] == 1


def test_switching_the_rule_off_shows_the_forgery(lab):
    lab.receiver.remove_forged_results = False
    try:
        raw = _send_forged(lab, "forged claim, kept")
    finally:
        lab.receiver.remove_forged_results = True
    results = _results(raw)
    assert len(results) == 2
    assert results[1].split(";")[0].strip() == "mx.corp.example" and "dmarc=pass" in results[1]


def test_remove_results_keeps_other_servers_and_folded_fields():
    head = (b"Received: from x\r\n"
            b"Authentication-Results: MX.Corp.Example (our name, other case);\r\n spf=pass\r\n"
            b"Authentication-Results: mx.webmail.example 1; dkim=pass\r\n"
            b"Subject: hi\r\n\r\n"
            b"Authentication-Results: mx.corp.example; in the body, untouched\r\n")
    out, n = remove_results(head, "mx.corp.example")
    assert n == 1
    assert out == (b"Received: from x\r\n"
                   b"Authentication-Results: mx.webmail.example 1; dkim=pass\r\n"
                   b"Subject: hi\r\n\r\n"
                   b"Authentication-Results: mx.corp.example; in the body, untouched\r\n")
    assert remove_results(b"no separator", "mx.corp.example") == (b"no separator", 0)


@pytest.mark.timeout(30)
def test_remove_results_reads_an_authserv_id_full_of_open_comments_in_linear_time():
    """An authserv-id of 1 MB of "(" with no ")" made the comment pattern rescan to the end
    from every "(": quadratic (160 kB took 14 s through a real receiver; 1 MB would take
    about ten minutes). The 30 s limit is many times what the linear code needs on a slow
    machine (under 0.1 s here)."""
    forged = b"Authentication-Results: " + b"(" * 1_000_000 + b"; spf=pass\r\n"
    message = forged + b"Subject: x\r\n\r\nbody\r\n"
    assert remove_results(message, "mx.corp.example") == (message, 0)
    ours = b"Authentication-Results: (c) mx.corp.example " + b"(" * 1_000_000 + b"; spf=pass\r\n"
    assert remove_results(ours + b"Subject: x\r\n\r\nbody\r\n", "mx.corp.example") == (
        b"Subject: x\r\n\r\nbody\r\n", 1)
