"""Every lab host that accepts mail accepts mail for its postmaster (RFC 5321 section
4.5.1), over a real SMTP session.

Before, the forwarder answered ``550 5.1.1 no such alias`` to
``RCPT TO:<postmaster@fwd.example.net>`` and the mailing list ``550 5.1.1 no such list``
to ``postmaster@lists.example.org``: whoever wanted to report a problem with those
hosts (a bounce loop, a spam run through the list) could not reach anyone.  Now each
keeps that mail in a mailbox of its own, which a learner reads with ``lab.mailbox``.
"""

from __future__ import annotations

import smtplib
import uuid
import warnings

import pytest

from labkit import net
from labkit.mta.lab import FORWARDER, LIST_HOST
from labkit.mta.sender import dkim_sign

BRAND = "192.0.2.10"  # mail.brand.example


def smtp_to(lab, host: str) -> smtplib.SMTP:
    """A real SMTP session to ``host``:25, seen by the server as mail.brand.example."""
    h, p = lab.server(host, 25).address
    if lab.client_addressing == "proxy":
        pytest.skip("the stdlib client binds loopback aliases here (Linux); this lab uses PROXY")
    return smtplib.SMTP(h, p, local_hostname="mail.brand.example", timeout=10,
                        source_address=(net.to_loopback(BRAND), 0))


def message(marker: str, to: str) -> bytes:
    return (f"From: <ceo@brand.example>\r\nTo: <{to}>\r\nSubject: abuse report {marker}\r\n"
            f"Message-ID: <{marker}@brand.example>\r\n\r\nA report for the postmaster.\r\n"
            ).encode()


def stored(lab, address: str, marker: str) -> list[bytes]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # lab.mailbox warns for an address no account has
        box = lab.mailbox(address)
    return [m for m in box.messages() if marker.encode() in m]


@pytest.mark.parametrize(("host", "domain"), [(FORWARDER, "fwd.example.net"),
                                              (LIST_HOST, "lists.example.org")])
@pytest.mark.parametrize("rcpt", ["postmaster@{domain}", "PostMaster@{domain}", "Postmaster"])
def test_postmaster_is_accepted_and_kept(lab, host, domain, rcpt):
    marker = uuid.uuid4().hex
    address = f"postmaster@{domain}"
    rcpt = rcpt.format(domain=domain)
    with smtp_to(lab, host) as smtp:
        smtp.ehlo()
        assert smtp.mail("ceo@brand.example")[0] == 250
        code, reply = smtp.rcpt(rcpt)
        assert code == 250, reply
        code, reply = smtp.data(message(marker, rcpt))
        assert code == 250, reply
    [copy] = stored(lab, address, marker)
    assert copy.startswith(b"Return-Path: <ceo@brand.example>\r\nReceived: from mail.brand.example")
    assert f"by {host} (labkit)".encode() in copy and f"for <{address}>".encode() in copy
    assert copy.endswith(message(marker, rcpt))
    # the event log says what happened, as for the receiver's deliveries
    box = lab.mailbox(address)
    [key] = [k for k in box.keys() if marker.encode() in box.get(k)]
    [deliver] = lab.events.entries(host=host, event="deliver", key=key)
    assert (deliver["rcpt"], deliver["decision"], deliver["folder"]) == (address, "deliver", "INBOX")
    [accept] = lab.events.entries(host=host, event="rcpt", session=deliver["session"])
    assert (accept["rcpt"], accept["decision"]) == (rcpt, "accept")
    assert "RFC 5321" in accept["reason"]


def test_postmaster_and_an_alias_in_one_transaction(lab):
    # the alias is still forwarded; the postmaster copy stays on the forwarder.  (Signed:
    # forwarding breaks SPF, and brand.example's DMARC p=reject needs DKIM to pass.)
    marker = uuid.uuid4().hex
    signed = dkim_sign(message(marker, "bob@fwd.example.net"), "brand.example")
    with smtp_to(lab, FORWARDER) as smtp:
        refused = smtp.sendmail("ceo@brand.example",
                                ["postmaster@fwd.example.net", "bob@fwd.example.net"], signed)
    assert refused == {}
    assert len(stored(lab, "postmaster@fwd.example.net", marker)) == 1
    forwarded = [m for folder in ("INBOX", "Junk")
                 for m in lab.mailbox("bob@corp.example").messages(folder) if marker.encode() in m]
    assert len(forwarded) == 1 and b"by mx.fwd.example.net" in forwarded[0]
    assert b"Return-Path: <ceo@brand.example>" in forwarded[0]


def test_postmaster_and_the_list_in_one_transaction(lab):
    marker = uuid.uuid4().hex
    with smtp_to(lab, LIST_HOST) as smtp:
        refused = smtp.sendmail("ceo@brand.example",
                                ["postmaster@lists.example.org", "lab-list@lists.example.org"],
                                message(marker, "lab-list@lists.example.org"))
    assert refused == {}
    [kept] = stored(lab, "postmaster@lists.example.org", marker)
    assert b"[lab-list]" not in kept  # the postmaster's copy is not edited like the list's
    members = [m for folder in ("INBOX", "Junk")
               for m in lab.mailbox("carol@corp.example").messages(folder) if marker.encode() in m]
    assert len(members) == 1 and b"Subject: [lab-list] abuse report" in members[0]


def test_other_unknown_addresses_are_still_refused(lab):
    with smtp_to(lab, FORWARDER) as smtp:
        smtp.ehlo()
        smtp.mail("ceo@brand.example")
        assert smtp.rcpt("nobody@fwd.example.net")[1].endswith(b"no such alias")
        assert smtp.rcpt("postmaster@corp.example")[0] == 550  # not this host's domain
    with smtp_to(lab, LIST_HOST) as smtp:
        smtp.ehlo()
        smtp.mail("ceo@brand.example")
        assert smtp.rcpt("postmaster-list@lists.example.org")[1].endswith(b"no such list")
