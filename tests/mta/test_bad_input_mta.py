"""Mistakes a learner makes with the mail lab of labs 07-10, each named at the call.

Before these checks each case below gave a silent wrong answer (port ``"25"`` let
through by OP25B, mail filed in a ``junk`` folder, ``op25b="no"`` switching OP25B
on) or a traceback from deep inside (``ipaddress``, ``poplib``, ``smtplib``, a 451
with a logged traceback).  Valid
input still behaves as before; tests/mta/test_services.py and test_receiver.py
cover that.
"""

from __future__ import annotations

import logging
import poplib

import pytest

import labkit
import labkit.mta
from labkit.errors import LabkitError, UsageError
from labkit.filters.lists import AddressList
from labkit.mta import Decision, default_password, make_message

TARO = "taro@isp.example"
BOT = "198.51.100.200"  # in the ISP's dynamic pool
PC = "198.51.100.140"


@pytest.fixture(scope="module")
def lab(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, scorer=None) as running:
        yield running


def _msg(subject: str, frm: str = "news@brand.example", to: str = "alice@corp.example") -> bytes:
    return make_message(from_=frm, to=to, subject=subject, body="body\n")


# ------------------------------------------------------------------ 1. OP25B permits
def test_permits_refuses_a_port_given_as_text(lab):
    mx = lab.hosts["mx.corp.example"].address
    assert lab.gateway.permits(BOT, mx, 25).allowed is False  # as a number: blocked
    with pytest.raises(TypeError, match="port must be a number such as 25 or 587, not '25'"):
        lab.gateway.permits(BOT, mx, "25")  # was: allowed, "port 25 is not filtered"


@pytest.mark.parametrize("which", ["src", "dst"])
def test_permits_refuses_a_host_name_for_an_address(lab, which):
    mx = lab.hosts["mx.corp.example"].address
    args = {"src": BOT, "dst": mx}
    args[which] = "mx.corp.example"
    with pytest.raises(UsageError, match=r"lab\.hosts\['mx\.corp\.example'\]\.address"):
        lab.gateway.permits(args["src"], args["dst"], 25)


def test_permits_takes_ipaddress_objects(lab):
    import ipaddress

    own = lab.hosts["mail.isp.example"].address
    assert lab.gateway.permits(ipaddress.ip_address(BOT), ipaddress.ip_address(own), 25).allowed


# ------------------------------------------------------------------ 2. POP3 login
def test_pop3_wrong_password_is_a_labkit_error_with_the_reply(lab):
    with pytest.raises(labkit.mta.POP3LoginError) as info:
        lab.pop3(TARO, "wrong-password", from_host=PC)
    err = info.value
    assert isinstance(err, LabkitError) and isinstance(err, poplib.error_proto)  # both
    assert err.reply == "-ERR [AUTH] authentication failed"
    assert "taro@isp.example" in str(err) and "wrong-password" not in str(err)
    assert str(err).startswith("b'-ERR [AUTH] authentication failed'")  # as poplib's began


def test_pop3_second_session_says_to_quit_the_first(lab):
    first = lab.pop3(TARO, default_password(TARO), from_host=PC)
    try:
        with pytest.raises(labkit.mta.POP3LoginError, match=r"\.quit\(\)") as info:
            lab.pop3(TARO, default_password(TARO), from_host=PC)
        assert info.value.reply.startswith("-ERR [IN-USE]")
    finally:
        first.quit()


@pytest.mark.parametrize("user, password, phrase", [
    (None, "x", "user must be a str"),
    (TARO, 1234, "password must be a str"),
])
def test_pop3_user_and_password_must_be_text(lab, user, password, phrase):
    with pytest.raises(TypeError, match=phrase):
        lab.pop3(user, password, from_host=PC)


# ------------------------------------------------------------------ 3. SMTP-AUTH pair
@pytest.mark.parametrize("call, phrase", [
    (lambda lab, m: lab.send(m, from_host=PC, to_host="smtp.isp.example", port=587,
                             starttls=True, auth="taro"),
     r"auth must be a \(user, password\) pair"),
    (lambda lab, m: lab.send(m, from_host=PC, to_host="smtp.isp.example", port=587,
                             starttls=True, auth=(TARO, "a", "b")),
     r"auth must be a \(user, password\) pair"),
    (lambda lab, m: lab.submit(m, user=None, password="x"), "user must be a str"),
    (lambda lab, m: lab.submit(m, user=TARO, password=1234), "password must be a str"),
], ids=["auth=str", "auth=triple", "submit user=None", "submit password=int"])
def test_auth_must_be_a_pair_of_strings(lab, call, phrase):
    with pytest.raises(TypeError, match=phrase) as info:
        call(lab, _msg("auth", frm=TARO, to="alice@corp.example"))
    assert "1234" not in str(info.value)  # the password is not repeated


def test_auth_as_a_list_pair_still_submits(lab):
    res = lab.send(_msg("auth list", frm=TARO), from_host=PC, to_host="smtp.isp.example",
                   port=587, starttls=True, auth=[TARO, default_password(TARO)])
    assert res.status == "sent", res.steps


