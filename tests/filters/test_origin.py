"""labkit.filters.origin: the origin relay (bottom-most public Received hop) and its two
signals.  Every Received line here is written for the test, with lab names and
documentation addresses (which count as public: the lab Internet uses them)."""

from __future__ import annotations

import random

import pytest

from labkit.filters import origin
from labkit.filters.origin import Hop, origin_hop, origin_signals, parse_received

# -- parse_received: one line of each style ------------------------------------------------


@pytest.mark.parametrize(("line", "want"), [
    # qmail: "from <rDNS> (HELO <helo>) (<ip>)"
    ("from relay.shop.example (HELO mx1.shop.example) (198.51.100.7)\n  by mail.our.example "
     "with SMTP; 3 Mar 2026 10:00:00 -0000",
     Hop(helo="mx1.shop.example", rdns="relay.shop.example", ip="198.51.100.7")),
    # qmail without a PTR name: "unknown" is no rDNS
    ("from unknown (HELO box.isp.example) (203.0.113.9) by mail.our.example with SMTP",
     Hop(helo="box.isp.example", rdns=None, ip="203.0.113.9")),
    # exim: "from <rDNS> ([<ip>] helo=<helo>)"
    ("from out.news.example ([192.0.2.44] helo=sender.news.example) by mx.our.example "
     "with esmtp (Exim 4.20) id 1AbCdE-0001",
     Hop(helo="sender.news.example", rdns="out.news.example", ip="192.0.2.44")),
    # exim with no PTR name: the address literal is no rDNS
    ("from [192.0.2.45] (helo=Desktop) by mx.our.example with smtp",
     Hop(helo="desktop", rdns=None, ip="192.0.2.45")),
    # sendmail/postfix: "from <helo> (<rDNS> [<ip>])"
    ("from Mail.List.Example (lists.list.example [198.51.100.20])\n\tby mx.our.example "
     "(Postfix) with ESMTP id 4F2A1; Tue, 3 Mar 2026 10:00:01 +0000",
     Hop(helo="mail.list.example", rdns="lists.list.example", ip="198.51.100.20")),
    # postfix with no PTR name
    ("from pc17 (unknown [203.0.113.80]) by mx.our.example (Postfix) with SMTP id 1",
     Hop(helo="pc17", rdns=None, ip="203.0.113.80")),
    # sendmail with identd: "(<user>@<rDNS> [<ip>])"
    ("from gate.corp.example (daemon@gate.corp.example [192.0.2.3]) by mx.our.example "
     "(8.11.6/8.11.6) with ESMTP id g1",
     Hop(helo="gate.corp.example", rdns="gate.corp.example", ip="192.0.2.3")),
    # sendmail with only an address in parentheses
    ("from helo.only.example ([198.51.100.99]) by mx.our.example with ESMTP",
     Hop(helo="helo.only.example", rdns=None, ip="198.51.100.99")),
    # the address is the one between "from" and "by", not one in the "by" part
    ("from a.b.example (a.b.example [192.0.2.10]) by relay [192.0.2.200] with SMTP",
     Hop(helo="a.b.example", rdns="a.b.example", ip="192.0.2.10")),
    # a name that is an address and a bracketed address: the bracketed one is the client
    ("from 10.1.1.1 (host.isp.example [198.51.100.5]) by mx.our.example",
     Hop(helo="10.1.1.1", rdns="host.isp.example", ip="198.51.100.5")),
], ids=["qmail", "qmail-unknown", "exim", "exim-no-rdns", "postfix", "postfix-unknown",
        "sendmail-ident", "address-only", "by-address-ignored", "bracketed-wins"])
def test_parse_received_each_style(line, want):
    assert parse_received(line) == want


@pytest.mark.parametrize("line", [
    "", "   ", "by mx.our.example with local; Tue, 3 Mar 2026", "(qmail 123 invoked by uid 5)",
    "from", "\x00\xff garbage", "frobnicate 192.0.2.1",
])
def test_parse_received_without_a_from_part_is_an_empty_hop(line):
    hop = parse_received(line)
    assert hop == Hop(helo=None, rdns=None, ip=None)


