"""labkit._headerfields: the one splitter of header blocks into fields (the folding rule
of RFC 5322 2.2.3), used by ARC sealing, the mailing list and the receiver."""

from __future__ import annotations

from labkit import _headerfields


def test_crlf_fields_with_their_folded_lines():
    head = b"From: a@example.org\r\nSubject: one\r\n two\r\n\tthree\r\nTo: b@example.com\r\n"
    assert _headerfields.split(head) == [
        b"From: a@example.org", b"Subject: one\r\n two\r\n\tthree", b"To: b@example.com"]


def test_keep_ends_gives_each_field_as_it_stood():
    head = b"A: 1\r\n 2\r\nB: 3\r\n"
    fields = _headerfields.split(head, keep_ends=True)
    assert fields == [b"A: 1\r\n 2\r\n", b"B: 3\r\n"]
    assert b"".join(fields) == head


def test_crlf_mode_keeps_a_bare_lf_inside_the_line():
    assert _headerfields.split(b"A: 1\n 2\r\nB: 3\r\n") == [b"A: 1\n 2", b"B: 3"]


def test_lf_mode_takes_bare_lf_and_crlf_line_ends():
    head = b"A: 1\n 2\r\nB: 3\nC: 4\r\n"
    assert _headerfields.split(head, lf=True) == [b"A: 1\r\n 2", b"B: 3", b"C: 4"]
    kept = _headerfields.split(head, lf=True, keep_ends=True)
    assert kept == [b"A: 1\n 2\r\n", b"B: 3\n", b"C: 4\r\n"]
    assert b"".join(kept) == head


def test_lf_mode_leaves_a_bare_cr_in_the_line():
    assert _headerfields.lines(b"A: 1\r2\nB: 3\r", lf=True) == [b"A: 1\r2", b"B: 3\r"]


def test_a_leading_continuation_line_is_a_field_of_its_own():
    assert _headerfields.split(b" lost\r\n\tmore\r\nA: 1\r\n") == [b" lost\r\n\tmore", b"A: 1"]
    assert _headerfields.group([b"\tx", b"A: 1", b" y"]) == [[b"\tx"], [b"A: 1", b" y"]]


def test_no_line_end_after_the_last_line():
    # a head cut without its blank line (or a message that is all header) still splits
    assert _headerfields.split(b"A: 1\r\nB: 2\r\n 3") == [b"A: 1", b"B: 2\r\n 3"]
    assert _headerfields.split(b"A: 1\r\nB: 2", keep_ends=True) == [b"A: 1\r\n", b"B: 2"]
    assert _headerfields.split(b"A: 1") == [b"A: 1"]


def test_an_empty_head_has_no_fields():
    assert _headerfields.lines(b"") == []
    assert _headerfields.split(b"") == []
    assert _headerfields.split(b"", lf=True, keep_ends=True) == []


def test_an_empty_line_inside_the_head_is_a_field():
    # callers cut the head at the first blank line; one left inside is not lost
    assert _headerfields.split(b"A: 1\r\n\r\nB: 2\r\n") == [b"A: 1", b"", b"B: 2"]


def test_a_field_folded_over_200000_lines_is_split():
    # (hostile input: appending each continuation line to a growing field once made a
    # field folded over 640,000 lines take 26 s; this must simply finish)
    folds = 200_000
    head = b"Subject: x" + b"\r\n y" * folds + b"\r\nTo: b@example.com\r\n"
    fields = _headerfields.split(head)
    assert len(fields) == 2
    assert fields[0] == b"Subject: x" + b"\r\n y" * folds
    assert fields[1] == b"To: b@example.com"
    kept = _headerfields.split(head.replace(b"\r\n", b"\n"), lf=True, keep_ends=True)
    assert [len(f) for f in kept] == [len(b"Subject: x\n") + 3 * folds, len(b"To: b@example.com\n")]
