"""evaluate(..., spf=...): a receiver's MAIL FROM check is reused, and nothing changes."""

from __future__ import annotations

import pytest

import labkit.auth
from labkit.auth import dkim, spf

MAIL = (b"From: Brand News <news@brand.example>\r\nTo: alice@corp.example\r\n"
        b"Subject: Reuse\r\nMessage-ID: <reuse-1@brand.example>\r\n"
        b"Date: Sat, 28 Nov 2026 01:00:00 +0000\r\n\r\nHello.\r\n")
SIGNED = dkim.sign(MAIL, domain="brand.example", selector="s2026",
                   private_key=dkim.lab_key("brand.example", "s2026"))

# (ip, mail_from, helo): brand's own server, a forger, a bounce (empty MAIL FROM: HELO identity)
CASES = [
    ("192.0.2.10", "news@brand.example", "mail.brand.example"),
    ("203.0.113.66", "news@brand.example", "mail.attacker.test"),
    ("192.0.2.10", "", "mail.brand.example"),
]


@pytest.mark.parametrize(("ip", "mail_from", "helo"), CASES)
def test_passing_the_mail_from_result_gives_the_same_verdict(lab_dns, ip, mail_from, helo):
    fresh = labkit.auth.evaluate(SIGNED, ip=ip, mail_from=mail_from, helo=helo, dns=lab_dns)
    early = spf.check(ip, mail_from, helo, dns=lab_dns, receiver="mx.corp.example")
    reused = labkit.auth.evaluate(SIGNED, ip=ip, mail_from=mail_from, helo=helo, dns=lab_dns, spf=early)
    assert reused.spf is early  # not checked a second time
    assert reused.to_dict() == fresh.to_dict()
    assert reused.header == fresh.header and reused.disposition == fresh.disposition


def test_reuse_makes_no_second_spf_lookup(lab_dns):
    early = spf.check("192.0.2.10", "news@brand.example", "mail.brand.example", dns=lab_dns,
                      receiver="mx.corp.example")
    start = len(lab_dns.queries)
    labkit.auth.evaluate(SIGNED, ip="192.0.2.10", mail_from="news@brand.example",
                         helo="mail.brand.example", dns=lab_dns, spf=early)
    asked = [(q.name.rstrip(".").lower(), q.rdtype) for q in lab_dns.queries[start:]]
    assert ("brand.example", "TXT") not in asked  # the sender's SPF record was not fetched again
    assert ("_dmarc.brand.example", "TXT") in asked  # while the rest of the pipeline ran


@pytest.mark.parametrize("other", [
    {"ip": "203.0.113.66"},                        # another client
    {"mail_from": "bounces@brand.example"},        # another sender
    {"helo": "mail.attacker.test"},                # another HELO
    {"receiver": "mx.other.example"},              # another receiver (Received-SPF names it)
])
def test_a_result_for_other_parameters_is_ignored(lab_dns, other):
    args = {"ip": "192.0.2.10", "mail_from": "news@brand.example", "helo": "mail.brand.example"}
    stale = spf.check(**{**args, **{k: v for k, v in other.items() if k != "receiver"}}, dns=lab_dns,
                      receiver=other.get("receiver", "mx.corp.example"))
    fresh = labkit.auth.evaluate(SIGNED, **args, dns=lab_dns)
    given = labkit.auth.evaluate(SIGNED, **args, dns=lab_dns, spf=stale)
    assert given.spf is not stale
    assert given.to_dict() == fresh.to_dict()
