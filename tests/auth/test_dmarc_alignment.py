"""The alignment matrix (relaxed/strict x exact/sub/org/foreign x SPF/DKIM) and the
places where the RFC 9989 tree walk and RFC 7489's Public Suffix List disagree.

Expected alignment follows the definitions by hand: strict = the same name; relaxed =
the same organisational domain (org.test publishes the only record, so its subdomains
share org.test as organisational domain under both methods).
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

import labkit.dns
from labkit.auth import dmarc, orgdomain

ZONE = """
$ORIGIN test.
@ SOA ns.org.test. h.org.test. 1 2 3 4 5
@ NS ns.org.test.
ns.org A 192.0.2.1
org A 192.0.2.1
sub.org A 192.0.2.1
deep.sub.org A 192.0.2.1
other A 192.0.2.1
_dmarc.org TXT "v=DMARC1; p=reject; aspf=r; adkim=r"
strict A 192.0.2.1
sub.strict A 192.0.2.1
_dmarc.strict TXT "v=DMARC1; p=reject; aspf=s; adkim=s"
; a public-suffix-style operator: its customers are separate organisations
psd A 192.0.2.1
_dmarc.psd TXT "v=DMARC1; p=reject; psd=y"
shop.psd A 192.0.2.1
bank.psd A 192.0.2.1
; an organisation below a name that has a record too
corp A 192.0.2.1
_dmarc.corp TXT "v=DMARC1; p=none"
unit.corp A 192.0.2.1
_dmarc.unit.corp TXT "v=DMARC1; p=reject; psd=n"
mail.unit.corp A 192.0.2.1
"""


@pytest.fixture(scope="module")
def lab():
    with labkit.dns.LabDNS(zones=ZONE) as server:
        yield server


# From domain and authenticated domain for each relation, under a relaxed and a
# strict organisation.
RELATIONS = {
    "exact": lambda base: (base, base),
    "sub": lambda base: (base, f"sub.{base}"),           # authenticated name below From
    "org": lambda base: (f"sub.{base}", base),           # From below the authenticated name
    "foreign": lambda base: (base, "other.test"),
}
EXPECTED = {  # (mode, relation) -> aligned?
    ("relaxed", "exact"): True, ("relaxed", "sub"): True, ("relaxed", "org"): True,
    ("relaxed", "foreign"): False,
    ("strict", "exact"): True, ("strict", "sub"): False, ("strict", "org"): False,
    ("strict", "foreign"): False,
}


@pytest.mark.parametrize(("mode", "relation", "mechanism"),
                         list(itertools.product(("relaxed", "strict"), RELATIONS, ("spf", "dkim"))))
def test_alignment_matrix(lab, mode, relation, mechanism):
    base = "org.test" if mode == "relaxed" else "strict.test"
    from_domain, auth_domain = RELATIONS[relation](base)
    if mechanism == "spf":
        spf_in = SimpleNamespace(result="pass", domain=auth_domain, identity="mailfrom")
        dkim_in = ()
    else:
        spf_in = SimpleNamespace(result="fail", domain=from_domain, identity="mailfrom")
        dkim_in = (SimpleNamespace(result="pass", domain=auth_domain),)
    res = dmarc.check(from_domain, spf=spf_in, dkim=dkim_in, dns=lab)
    want = EXPECTED[(mode, relation)]
    assert res.result == ("pass" if want else "fail"), res.explain()
    assert (res.spf_aligned if mechanism == "spf" else res.dkim_aligned) is want


@pytest.mark.parametrize("method", ["treewalk", "psl"])
def test_aligned_function_modes(lab, method):
    assert dmarc.aligned("sub.org.test", "org.test", "r", dns=lab, method=method)
    assert not dmarc.aligned("sub.org.test", "org.test", "s", dns=lab, method=method)
    assert dmarc.aligned("ORG.test.", "org.test", "s", dns=lab, method=method)
    assert not dmarc.aligned("", "org.test", "r", dns=lab, method=method)


def test_walk_targets_rule_of_eight():
    name = "a.b.c.d.e.f.g.h.i.j"  # 10 labels: the name, then the right-most 7, then shorter
    assert orgdomain.walk_targets(name) == [
        name, "d.e.f.g.h.i.j", "e.f.g.h.i.j", "f.g.h.i.j", "g.h.i.j", "h.i.j", "i.j", "j"]
    assert orgdomain.walk_targets("x.org.test") == ["x.org.test", "org.test", "test"]


def test_walk_queries_seen_by_the_server(lab):
    lab.clear_queries()
    dmarc.discover("a.b.c.d.e.f.g.h.org.test", dns=lab)
    asked = [q.name.rstrip(".") for q in lab.queries if q.name.startswith("_dmarc.")]
    assert asked[0] == "_dmarc.a.b.c.d.e.f.g.h.org.test"
    assert asked[1] == "_dmarc.d.e.f.g.h.org.test"  # the right-most 7 labels
    assert "_dmarc.org.test" in asked


def test_psd_record_separates_customers_treewalk_vs_psl(lab):
    """psd=y at psd.test: the tree walk makes shop.psd.test and bank.psd.test separate
    organisations; the PSL (which does not list psd.test) lumps them together."""
    tw = dmarc.org_domain("x.shop.psd.test", dns=lab, method="treewalk")
    assert tw == "shop.psd.test"
    assert dmarc.org_domain("x.shop.psd.test", method="psl") == "psd.test"
    assert not dmarc.aligned("bank.psd.test", "shop.psd.test", "r", dns=lab, method="treewalk")
    assert dmarc.aligned("bank.psd.test", "shop.psd.test", "r", dns=lab, method="psl")


def test_psd_n_marks_the_organisation_treewalk_vs_psl(lab):
    """psd=n at unit.corp.test: the walk stops there; the PSL says corp.test."""
    assert dmarc.org_domain("mail.unit.corp.test", dns=lab) == "unit.corp.test"
    assert dmarc.org_domain("mail.unit.corp.test", method="psl") == "corp.test"
    assert not dmarc.aligned("corp.test", "mail.unit.corp.test", "r", dns=lab)
    assert dmarc.aligned("corp.test", "mail.unit.corp.test", "r", dns=lab, method="psl")


def test_without_any_record_the_name_is_its_own_organisation(lab):
    assert dmarc.org_domain("a.nothing.test", dns=lab) == "a.nothing.test"
    assert dmarc.org_domain("a.nothing.test", method="psl") == "nothing.test"


def test_psl_uses_bundled_list_multi_label_suffix():
    # co.uk is a two-label public suffix in the PSL (ICANN section)
    assert orgdomain.psl_org_domain("mail.example.co.uk") == "example.co.uk"
    assert orgdomain.psl_org_domain("a.b.example.com") == "example.com"


def test_policy_discovery_psl_vs_treewalk(lab):
    # the walk climbs to the first record; the PSL asks the name, then its org domain
    tw = dmarc.discover("deep.sub.org.test", dns=lab)
    psl = dmarc.discover("deep.sub.org.test", dns=lab, method="psl")
    assert tw.policy_domain == psl.policy_domain == "org.test"
    tw = dmarc.discover("mail.unit.corp.test", dns=lab)
    psl = dmarc.discover("mail.unit.corp.test", dns=lab, method="psl")
    assert tw.policy_domain == "unit.corp.test"
    assert psl.policy_domain == "corp.test"
