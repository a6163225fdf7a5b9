"""Edge cases from hostile senders and sloppy DNS admins, checked against the RFCs.

Each case runs through a real LabDNS; expected results are read from the RFC named in
the test, and where pyspf is the reference its answer is asked too.
"""

from __future__ import annotations

from types import SimpleNamespace

import dkim as dkimpy
import pytest
import spf as pyspf

import labkit.auth.spf as lspf
import labkit.dns
from labkit.auth import dkim, dkim_keys, dmarc

ZONE = """
$ORIGIN edge.test.
$TTL 300
@      SOA ns hostmaster 1 3600 600 86400 300
@      NS  ns
ns     A   192.0.2.53
@      A   192.0.2.54
@      TXT "v=spf1 ip4:192.0.2.25 -all"
mail   TXT "v=spf1 ip4:192.0.2.26 -all"
"""


@pytest.fixture(scope="module")
def lab():
    with labkit.dns.LabDNS(zones=ZONE) as server:
        yield server


# ------------------------------------------------------------------ SPF, RFC 7208 4.3
@pytest.mark.parametrize("mail_from", ["x@edge.test.", "<x@edge.test.>", "edge.test."])
def test_spf_trailing_dot_domain_is_the_same_domain(lab, mail_from):
    """RFC 7208 4.3: a zero-length label is malformed only when it is not at the end, so
    ``edge.test.`` is edge.test and its -all applies (pyspf alone says ``none``: a
    forger adding a dot would dodge the domain's fail)."""
    with lspf.routed(lab):
        assert pyspf.check2(i="192.0.2.99", s="x@edge.test", h="h.example")[0] == "fail"
    res = lspf.check("192.0.2.99", mail_from, "h.example", dns=lab)
    assert (res.result, res.domain) == ("fail", "edge.test"), res.explain()
    assert lspf.check("192.0.2.25", mail_from, "h.example", dns=lab).result == "pass"


def test_spf_trailing_dot_helo_identity(lab):
    """RFC 7208 2.3/2.4: with an empty MAIL FROM the HELO name is checked; its final dot
    changes nothing."""
    assert lspf.check("192.0.2.99", "<>", "mail.edge.test.", dns=lab).result == "fail"
    assert lspf.check("192.0.2.26", "<>", "mail.edge.test.", dns=lab).result == "pass"
    assert lspf.check_helo("192.0.2.99", "mail.edge.test.", dns=lab).result == "fail"


# ------------------------------------------------------------- DMARC, RFC 7489 6.6.3
SPF_FAIL = SimpleNamespace(result="fail", domain="elsewhere.test")


@pytest.mark.parametrize("record", ["v=DMARC1; sp=reject", "v=DMARC1; p=rejekt"])
def test_dmarc_7489_no_valid_p_and_no_rua_is_no_dmarc(lab, record):
    """RFC 7489 6.6.3 step 6: without a valid p= and without a valid rua= the receiver
    applies no DMARC processing (result none); RFC 9989 4.7 reads a missing p= as none,
    and 4.10.1 treats an invalid p= as RFC 7489 did."""
    lab.add("_dmarc.edge.test", "TXT", f'"{record}"')
    old = dmarc.check("edge.test", spf=SPF_FAIL, dns=lab, method="psl")
    assert (old.result, old.policy, old.disposition) == ("none", None, "none"), old.explain()
    bis = dmarc.check("edge.test", spf=SPF_FAIL, dns=lab, method="treewalk")
    want = ("none", None, "none") if "; p=" in record else ("fail", "none", "none")
    assert (bis.result, bis.policy, bis.disposition) == want, bis.explain()


def test_dmarc_7489_no_p_with_rua_is_p_none(lab):
    """RFC 7489 6.6.3 step 6.1: a valid rua= makes the record act as p=none."""
    lab.add("_dmarc.edge.test", "TXT", '"v=DMARC1; rua=mailto:dmarc@edge.test"')
    res = dmarc.check("edge.test", spf=SPF_FAIL, dns=lab, method="psl")
    assert (res.result, res.policy, res.disposition) == ("fail", "none", "none"), res.explain()


