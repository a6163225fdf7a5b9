"""DMARC calls given a learner's wrong input: each fails at the call, in words.

Before these checks a misspelt ``method`` ("tree", "PSL") was silently read as the
RFC 9989 tree walk, and a domain given as bytes ended in ``str.strip`` with "a
bytes-like object is required, not 'str'". Runs on the course zones (real LabDNS).
"""

from __future__ import annotations

import pytest

import labkit as lk
from labkit.auth import dmarc, orgdomain
from labkit.errors import UsageError

FROM, TO = "news@brand.example", "alice@corp.example"


@pytest.fixture(scope="module")
def brand_ip(lab_dns) -> str:
    return lab_dns.resolver().resolve("mail.brand.example", "A")[0].address


@pytest.fixture(scope="module")
def msg() -> bytes:
    return lk.mta.make_message(from_=FROM, to=TO, subject="bad input", body="hello")


# ------------------------------------------------------------------ a misspelt method
@pytest.mark.parametrize("call", [
    lambda d: dmarc.org_domain("a.brand.example", dns=d, method="tree"),
    lambda d: dmarc.discover("a.brand.example", dns=d, method="tree"),
    lambda d: dmarc.aligned("a.brand.example", "brand.example", dns=d, method="tree"),
    lambda d: dmarc.check("brand.example", dns=d, method="tree"),
], ids=["org_domain", "discover", "aligned", "check"])
def test_misspelt_method_names_the_value_and_the_methods(lab_dns, call):
    with pytest.raises(UsageError) as err:
        call(lab_dns)
    text = str(err.value)
    assert "'tree'" in text and all(repr(m) in text for m in orgdomain.METHODS)
    assert "did you mean 'treewalk'" in text


def test_evaluate_with_a_misspelt_dmarc_method_raises_not_a_temperror(lab_dns, msg, brand_ip):
    with pytest.raises(UsageError, match="dmarc_method must be 'treewalk' or 'psl', not 'walk'"):
        lk.auth.evaluate(msg, ip=brand_ip, mail_from=FROM, helo="mail.brand.example",
                         dns=lab_dns, dmarc_method="walk")


def test_method_in_upper_case_is_the_method_it_names(lab_dns):
    # "PSL" used to be read as the tree walk (and reported method="treewalk")
    got = dmarc.discover("a.brand.example", dns=lab_dns, method="PSL")
    assert got.method == "psl"
    assert got.to_dict() == dmarc.discover("a.brand.example", dns=lab_dns, method="psl").to_dict()


def test_check_refuses_a_misspelt_from_disposition(lab_dns):
    with pytest.raises(UsageError, match="from_disposition must be 'none' or 'quarantine' or 'reject'"):
        dmarc.check(None, dns=lab_dns, from_problem="no From", from_disposition="quarantne")


# ------------------------------------------------------------------ a domain of the wrong type
@pytest.mark.parametrize(("value", "phrase"), [
    (b"a.brand.example", "not bytes (text, not bytes: .decode() it)"),
    (None, "not NoneType"),
    (5, "not int"),
    (["a.brand.example"], "one value here, not a list"),
])
def test_org_domain_checks_its_domain_as_discover_does(lab_dns, value, phrase):
    with pytest.raises(TypeError, match="domain must be a str such as 'brand.example'") as err:
        dmarc.org_domain(value, dns=lab_dns)
    assert phrase in str(err.value)
    with pytest.raises(TypeError, match="domain must be a str such as 'brand.example'"):
        dmarc.org_domain(value)  # the PSL path too


def test_org_domain_refuses_an_address_as_discover_does(lab_dns):
    with pytest.raises(UsageError, match="give the part after the @"):
        dmarc.org_domain("news@a.brand.example", dns=lab_dns)


def test_orgdomain_normalise_says_what_it_takes():
    with pytest.raises(TypeError, match=r"domain must be a str .*\.decode\(\) it"):
        orgdomain.normalise(b"a.brand.example")
    assert orgdomain.normalise(None) == "" and orgdomain.normalise("A.Brand.Example.") == "a.brand.example"


