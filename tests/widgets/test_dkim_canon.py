"""DKIMCanonViewer: built without a browser; .value is the message, edited to tamper."""

from __future__ import annotations

import base64
import hashlib

import pytest

pytest.importorskip("ipywidgets")

import labkit.auth.dkim as dkim  # noqa: E402
from labkit.widgets.dkim_canon import DKIMCanonViewer, visible  # noqa: E402

MESSAGE = (
    b"From: Brand <news@brand.example>\r\n"
    b"To: alice@corp.example\r\n"
    b"Subject:   Hello   there\r\n"
    b"\r\n"
    b"Hi  Alice,\r\n"
    b"\r\n"
    b"\r\n"
)


def _signed(canon):
    return dkim.sign(MESSAGE, domain="brand.example", selector="s2026",
                     private_key=dkim.lab_key("brand.example", "s2026"), canonicalization=canon)


def _b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_relaxed_body_and_hash_shown_as_computed_by_hand(lab_dns):
    w = DKIMCanonViewer(_signed(("relaxed", "relaxed")), dns=lab_dns)
    # RFC 6376 3.4.4 by hand: runs of spaces -> one, trailing empty lines removed
    expected = _b64sha256(b"Hi Alice,\r\n")
    assert w.results[0].result == "pass"
    assert f"bh= computed : {expected}  (match)" in w.text
    assert "Hi·Alice,␍␊" in w.text  # visible whitespace: one space after relaxing
    # relaxed header canonicalisation: lower-case name, no space around the colon
    assert "subject:Hello·there␍␊" in w.text


def test_simple_keeps_whitespace(lab_dns):
    w = DKIMCanonViewer(_signed(("simple", "simple")), dns=lab_dns)
    # RFC 6376 3.4.3: only trailing empty lines go; the body keeps its two spaces
    assert f"bh= computed : {_b64sha256(b'Hi  Alice,' + bytes([13, 10]))}" in w.text
    assert "Subject:···Hello···there␍␊" in w.text


def test_tampering_the_body_breaks_the_body_hash(lab_dns):
    w = DKIMCanonViewer(_signed(("relaxed", "relaxed")), dns=lab_dns)
    declared = w.results[0].explanation.body_hash_declared
    w.value = w.value.replace("Hi  Alice", "Hi  Mallory")
    assert w.results[0].result == "fail"
    assert f"bh= declared : {declared}" in w.text
    assert f"bh= computed : {_b64sha256(b'Hi Mallory,' + bytes([13, 10]))}  (MISMATCH" in w.text
    assert "MISMATCH" in w._view.value


def test_header_whitespace_survives_relaxed_but_not_simple(lab_dns):
    relaxed = DKIMCanonViewer(_signed(("relaxed", "relaxed")), dns=lab_dns)
    relaxed.value = relaxed.value.replace("Subject:   Hello   there", "Subject: Hello there")
    assert relaxed.results[0].result == "pass"
    simple = DKIMCanonViewer(_signed(("simple", "simple")), dns=lab_dns)
    simple.value = simple.value.replace("Subject:   Hello   there", "Subject: Hello there")
    assert simple.results[0].result == "fail"
    assert "(match)" in simple.text  # the body is intact: only the header hash broke


def test_unsigned_message_and_whitespace_toggle(lab_dns):
    w = DKIMCanonViewer(MESSAGE, dns=lab_dns)
    assert w.results == () and "no DKIM signature" in w.text
    w.value = _signed(("relaxed", "relaxed")).decode()
    w.show_whitespace = False
    assert "subject:Hello there\r\n" in w.text
    assert visible("a b\tc\r\n") == "a·b→c␍␊\n"


def test_text_fallback_is_untruncated(lab_dns):
    w = DKIMCanonViewer(_signed(("relaxed", "relaxed")), dns=lab_dns)
    plain = w._repr_mimebundle_()["text/plain"]
    assert plain == w.text and "bh= computed" in plain
