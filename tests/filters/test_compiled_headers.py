"""The compiled header loop (labkit.filters._cwords.header_tokens) gives exactly the
tokens of the Python ``_header_tokens``.

Both run in one process: the reference is ``tokens._py_header_tokens`` with the module
handle ``tokens._c`` set to None (monkeypatch: that handle is how the tokenizer chooses
C or Python, so patching it is the real switch; with it None every scan the reference
calls is Python too). Every comparison is ``==`` on whole token lists. Fields that need
the Python code (a value with non-ASCII text or "=?") must make the C function say no
before it appends anything. Skipped when the module is not built.
"""

from __future__ import annotations

import random

import pytest

from labkit.filters import compiled
from labkit.filters import tokens as T

CW = compiled.load("_cwords")
pytestmark = pytest.mark.skipif(CW is None, reason="labkit.filters._cwords is not built")


def c_headers(fields: list[tuple[str, str]]) -> list[str]:
    """The compiled loop's tokens; it must take these fields."""
    out: list[str] = []
    assert CW.header_tokens(list(fields), out, T.MAX_WORD, bool(T.URL_PATHS)) is True
    return out


def py_headers(fields: list[tuple[str, str]], monkeypatch) -> list[str]:
    """The Python reference's tokens, with no compiled scan under it either."""
    out: list[str] = []
    with monkeypatch.context() as m:
        m.setattr(T, "_c", None)
        T._py_header_tokens(list(fields), out)
    return out


def test_corpus_headers_take_the_compiled_loop_and_match(full_corpus, monkeypatch):
    taken = 0
    differ = []
    for m in full_corpus:
        fields = T._folded_fields(T._split(m.raw)[0])
        out: list[str] = []
        if CW.header_tokens(fields, out, T.MAX_WORD, True):
            taken += 1
            if out != py_headers(fields, monkeypatch):
                differ.append(m.name)
        else:
            assert out == [], m.name  # said no before appending anything
    assert not differ, f"{len(differ)} messages differ, e.g. {differ[:5]}"
    # 5,900 of the 6,045 are all ASCII with no encoded word in a field that is read
    assert taken > 0.95 * len(full_corpus), taken


def test_tokenize_goes_through_the_compiled_loop(monkeypatch):
    # _header_tokens hands qualifying fields to C: the Python loop is not called
    calls = []
    monkeypatch.setattr(T, "_py_header_tokens", lambda fields, out: calls.append(fields))
    T.tokenize(b"Subject: hi there\nFrom: a@b.example\n\nbody")
    assert calls == []
    T.tokenize(b"Subject: =?utf-8?q?hi?=\n\nbody")  # an encoded word: Python's
    assert len(calls) == 1