# ------------------------------------------------------------------ 4. decide() and Decision
def test_decision_action_is_one_of_the_three_places():
    assert Decision(action="junk", reason="r").action == "Junk"  # was: a "junk" folder
    assert Decision(action="inbox", reason="r").action == "INBOX"
    with pytest.raises(UsageError, match="'INBOX' or 'Junk' or 'reject'"):
        Decision(action="spam", reason="r")
    with pytest.raises(TypeError, match="action must be a str"):
        Decision(action=None, reason="r")


def test_a_lower_case_junk_decision_files_in_junk(lab):
    mx = lab.receiver
    mx.decide = lambda verdict, judgement, ctx: Decision(action="junk", reason="local rule")
    try:
        assert lab.send(_msg("lower junk"), from_host="mail.brand.example").status == "sent"
    finally:
        del mx.decide
    assert any(b"lower junk" in m for m in lab.mailbox("alice@corp.example").messages("Junk"))


@pytest.mark.parametrize("hook, phrase", [
    (lambda verdict, judgement, ctx: "Junk", "not str 'Junk'"),
    (lambda verdict, judgement, ctx: None, "not None (did it forget to return?)"),
    (lambda verdict, judgement, ctx: Decision(action="spam", reason="x"), "action must be"),
], ids=["a string", "None", "a bad Decision"])
def test_a_decide_hook_that_returns_no_decision_defers_with_one_line(lab, caplog, hook, phrase):
    mx = lab.receiver
    mx.decide = hook
    try:
        with caplog.at_level(logging.WARNING, logger="labkit"):
            res = lab.send(_msg(f"bad hook {phrase}"), from_host="mail.brand.example")
    finally:
        del mx.decide
    assert res.status == "deferred" and res.code == 451  # a broken hook never loses mail
    err = lab.events.entries(host="mx.corp.example", event="error")[-1]
    assert err["step"] == "decide" and phrase in err["reason"]
    assert "Decision(action='INBOX', 'Junk' or 'reject'" in err["reason"]
    records = [r for r in caplog.records if "decide" in r.getMessage()]
    assert records and all(r.exc_info is None for r in records)  # one line, no traceback
    assert all("\n" not in r.getMessage() for r in records)


# ------------------------------------------------------------------ 5. block / allow lists
def test_receiver_block_list_given_as_a_plain_list_is_read(lab):
    mx = lab.receiver
    old = mx.block
    try:
        mx.block = [lab.hosts["mail.attacker.test"].address]  # was: every connection 451
        res = lab.send(_msg("plain list", frm="news@attacker.test"),
                       from_host="mail.attacker.test")
        assert res.code == 554 and "block list" in res.reply
        assert isinstance(mx.block, AddressList) and mx.block.name == "block"
        mx.block = None  # no list at all
        assert len(mx.block) == 0
    finally:
        mx.block = old


def test_receiver_allow_list_of_the_wrong_type_fails_at_assignment(lab):
    old = lab.receiver.allow
    try:
        with pytest.raises(TypeError, match="allow must be an AddressList"):
            lab.receiver.allow = 5
        assert lab.receiver.allow is old
    finally:
        lab.receiver.allow = old


# ------------------------------------------------------------------ 8. on/off flags
@pytest.mark.parametrize("call, phrase", [
    (lambda lab_dns: labkit.mta.Lab(dns=lab_dns, op25b="no"), "op25b must be True or False"),
    (lambda lab_dns: labkit.mta.Lab(dns=lab_dns, backscatter="off"), "backscatter must be"),
    (lambda lab_dns: labkit.mta.Lab(dns=lab_dns, srs=None), "srs must be True or False"),
    (lambda lab_dns: labkit.mta.Lab(dns=lab_dns, list_from_rewrite="yes"), "list_from_rewrite"),
], ids=["op25b='no'", "backscatter='off'", "srs=None", "list_from_rewrite='yes'"])
def test_lab_flags_must_be_true_or_false(lab_dns, call, phrase):
    with pytest.raises(TypeError, match=phrase):
        call(lab_dns)


@pytest.mark.parametrize("target, attr", [
    (lambda lab: lab.receiver, "backscatter"),
    (lambda lab: lab.receiver, "remove_forged_results"),
    (lambda lab: lab.gateway, "enabled"),
    (lambda lab: lab.handler("mx.fwd.example.net"), "srs"),
    (lambda lab: lab.handler("mail.lists.example.org"), "from_rewrite"),
])
def test_flag_attributes_refuse_text(lab, target, attr):
    obj = target(lab)
    before = getattr(obj, attr)
    try:
        with pytest.raises(TypeError, match=f"{attr} must be True or False, not 'no'"):
            setattr(obj, attr, "no")  # was: a truthy string, so the feature went ON
        assert getattr(obj, attr) is before
        setattr(obj, attr, not before)
        assert getattr(obj, attr) is (not before)
    finally:
        obj.__dict__.pop(attr, None)  # (the old code kept the text in the instance)
        setattr(obj, attr, before)


def test_backscatter_off_by_assignment_still_refuses_unknown_users(lab):
    lab.receiver.backscatter = False
    res = lab.send(_msg("ghost", to="ghost@corp.example"), from_host="mail.brand.example")
    assert res.code == 550