def test_parse_received_takes_only_dotted_quads_that_are_addresses():
    hop = parse_received("from x.example (x.example [300.1.2.3]) by mx.our.example")
    assert hop.ip is None and hop.rdns == "x.example"


def test_parse_received_refuses_what_is_not_text():
    with pytest.raises(TypeError, match="value"):
        parse_received(b"from x")


# -- origin_hop: the bottom-most public one -----------------------------------------------

TOP = "from mx.our.example (mx.our.example [192.0.2.1]) by store.our.example with LMTP"
MIDDLE = "from out.shop.example (out.shop.example [198.51.100.7]) by mx.our.example with ESMTP"
BOTTOM_PRIVATE = "from pc1 (pc1.lan [192.168.1.20]) by out.shop.example with ESMTP"
LOOPBACK = "from localhost (localhost [127.0.0.1]) by pc1.lan with SMTP"
CGNAT = "from box (box [100.64.3.4]) by out.shop.example with SMTP"


def test_origin_hop_skips_private_and_loopback_addresses():
    hop = origin_hop([TOP, MIDDLE, BOTTOM_PRIVATE, LOOPBACK])
    assert hop == Hop(helo="out.shop.example", rdns="out.shop.example", ip="198.51.100.7")
    assert origin_hop([TOP, MIDDLE, CGNAT]).ip == "198.51.100.7"  # shared address space


def test_origin_hop_is_the_bottom_most_public_one():
    assert origin_hop([TOP, MIDDLE]).ip == "198.51.100.7"
    assert origin_hop([MIDDLE, TOP]).ip == "192.0.2.1"


@pytest.mark.parametrize("values", [[], [BOTTOM_PRIVATE, LOOPBACK],
                                    ["by mx.our.example with local"]])
def test_origin_hop_none_when_no_public_address(values):
    assert origin_hop(values) is None


def test_origin_hop_takes_any_sequence_but_not_one_string():
    assert origin_hop((TOP, MIDDLE)).ip == "198.51.100.7"
    with pytest.raises(TypeError):
        origin_hop(TOP)


# -- the two signals on crafted messages ------------------------------------------------------