LONG_LOCAL = "l" * 5000
CASES = {
    "none": [],
    "one plain": [("x-mailer", "Outlook Express 6.0")],
    "adjacent addresses": [("from", "a@b.com@c.org")],
    "three adjacent": [("to", "a@b.cd@e.fg@h.ij x@y.zz")],
    "no dot in domain": [("to", "x@y")],
    "underscore local part": [("cc", "_@a.b")],
    "long local part": [("reply-to", LONG_LOCAL + "@example.com"), ("sender", LONG_LOCAL + "@x")],
    "address list": [("to", "Ann <a@b.example>, c@D.Example; \"e\" <e@f.example.>")],
    "odd addresses": [
        ("from", "@a.b .@a.b +@a.b -@a.b a@.b a@b. a@b..c a@b.c. a@-.- A@B.EXAMPLE a@@b.c a@b.c@"),
        ("errors-to", "x@y.z@"),
        ("return-path", "<>"),
        ("message-id", "<1234.5678@host.example>"),
        ("sender", "no at sign here"),
    ],
    "address at the edges": [("to", "@"), ("cc", "a@"), ("from", "@b.c"), ("sender", "a@b.c")],
    "received public": [("received", "from x.example ([198.51.100.150]) by y")],
    "received internal then public": [
        ("received", "from a ([10.0.0.1]) by b"),
        ("received", "from c ([192.0.2.7]) by d"),
        ("received", "from e ([203.0.113.9]) by f"),
    ],
    "received first address only": [("received", "[192.168.1.1] then [198.51.100.1]")],
    "received malformed": [
        ("received", "[1.2.3.4444] [1.2.3] [a.b.c.d] [1.2.3.4 ] [1000.2.3.4] [1..2.3.4]"),
        ("received", "[[[01.2.3.4]"),
    ],
    "received leading zero": [("received", "from x [01.2.3.4]")],
    "received unchecked numbers": [("received", "[999.999.999.999]")],
    "received only internal": [("received", "[127.0.0.1]"), ("received", "[10.1.2.3]")],
    "received no address": [("received", "from localhost by here"), ("received", "")],
    "no received at all": [("from", "a@b.example"), ("subject", "hello")],
    "repeated names": [
        ("x-a", "one two"), ("x-b", "three"), ("x-a", "four " + "q" * 25), ("subject", "s1"),
        ("subject", "s2 http://x.example/p"), ("x-b", "five"), ("to", "a@b.cc"),
        ("to", "c@d.ee"),
    ],
    "date skipped": [("date", "Mon, 1 Jan 2001 00:00:00 +0000"), ("x-a", "kept words")],
    "date repeated and odd": [
        ("date", "=?utf-8?q?x?="), ("date", "caf\u00e9 words"), ("date", "plain"),
    ],
    "names as given": [("Subject", "capital name is a plain field"), ("FROM", "a@b.example")],
    "subject words and urls": [
        ("subject", "Visit HTTP://Shop.Example/Buy-Now and https://192.0.2.1:80/x "
         + "w" * 25 + " ab abc"),
    ],
    "subject folded": [("subject", "first line\r\n second http://a.example/\n\tthird")],
    "content-type plain": [("content-type", "text/plain")],
    "content-type charset": [("content-type", "text/plain; charset=utf-8")],
    "content-type quoted": [("content-type", 'text/plain; charset="UTF-8"')],
    "content-type upper": [("content-type", "TEXT/HTML; CHARSET=ISO-8859-1")],
    "content-type x1c": [("content-type", "\x1c text/plain\x1c ;\x1ccharset=\x1cx\x1c\x1c")],
    "content-type folded": [("content-type", "multipart/alternative;\r\n\tboundary=\"b;c\";\n"
                                             " charset=koi8-r")],
    "content-type params": [
        ("content-type", "text/plain; charset = a ; charset=b"),
        ("content-type", "text/plain; charset=\"unclosed"),
        ("content-type", "text/plain; charset=\"\""),
        ("content-type", "text/plain; charset=\"a\"b"),
        ("content-type", "text/plain; charset="),
        ("content-type", "text/plain; charset*=utf-8''x; x-charset=1"),
        ("content-type", "text/plain charset=utf-8"),
        ("content-type", ";charset=x"),
        ("content-type", "text/plain;;charset=y;"),
        ("content-type", "text/plain; name=\"a;charset=z\""),
        ("content-type", "text/plain; charset=\"\"\"q\"\"\""),
        ("content-type", "text/plain; CharSet=X; charset"),
    ],
    "empty values": [
        ("subject", ""), ("from", ""), ("x-a", ""), ("content-type", ""), ("received", ""),
        ("date", ""),
    ],
    "whitespace values": [("content-type", " \t\x0b\x0c\x1c\x1d\x1e\x1f "), ("x-a", "\x1f")],
    "marker and nul": [("x-a", "abc\x01\x01\x01def \x01\x01\x01"), ("x-b", "a\x00b\x00c")],
}


