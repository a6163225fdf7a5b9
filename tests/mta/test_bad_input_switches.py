"""On/off switches and numbers of the mail lab given the wrong kind of value.

Before these checks ``send(..., starttls="no")`` tried STARTTLS (non-empty text is
truthy), ``dkim=b"brand.example"`` or ``dkim=["x"]`` signed with the sending host's
own domain, ``dkim=""`` silently sent without a signature, and ``lab.clock.advance(-1)``
raised a plain ``ValueError``.  A wrong type is a ``TypeError``, a wrong value a
:class:`labkit.errors.UsageError`, each naming the argument.
"""

from __future__ import annotations

import datetime

import pytest

from labkit.errors import UsageError
from labkit.mta import LabClock, make_message

BRAND = "mail.brand.example"


def _msg(subject: str) -> bytes:
    return make_message(from_="news@brand.example", to="alice@corp.example", subject=subject,
                        body="body\n")


# ------------------------------------------------------------------ send(starttls=)
@pytest.mark.parametrize("value", ["no", "false", None, 2])
def test_send_starttls_refuses_anything_but_true_or_false(lab, value):
    with pytest.raises(TypeError, match="starttls must be True or False"):
        lab.send(_msg("starttls"), from_host=BRAND, starttls=value)


def test_send_starttls_false_still_sends_in_the_clear(lab):
    res = lab.send(_msg("plain"), from_host=BRAND, starttls=False)
    assert res.status == "sent"
    assert not any("STARTTLS" in s for s in res.steps)


# ------------------------------------------------------------------ send(dkim=)
@pytest.mark.parametrize("value", ["no", "False", "", " off ", "yes", "true"])
def test_send_dkim_refuses_switch_words_given_as_text(lab, value):
    # "no" used to be looked up as a domain, "" to send unsigned without a word
    with pytest.raises(UsageError, match=r"dkim=.* would be read as a domain name: "
                                         r"dkim=False sends without a signature"):
        lab.send(_msg("dkim words"), from_host=BRAND, dkim=value)


@pytest.mark.parametrize("value, hint", [
    (b"brand.example", r"bytes b'brand.example' \(text, not bytes"),
    (["brand.example"], "list"),
    (None, "NoneType"),
    (2.5, "float"),
])
def test_send_dkim_of_another_type_is_a_type_error(lab, value, hint):
    # bytes and a list used to sign with the sending host's own domain instead
    with pytest.raises(TypeError, match=f"dkim must be True, False or a domain name such as "
                                        f"'brand.example', not {hint}"):
        lab.send(_msg("dkim type"), from_host="mail.attacker.test", dkim=value)


@pytest.mark.parametrize("dkim, signed", [
    (True, "d=brand.example"), (1, "d=brand.example"), ("brand.example", "d=brand.example"),
    (False, None), (0, None),
])
def test_send_dkim_valid_values_behave_as_before(lab, dkim, signed):
    res = lab.send(_msg("dkim ok"), from_host=BRAND, dkim=dkim)
    assert res.status == "sent"
    steps = [s for s in res.steps if s.startswith("DKIM-signed")]
    assert steps == ([f"DKIM-signed {signed}"] if signed else [])


def test_send_selector_must_be_text(lab):
    with pytest.raises(TypeError, match="selector must be a str"):
        lab.send(_msg("selector"), from_host=BRAND, dkim=True, selector=2026)


def test_send_selector_without_dkim_is_refused_not_ignored(lab):
    with pytest.raises(UsageError, match="selector='s2026' is only used to sign"):
        lab.send(_msg("selector"), from_host=BRAND, selector="s2026")


# ------------------------------------------------------------------ LabClock.advance
@pytest.mark.parametrize("value, phrase", [
    (-1, r"only moves forward: advance\(-1\)"),
    (float("nan"), "finite number"),
    (float("inf"), "finite number"),
    (datetime.timedelta(seconds=-5), "only moves forward"),
])
def test_clock_advance_bad_value_is_a_usage_error(value, phrase):
    clock = LabClock()
    with pytest.raises(UsageError, match=phrase):  # was a plain ValueError
        clock.advance(value)
    assert clock.offset == 0


@pytest.mark.parametrize("value", ["600", None, True, False])
def test_clock_advance_bad_type_is_a_type_error(value):
    # True used to move the clock by one second (bool.__index__ gives 1)
    with pytest.raises(TypeError, match="seconds must be a number such as 600"):
        LabClock().advance(value)


def test_lab_advance_bad_value_is_a_usage_error(lab):
    before = lab.clock.offset
    with pytest.raises(UsageError, match="only moves forward"):
        lab.advance(-60)
    assert lab.clock.offset == before
    lab.advance(0)  # zero is fine: nothing moves
    assert lab.clock.offset == before
