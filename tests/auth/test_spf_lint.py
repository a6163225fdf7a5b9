"""The SPF linter: every finding, on the course's showcase domains and inline zones.

Expected counts are worked out by hand from the records (RFC 7208 4.6.4 counts
include, a, mx, ptr, exists and redirect).
"""

from __future__ import annotations

import pytest

import labkit.dns
from labkit.auth import spf as lspf
from labkit.auth import spf_lint


@pytest.mark.parametrize(("domain", "code", "severity"), [
    ("toomany.spf.test", "too-many-lookups", "error"),
    ("voids.spf.test", "void-lookups", "error"),
    ("ptr.spf.test", "ptr", "warning"),
    ("plusall.spf.test", "plus-all", "error"),
    ("noall.spf.test", "no-all", "warning"),
    ("twospf.spf.test", "multiple-records", "error"),
    ("long.spf.test", "length", "info"),
    ("syntax.spf.test", "syntax", "error"),
    ("badip.spf.test", "syntax", "error"),
    ("none.spf.test", "no-record", "error"),
    ("nospf.example", "no-record", "error"),
])
def test_each_finding_on_the_showcase(lab_dns, domain, code, severity):
    report = spf_lint.lint(domain, dns=lab_dns)
    hits = [f for f in report.findings if f.code == code]
    assert hits, str(report)
    assert hits[0].severity == severity


def test_clean_record_has_no_findings(lab_dns):
    report = spf_lint.lint("brand.example", dns=lab_dns)
    assert report.findings == ()
    assert report.ok
    assert report.record == "v=spf1 ip4:192.0.2.10 -all"


def test_lookup_count_over_the_tree(lab_dns):
    # include i1 (1); i1..i4: a, mx, include (3 each = 12); i5: a, mx (2) -> 15
    report = spf_lint.lint("toomany.spf.test", dns=lab_dns)
    assert report.dns_lookups == 15
    # shop.example: include:_spf.esp.example.com (1) + what _spf.esp.example.com uses
    shop = spf_lint.lint("shop.example", dns=lab_dns)
    assert shop.ok and shop.dns_lookups >= 1


INLINE = """
$ORIGIN lint.test.
@ SOA ns h 1 2 3 4 5
@ NS ns
ns A 192.0.2.1
missinc TXT "v=spf1 include:nothing.lint.test -all"
redirall TXT "v=spf1 ip4:192.0.2.1 -all redirect=missinc.lint.test"
loop TXT "v=spf1 include:loop.lint.test -all"
six TXT "v=spf1 a -all"
afterall TXT "v=spf1 a:six.lint.test -all include:nothing.lint.test mx:deadmx.lint.test"
six AAAA 2001:db8::6
deadmx TXT "v=spf1 mx -all"
deadmx MX 10 gone1.lint.test.
deadmx MX 20 gone2.lint.test.
deadmx MX 30 gone3.lint.test.
huge TXT "v=spf1 ip4:192.0.2.1 ip4:192.0.2.2 ip4:192.0.2.3 ip4:192.0.2.4 ip4:192.0.2.5 ip4:192.0.2.6 ip4:192.0.2.7 ip4:192.0.2.8 " "ip4:192.0.2.9 ip4:192.0.2.10 ip4:192.0.2.11 ip4:192.0.2.12 ip4:192.0.2.13 ip4:192.0.2.14 ip4:192.0.2.15 ip4:192.0.2.16 " "ip4:192.0.2.17 ip4:192.0.2.18 ip4:192.0.2.19 ip4:192.0.2.20 ip4:192.0.2.21 ip4:192.0.2.22 ip4:192.0.2.23 ip4:192.0.2.24 " "ip4:192.0.2.25 ip4:192.0.2.26 ip4:192.0.2.27 ip4:192.0.2.28 ip4:192.0.2.29 ip4:192.0.2.30 ip4:192.0.2.31 ip4:192.0.2.32 -all"
"""


def test_inline_findings():
    with labkit.dns.LabDNS(zones=INLINE) as lab:
        assert "include-missing" in spf_lint.lint("missinc.lint.test", dns=lab).codes()
        # 'all' present: the redirect is never used
        assert "redirect-ignored" in spf_lint.lint("redirall.lint.test", dns=lab).codes()
        # a name with only an AAAA record is not void; MX hosts without addresses are
        assert spf_lint.lint("six.lint.test", dns=lab).void_lookups == 0
        assert spf_lint.lint("deadmx.lint.test", dns=lab).void_lookups == 3
        assert "void-lookups" in spf_lint.lint("deadmx.lint.test", dns=lab).codes()
        # what the linter predicts is what a receiver gets
        assert lspf.check("192.0.2.1", "x@deadmx.lint.test", "h", dns=lab).result == "permerror"
        assert "syntax" in spf_lint.lint("loop.lint.test", dns=lab).codes()
        # mechanisms after 'all' are never evaluated (RFC 7208 5.1): a finding, not counted
        # and not followed (the missing include and the dead MX hosts are never asked for)
        after = spf_lint.lint("afterall.lint.test", dns=lab)
        assert after.codes() == {"after-all"} and after.dns_lookups == 1, str(after)
        got = lspf.check("192.0.2.99", "x@afterall.lint.test", "h", dns=lab)
        assert (got.result, got.dns_mechanisms) == ("fail", after.dns_lookups), got.explain()
        huge = spf_lint.lint("huge.lint.test", dns=lab)
        assert any(f.code == "length" and f.severity == "warning" for f in huge.findings)


def test_dns_error_is_a_finding_not_an_exception():
    with labkit.dns.LabDNS(zones=INLINE, faults={"missinc.lint.test/TXT": "servfail"}) as lab:
        report = spf_lint.lint("missinc.lint.test", dns=lab)
        assert "dns-error" in report.codes()


@pytest.mark.parametrize("domain, code", [
    ("nothing.void.test", "no-record"),
    ("inc.void.test", "include-missing"),
    ("redir.void.test", "redirect-missing"),  # was reported as the top record's no-record
])
def test_missing_targets_are_named_and_voids_counted_as_the_check_counts(domain, code):
    from tests.auth.test_spf import VOID_ZONE

    with labkit.dns.LabDNS([VOID_ZONE]) as dns:
        report = spf_lint.lint(domain, dns=dns)
        checked = lspf.check("192.0.2.1", f"x@{domain}", "h.example", dns=dns)
    assert report.codes() == {code}
    assert report.void_lookups == checked.void_lookups
