"""DKIM signing and ARC sealing given a learner's wrong input: each fails at the call, in words.

Before these checks: ``identity=`` or ``algorithm=`` of the wrong type ended in
``'bytes' object has no attribute 'encode'`` or ``'int' object has no attribute
'lower'``; ``headers="From:To"`` was read letter by letter and then said "h= must
include From"; ``canonicalization=None`` said "'NoneType' object is not iterable";
an empty ``domain``/``selector`` made a signature with ``d=`` or ``s=`` empty; and
``arc.seal`` took its domain, selector and authserv-id without a look (``None`` gave
"'NoneType' object has no attribute 'strip'") and no KeyPair. The lab's real keys
and zones are used throughout.
"""

from __future__ import annotations

import pytest

import labkit as lk
from labkit.auth import arc, dkim
from labkit.errors import UsageError

FROM, TO = "news@brand.example", "alice@corp.example"
LIST = "lists.example.org"


@pytest.fixture(scope="module")
def msg() -> bytes:
    return lk.mta.make_message(from_=FROM, to=TO, subject="bad input", body="hello")


@pytest.fixture(scope="module")
def key() -> bytes:
    return dkim.lab_key("brand.example", "s2026")


def _sign(msg, key, **changes):
    kwargs = dict(domain="brand.example", selector="s2026", private_key=key)
    return dkim.sign(msg, **{**kwargs, **changes})


@pytest.mark.parametrize(("changes", "exc", "phrase"), [
    ({"identity": b"@brand.example"}, TypeError, "identity must be a str such as '@brand.example'"),
    ({"identity": 5}, TypeError, "identity must be a str"),
    ({"algorithm": 256}, TypeError, "algorithm must be a str such as 'rsa-sha256', not int"),
    ({"algorithm": ["rsa-sha256"]}, TypeError, "one value here, not a list"),
    ({"headers": "From:To:Subject"}, TypeError,
     "not str 'From:To:Subject' (one string, which would be read letter by letter)"),
    ({"headers": 5}, TypeError, "headers must be a list of field names"),
    ({"headers": [b"From"]}, TypeError, "each name in headers must be a str"),
    ({"canonicalization": None}, UsageError, "canonicalization must be simple|relaxed"),
    ({"canonicalization": 5}, UsageError, "canonicalization must be simple|relaxed"),
    ({"domain": ""}, UsageError, "domain is empty"),
    ({"selector": "  "}, UsageError, "selector is empty"),
], ids=lambda v: repr(v)[:40])
def test_sign_mistakes_fail_at_the_call_in_words(msg, key, changes, exc, phrase):
    with pytest.raises(exc) as err:
        _sign(msg, key, **changes)
    assert phrase in str(err.value)


def test_sign_reads_canonicalization_and_algorithm_in_any_case(lab_dns, msg, key):
    signed = _sign(msg, key, canonicalization="Relaxed/Simple", algorithm="RSA-SHA256")
    assert b"c=relaxed/simple" in signed
    assert [r.result for r in dkim.verify(signed, dns=lab_dns)] == ["pass"]
    tuple_form = _sign(msg, key, canonicalization=("RELAXED", "relaxed"))
    assert [r.result for r in dkim.verify(tuple_form, dns=lab_dns)] == ["pass"]


def test_key_name_and_split_txt_say_what_they_take():
    with pytest.raises(TypeError, match=r"selector must be a str .*\.decode\(\) it"):
        dkim.key_name(b"s2026", "brand.example")
    with pytest.raises(TypeError, match="domain must be a str such as 'brand.example', not NoneType"):
        dkim.key_name("s2026", None)
    with pytest.raises(TypeError, match="text must be a str"):
        dkim.split_txt(None)
    assert dkim.key_name("s2026", "brand.example.") == "s2026._domainkey.brand.example."


# ------------------------------------------------------------------ ARC
@pytest.fixture(scope="module")
def signed(msg, key) -> bytes:
    return _sign(msg, key)


def _seal(signed, lab_dns, **changes):
    kwargs = dict(domain=LIST, selector="list", private_key=dkim.lab_key(LIST, "list"),
                  authserv_id=LIST, dns=lab_dns, timestamp=1_700_000_000)
    return arc.seal(signed, **{**kwargs, **changes})


@pytest.mark.parametrize(("changes", "exc", "phrase"), [
    ({"domain": None}, TypeError, "domain must be a str such as 'lists.example.org', not NoneType"),
    ({"domain": b"lists.example.org"}, TypeError, ".decode() it"),
    ({"domain": ""}, UsageError, "domain is empty"),
    ({"selector": 7}, TypeError, "selector must be a str"),
    ({"authserv_id": None}, TypeError, "authserv_id must be a str"),
    ({"authserv_id": ["lists.example.org"]}, TypeError, "one value here, not a list"),
    ({"results_header": b"lists.example.org; spf=pass"}, TypeError, "results_header must be a str"),
    ({"private_key": None}, TypeError, "private_key must be a PEM key"),
    ({"headers": "from"}, TypeError, "headers must be a list of field names"),
], ids=lambda v: repr(v)[:40])
def test_seal_mistakes_fail_at_the_call_in_words(lab_dns, signed, changes, exc, phrase):
    with pytest.raises(exc) as err:
        _seal(signed, lab_dns, **changes)
    assert phrase in str(err.value)


def test_seal_takes_a_keypair_as_sign_does(lab_dns, signed):
    pem = dkim.lab_key(LIST, "list")
    pair = dkim.KeyPair(private_pem=pem, public_txt=dkim.public_txt(pem), key_type="rsa", bits=2048)
    sealed = _seal(signed, lab_dns, private_key=pair)
    assert sealed == _seal(signed, lab_dns)
    assert arc.verify(sealed, dns=lab_dns).result == "pass"


def test_parse_recorded_says_what_it_takes():
    with pytest.raises(TypeError, match="aar_value must be a str"):
        arc.parse_recorded(b"i=1; lists.example.org; dmarc=pass")
    assert arc.parse_recorded("i=1; lists.example.org; dmarc=pass")[0] == LIST


# ------------------------------------------------------------------ on/off switches
@pytest.mark.parametrize("value", ["no", "False", "", 2, None])
def test_verify_explain_must_be_a_bool(lab_dns, signed, value):
    # explain="no" used to switch the explanation on (any non-empty text is truthy)
    with pytest.raises(TypeError, match="explain must be True or False"):
        dkim.verify(signed, dns=lab_dns, explain=value)


def test_verify_explain_as_a_bool_or_1_0_works(lab_dns, signed):
    plain = dkim.verify(signed, dns=lab_dns, explain=0)
    full = dkim.verify(signed, dns=lab_dns, explain=True)
    assert [r.result for r in plain] == [r.result for r in full] == ["pass"]
    assert plain[0].explanation is None and full[0].explanation is not None


@pytest.mark.parametrize("value", ["yes", "no", 2.0])
def test_sign_body_length_must_be_a_bool_like_the_other_switches(lab_dns, msg, key, value):
    # "yes" was a UsageError and 2.0 was read as True; a wrong type is a TypeError elsewhere
    with pytest.raises(TypeError, match="body_length must be True or False"):
        _sign(msg, key, body_length=value)
    assert [r.body_length for r in dkim.verify(_sign(msg, key, body_length=None), dns=lab_dns)] == [None]
    assert [r.body_length for r in dkim.verify(_sign(msg, key, body_length=1), dns=lab_dns)] != [None]
