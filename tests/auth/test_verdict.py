"""evaluate() on the cast's scenarios, through the real LabDNS with the lab's real keys.

Expected outcomes follow from the zones (CAST.md) by hand: brand.example publishes
SPF ip4:192.0.2.10 -all and DMARC p=reject; attacker.test has valid SPF/DKIM of its own.
"""

from __future__ import annotations

import json

import pytest

import labkit.auth
from labkit.auth import arc, dkim, results

BRAND_MAIL = (b"From: Brand News <news@brand.example>\r\nTo: alice@corp.example\r\n"
              b"Subject: Your November statement\r\nMessage-ID: <n1@brand.example>\r\n"
              b"Date: Sat, 28 Nov 2026 01:00:00 +0000\r\n\r\nHello Alice,\r\nyour statement is ready.\r\n")


def brand_signed(message: bytes = BRAND_MAIL) -> bytes:
    return dkim.sign(message, domain="brand.example", selector="s2026",
                     private_key=dkim.lab_key("brand.example", "s2026"))


def test_legit_brand_mail_is_accepted(lab_dns):
    v = labkit.auth.evaluate(brand_signed(), ip="192.0.2.10", mail_from="bounces@brand.example",
                             helo="mail.brand.example", dns=lab_dns)
    assert v.spf.result == "pass"
    assert [d.result for d in v.dkim] == ["pass"]
    assert v.dmarc.result == "pass" and v.dmarc.spf_aligned and v.dmarc.dkim_aligned
    assert v.disposition == "accept"
    parsed = results.results_by_method(v.header)
    assert parsed["spf"][0] == "pass" and parsed["dkim"] == ["pass"] and parsed["dmarc"] == ["pass"]
    text = v.explain(detail=True)
    assert "brand.example TXT -> NOERROR: v=spf1 ip4:192.0.2.10 -all" in text  # SPF's DNS look-up
    assert "policy p=reject (record at the From domain itself)" in text       # DMARC's reasoning


def test_forged_from_from_a_foreign_address_is_rejected(lab_dns):
    # a bot in the ISP pool claims to be brand.example, envelope and header
    v = labkit.auth.evaluate(BRAND_MAIL, ip="198.51.100.150", mail_from="news@brand.example",
                             helo="dyn-198-51-100-150.pool.isp.example", dns=lab_dns)
    assert v.spf.result == "fail"
    assert v.dkim == ()
    assert (v.dmarc.result, v.dmarc.policy, v.dmarc.disposition) == ("fail", "reject", "reject")
    assert v.disposition == "reject"


def from_attacker(message: bytes, dns):
    """Sent from the attacker's own server with its own SPF and DKIM (selector evil)."""
    signed = dkim.sign(message, domain="attacker.test", selector="evil",
                       private_key=dkim.lab_key("attacker.test", "evil"))
    return labkit.auth.evaluate(signed, ip="203.0.113.66", mail_from="bounce@attacker.test",
                                helo="mail.attacker.test", dns=dns)


def test_alignment_break_phish_from_attacker(lab_dns):
    """SPF and DKIM both pass — for attacker.test — while From says brand.example."""
    v = from_attacker(BRAND_MAIL.replace(b"Subject: Your November statement",
                                         b"Subject: Verify your account"), lab_dns)
    assert v.spf.result == "pass" and v.spf.domain == "attacker.test"
    assert [(d.result, d.domain) for d in v.dkim] == [("pass", "attacker.test")]
    assert v.dmarc.result == "fail"
    assert not v.dmarc.spf_aligned and not v.dmarc.dkim_aligned
    assert v.disposition == "reject"


def test_attackers_own_domain_passes_dmarc(lab_dns):
    v = from_attacker(BRAND_MAIL.replace(b"news@brand.example", b"promo@attacker.test"), lab_dns)
    assert v.dmarc.result == "pass" and v.disposition == "accept"  # authentication is not trust


def test_display_name_trick_is_evaluated_for_the_real_domain(lab_dns):
    msg = BRAND_MAIL.replace(b"From: Brand News <news@brand.example>",
                             b'From: "news@brand.example" <promo@attacker.test>')
    v = labkit.auth.evaluate(msg, ip="203.0.113.66", mail_from="bounce@attacker.test",
                             helo="mail.attacker.test", dns=lab_dns)
    assert v.dmarc.header_from == "attacker.test"
    assert any("brand.example" in s for s in v.steps if s.startswith("From note"))


