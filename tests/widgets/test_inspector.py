"""MessageInspector: the trusted Received hop, envelope vs headers, hop details."""

from __future__ import annotations

from email.message import EmailMessage

import labkit as lk


def _forged() -> bytes:
    # A phish from the attacker's server that pretends, in its own Received line and
    # in From/Return-Path, to come from the brand; our MX wrote the topmost line.
    msg = EmailMessage()
    msg["Received"] = ("from mail.attacker.test (mail.attacker.test [203.0.113.66]) "
                       "by mx.corp.example with ESMTP id A1 for <bob@corp.example>; "
                       "Sat, 28 Nov 2026 10:00:00 +0000")
    msg["Received"] = ("from pc.brand.example (mail.brand.example [192.0.2.10]) "
                       "by mail.brand.example with SMTP id Z9; Sat, 28 Nov 2026 09:59:00 +0000")
    msg["Return-Path"] = "<ceo@brand.example>"
    msg["From"] = "CEO <ceo@brand.example>"
    msg["To"] = "bob@corp.example"
    msg["Subject"] = "my address changed"
    msg.set_content("Please use my new address from now on.")
    return msg.as_bytes()


def test_chain_is_parsed_top_down():
    hops = lk.widgets.inspector.received_chain(_forged())
    assert [h.client_ip for h in hops] == ["203.0.113.66", "192.0.2.10"]
    assert [h.by for h in hops] == ["mx.corp.example", "mail.brand.example"]
    assert hops[0].helo == "mail.attacker.test" and hops[0].recipient == "bob@corp.example"


def test_widget_marks_the_line_our_receiver_wrote():
    w = lk.widgets.MessageInspector(_forged(), envelope={"mail_from": "ceo@brand.example",
                                                         "client_ip": "203.0.113.66"})
    assert w.result.trusted == 0
    assert w.result.client_ip == "203.0.113.66"
    rows = w.chain.value.split("<tr>")[2:]
    assert "ours: trust" in rows[0] and "ours: trust" not in rows[1]
    assert "ceo@brand.example" in w.identity.value


def test_changing_our_server_moves_the_mark():
    w = lk.widgets.MessageInspector(_forged())
    w.receiver.value = "mx.other.example"
    assert w.result.trusted is None
    assert "ours: trust" not in w.chain.value
    assert "nothing here is verified" in w.detail.value


def test_hop_detail_explains_trust():
    w = lk.widgets.MessageInspector(_forged())
    w.hop.value = 1
    assert "192.0.2.10" in w.detail.value
    assert "could have typed anything" in w.detail.value
    w.hop.value = 0
    assert "wrote this line itself" in w.detail.value and "203.0.113.66" in w.detail.value


def test_no_received_lines():
    msg = b"From: a@b.example\r\nSubject: x\r\n\r\nhi\r\n"
    result = lk.widgets.inspector.inspect(msg)
    assert result.hops == () and result.client_ip is None
    assert result.to_dict()["headers"]["From"] == "a@b.example"


def test_internal_hops_lead_to_the_entry_point():
    # our MX hands the mail to an internal store, which adds its own line on top
    raw = (
        b"Received: from mx.corp.example (mx.corp.example [203.0.113.25]) by store.corp.example"
        b" with LMTP; Sat, 28 Nov 2026 10:00:01 +0000\r\n"
        b"Received: from helo.bot (unknown [198.51.100.150]) by mx.corp.example with ESMTP;"
        b" Sat, 28 Nov 2026 10:00:00 +0000\r\n"
        b"Received: from a (b [192.0.2.1]) by relay.example; Sat, 28 Nov 2026 09:00:00 +0000\r\n"
        b"From: x@y.example\r\n\r\nbody\r\n"
    )
    result = lk.widgets.inspector.inspect(raw, receivers=("mx.corp.example", "store.corp.example"))
    assert result.trusted == 1
    assert result.client_ip == "198.51.100.150"
    assert result.trusted_hop.rdns == "unknown"
    only_mx = lk.widgets.inspector.inspect(raw, receivers="mx.corp.example")
    assert only_mx.trusted == 1
