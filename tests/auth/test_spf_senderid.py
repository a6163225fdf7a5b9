"""Sender ID (historical): PRA selection per RFC 4407 section 2, evaluated with SPF's
record logic. The expected PRA in each case follows the RFC's steps by hand."""

from __future__ import annotations

import labkit.dns
from labkit.auth import senderid


def test_pra_order_resent_sender_resent_from_sender_from():
    base = b"From: a@from.example\r\n"
    assert senderid.pra(base + b"\r\nbody").address == "a@from.example"
    msg = b"Sender: s@sender.example\r\n" + base + b"\r\n"
    assert senderid.pra(msg).header == "Sender"
    msg = b"Resent-From: rf@resent.example\r\nSender: s@sender.example\r\n" + base + b"\r\n"
    assert senderid.pra(msg).address == "rf@resent.example"
    msg = b"Resent-Sender: rs@rs.example\r\nResent-From: rf@resent.example\r\n" + base + b"\r\n"
    assert senderid.pra(msg).address == "rs@rs.example"


def test_resent_sender_of_an_older_block_is_skipped():
    # Resent-From, then a Received, then Resent-Sender: step 1 says go to step 2
    msg = (b"Resent-From: rf@new.example\r\nReceived: from x by y\r\n"
           b"Resent-Sender: rs@old.example\r\nFrom: a@from.example\r\n\r\n")
    assert senderid.pra(msg).address == "rf@new.example"


def test_pra_undetermined():
    assert senderid.pra(b"From: a@x.example, b@y.example\r\n\r\n").address is None
    assert senderid.pra(b"Sender: a@x.example\r\nSender: b@y.example\r\n\r\n").address is None
    assert senderid.pra(b"Subject: none\r\n\r\n").problem == "no PRA header"


ZONE = """
$ORIGIN sid.test.
@ SOA ns h 1 2 3 4 5
@ NS ns
ns A 192.0.2.1
@ TXT "v=spf1 ip4:192.0.2.50 -all"
pra TXT "v=spf1 -all"
pra TXT "spf2.0/pra ip4:192.0.2.60 -all"
both TXT "v=spf1 -all"
both TXT "spf2.0/mfrom,pra ip4:192.0.2.61 -all"
"""


def test_check_uses_spf2_pra_record_else_spf1(lab_dns):
    with labkit.dns.LabDNS(zones=ZONE) as lab:
        msg = b"From: boss@pra.sid.test\r\n\r\nhi"
        res = senderid.check(msg, ip="192.0.2.60", helo="h.example", dns=lab)
        assert res.scope == "spf2.0/pra"
        assert res.result == "pass"   # the v=spf1 record alone would say fail
        res = senderid.check(b"From: boss@both.sid.test\r\n\r\nhi", ip="192.0.2.61", helo="h", dns=lab)
        assert (res.scope, res.result) == ("spf2.0/pra", "pass")
        msg = b"From: boss@sid.test\r\n\r\nhi"
        res = senderid.check(msg, ip="192.0.2.50", helo="h.example", dns=lab)
        assert res.scope == "v=spf1 (fallback)"
        assert res.result == "pass"
        assert senderid.check(msg, ip="192.0.2.51", helo="h.example", dns=lab).result == "fail"
        assert "historical" in res.status


def test_forwarded_mail_contrast(lab_dns):
    # A forwarder that adds Resent-From: Sender ID checks the forwarder's domain
    msg = b"Resent-From: alias@fwd.example.net\r\nFrom: news@brand.example\r\n\r\n"
    res = senderid.check(msg, ip="198.51.100.40", helo="mx.fwd.example.net", dns=lab_dns)
    assert res.pra.domain == "fwd.example.net"
    assert res.result == "pass"