def _sized(n: int, folded: bool) -> str:
    """A value of exactly n characters with a word running across character 2,000."""
    unit = "word\r\n\tfold " if folded else "word plain "
    return (unit * (n // len(unit) + 1))[: n - 9] + "acrosscut"


for size in (1999, 2000, 2001, 2005, 4000):
    for folded in (False, True):
        CASES[f"{size} characters {'folded' if folded else 'unfolded'}"] = [
            ("x-long", _sized(size, folded)), ("to", "x@y.example " + _sized(size, folded)),
            ("received", _sized(size, folded) + " [198.51.100.1]"), ("x-long", "after"),
        ]
# unfolding shortens a 2,001-character text to under 2,000: nothing is cut; and one where
# the cut falls after unfolding and stripping leading whitespace
# each address on its own before a public one: internal ones are passed over
for ip in ("127.0.0.1", "0.1.2.3", "169.254.1.1", "192.168.0.1", "172.15.0.1", "172.16.0.1",
           "172.20.0.1", "172.29.0.1", "172.31.0.1", "172.32.0.1", "172.3.0.1", "172.160.0.1",
           "100.1.2.3", "1.2.3.4", "10.1.2.3", "1.0.0.1", "192.169.0.1", "17.16.0.1"):
    CASES[f"received {ip}"] = [("received", f"by x ([{ip}])"), ("received", "[203.0.113.5]")]
CASES["shortened by unfolding"] = [("x-a", "abc\r\n   def " + "g" * 1989)]
CASES["leading space then cut"] = [("x-a", "\x1c\t " * 10 + "h" * 1990 + "tail")]


@pytest.mark.parametrize("name", list(CASES))
def test_header_cases_same_as_python(name, monkeypatch):
    fields = CASES[name]
    assert c_headers(fields) == py_headers(fields, monkeypatch)


def test_header_tokens_by_hand():
    fields = [
        ("received", "from a ([10.0.0.1])"),
        ("from", "Ann <ann@Mail.Example.COM>, x@y"),
        ("subject", "Cheap PILLS http://shop.example/buy"),
        ("date", "Mon, 1 Jan 2001"),
        ("received", "from b ([198.51.100.150])"),
        ("content-type", "Text/Plain;\n charset=\"UTF-8\""),
        ("x-mailer", "Mailer Thing"),
        ("x-mailer", "again"),
    ]
    # header names first seen, with the Subject's, Content-Type's and address tokens at
    # their field; then the other fields' words per name (Date never); then the address
    # of the topmost Received from outside (10.0.0.1 is private)
    assert c_headers(fields) == [
        "header:received",
        "header:from",
        "from:mail.example.com",
        "header:subject",
        "subject:cheap",
        "subject:pills",
        "subject:http",
        "subject:shop.example/buy",  # "/" is an edge character only at a word's ends
        "url:path:buy",
        "url:shop.example",
        "header:date",
        "header:content-type",
        "content-type:text/plain",
        "charset:utf-8",
        "header:x-mailer",
        "received:from",
        "received:10.0.0.1",
        "received:from",
        "received:198.51.100.150",
        "from:ann",
        "from:ann@mail.example.com",
        "from:x@y",
        "x-mailer:mailer",
        "x-mailer:thing",
        "x-mailer:again",
        "received:ip:198.51.100.150",
        "received:ip:198.51.100",
        "received:ip:198.51",
    ]


def test_adjacent_address_is_skipped_like_python():
    assert c_headers([("from", "a@b.com@c.org")])[:2] == ["header:from", "from:b.com"]


@pytest.mark.parametrize(
    "fields",
    [
        [("x-a", "fine"), ("subject", "=?utf-8?b?aGk=?=")],
        [("x-a", "fine"), ("to", "a@b.example =?x")],
        [("x-a", "fine"), ("x-b", "caf\u00e9")],
        [("x-a", "fine"), ("x-\u00e9", "name not ASCII")],
        [("content-type", "text/plain; charset==?")],
        [("received", "\u0661\u0662[1.2.3.4]")],
    ],
)
def test_fields_needing_python_are_refused_before_appending(fields, monkeypatch):
    out = ["kept"]
    assert CW.header_tokens(list(fields), out, T.MAX_WORD, True) is False
    assert out == ["kept"]
    # and _header_tokens then gives the reference's tokens
    got: list[str] = []
    T._header_tokens(list(fields), got)
    assert got == py_headers(fields, monkeypatch)


@pytest.mark.parametrize("max_word", [3, 10, 20])
@pytest.mark.parametrize("url_paths", [False, True])
def test_settings_are_followed(max_word, url_paths, monkeypatch):
    fields = CASES["repeated names"] + CASES["subject words and urls"] + CASES["long local part"]
    monkeypatch.setattr(T, "MAX_WORD", max_word)
    monkeypatch.setattr(T, "URL_PATHS", url_paths)
    got: list[str] = []
    T._header_tokens(list(fields), got)
    assert got == py_headers(fields, monkeypatch)


NAMES = ["subject", "Subject", "content-type", "received", "date", "x-a", "x-b", *sorted(
    T._ADDRESS_FIELDS)]
PIECES = [
    " ", " ", "\t", "\n ", "\r\n\t", "\r", "\x1c", "\x0b", "@", "@", ".", ".", "-", "_", "+",
    "[", "]", "[1.2.3.4]", "[10.0.0.1]", "[192.0.2.", "172.1", "6.0.1]", "0", "12", "999",
    "1234", ";", "=", '"', "charset", "CharSet", "*", "http://", "HTTPS://", "x.example", "/p-q",
    "abc", "Word", "a" * 25, "\x00", "\x01", "<", ">", ",", ":", "ab",
]


def random_value(rng: random.Random) -> str:
    value = "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 25)))
    if rng.random() < 0.05:  # around the 2,000-character cut, with folds inside
        value = ("w" + rng.choice(PIECES)) * rng.randrange(600, 1100) + value
    return value


def test_random_header_blocks_same_as_python(monkeypatch):
    rng = random.Random(515)
    taken = 0
    for _ in range(3000):
        lines = [f"{rng.choice(NAMES)}: {random_value(rng)}" for _ in range(rng.randrange(0, 8))]
        head = "\n".join(lines).encode("ascii")
        fields = T._folded_fields(head)
        got: list[str] = []
        T._header_tokens(fields, got)
        assert got == py_headers(fields, monkeypatch), repr(head)
        taken += CW.header_tokens(fields, [], T.MAX_WORD, True)
    assert taken > 2500  # "=?" comes up now and then: most blocks take the compiled loop


def test_random_field_lists_same_as_python(monkeypatch):
    # values no header block gives (blank lines, a "\n" not folding) and mixed alphabets
    rng = random.Random(2026)
    pieces = [*PIECES, "\n", "\n\n", "\r\n", "\u00e9", "=?"]
    for _ in range(2000):
        fields = [
            (rng.choice(NAMES), "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 20))))
            for _ in range(rng.randrange(0, 6))
        ]
        got: list[str] = []
        T._header_tokens(list(fields), got)
        assert got == py_headers(fields, monkeypatch), repr(fields)


@pytest.mark.parametrize(
    "args",
    [
        ((("a", "b"),), [], 20, True),
        ([("a", "b", "c")], [], 20, True),
        ([["a", "b"]], [], 20, True),
        ([("a", b"b")], [], 20, True),
        ([(1, "b")], [], 20, True),
        ([("a", "b")], (), 20, True),
        ([("a", "b")], [], 20.0, True),
        ([("a", "b")], [], True, True),
        ([("a", "b")], [], 20, 1),
    ],
)
def test_wrong_types_are_type_errors(args):
    with pytest.raises(TypeError):
        CW.header_tokens(*args)


def test_wrong_argument_count_is_a_type_error():
    with pytest.raises(TypeError, match="takes 4 arguments"):
        CW.header_tokens([], [])
