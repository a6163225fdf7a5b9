"""Standards review 13: behaviours checked against the RFC text, each on a real LabDNS.

DMARC in RFC 9989 mode (``method="treewalk"``):

- 4.10.1: the policy record is the From domain's own, else the organisational domain's
  (found by its own tree walk), else the public suffix domain's; a record published
  between the From domain and its organisational domain is never the policy record
  (which is why 4.7 says sp= of such a record is ignored);
- 4.10.1: a record whose p= is not valid, or whose sp= or np= is not valid, acts as
  ``p=none`` when rua= holds a valid URI, and gets no DMARC processing otherwise;
- A.4: a name exists when it has any record: only NXDOMAIN makes it non-existent (a
  name with a TXT record and no address is an existing subdomain: sp=, not np=).

RFC 7489 mode (``method="psl"``) keeps its own rules (6.6.3), checked in
test_rfc_edges.py; the cases here also check that it did not change.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import labkit.dns
from labkit.auth import dmarc

ZONE = """
$ORIGIN review.test.
$TTL 300
@        SOA ns hostmaster 1 3600 600 86400 300
@        NS  ns
ns       A   192.0.2.53
@        A   192.0.2.54
_dmarc   TXT "v=DMARC1; p=reject; sp=quarantine; np=reject"
; a record between the From names below and the organisational domain review.test
_dmarc.dept TXT "v=DMARC1; p=none; sp=none; np=none"
dept     A   192.0.2.55
host.dept A  192.0.2.56
; a name with only a TXT record (it sends mail: SPF), no address, no MX
txtonly  TXT "v=spf1 ip4:192.0.2.57 -all"
_dmarc.nop   TXT "v=DMARC1; sp=reject"
; a name that calls itself a public suffix, below an organisation's record
_dmarc.suffix TXT "v=DMARC1; p=none; psd=y"
shop.suffix  A   192.0.2.58
"""


def _org(name: str, record: str) -> str:
    """A zone whose apex (its organisational domain) publishes ``record``; sub has an address."""
    return (f"$ORIGIN {name}.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\n"
            f"ns A 192.0.2.53\n@ A 192.0.2.60\nsub A 192.0.2.61\n_dmarc TXT \"{record}\"\n")


# bad policy values, each at an organisational domain of its own (RUA: with a valid rua=)
BAD = {
    "badp.test": "v=DMARC1; p=rejekt",
    "badsp.test": "v=DMARC1; p=reject; sp=rejekt",
    "badnp.test": "v=DMARC1; p=reject; np=rejekt",
}
RUA = "; rua=mailto:d@review.test"
ZONES = [ZONE] + [_org(name, rec) for name, rec in BAD.items()] + [
    _org(name.replace(".test", "-rua.test"), rec + RUA) for name, rec in BAD.items()]

FAIL = SimpleNamespace(result="fail", domain="elsewhere.test")


@pytest.fixture(scope="module")
def lab():
    with labkit.dns.LabDNS(zones=ZONES) as server:
        yield server


def _outcome(res: dmarc.DMARCResult) -> tuple:
    return res.result, res.policy, res.disposition


# ------------------------------------------------------ RFC 9989 4.10.1: which record
@pytest.mark.parametrize("from_domain", ["host.dept.review.test", "ghost.dept.review.test"])
def test_9989_policy_comes_from_the_organisational_domain_not_a_record_between(lab, from_domain):
    """host.dept.review.test has no record; the walk meets _dmarc.dept first, but the
    organisational domain (the shortest name with a record) is review.test, and RFC 9989
    4.10.1 takes the policy from the From domain, the organisational domain or the PSD
    only: review.test's sp=quarantine (np=reject for a name that does not exist), not
    dept's p=none (before: dept's record, so phishing from any name under dept passed
    with none)."""
    res = dmarc.check(from_domain, spf=FAIL, dns=lab)
    assert res.policy_domain == "review.test" and res.org_domain == "review.test", res.explain()
    want = "quarantine" if from_domain.startswith("host.") else "reject"
    assert _outcome(res) == ("fail", want, want), res.explain()
    found = dmarc.discover(from_domain, dns=lab)
    assert (found.status, found.policy_domain) == ("found", "review.test"), found.steps


def test_9989_own_record_of_the_from_domain_still_applies(lab):
    """dept.review.test's own record is the From domain's: its p=none applies."""
    res = dmarc.check("dept.review.test", spf=FAIL, dns=lab)
    assert (res.policy_domain, *_outcome(res)) == ("dept.review.test", "fail", "none", "none"), res.explain()


def test_7489_takes_the_psl_organisational_domain_too(lab):
    """RFC 7489 asks the From domain, then its PSL organisational domain: the record at
    dept is never asked for host.dept (unchanged)."""
    res = dmarc.check("host.dept.review.test", spf=FAIL, dns=lab, method="psl")
    assert (res.policy_domain, res.policy) == ("review.test", "quarantine"), res.explain()


# ------------------------------------------ RFC 9989 4.10.2: psd=y where the walk starts
def test_9989_psd_y_of_the_start_domain_does_not_end_the_walk(lab):
    """4.10 step 2 stops the walk at the start domain only for psd=n, and 4.10.2 rule 2
    reads psd=y only of a record "other than the one for the domain where the tree walk
    started": the walk goes on to review.test, the shortest name with a record (rule 3).
    Before: suffix.review.test was its own organisational domain."""
    assert dmarc.org_domain("suffix.review.test", dns=lab) == "review.test"
    assert dmarc.aligned("review.test", "suffix.review.test", "r", dns=lab)
    # from a name below it, psd=y does make the next name down the organisational domain
    assert dmarc.org_domain("a.shop.suffix.review.test", dns=lab) == "shop.suffix.review.test"


# ------------------------------------------------- RFC 9989 A.4: what "exists" means
def test_9989_a_name_with_only_a_txt_record_exists(lab):
    """RFC 9989 A.4: any record makes a name exist; NODATA for A/AAAA/MX does not make it
    non-existent. txtonly has an SPF record: an existing subdomain, sp=quarantine
    (before: np=reject, RFC 9091's narrower test of A, AAAA and MX)."""
    res = dmarc.check("txtonly.review.test", spf=FAIL, dns=lab)
    assert _outcome(res) == ("fail", "quarantine", "quarantine"), res.explain()
    res = dmarc.check("nothing.review.test", spf=FAIL, dns=lab)
    assert _outcome(res) == ("fail", "reject", "reject"), res.explain()


# ------------------------------------ RFC 9989 4.10.1: invalid p=, sp= or np= values
FROMS = ["badp.test", "sub.badp.test", "badsp.test", "sub.badsp.test", "badnp.test",
         "ghost.badnp.test"]


@pytest.mark.parametrize("from_domain", FROMS)
def test_9989_invalid_policy_value_without_rua_is_no_dmarc(lab, from_domain):
    """An invalid p=, sp= or np= and no valid rua=: no DMARC processing, whichever tag the
    From domain would use (RFC 9989 4.10.1 judges the record, not the tag applied). Before: an
    invalid p= acted as none and gave fail; an invalid sp= or np= was ignored and p=reject
    applied."""
    res = dmarc.check(from_domain, spf=FAIL, dns=lab)
    assert _outcome(res) == ("none", None, "none"), res.explain()


@pytest.mark.parametrize("from_domain", FROMS)
def test_9989_invalid_policy_value_with_rua_is_p_none(lab, from_domain):
    """With a valid rua= the record acts as "v=DMARC1; p=none": fail, nothing rejected."""
    res = dmarc.check(from_domain.replace(".test", "-rua.test"), spf=FAIL, dns=lab)
    assert _outcome(res) == ("fail", "none", "none"), res.explain()


def test_9989_missing_p_still_reads_as_none(lab):
    """RFC 9989 4.7 (p=): a record without p= is treated as p=none (unchanged)."""
    res = dmarc.check("nop.review.test", spf=FAIL, dns=lab)
    assert _outcome(res) == ("fail", "none", "none"), res.explain()
