"""Submission, POP3, POP before SMTP and OP25B: each question of the course answered
by an experiment."""

from __future__ import annotations

import email
import poplib

import pytest

import labkit.auth
import labkit.mta
from labkit.mta import default_password, make_message

TARO = "taro@isp.example"
PC = "198.51.100.140"  # the customer PC in the ISP's dynamic pool (CAST.md)
BOT = "198.51.100.150"


def _msg(frm, to, subject):
    return make_message(from_=frm, to=to, subject=subject, body="hello\n")


# -- submission -----------------------------------------------------------------------------
def test_submission_signs_and_relays_to_the_recipient_mx(lab):
    alice = "alice@corp.example"
    res = lab.submit(_msg(alice, "bob@corp.example", "submitted by alice"), user=alice,
                     password=default_password(alice))
    assert res.status == "sent", res.steps
    stored = [m for m in lab.mailbox("bob@corp.example").messages() if b"submitted by alice" in m]
    assert len(stored) == 1
    msg = email.message_from_bytes(stored[0])
    received = msg.get_all("Received")
    assert "[198.51.100.26]" in received[0]  # the MX saw the submission server
    assert "Authenticated sender: alice@corp.example" in received[1]
    assert f"[{PC}]" in received[1]  # the submission server saw the PC
    # the signature the submission server added verifies against the lab DNS
    sigs = labkit.auth.dkim.verify(stored[0], dns=lab.resolver)
    assert [(s.result, s.domain) for s in sigs] == [("pass", "corp.example")]


def test_submission_signs_the_isps_own_customers_with_isp_example(lab):
    res = lab.submit(_msg(TARO, "bob@corp.example", "taro signs with the isp"), user=TARO,
                     password=default_password(TARO), from_host=PC)
    assert res.status == "sent", res.steps
    (stored,) = [m for m in lab.mailbox("bob@corp.example").messages()
                 if b"taro signs with the isp" in m]
    sigs = labkit.auth.dkim.verify(stored, dns=lab.resolver)
    assert [(s.result, s.domain) for s in sigs] == [("pass", "isp.example")]
    # the MX's verdict: DKIM aligned with the From domain, so DMARC passes
    (verdict,) = lab.verdicts(res.message_id)
    assert verdict["dkim"] == ["pass:isp.example"] and verdict["dmarc"] == "pass"


def test_a_pool_pc_holds_no_domain_key(lab):
    # its PTR name is under isp.example, but only the ISP's servers sign for it
    res = lab.send(_msg(TARO, TARO, "self-signed?"), from_host=PC, dkim=True)
    assert res.status == "error" and "no DKIM key" in res.reply


def test_submission_rejects_wrong_password_and_foreign_sender(lab):
    res = lab.submit(_msg(TARO, "bob@corp.example", "bad pw"), user=TARO, password="nope")
    assert res.code == 535
    res = lab.submit(_msg("ceo@brand.example", "bob@corp.example", "spoof"), user=TARO,
                     password=default_password(TARO), mail_from="ceo@brand.example")
    assert res.code == 553


def test_submission_without_auth_is_refused(lab):
    res = lab.send(_msg(TARO, "bob@corp.example", "no auth"), from_host=PC,
                   to_host="smtp.isp.example", port=587, starttls=True)
    assert res.code == 530


# -- POP3 -------------------------------------------------------------------------------------
def test_pop3_stat_list_retr_dele_quit(lab):
    bob = "bob@corp.example"
    box = lab.mailbox(bob)
    for k in box.keys():
        box.remove(k)
    for i in range(3):
        lab.send(_msg("news@brand.example", bob, f"pop {i}"), from_host="mail.brand.example",
                 dkim=True)
    pop = lab.pop3(bob, default_password(bob), from_host="192.0.2.10", host="mx.corp.example")
    count, size = pop.stat()
    assert count == 3 and size == sum(len(m) for m in box.messages())
    listing = pop.list()[1]
    assert [int(x.split()[1]) for x in listing] == [len(m) for m in box.messages()]
    lines = pop.retr(2)[1]
    assert b"\r\n".join(lines) + b"\r\n" == box.messages()[1]
    pop.dele(1)
    with pytest.raises(poplib.error_proto):
        pop.retr(1)  # deleted in this session
    pop.quit()
    assert len(box) == 2  # deletions happen at QUIT
    with pytest.raises(poplib.error_proto):
        lab.pop3(bob, "wrong", from_host="192.0.2.10", host="mx.corp.example")


# -- POP before SMTP ----------------------------------------------------------------------------
def test_pop_before_smtp_opens_a_window_that_closes_on_the_lab_clock(lab):
    def relay():
        return lab.send(_msg(TARO, "bob@corp.example", "via isp mta"), from_host=PC,
                        to_host="mail.isp.example", mail_from=TARO)

    assert relay().code == 554  # no window yet: relay denied
    lab.pop3(TARO, default_password(TARO), from_host=PC).quit()
    assert relay().status == "sent"  # inside the window
    assert lab.isp_window.is_open(PC) and not lab.isp_window.is_open(BOT)
    lab.advance(lab.pop_window + 1)
    assert relay().code == 554  # the window closed


# -- OP25B: the four questions ----------------------------------------------------------------------
def test_bot_on_dynamic_address_cannot_reach_a_foreign_mx_on_25(lab):
    res = lab.send(_msg("bot@isp.example", "alice@corp.example", "spam"), from_host=BOT)
    assert res.status == "blocked" and "OP25B" in res.reply and "587" in res.reply


def test_pool_can_reach_its_isps_own_server_on_25(lab):
    res = lab.send(_msg("friend@isp.example", TARO, "local isp mail"), from_host=PC)
    assert res.status == "sent" and res.server == "mail.isp.example"
    assert len([m for m in lab.mailbox(TARO).messages() if b"local isp mail" in m]) == 1


def test_pool_submits_on_587_with_auth_and_the_mail_arrives(lab):
    res = lab.submit(_msg(TARO, "carol@corp.example", "home via 587"), user=TARO,
                     password=default_password(TARO), from_host=PC)
    assert res.status == "sent"
    assert [m for m in lab.mailbox("carol@corp.example").messages() if b"home via 587" in m]


def test_fixed_addresses_are_not_blocked_and_op25b_can_be_switched_off(lab):
    res = lab.send(_msg("news@brand.example", "alice@corp.example", "fixed"),
                   from_host="mail.brand.example")
    assert res.status == "sent"
    lab.gateway.enabled = False
    try:
        # without OP25B the bot reaches the MX, which still has the DNSBL
        res = lab.send(_msg("bot@isp.example", "alice@corp.example", "spam"), from_host=BOT)
        assert res.status != "blocked" and res.code == 554 and "dnsbl" in res.reply
    finally:
        lab.gateway.enabled = True


def test_gateway_decisions():
    gw = labkit.mta.OP25B(own_servers={"198.51.100.25"})
    assert not gw.permits(BOT, "203.0.113.25", 25).allowed
    assert gw.permits(BOT, "198.51.100.25", 25).allowed
    assert gw.permits(BOT, "203.0.113.25", 587).allowed
    assert gw.permits("192.0.2.10", "203.0.113.25", 25).allowed
    assert gw.blocked == 1
