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

from labkit.errors import ServiceError, UsageError
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


@pytest.mark.parametrize("dkim", ["Brand.Example.", " BRAND.example "])
def test_send_dkim_step_names_the_domain_the_signature_carries(lab, dkim):
    # the step used to show the name as typed ('DKIM-signed d=Brand.Example.') while the
    # signature said d=brand.example
    res = lab.send(_msg("dkim case"), from_host=BRAND, dkim=dkim)
    assert res.status == "sent"
    assert [s for s in res.steps if s.startswith("DKIM-signed")] == ["DKIM-signed d=brand.example"]
    verdict = lab.verdicts(res.message_id)[-1]
    assert verdict["dkim"] == ["pass:brand.example"]


def test_send_dkim_given_an_address_names_the_argument(lab):
    with pytest.raises(UsageError, match="dkim must be a domain name such as 'brand.example', "
                                         "not the address 'news@brand.example'"):
        lab.send(_msg("dkim address"), from_host=BRAND, dkim="news@brand.example")


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


# ------------------------------------------------------------------ the servers' own switches
def _smtp(**kw):
    from labkit.mta.smtpserver import SMTPServer

    return SMTPServer(object(), hostname="x.example", **kw)


def _pop3(**kw):
    from labkit.mta.pop3 import POP3Server

    return POP3Server(lab=None, hostname="pop.x.example", domains=("x.example",), **kw)


def _submission(**kw):
    from labkit.mta.submission import Submission

    return Submission(lab=None, hostname="smtp.x.example", **kw)


@pytest.mark.parametrize("make, kw", [
    (_smtp, "require_starttls"), (_smtp, "proxy"), (_smtp, "allow_remote"),
    (_pop3, "proxy"), (_submission, "sign"), (_submission, "enforce_sender"),
], ids=["SMTPServer.require_starttls", "SMTPServer.proxy", "SMTPServer.allow_remote",
        "POP3Server.proxy", "Submission.sign", "Submission.enforce_sender"])
def test_server_switches_refuse_text(make, kw):
    # each took "no" as True; SMTPServer(allow_remote="no") even let a server bind 0.0.0.0
    extra = {"bind": "0.0.0.0"} if kw == "allow_remote" else {}
    with pytest.raises(TypeError, match=f"{kw} must be True or False, not 'no'"):
        make(**{kw: "no"}, **extra)
    if kw == "allow_remote":  # (not kept as an attribute) False still refuses 0.0.0.0
        with pytest.raises(ServiceError, match="lab servers bind loopback"):
            make(allow_remote=False, bind="0.0.0.0")
        return
    assert getattr(make(**{kw: False}), kw) is False
    assert getattr(make(**{kw: True}), kw) is True


def test_submission_switch_assignment_is_checked():
    sub = _submission()
    with pytest.raises(TypeError, match="sign must be True or False"):
        sub.sign = "off"
    assert sub.sign is True


@pytest.mark.parametrize("make, kw, value, exc, phrase", [
    (_smtp, "port", "25", TypeError, "port must be a number such as 25"),
    (_smtp, "port", 70000, UsageError, "port must be a port number from 0 to 65535"),
    (_pop3, "max_errors", "10", TypeError, "max_errors must be a whole number"),
    (_pop3, "max_errors", 0, UsageError, "max_errors must be 1 or more"),
    (_pop3, "connections_per_client", True, TypeError, "connections_per_client must be a whole"),
], ids=["smtp port='25'", "smtp port=70000", "pop3 max_errors='10'", "pop3 max_errors=0",
        "pop3 connections_per_client=True"])
def test_server_numbers_go_through_the_shared_checks(make, kw, value, exc, phrase):
    with pytest.raises(exc, match=phrase):
        make(**{kw: value})


@pytest.mark.parametrize("kw, value, exc", [
    ("recipients", "3", TypeError), ("errors", True, TypeError), ("message_size", 1.5, TypeError),
    ("connections_per_client", 0, UsageError), ("commands", -1, UsageError),
])
def test_smtp_limits_are_whole_numbers_of_one_or_more(kw, value, exc):
    from labkit.mta.smtpserver import Limits

    with pytest.raises(exc, match=f"{kw} must be"):
        Limits(**{kw: value})
    assert getattr(Limits(**{kw: 7}), kw) == 7


@pytest.mark.parametrize("value, exc", [("600", TypeError), (True, TypeError),
                                        (0, UsageError), (float("nan"), UsageError)])
def test_lab_pop_window_is_checked_as_a_duration(lab_dns, value, exc):
    import labkit.mta

    with pytest.raises(exc, match="pop_window must be a number of seconds"):
        labkit.mta.Lab(dns=lab_dns, pop_window=value)