def test_aligned_with_bytes_names_the_argument(lab_dns):
    with pytest.raises(TypeError, match="identifier must be a str"):
        dmarc.aligned(b"a.brand.example", "brand.example", dns=lab_dns)
    with pytest.raises(TypeError, match="from_domain must be a str"):
        dmarc.aligned("a.brand.example", b"brand.example", dns=lab_dns)
    assert dmarc.aligned(None, "brand.example", dns=lab_dns) is False


@pytest.mark.parametrize("method", ["treewalk", "psl"])
def test_aligned_refuses_an_address_where_a_domain_goes(lab_dns, method):
    # aligned("news@brand.example", "brand.example") used to answer False, as if the
    # domains differed; the learner never learned that the call wanted the domain
    with pytest.raises(UsageError, match=r"identifier must be a domain name .*'brand\.example'"):
        dmarc.aligned("news@brand.example", "brand.example", dns=lab_dns, method=method)
    with pytest.raises(UsageError, match=r"from_domain must be a domain name .*'brand\.example'"):
        dmarc.aligned("brand.example", "news@brand.example", "s", dns=lab_dns, method=method)
    assert dmarc.aligned("brand.example", "brand.example", "s", dns=lab_dns, method=method) is True


def test_a_dkim_pass_for_a_d_with_an_at_sign_is_not_aligned_and_raises_nothing(lab_dns):
    # names from a message go through check(), which never raises for odd mail
    class _Sig:
        result, domain = "pass", "news@brand.example"

    got = dmarc.check("brand.example", dkim=[_Sig()], dns=lab_dns)
    assert got.dkim_aligned is False and got.result == "fail"


def test_valid_calls_answer_as_before(lab_dns):
    assert dmarc.org_domain("a.brand.example", dns=lab_dns) == "brand.example"
    assert dmarc.org_domain("A.Brand.Example.", dns=lab_dns, method="psl") == "brand.example"
    assert dmarc.aligned("a.brand.example", "brand.example", dns=lab_dns) is True
    assert dmarc.check("brand.example", dns=lab_dns).method == "treewalk"


# ------------------------------------------------------------------ evaluate's sealer list
def _list_sealed(lab_dns) -> bytes:
    """Brand mail, edited and ARC-sealed by the mailing list (its DKIM breaks, ARC passes)."""
    original = lk.auth.dkim.sign(
        lk.mta.make_message(from_=FROM, to=TO, subject="statement", body="hello"),
        domain="brand.example", selector="s2026", private_key=lk.auth.dkim.lab_key("brand.example", "s2026"))
    at_list = lk.auth.evaluate(original, ip="192.0.2.10", mail_from="bounces@brand.example",
                               helo="mail.brand.example", dns=lab_dns, authserv_id="lists.example.org")
    edited = original.replace(b"Subject: statement", b"Subject: [brand-news] statement")
    return lk.auth.arc.seal(edited, domain="lists.example.org", selector="list",
                            private_key=lk.auth.dkim.lab_key("lists.example.org", "list"),
                            authserv_id="lists.example.org", results_header=at_list.header, dns=lab_dns)


def test_one_trusted_sealer_given_alone_is_one_name_not_its_letters(lab_dns):
    sealed = _list_sealed(lab_dns)
    kwargs = dict(ip="198.51.100.50", mail_from="brand-news-bounces@lists.example.org",
                  helo="mail.lists.example.org", dns=lab_dns)
    as_tuple = lk.auth.evaluate(sealed, trusted_arc_sealers=("lists.example.org",), **kwargs)
    alone = lk.auth.evaluate(sealed, trusted_arc_sealers="lists.example.org", **kwargs)
    assert as_tuple.dmarc.result == "fail" and as_tuple.disposition == "accept"
    assert (alone.arc_override, alone.disposition) == (True, "accept")
    with pytest.raises(TypeError, match="trusted_arc_sealers must be a list of domain names .*not bytes"):
        lk.auth.evaluate(sealed, trusted_arc_sealers=b"lists.example.org", **kwargs)
