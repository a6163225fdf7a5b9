"""The tokenizer's fast paths: hand-computed tokens for the inputs each shortcut must get
right, the facts the shortcuts rest on, and hostile inputs that used to take minutes.

Every expected list below is written out by hand from the rules in the module docstring
(words of 3-20 characters, ``skip:<c> <len//10*10>`` for longer ones, pairs in bodies,
``field:`` prefixes, one ``header:`` token per field name in first-seen order).
"""

from __future__ import annotations

import base64
import re

import pytest

from labkit.filters import tokens as T
from labkit.filters.tokens import parse_headers, tokenize

NO_IP = "received:ip:none"


@pytest.mark.parametrize(
    ("raw", "head", "body"),
    [
        (b"A: 1\n\nbody", b"A: 1", b"body"),
        (b"A: 1\r\n\r\nbody", b"A: 1", b"body"),
        (b"A: 1\n\r\nbody", b"A: 1", b"body"),
        (b"A: 1\r\n\nbody", b"A: 1", b"body"),
        (b"A: 1\r\r\n\r\nbody", b"A: 1\r", b"body"),  # one \r belongs to the separator
        (b"A: 1\nB: 2\r\n\n\nbody", b"A: 1\nB: 2", b"\nbody"),
        (b"\n\nbody", b"", b"body"),
        (b"A: 1\r\nno blank line", b"A: 1\r\nno blank line", b""),
    ],
)
def test_head_and_body_split_at_the_first_blank_line(raw, head, body):
    assert T._split(raw) == (head, body)


def test_plain_fields_words_prefixed_per_name_in_first_seen_order():
    raw = (
        b"X-A: Hello World\n"
        b"X-B: foo-bar baz\n"
        b"x-a: again " + b"Q" * 25 + b" end\n"
        b"Date: Mon, 1 Jan 2001 00:00:00 +0000\n\nbody"
    )
    expected = [
        "header:x-a",
        "header:x-b",
        "header:date",
        "x-a:hello",
        "x-a:world",
        "x-a:again",
        "x-a:end",
        "x-a:skip:q 20",
        "x-b:foo-bar",
        "x-b:baz",
        NO_IP,
        "body",
    ]
    assert tokenize(raw) == expected
    # \x01 is a word character, and the fields' texts are joined by the word \x01\x01\x01
    # for one regex pass: a field holding that word itself is tokenised on its own
    raw = raw.replace(b"Hello", b"Hello \x01\x01\x01").replace(b"foo-bar", b"foo\x01bar")
    expected.insert(4, "x-a:\x01\x01\x01")
    expected[expected.index("x-b:foo-bar")] = "x-b:foo\x01bar"
    assert tokenize(raw) == expected


def test_final_sigma_stays_within_its_field():
    # decoded header text is Greek; "ΑΑΣ" lower-cases to "αας" (a final sigma) and "ΣΑΑ" to
    # "σαα": joining the fields' texts for one regex pass must not change either
    def word(text: str) -> bytes:
        return b"=?utf-8?b?" + base64.b64encode(text.encode()) + b"?="

    raw = b"X-A: " + word("ΑΑΣ") + b"\nX-B: " + word("ΣΑΑ") + b"\n\n"
    assert tokenize(raw) == ["header:x-a", "header:x-b", "x-a:αας", "x-b:σαα", NO_IP]


def test_folded_fields_give_the_words_of_the_unfolded_value():
    raw = (
        b"Received: from a.example ([192.0.2.9])\r\n\tby mx.example\r\n"
        b'Content-Type: text/\r\n html; charset="UTF-8"\r\n\r\n<b>x</b> words'
    )
    assert parse_headers(raw.split(b"\r\n\r\n")[0]) == [
        ("received", "from a.example ([192.0.2.9]) by mx.example"),
        ("content-type", 'text/ html; charset="UTF-8"'),
    ]
    assert tokenize(raw) == [
        "header:received",
        "header:content-type",
        "content-type:text/ html",  # the main type is read unfolded: "text/ html"
        "charset:utf-8",
        "received:from",
        "received:a.example",
        "received:192.0.2.9",
        "received:mx.example",
        "received:ip:192.0.2.9",
        "received:ip:192.0.2",
        "received:ip:192.0",
        # "text/ html" is a text part but not HTML: the markup is not removed
        "words",
    ]


def test_long_folded_field_is_cut_after_unfolding():
    # unfolded, the 12-character fold is one space: "last" ends at character 1,997 and is
    # kept, "gone" is cut to "go"; cut before unfolding, "last" would be lost
    first = "abc " * 497 + "abcd"  # 1,992 characters
    raw = f"X-Long: {first}\n{' ' * 11}last gone\n\n".encode()
    got = [w for w in tokenize(raw) if w.startswith("x-long:")]
    assert got == ["x-long:abc"] * 497 + ["x-long:abcd", "x-long:last"]