def test_two_from_fields_never_pass_even_with_valid_brand_signature(lab_dns):
    # the brand's genuine signature, and a second From added on top
    doubled = b"From: ceo@attacker.test\r\n" + brand_signed()
    v = labkit.auth.evaluate(doubled, ip="192.0.2.10", mail_from="bounces@brand.example",
                             helo="mail.brand.example", dns=lab_dns)
    assert v.dmarc.result == "permerror"
    assert v.disposition == "reject"
    assert "From fields" in v.dmarc.reason


def test_mailing_list_breaks_dkim_and_trusted_arc_restores(lab_dns):
    original = brand_signed()
    # the list receives it from the brand and records what it saw
    at_list = labkit.auth.evaluate(original, ip="192.0.2.10", mail_from="bounces@brand.example",
                                   helo="mail.brand.example", dns=lab_dns,
                                   authserv_id="lists.example.org")
    assert at_list.dmarc.result == "pass"
    edited = original.replace(b"Subject: Your November statement",
                              b"Subject: [brand-news] Your November statement")
    edited += b"-- \r\nbrand-news mailing list\r\n"
    sealed = arc.seal(edited, domain="lists.example.org", selector="list",
                      private_key=dkim.lab_key("lists.example.org", "list"),
                      authserv_id="lists.example.org", results_header=at_list.header, dns=lab_dns)
    kwargs = dict(ip="198.51.100.50", mail_from="brand-news-bounces@lists.example.org",
                  helo="mail.lists.example.org", dns=lab_dns)
    plain = labkit.auth.evaluate(sealed, **kwargs)
    assert plain.spf.result == "pass" and plain.spf.domain == "lists.example.org"
    assert [d.result for d in plain.dkim if d.domain == "brand.example"] == ["fail"]
    assert plain.arc.result == "pass"
    assert plain.dmarc.result == "fail" and plain.disposition == "reject"
    assert not plain.arc_override
    trusted = labkit.auth.evaluate(sealed, trusted_arc_sealers=("lists.example.org",), **kwargs)
    assert trusted.dmarc.result == "fail"  # DMARC itself still fails
    assert trusted.arc_override and trusted.disposition == "accept"
    assert results.results_by_method(trusted.header)["arc"] == ["pass"]
    # an untrusted sealer does not help
    other = labkit.auth.evaluate(sealed, trusted_arc_sealers=("fwd.example.net",), **kwargs)
    assert other.disposition == "reject"


@pytest.mark.parametrize("raw", [
    b"",
    b"no header separator and no colon",
    bytes(range(256)) * 50,
    b"From: a@brand.example\r\n" + b"X-Big: " + b"z" * 1_000_000 + b"\r\n\r\nbody",
    b"From: a@brand.example\r\n\tbroken\r\n  folding\r\nSubject: \xff\xfe\r\n\r\nbody",
    b"\r\n\r\nbody only",
    b"DKIM-Signature: v=1; a=rsa-sha256; d=brand.example; s=s2026; b=garbage; bh=x; h=from\r\n"
    b"From: a@brand.example\r\n\r\nbody",
    b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=lists.example.org; s=list; b=xx\r\n"
    b"From: a@brand.example\r\n\r\nbody",
])
def test_malformed_messages_never_raise(lab_dns, raw):
    v = labkit.auth.evaluate(raw, ip="192.0.2.10", mail_from="bounces@brand.example",
                             helo="mail.brand.example", dns=lab_dns)
    assert v.disposition in ("accept", "quarantine", "reject")
    assert v.header.startswith("Authentication-Results: mx.corp.example;")
    json.dumps(v.to_dict(), default=str)
    if not raw.startswith(b"From: a@brand.example") and b"\r\nFrom: a@brand.example" not in raw:
        assert v.dmarc.result != "pass"


def test_bad_envelope_values_never_raise(lab_dns):
    v = labkit.auth.evaluate(BRAND_MAIL, ip="not-an-ip", mail_from="<<>>", helo="", dns=lab_dns)
    assert v.spf.result == "permerror"
    assert v.disposition == "reject"


def test_dmarc_module_offers_the_same_whole_message_call(lab_dns):
    from labkit.auth import dmarc

    kwargs = dict(ip="198.51.100.150", mail_from="news@brand.example", helo="dyn.example", dns=lab_dns)
    assert dmarc.evaluate(BRAND_MAIL, **kwargs).disposition == "reject"
    assert dmarc.evaluate(brand_signed(), **kwargs).disposition == "accept"  # DKIM aligned pass
