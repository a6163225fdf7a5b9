"""The receiver's shortcuts give what the long way gives."""

from __future__ import annotations

import threading

import pytest
from aiosmtpd.smtp import SMTP

import labkit.mta
from labkit.mta import make_message
from labkit.mta.receiver import Receiver
from labkit.mta.smtpserver import LabSMTP, SMTPServer

ARGS = [
    "<news@brand.example>",
    "<news@brand.example> SIZE=1234 BODY=8BITMIME",
    "  <alice@corp.example>",
    "alice@corp.example",
    "<>",
    "",
    '<"odd local"@corp.example>',
    "<a.b+tag@sub.corp.example> NOTIFY=NEVER",
    "<@relay.example:bob@corp.example>",
    "<bob@[192.0.2.1]>",
    "<no-at-sign>",
    "<broken@",
    "<" + "x" * 70 + "@corp.example>",
    "<tab\t@corp.example>",
]


def _outcome(parse, arg):
    """The parse result, or the exception type (the stdlib parser raises on some input)."""
    try:
        return parse(arg)
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return type(exc)


@pytest.mark.parametrize("limit", [0, 64])
def test_remembered_address_parsing_equals_aiosmtpd_own(limit):
    server = SMTPServer(object(), hostname="mx.test")
    ours = LabSMTP(object(), lab_server=server, hostname="mx.test")
    stock = SMTP(object(), hostname="mx.test")
    ours.local_part_limit = stock.local_part_limit = limit
    for _ in range(2):  # second round: answered from the cache
        for arg in ARGS:
            assert _outcome(ours._getaddr, arg) == _outcome(stock._getaddr, arg), arg
    assert ours._getaddr(ARGS[-2])[0] == (None if limit else ARGS[-2][1:-1])


def test_stock_rcpt_runs_on_the_loop_and_an_overridden_one_in_a_thread(lab_dns):
    seen: list[str] = []

    class Counting(Receiver):
        def on_rcpt(self, ctx, address, accepted):
            seen.append(threading.current_thread().name)
            return super().on_rcpt(ctx, address, accepted)

    assert Receiver.runs_inline(Counting.__new__(Receiver), "rcpt")
    assert not Counting.runs_inline(Counting.__new__(Counting), "rcpt")
    assert not Receiver.runs_inline(Counting.__new__(Receiver), "mail")
    with labkit.mta.Lab(dns=lab_dns, scorer=None) as lab:
        mx = lab.server("mx.corp.example")
        stock = mx.handler
        mx.handler = Counting(lab=lab, hostname=stock.hostname, local_domains=stock.local_domains,
                              accounts=stock.accounts, mailstore=stock.mailstore)
        msg = make_message(from_="news@brand.example", to="alice@corp.example", subject="t",
                           body="thread\n")
        res = lab.send(msg, from_host="mail.brand.example", rcpt_to=["alice@corp.example",
                                                                     "nobody@corp.example"])
        assert res.accepted == ("alice@corp.example",) and "nobody@corp.example" in res.refused
        assert len(seen) == 2 and all(name != f"smtp {stock.hostname}" for name in seen)
