"""Header blocks at their edges, where the mailing list and field removal went wrong:
a message that is all header (no blank line), one that starts with its blank line, a
message whose every field is removed, and lines without a colon named like Subject or
From."""

from __future__ import annotations

import pytest

from labkit.mta.mailinglist import edit_message
from labkit.mta.policy import remove_return_path
from labkit.mta.receiver import remove_results

LIST = dict(list_address="lab-list@lists.example.org", tag="lab-list", footer="the footer")


def _head_and_body(message: bytes) -> tuple[bytes, bytes]:
    head, sep, body = message.partition(b"\r\n\r\n")
    assert sep, message
    return head, body


def test_a_message_that_is_all_header_gets_its_list_fields_in_the_header():
    # RFC 5322 3.5: the body (and the blank line before it) may be left out
    out = edit_message(b"From: <a@brand.example>\r\nSubject: hi\r\n", **LIST)
    head, body = _head_and_body(out)
    assert head == (b"From: <a@brand.example>\r\nSubject: [lab-list] hi\r\n"
                    b"List-Id: <lab-list.lists.example.org>\r\n"
                    b"List-Post: <mailto:lab-list@lists.example.org>")
    assert body == b"-- \r\nthe footer\r\n"


def test_a_message_without_header_fields_gets_the_list_fields_as_its_header():
    out = edit_message(b"\r\n\r\nbody\r\n", **LIST)
    head, body = _head_and_body(out)
    assert head == (b"List-Id: <lab-list.lists.example.org>\r\n"
                    b"List-Post: <mailto:lab-list@lists.example.org>")
    assert body == b"body\r\n-- \r\nthe footer\r\n"


@pytest.mark.parametrize(("field", "remove"), [
    (b"Return-Path: <a@brand.example>\r\n", remove_return_path),
    (b"Authentication-Results: mx.corp.example; spf=pass\r\n",
     lambda m: remove_results(m, "mx.corp.example")),
])
def test_removing_every_field_leaves_the_body_as_it_was(field, remove):
    # (before, a blank line was added: the body gained an empty first line)
    assert remove(field + b"\r\nbody line\r\n") == (b"\r\nbody line\r\n", 1)
    assert remove(field + b"Subject: x\r\n\r\nbody line\r\n") == (b"Subject: x\r\n\r\nbody line\r\n", 1)


@pytest.mark.parametrize("line", [b"Subject", b"Subject ", b"From", b"From\t"])
@pytest.mark.parametrize("from_rewrite", [False, True])
def test_a_line_without_a_colon_is_kept_not_a_crash(line, from_rewrite):
    data = line + b"\r\nFrom: <a@brand.example>\r\nSubject: hi\r\n\r\nbody\r\n"
    out = edit_message(data, from_rewrite=from_rewrite, **LIST)
    head, _ = _head_and_body(out)
    assert head.split(b"\r\n")[0] == line
    assert b"Subject: [lab-list] hi" in head