def _message(received: list[str], sender: str = "News <news@shop.example>",
             body: bytes = b"Hello.\r\n") -> bytes:
    lines = [f"Received: {r}" for r in received]
    lines += [f"From: {sender}", "To: ann@our.example", "Subject: spring offers"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


CLEAN = "from mx1.shop.example (out.shop.example [198.51.100.7]) by mx.our.example with ESMTP"


def test_both_signals_hold_for_a_company_server_sending_its_own_mail():
    assert origin_signals(_message([TOP, CLEAN, BOTTOM_PRIVATE])) == (True, True)


def test_the_organisational_domain_comes_from_the_public_suffix_list():
    # two names under a country's second-level suffix: org shop.co.uk, not co.uk
    line = "from mx.shop.co.uk (out.shop.co.uk [198.51.100.7]) by mx.our.example"
    assert origin_signals(_message([line], "a@news.shop.co.uk")) == (True, True)
    other = "from mx.other.co.uk (out.shop.co.uk [198.51.100.7]) by mx.our.example"
    assert origin_signals(_message([other], "a@shop.co.uk")) == (False, True)


def test_clean_needs_helo_and_rdns_in_one_organisation():
    line = "from mx1.elsewhere.example (out.shop.example [198.51.100.7]) by mx.our.example"
    assert origin_signals(_message([line])) == (False, True)


def test_a_generic_rdns_is_never_clean():
    line = ("from dyn-198-51-100-7.pool.isp.example (dyn-198-51-100-7.pool.isp.example "
            "[198.51.100.7]) by mx.our.example")
    assert origin_signals(_message([line], "me@isp.example")) == (False, True)


def test_no_rdns_no_signal():
    line = "from mx1.shop.example (unknown [198.51.100.7]) by mx.our.example"
    assert origin_signals(_message([line])) == (False, False)


def test_aligned_needs_the_from_domain_in_the_rdns_organisation():
    assert origin_signals(_message([CLEAN], "Bank <alerts@bank.example>")) == (True, False)
    assert origin_signals(_message([CLEAN], "no address at all")) == (True, False)
    assert origin_signals(_message([CLEAN], "x@[198.51.100.7]")) == (True, False)


def test_address_literals_have_no_organisation():
    line = "from [198.51.100.7] ([198.51.100.7]) by mx.our.example"
    assert origin_signals(_message([line], "x@[198.51.100.7]")) == (False, False)


def test_folded_received_and_mbox_line_are_read():
    folded = "from mx1.shop.example\r\n\t(out.shop.example [198.51.100.7])\r\n\tby mx.our.example"
    raw = b"From news@shop.example Tue Mar  3 10:00:00 2026\n" + _message([folded])
    assert origin_signals(raw) == (True, True)


@pytest.mark.parametrize("raw", [
    b"", b"\r\n", b"\x00" * 100, bytes(range(256)) * 40, b"Received:\r\n\r\n",
    b"Received: from\r\n\r\n", "Received: from h\u00e9llo.example (x [198.51.100.7]) by y\r\n"
    "From: \u00e9@h\u00e9llo.example\r\n\r\n".encode("utf-8"),
    b"Received: from \xff\xfe.example (\xff\xfe.example [198.51.100.7]) by y\r\nFrom: a@\xff\xfe."
    b"example\r\n\r\n", b"Subject: no trace fields\r\n\r\nbody",
    b"Received: " + b"from a " * 50_000 + b"\r\n\r\n",
], ids=["empty", "crlf", "nul", "all-bytes", "empty-received", "bare-from", "utf8",
        "latin1", "no-received", "long-line"])
def test_bad_input_never_raises(raw):
    assert origin_signals(raw) in ((False, False), (True, False), (False, True), (True, True))
    # and not only thanks to origin_signals' safety net: the reading itself does not raise
    assert origin._signals(raw) == origin_signals(raw)


def test_damaged_corpus_messages_are_read_without_the_safety_net(full_corpus):
    # origin_signals turns any exception into (False, False); a bug would hide there, so
    # the reading underneath is run on the corpus and on randomly damaged copies of it
    rnd = random.Random(11)
    raws = [m.raw for m in full_corpus]
    seen = set()
    for raw in raws[::3] + [_damaged(rnd, rnd.choice(raws)) for _ in range(600)]:
        seen.add(origin._signals(raw))
    assert seen == {(False, False), (True, False), (False, True), (True, True)}


def _damaged(rnd: random.Random, raw: bytes) -> bytes:
    out = bytearray(raw)
    for _ in range(rnd.randint(1, 30)):  # insert a random byte or cut a short run
        at = rnd.randrange(len(out) + 1)
        if rnd.random() < 0.5:
            out[at:at] = bytes([rnd.randrange(256)])
        else:
            del out[at:at + rnd.randint(1, 40)]
    return bytes(out)


def test_random_garbage_and_a_ten_megabyte_message_give_no_signal():
    rnd = random.Random(7)
    for _ in range(20):
        assert origin_signals(bytes(rnd.randrange(256) for _ in range(3000))) == (False, False)
    big = _message([CLEAN], body=b"x" * 10_000_000)
    assert origin_signals(big) == (True, True)  # the body is never read
    no_end = b"X-Pad: " + b"y" * 10_000_000  # one 10 MB header field, no blank line
    assert origin_signals(no_end) == (False, False)


def test_the_message_must_be_bytes_or_a_message():
    with pytest.raises(TypeError):
        origin_signals(42)
    assert origin_signals(_message([CLEAN]).decode()) == (True, True)  # text is encoded


def test_exported_names():
    assert set(origin.__all__) == {"Hop", "parse_received", "origin_hop", "origin_signals"}