@pytest.mark.parametrize("from_domain", ["edge.test", "sub.edge.test"])
def test_dmarc_7489_invalid_sp_without_rua_is_no_dmarc(lab, from_domain):
    """RFC 7489 6.6.3 step 6 names an invalid sp= beside a missing p=: without a valid
    rua= no DMARC processing (before: the invalid sp= fell back to p=reject)."""
    lab.remove("_dmarc.sub.edge.test")
    lab.add("_dmarc.edge.test", "TXT", '"v=DMARC1; p=reject; sp=rejekt"')
    res = dmarc.check(from_domain, spf=SPF_FAIL, dns=lab, method="psl")
    assert (res.result, res.policy, res.disposition) == ("none", None, "none"), res.explain()
    assert "invalid sp=" in res.reason


def test_dmarc_7489_invalid_sp_with_rua_is_p_none(lab):
    """RFC 7489 6.6.3 step 6.1: with a valid rua= the receiver acts as if the record were
    "v=DMARC1; p=none": nothing is rejected, reports still flow. RFC 9989 4.10.1 says the
    same (tests/auth/test_rfc_review13.py)."""
    lab.remove("_dmarc.sub.edge.test")
    lab.add("_dmarc.edge.test", "TXT", '"v=DMARC1; p=reject; sp=rejekt; rua=mailto:d@edge.test"')
    res = dmarc.check("sub.edge.test", spf=SPF_FAIL, dns=lab, method="psl")
    assert (res.result, res.policy, res.disposition) == ("fail", "none", "none"), res.explain()
    bis = dmarc.check("sub.edge.test", spf=SPF_FAIL, dns=lab, method="treewalk")
    assert (bis.result, bis.policy) == ("fail", "none"), bis.explain()


def test_dmarc_7489_two_records_at_the_from_domain_stop_discovery(lab):
    """RFC 7489 6.6.3: only an empty set at the From domain sends the receiver on to the
    organisational domain (step 3); two records end discovery with no policy (step 5),
    not with the parent's p=reject."""
    lab.add("_dmarc.edge.test", "TXT", '"v=DMARC1; p=reject"')
    lab.add("_dmarc.sub.edge.test", "TXT", '"v=DMARC1; p=none"', '"v=DMARC1; p=quarantine"')
    try:
        found = dmarc.discover("sub.edge.test", dns=lab, method="psl")
        assert (found.status, found.policy_domain) == ("none", None), found.steps
        res = dmarc.check("sub.edge.test", spf=SPF_FAIL, dns=lab, method="psl")
        assert (res.result, res.disposition) == ("none", "none"), res.explain()
        assert not any(q.name == "_dmarc.edge.test." for q in lab.queries[-3:])
        lab.remove("_dmarc.sub.edge.test")  # an empty set does go on to the parent
        res = dmarc.check("sub.edge.test", spf=SPF_FAIL, dns=lab, method="psl")
        assert (res.result, res.policy_domain, res.disposition) == ("fail", "edge.test", "reject")
    finally:
        lab.remove("_dmarc.sub.edge.test")


# ------------------------------------------------------------- DKIM, RFC 6376 3.2 / 3.6.1
SIGNED = (b"From: news@edge.test\r\nTo: bob@corp.example\r\nSubject: k= case\r\n"
          b"Date: Sat, 28 Nov 2026 09:00:00 +0000\r\nMessage-ID: <k@edge.test>\r\n\r\nHello.\r\n")


@pytest.mark.parametrize("explain", [False, True], ids=["fast-path", "dkimpy-path"])
def test_dkim_key_type_in_capitals_is_refused(lab, explain):
    """RFC 6376 3.2: tag values are case-sensitive unless the tag says otherwise, and k=
    (3.6.1) does not; dkimpy refuses k=RSA. Same result on both of labkit's paths."""
    key = dkim.lab_key("brand.example", "s2026")
    txt = dkim_keys.public_txt(key)
    for selector, record in (("lower", txt), ("upper", txt.replace("k=rsa", "k=RSA"))):
        lab.add(f"{selector}._domainkey.edge.test", "TXT", " ".join(f'"{s}"' for s in dkim_keys.split_txt(record)))
    for selector, code in (("lower", "ok"), ("upper", "key-syntax")):
        signed = dkim.sign(SIGNED, domain="edge.test", selector=selector, private_key=key)
        (res,) = dkim.verify(signed, dns=lab, explain=explain)
        assert res.code == code, res.reason
        dnsfunc = dkim_keys.dkimpy_dnsfunc(lab.resolver())
        assert dkimpy.verify(signed, dnsfunc=dnsfunc) is (code == "ok")
    assert res.result == "permerror"
    assert "k=RSA" in res.reason and "case-sensitive" in res.reason and "k=rsa" in res.reason