def test_urls_found_from_their_scheme_separator():
    text = (
        "see http://a.example/r?u=http://b.example/ then HTTPS://Shop.B.Example/Path-Word, "
        "ftp://1.2.3.4/ and xhttp://c.example/x https:/broken http:///nohost :// ftp://"
    )
    t = tokenize(b"\n\n" + text.encode())
    urls = [w for w in t if w.startswith("url:")]
    assert urls == [
        # the first URL's path swallows the second
        "url:path:http",
        "url:path:example",
        "url:a.example",
        "url:path:path-word",
        "url:shop.b.example",
        "url:b.example",
        "url:ip",
        "url:1.2.3.4",
        # a scheme needs no word boundary: "xhttp://" holds "http://"
        "url:c.example",
    ]


def test_long_s_scheme_in_non_ascii_text_is_a_url_scheme():
    # IGNORECASE matches U+017F (long s) to "s": "httpſ://" is a scheme, as before
    t = tokenize("Content-Type: text/plain; charset=utf-8\n\nvisit httpſ://d.example/x é".encode())
    assert "url:d.example" in t


def test_email_domains_from_address_fields():
    raw = b"From: x@b.c@d.e@f.g, a@b.c.+x@d.e\n\n"
    got = [w for w in tokenize(raw) if w.startswith("from:") and "." in w]
    # x@b.c; the "@" right after b.c has no local part; d.e@f.g; a@b.c; .+x@d.e
    assert got[:4] == ["from:b.c", "from:f.g", "from:b.c", "from:d.e"]


@pytest.mark.parametrize("charset", ["utf-8", "iso-8859-1"])
def test_non_ascii_html_matched_like_ascii_html(charset):
    html = (
        '<P>Café</P><A\xa0HREF="HTTP://Shop.Example/Big-Sale">x</A>'  # \xa0 is \s in Unicode
        '<IMG SRC="http://198.51.100.7/a.gif"><TABLE BACKGROUND="b.png">'
        "<SCRIPT>hidden words</script>shown"
    )
    raw = f"Content-Type: text/html; charset={charset}\n\n".encode() + html.encode(charset)
    head = ["header:content-type", "content-type:text/html", f"charset:{charset}", NO_IP]
    assert tokenize(raw) == head + [
        "tag:img",
        "tag:script",
        "url:path:big-sale",
        "url:shop.example",
        "url:path:gif",
        "url:ip",
        "url:198.51.100.7",
        "attr:background",
        "café",
        "shown",
        "café shown",
    ]


def test_characters_that_fold_to_ascii_letters_keep_the_case_blind_match():
    # U+0130 (İ) matches "i" case-blind: "<İMG" is an img tag, named by its own lower case
    html = "<İMG src=x> <lin\u212a> é"
    t = tokenize(f"Content-Type: text/html; charset=utf-8\n\n{html}".encode())
    assert "tag:" + "İMG".lower() in t


def test_the_characters_ignorecase_folds_to_ascii_letters():
    """The fast HTML path rests on this list being complete."""
    everything = "".join(map(chr, range(0x80, 0x110000)))
    folds = set(re.findall("(?i)[a-z]", everything))
    assert folds == set(T._CASE_FOLDS_TO_ASCII)
    # and no other character changes which non-letter of the patterns it matches
    assert set(re.findall(r"(?i)[<>=\"'/]", everything)) == set()


def test_ascii_whitespace_class_is_unicode_whitespace_on_ascii():
    for c in map(chr, range(128)):
        assert bool(re.match(r"\s", c)) == bool(re.match(f"[{T._WS_ASCII}]", c)), repr(c)


def test_many_long_words_keep_their_order():
    words = []
    text = []
    for i in range(40):
        text.append(f"w{i:02d}")
        text.append(chr(ord("a") + i % 26) * (21 + i))
        words.append(f"w{i:02d}")
    t = tokenize(("\n\n" + " ".join(text)).encode())
    skips = [f"skip:{chr(ord('a') + i % 26)} {(21 + i) // 10 * 10}" for i in range(40)]
    pairs = [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    assert t == ["header:none", NO_IP] + words + pairs + skips


HTML = b"Content-Type: text/html\n\n"
HEAD = ["header:content-type", "content-type:text/html", NO_IP]


@pytest.mark.timeout(20)  # a hang guard, not a speed check: see the docstring
def test_hostile_inputs_in_linear_time():
    """Each took the old regexes quadratic time: ~30 s at 100 kB, over a minute at this size.

    All six take well under a second together now, so a return of the quadratic
    behaviour fails on pytest-timeout's 20 s limit instead of passing slowly.
    """
    n = 150_000
    assert tokenize(HTML + b"<" + b"a" * n) == HEAD + [f"skip:a {n}"]
    assert tokenize(HTML + b"<a " * (n // 3)) == HEAD
    assert tokenize(HTML + b"<!--" * (n // 4)) == HEAD
    k = n // 8
    assert tokenize(HTML + b"<script " * k) == (
        HEAD + ["tag:script"] * k + ["script"] * k + ["script script"] * (k - 1)
    )
    # an unclosed script after the last ">" hides the rest, as a browser would
    assert tokenize(HTML + b"<p>seen</p><script>" + b"<script " * k) == (
        HEAD + ["tag:script"] * (k + 1) + ["seen"]
    )
    raw = b"Message-Id: <" + b"x" * n + b"@nodot>\n\nbody"
    assert tokenize(raw) == ["header:message-id", "message-id:skip:x 1990", NO_IP, "body"]
