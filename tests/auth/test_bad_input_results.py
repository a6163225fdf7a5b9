"""SPF, Sender ID, DMARC check and the result headers given a learner's wrong input.

Before these checks: ``senderid.check(ip=5)`` ended in "'int' object has no attribute
'strip'" and ``ip=None`` was a silent permerror (``spf.check`` already refused both);
``evaluate(authserv_id=None)`` wrote "Authentication-Results: ; ..." and
``evaluate(spf="pass")`` was silently ignored; ``dmarc.check(spf="pass")`` and
``dkim="pass"`` ended in "'str' object has no attribute 'result'", and one DKIM
result not in a list in "'DKIMResult' object is not iterable"; ``discover("")``
answered "no policy" for the empty name; the header helpers ended inside ``re`` or
``str``. Real LabDNS, real signatures.
"""

from __future__ import annotations

import pytest

import labkit as lk
from labkit.auth import dkim, dmarc, fromheader, results, senderid, spf
from labkit.errors import UsageError

FROM, TO = "news@brand.example", "alice@corp.example"
BRAND_IP = "192.0.2.10"  # brand.example: v=spf1 ip4:192.0.2.10 -all


@pytest.fixture(scope="module")
def signed() -> bytes:
    msg = lk.mta.make_message(from_=FROM, to=TO, subject="results", body="hello")
    return dkim.sign(msg, domain="brand.example", selector="s2026",
                     private_key=dkim.lab_key("brand.example", "s2026"))


@pytest.fixture(scope="module")
def spf_pass(lab_dns):
    return spf.check(BRAND_IP, FROM, "mail.brand.example", dns=lab_dns)


# ------------------------------------------------------------------ SPF and Sender ID
def test_spf_receiver_of_the_wrong_type_is_named(lab_dns):
    with pytest.raises(TypeError, match=r"receiver must be a str such as 'mx.corp.example'.*\.decode\(\)"):
        spf.check(BRAND_IP, FROM, "mail.brand.example", dns=lab_dns, receiver=b"mx.corp.example")
    with pytest.raises(TypeError, match="receiver must be a str"):
        spf.check_helo(BRAND_IP, "mail.brand.example", dns=lab_dns, receiver=5)


@pytest.mark.parametrize(("kwargs", "phrase"), [
    ({"ip": 5}, "ip must be a str such as '203.0.113.5', not int"),
    ({"ip": None}, "ip must be a str such as '203.0.113.5', not NoneType"),
    ({"ip": [BRAND_IP]}, "one value here, not a list"),
    ({"helo": b"mail.brand.example"}, "helo must be a str"),
])
def test_senderid_checks_ip_and_helo_as_spf_does(lab_dns, signed, kwargs, phrase):
    args = {"ip": BRAND_IP, "helo": "mail.brand.example", **kwargs}
    with pytest.raises(TypeError) as err:
        senderid.check(signed, dns=lab_dns, **args)
    assert phrase in str(err.value)


def test_senderid_valid_call_answers_as_before(lab_dns, signed):
    assert senderid.check(signed, ip=BRAND_IP, helo="mail.brand.example", dns=lab_dns).result == "pass"


# ------------------------------------------------------------------ evaluate
def test_evaluate_authserv_id_and_spf_of_the_wrong_kind(lab_dns, signed):
    kwargs = dict(ip=BRAND_IP, mail_from=FROM, helo="mail.brand.example", dns=lab_dns)
    with pytest.raises(TypeError, match="authserv_id must be a str such as 'mx.corp.example', not NoneType"):
        lk.auth.evaluate(signed, authserv_id=None, **kwargs)
    with pytest.raises(TypeError, match=r"spf must be a result object such as lk\.auth\.spf\.check.*'pass' is a word"):
        lk.auth.evaluate(signed, spf="pass", **kwargs)
    assert lk.auth.evaluate(signed, **kwargs).disposition == "accept"


# ------------------------------------------------------------------ dmarc.check
def test_dmarc_check_spf_and_dkim_must_be_results(lab_dns):
    with pytest.raises(TypeError, match=r"spf must be a result object .*'pass' is a word"):
        dmarc.check("brand.example", spf="pass", dns=lab_dns)
    with pytest.raises(TypeError, match="dkim must be a list of result objects"):
        dmarc.check("brand.example", dkim="pass", dns=lab_dns)
    with pytest.raises(TypeError, match="each of dkim must be a result object"):
        dmarc.check("brand.example", dkim=["pass"], dns=lab_dns)


def test_dmarc_check_reads_one_dkim_result_as_a_list_of_one(lab_dns, signed, spf_pass):
    (sig,) = dkim.verify(signed, dns=lab_dns)
    one = dmarc.check("brand.example", dkim=sig, dns=lab_dns)
    listed = dmarc.check("brand.example", dkim=[sig], dns=lab_dns)
    assert one.to_dict() == listed.to_dict() and one.result == "pass" and one.dkim_aligned
    assert dmarc.check("brand.example", spf=spf_pass, dns=lab_dns).spf_aligned


def test_dmarc_discover_and_org_domain_refuse_the_empty_name(lab_dns):
    with pytest.raises(UsageError, match="the From domain is empty"):
        dmarc.discover("", dns=lab_dns)
    with pytest.raises(UsageError, match="domain is empty"):
        dmarc.org_domain(" ", dns=lab_dns)


def test_is_dmarc_record_reads_bytes_as_parse_record_does():
    assert dmarc.is_dmarc_record(b"v=DMARC1; p=none") is True
    with pytest.raises(TypeError, match="is_dmarc_record takes a TXT string"):
        dmarc.is_dmarc_record(["v=DMARC1; p=none"])


# ------------------------------------------------------------------ header helpers
def test_header_helpers_say_what_they_take(spf_pass):
    with pytest.raises(TypeError, match=r"received_spf's argument must be a result object .*'pass' is a word"):
        results.received_spf("pass")
    with pytest.raises(TypeError, match="spf must be a result object"):
        results.authentication_results("mx.corp.example", spf="pass")
    with pytest.raises(TypeError, match="authserv_id must be a str"):
        results.authentication_results(5, spf=spf_pass)
    with pytest.raises(TypeError, match="field must be a str"):
        results.fold(None)
    with pytest.raises(TypeError, match="parse_received_spf takes the field's text"):
        results.parse_received_spf(5)
    with pytest.raises(TypeError, match=r"value must be a str .*\.decode\(\) it"):
        fromheader.parse_from_value(b"Brand News <news@brand.example>")


def test_header_helpers_valid_and_harmless_input(spf_pass):
    field = results.authentication_results("mx.corp.example", spf=spf_pass, dkim=None)
    assert field == results.authentication_results("mx.corp.example", spf=spf_pass, dkim=())
    assert results.results_by_method(field) == {"spf": ["pass"]}
    text = spf_pass.header.split(":", 1)[1]
    assert results.parse_received_spf(text.encode()) == results.parse_received_spf(text)
    assert fromheader.parse_from_value("Brand News <news@brand.example>").domain == "brand.example"
