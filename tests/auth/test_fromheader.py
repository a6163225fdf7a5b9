"""Strict From parsing and the forgiving message splitter.

Each case is a trick from the DMARC threat model (RFC 7489 6.6.1, RFC 9989): the test
names what a lenient parser would do wrong and checks that we refuse or report it.
"""

from __future__ import annotations

import pytest

from labkit.auth import fromheader


def parse(head: bytes):
    return fromheader.parse_from(head + b"\r\nTo: bob@corp.example\r\n\r\nbody\r\n")


def test_plain_from():
    r = parse(b"From: Alice <alice@Brand.Example>")
    assert r.ok and r.domain == "brand.example" and r.address == "alice@brand.example"
    assert r.display_name == "Alice"


def test_obsolete_phrase_is_accepted():
    assert parse(b"From: John Q. Public <jqp@brand.example>").domain == "brand.example"


@pytest.mark.parametrize(("head", "kind"), [
    (b"From: a@brand.example\r\nFrom: e@attacker.test", "several-fields"),
    (b"From: a@brand.example\r\nFrom: a@brand.example", "several-fields"),
    (b"From : a@brand.example\r\nFrom: e@attacker.test", "several-fields"),  # space before colon
    (b"From: a@brand.example, e@attacker.test", "several-addresses"),
    (b"Subject: no from here", "none"),
    (b"From: ", "unparsable"),  # a From field with nothing in it
    (b"From: team: a@brand.example;", "group"),
    (b"From: nonsense", "unparsable"),
    (b"From: alice@brand.example <e@attacker.test>", "unparsable"),  # unquoted @ in the phrase
    (b"From: x <a@brand.example> y <e@attacker.test>", "unparsable"),
    (b"From: \"Unterminated <a@brand.example>", "unparsable"),
    (b"From: <a@[192.0.2.10]>", "unparsable"),
    (b"From: x@=?utf-8?q?brand.example?=", "unparsable"),  # encoded word as the domain
    (b"From: <x@=?utf-8?b?YnJhbmQuZXhhbXBsZQ==?=>", "unparsable"),
    (b"From: a@brand.example\x00.attacker.test", "unparsable"),
    (b"From: a@-brand.example", "unparsable"),
])
def test_tricks_yield_no_domain(head, kind):
    r = parse(head)
    assert r.kind == kind, r
    assert r.domain is None
    assert r.problem


def test_display_name_showing_another_address_is_noted():
    r = parse(b'From: "ceo@brand.example" <e@attacker.test>')
    assert r.ok and r.domain == "attacker.test"  # DMARC is evaluated for the real domain
    assert any("brand.example" in n for n in r.notes)


def test_encoded_display_name_decoded_and_noted():
    r = parse(b"From: =?utf-8?q?ceo=40brand.example?= <e@attacker.test>")
    assert r.domain == "attacker.test"
    assert any("brand.example" in n for n in r.notes)
    assert any("encoded" in n for n in r.notes)


def test_comment_does_not_change_domain():
    assert parse(b"From: e@attacker.test (e@brand.example)").domain == "attacker.test"


def test_internationalised_domain_becomes_a_label():
    r = parse("From: Jürgen <j@bücher.example>".encode())
    assert r.domain == "xn--bcher-kva.example"


def test_folded_from_is_unfolded():
    assert parse(b"From: Alice\r\n <alice@brand.example>").domain == "brand.example"


def test_continuation_line_is_not_a_field():
    r = fromheader.parse_from(b"X-Note: a\r\n From: a@brand.example\r\n\r\n")
    assert r.kind == "none"


def test_mbox_separator_skipped():
    r = fromheader.parse_from(b"From someone@x Sat Nov 28 00:00:00 2026\nFrom: a@brand.example\n\nbody")
    assert r.domain == "brand.example"


@pytest.mark.parametrize(("raw", "problem"), [
    (b"From: a@brand.example\r\nSubject: x", "no blank line"),
    (b" folded: first\r\nFrom: a@brand.example\r\n\r\n", "continuation line before any field"),
    (b"From: a@brand.example\r\nthis line has no colon\r\n\r\n", "not a header field"),
    (b"From: a@brand.example\r\nSubject: caf\xe9\r\n\r\n", "not UTF-8"),
])
def test_splitter_reports_problems(raw, problem):
    msg = fromheader.split_message(raw)
    assert any(problem in p for p in msg.problems), msg.problems
    assert fromheader.parse_from(msg).domain == "brand.example"


def test_binary_and_huge_inputs_never_raise():
    assert fromheader.parse_from(bytes(range(256)) * 100).domain is None
    big = b"From: a@brand.example\r\n" + b"X-Pad: " + b"y" * 1_000_000 + b"\r\n\r\nbody"
    assert fromheader.parse_from(big).domain == "brand.example"
    many = b"".join(b"X-%d: v\r\n" % i for i in range(60_000)) + b"From: a@brand.example\r\n\r\n"
    assert fromheader.parse_from(many).domain == "brand.example"
    huge_from = b"From: " + b"A" * 100_000 + b" <a@brand.example>\r\n\r\n"
    assert fromheader.parse_from(huge_from).kind == "unparsable"
    assert fromheader.parse_from("From: a@brand.example\n\nstr input").domain == "brand.example"
    assert fromheader.parse_from(b"").kind == "none"
