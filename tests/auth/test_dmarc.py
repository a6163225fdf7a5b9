"""DMARC: record parsing, policy discovery, sp/np, disposition, on the course zones.

Expected outcomes are worked out by hand from RFC 9989 and the zone text
(data/zones/dmarc.test.zone, brand.example.zone); SPF/DKIM inputs are simple stand-ins
so each test isolates DMARC's own logic.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import labkit.dns
from labkit.auth import dmarc


def spf(result, domain):
    return SimpleNamespace(result=result, domain=domain, identity="mailfrom")


def sig(result, domain):
    return SimpleNamespace(result=result, domain=domain, selector="s", algorithm="rsa-sha256")


# --------------------------------------------------------------------------- parser

def test_parse_all_rfc9989_tags():
    r = dmarc.parse_record("v=DMARC1; p=reject; sp=quarantine; np=none; psd=n; t=y; adkim=s; "
                           "aspf=r; rua=mailto:a@x.example,mailto:b@y.example; ruf=mailto:f@x.example; fo=1:d")
    assert (r.p, r.sp, r.np, r.psd, r.t, r.adkim, r.aspf) == ("reject", "quarantine", "none", "n", True, "s", "r")
    assert r.rua == ("mailto:a@x.example", "mailto:b@y.example")
    assert r.ruf == ("mailto:f@x.example",)
    assert r.fo == ("1", "d")
    assert r.errors == () and r.warnings == ()


@pytest.mark.parametrize("tag", ["pct=50", "rf=afrf", "ri=86400"])
def test_rfc7489_only_tags_flagged_removed(tag):
    r = dmarc.parse_record(f"v=DMARC1; p=none; {tag}")
    assert any(tag.split("=")[0] in w and "removed" in w for w in r.warnings)


@pytest.mark.parametrize(("text", "fragment"), [
    ("v=DMARC1; p=block", "p='block'"),
    ("v=DMARC1; p=none; adkim=x", "adkim"),
    ("v=DMARC1; p=none; psd=maybe", "psd"),
    ("v=DMARC1; p=none; t=1", "t="),
    ("v=DMARC1; p=none; fo=2", "fo="),
    ("v=DMARC1; p=none; rua=reports@x.example", "not a URI"),
    ("v=DMARC1; p=none; pct=500", "pct="),
    ("v=DMARC1; sp=reject", "no p="),
    ("v=DMARC1; p=none; garbage", "tag=value"),
])
def test_parse_errors(text, fragment):
    r = dmarc.parse_record(text)
    assert r.valid
    assert any(fragment in e for e in r.errors), r.errors


def test_not_a_record_and_warnings():
    assert not dmarc.parse_record("p=reject; v=DMARC1").valid
    assert not dmarc.parse_record("v=DMARC2; p=reject").valid
    r = dmarc.parse_record("v=DMARC1; p=none; p=reject; future=1")
    assert r.p == "none"
    assert any("twice" in w for w in r.warnings) and any("unknown tag" in w for w in r.warnings)


def test_absurd_records_never_raise():
    for text in ["v=DMARC1;" + ";" * 10000, "v=DMARC1; p=" + "x" * 100000, "v=DMARC1; \x00=\x01",
                 "v=DMARC1; rua=mailto:", "", "v=DMARC1; p=reject; rua=" + ",".join(["mailto:a@b.example"] * 2000)]:
        r = dmarc.parse_record(text)
        assert isinstance(r.errors, tuple)


# --------------------------------------------------------------------------- policies

@pytest.mark.parametrize(("from_domain", "spf_in", "expected"), [
    # (From domain, SPF result for the same domain, (result, policy, disposition))
    ("reject.dmarc.test", spf("pass", "reject.dmarc.test"), ("pass", "reject", "none")),
    ("reject.dmarc.test", spf("fail", "reject.dmarc.test"), ("fail", "reject", "reject")),
    ("quarantine.dmarc.test", spf("fail", "quarantine.dmarc.test"), ("fail", "quarantine", "quarantine")),
    ("none.dmarc.test", spf("fail", "none.dmarc.test"), ("fail", "none", "none")),
    # strict: bounce.strict.dmarc.test is only relaxed-aligned with strict.dmarc.test
    ("strict.dmarc.test", spf("pass", "bounce.strict.dmarc.test"), ("fail", "reject", "reject")),
    ("relaxed.dmarc.test", spf("pass", "bounce.relaxed.dmarc.test"), ("pass", "reject", "none")),
    # child exists and has no record of its own: the organisation's sp=quarantine
    ("child.dmarc.test", spf("fail", "child.dmarc.test"), ("fail", "quarantine", "quarantine")),
    # ghost does not exist: np=reject
    ("ghost.dmarc.test", spf("none", "ghost.dmarc.test"), ("fail", "reject", "reject")),
    # pct=50 is a removed tag: ignored, p=reject applies in full
    ("pct.dmarc.test", spf("fail", "pct.dmarc.test"), ("fail", "reject", "reject")),
    # p=block is invalid: treated as none
    ("broken.dmarc.test", spf("fail", "broken.dmarc.test"), ("fail", "none", "none")),
    # v= not first, or two records: discarded, so the walk finds dmarc.test's record;
    # these names have an SPF TXT record: any record makes a name exist (RFC 9989 A.4) -> sp
    ("misordered.dmarc.test", spf("fail", "misordered.dmarc.test"), ("fail", "quarantine", "quarantine")),
    ("duplicate.dmarc.test", spf("fail", "duplicate.dmarc.test"), ("fail", "quarantine", "quarantine")),
    ("brand.example", spf("fail", "brand.example"), ("fail", "reject", "reject")),
    ("news.brand.example", spf("fail", "news.brand.example"), ("fail", "quarantine", "quarantine")),
    ("nowhere.brand.example", spf("fail", "nowhere.brand.example"), ("fail", "reject", "reject")),
    ("attacker.test", spf("fail", "attacker.test"), ("fail", "none", "none")),
])
def test_policy_and_disposition(lab_dns, from_domain, spf_in, expected):
    res = dmarc.check(from_domain, spf=spf_in, dkim=(), dns=lab_dns)
    assert (res.result, res.policy, res.disposition) == expected, res.explain()


def test_no_record_is_none(lab_dns):
    res = dmarc.check("nospf.example", spf=spf("none", "nospf.example"), dns=lab_dns)
    assert (res.result, res.disposition) == ("none", "none")


def test_dkim_alone_can_pass_and_unaligned_dkim_cannot(lab_dns):
    res = dmarc.check("brand.example", spf=spf("fail", "brand.example"),
                      dkim=(sig("pass", "brand.example"),), dns=lab_dns)
    assert res.result == "pass" and res.dkim_aligned and not res.spf_aligned
    res = dmarc.check("brand.example", spf=spf("pass", "attacker.test"),
                      dkim=(sig("pass", "attacker.test"), sig("fail", "brand.example")), dns=lab_dns)
    assert res.result == "fail" and res.disposition == "reject"


def test_policy_domain_found_by_walk(lab_dns):
    found = dmarc.discover("a.b.child.dmarc.test", dns=lab_dns)
    assert found.status == "found"
    assert found.policy_domain == "dmarc.test"
    assert found.org_domain == "dmarc.test"


def test_testing_mode_weakens_one_step():
    zone = ('$ORIGIN t.test.\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n'
            'r A 192.0.2.1\n_dmarc.r TXT "v=DMARC1; p=reject; t=y"\n'
            'q A 192.0.2.1\n_dmarc.q TXT "v=DMARC1; p=quarantine; t=y"\n')
    with labkit.dns.LabDNS(zones=zone) as lab:
        assert dmarc.check("r.t.test", spf=spf("fail", "r.t.test"), dns=lab).disposition == "quarantine"
        assert dmarc.check("q.t.test", spf=spf("fail", "q.t.test"), dns=lab).disposition == "none"
        # an RFC 7489 receiver (PSL mode) does not know t= and must ignore it (RFC 7489 6.3)
        old = dmarc.check("r.t.test", spf=spf("fail", "r.t.test"), dns=lab, method="psl")
        assert (old.disposition, old.testing) == ("reject", False)
        assert "t=y is ignored" in old.explain()


def test_dns_failure_is_temperror():
    zone = '$ORIGIN f.test.\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n_dmarc TXT "v=DMARC1; p=reject"\n'
    with labkit.dns.LabDNS(zones=zone, faults={"_dmarc.f.test/TXT": "servfail"}) as lab:
        res = dmarc.check("f.test", spf=spf("fail", "f.test"), dns=lab)
        assert res.result == "temperror"
        assert res.disposition == "none"


def test_unusable_from_never_passes(lab_dns):
    res = dmarc.check(None, spf=spf("pass", "brand.example"), dkim=(sig("pass", "brand.example"),),
                      dns=lab_dns, from_problem="2 From fields", from_disposition="reject")
    assert res.result == "permerror"
    assert res.disposition == "reject"
    assert "2 From fields" in res.reason


def test_pct_is_explained_not_applied(lab_dns):
    res = dmarc.check("pct.dmarc.test", spf=spf("fail", "pct.dmarc.test"), dns=lab_dns, method="psl")
    assert res.disposition == "reject"
    assert any("pct=50" in s and "RFC 7489" in s for s in res.steps)
    assert any("removed" in w for w in res.record.warnings)
    # an RFC 7489 receiver does know pct=: the step says so, not "removed"
    step = next(s for s in res.steps if s.startswith("pct=50"))
    assert "6.6.4" in step and "sample" in step and "removed" not in step
    # under RFC 9989 (the default) it is a removed tag
    res = dmarc.check("pct.dmarc.test", spf=spf("fail", "pct.dmarc.test"), dns=lab_dns)
    assert res.disposition == "reject"
    assert any("pct=50" in s and "removed by RFC 9989" in s for s in res.steps)


def test_repeated_tag_is_an_error_that_says_what_is_used(lab_dns):
    rec = dmarc.parse_record("v=DMARC1; p=none; p=reject")
    assert rec.p == "none"  # the first is used ...
    assert any("repeated" in e and "publish each tag once" in e for e in rec.errors)
    assert any("the first is used" in w for w in rec.warnings)  # ... and the learner is told
