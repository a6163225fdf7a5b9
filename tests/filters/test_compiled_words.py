"""The compiled tokenizer scans (labkit.filters._cwords) give exactly the Python tokens.

Both run in one process: the Python reference is called as ``tokens._py_words`` /
``_py_url_tokens`` / ``_py_field_words`` / ``_py_folded_fields``, and ``tokenize`` runs pure Python when the
module handle ``tokens._c`` is set to None (monkeypatch: that handle is how
``tokenize`` chooses, so patching it is the real switch, not a stand-in).  Every
comparison is ``==`` on whole token lists: same tokens, same order, same duplicates.
Skipped when the module is not built.
"""

from __future__ import annotations

import random

import pytest

from labkit.filters import compiled
from labkit.filters import tokens as T

CW = compiled.load("_cwords")
pytestmark = pytest.mark.skipif(CW is None, reason="labkit.filters._cwords is not built")


def c_words(text, prefix="", pairs=False):
    out: list[str] = []
    assert CW.words(text, out, prefix, pairs, T.MAX_WORD) is True
    return out


def py_words(text, prefix="", pairs=False):
    out: list[str] = []
    T._py_words(text, out, prefix, pairs)
    return out


def c_urls(text, lower=False):
    out: list[str] = []
    assert CW.url_tokens(text, out, not lower, True) is True
    return out


def py_urls(text, lower=False):
    out: list[str] = []
    T._py_url_tokens(text, out, T._URL_LOWER if lower else T._URL)
    return out


def tokenize_both(raw, monkeypatch):
    with_c = T.tokenize(raw)
    with monkeypatch.context() as m:
        m.setattr(T, "_c", None)
        pure = T.tokenize(raw)
    return with_c, pure


def test_tokenize_uses_the_compiled_module_when_built():
    assert T._c is CW


def test_whole_corpus_same_tokens(full_corpus, monkeypatch):
    assert len(full_corpus) == 6045
    differ = []
    for m in full_corpus:
        with_c, pure = tokenize_both(m.raw, monkeypatch)
        if with_c != pure:
            differ.append(m.name)
    assert not differ, f"{len(differ)} messages differ, e.g. {differ[:5]}"


WORD_CASES = [
    "",
    " ",
    "ab",  # 2 characters: no word
    "abc",  # 3: a word
    "ab cd ef",
    "a" * 20,  # the longest word kept
    "b" * 21,  # the shortest skipped
    "x" * 20 + " " + "y" * 21 + " " + "z" * 20,  # a pair across a skipped word
    "Z" * 135,  # skip:z 130
    "...!!!---",  # edge characters only
    "--abc--",
    "..a..",  # 1 character left after stripping
    "..ab..",
    "a.b",
    "a..b",
    "'abc'",  # "'" separates (and is an edge character)
    "it's don't o'neil",
    "ab'cd'ef",
    "a<b>c(d)e{f}g[h]i,j;k:l|m*n=o\"p",
    "one=two three:four",
    "foo\x00bar \x00\x00\x00 \x00ab",  # NUL is a word character
    "w\x1cx\x1dy\x1ez\x1fabc\x1fdef",  # \x1c-\x1f separate
    "tab\tnew\nvt\x0bff\x0ccr\rend",
    "\x7f\x7f\x7f \x01\x02\x03",
    "Hello WORLD MiXeD",
    "$100 50% #1 &amp; +plus /path/ _under_ \\back\\ `tick` ~tilde^ @at@",
    "e-mail co-op well-known re-re-re",
    "http://example.com/path?q=1 mail@example.org",
    "a" * 19 + "." + "b" * 5,  # 25 characters with the dot inside: skipped
    "word " * 300,  # more spans than fit on the stack
    ("x" * 30 + " ") * 200,  # many long words
    "Über straße",  # not ASCII: the Python code runs
]


@pytest.mark.parametrize("text", WORD_CASES)
@pytest.mark.parametrize("prefix", ["", "subject:", "x-mailer:"])
@pytest.mark.parametrize("pairs", [False, True])
def test_words_same_as_python(text, prefix, pairs):
    out: list[str] = []
    T._words(text, out, prefix, pairs)  # C for ASCII text, Python otherwise
    assert out == py_words(text, prefix, pairs)


def test_words_by_hand():
    # the rules written out, for the compiled scan itself
    assert c_words("Hi 'Bob' said: ...CLICK--here!! " + "q" * 25, "s:", True) == [
        "s:bob",
        "s:said",
        "s:click--here",
        "s:bob said",
        "s:said click--here",
        "s:skip:q 20",
    ]


def test_words_on_text_already_lower_case_is_the_same():
    text = "Mixed CASE text, with SOME words " * 3
    out: list[str] = []
    T._words(text.lower(), out, pairs=True, lowered=True)
    assert out == py_words(text, pairs=True)


def test_non_ascii_is_left_to_python():
    out = ["kept"]
    assert CW.words("caf\u00e9 ol\u00e9", out, "", True, 20) is False
    assert CW.words("abc", out, "\u00e9:", True, 20) is False
    assert CW.url_tokens("http://\u00e9.example/", out, True, True) is False
    assert CW.field_words([("a", "abc"), ("b", "caf\u00e9")], out, 20) is False
    assert out == ["kept"]  # nothing appended before saying no


URL_CASES = [
    "",
    "://",
    "://x",
    "a://x.example",
    "ab://x.example",
    "ftp://x.example",  # "://" at position 3
    "http://x.example",  # at 4
    "https://x.example",  # at 5
    "xhttps://x.example",
    "HTTP://WWW.Example.COM/Some/Path-Here_ok?Q=Cheap-Pills#Frag",
    "see http://a.b.c.d.e.f.example/x and https://www.example.org.",
    "http://user:pw@host.example:8080/p",
    "http://user@192.0.2.1/",
    "http://192.0.2.1:80/a",
    "http://192.0.2.1./",
    "http://10.0.0.1...",
    "http://example.com.../path",
    "http://...",
    "http://@",
    "http://a@b@c.example/",
    "http://a.@/",
    "http://a..b.example/",
    "http://.example/",
    "http://1.2.3.4.5.6/",
    "http://123/",
    "http://host",  # no dot, no path
    "http:///path",  # empty host: no match at that scheme
    "http://\"quoted\"",
    "http://x.example)y http://z.example>w",
    "http://x.example http://y.example\thttp://z.example\nftp://w.example",
    "httphttp://x.example",
    "https://http://x.example",  # the first match's host ends at ":"
    "http://http://x.example",
    "ftp://ftp://ftp.example/ftp",
    "hhttps://x.example/https://y.example/",
    "http://x.example/" + "a" * 45 + "-b_c/" + "d" * 19 + "/ab/-abc/_abc",
    "http://x.example/a-b/ab-/--abc--/a__/0123456789abcdefghijklmnop",
    "http://x.example/\x00\x01abc\x1c",
    "mailto:a@b.example ftp://files.example/pub/",
    "text with no urls at all, colons: here: and :// there",
]


@pytest.mark.parametrize("text", URL_CASES)
def test_url_tokens_same_as_python(text):
    out: list[str] = []
    T._url_tokens(text, out)
    assert out == py_urls(text)
    lowered = text.lower()
    out = []
    T._url_tokens(lowered, out, T._URL_LOWER)
    assert out == py_urls(lowered, lower=True)


def test_url_tokens_by_hand():
    assert c_urls("Go to HTTP://User@Www.Shop.Example./Cheap-Pills/x now") == [
        "url:path:cheap-pills",
        "url:www.shop.example",
        "url:shop.example",
    ]
    assert c_urls("http://192.0.2.7:80/") == ["url:ip", "url:192.0.2.7"]


def test_lower_case_url_pattern_is_case_sensitive_like_python():
    # _URL_LOWER is only given lower-cased text; on other text it still agrees with re
    assert c_urls("HTTP://x.example/ http://y.example/", lower=True) == py_urls(
        "HTTP://x.example/ http://y.example/", lower=True
    ) == ["url:y.example"]


FIELD_CASES = [
    [],
    [("x-a", "Hello World"), ("x-b", "foo-bar baz"), ("x-a", "q" * 25)],
    [("x-a", "abc\x01\x01\x01def \x01\x01\x01")],  # the marker inside a field
    [("subject", ""), ("to", "a@b.example, c@d.example")],
    [("x-long", ("w" * 30 + " ") * 50), ("x-short", "ok yes")],
    [("x-mixed", "ascii"), ("x-latin", "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e")],
]


@pytest.mark.parametrize("named", FIELD_CASES)
def test_field_words_same_as_python(named):
    out: list[str] = []
    T._field_words(list(named), out)
    expected: list[str] = []
    T._py_field_words(list(named), expected)
    assert out == expected


HEADER_CASES = [
    b"",
    b"\n",
    b"\r\n",
    b"Subject: hi",
    b"Subject: hi\n",
    b"Subject: hi\r\nTo: a@b.example\r\n",
    b"From someone Mon Jan  1 00:00:00 2001\nSubject: after the mbox line",
    b"From nobody",  # an mbox line and nothing else
    b"From: a@b.example\n",  # "From:" is a field, not an mbox line
    b"Subject:\n  folded\n\tagain\r\n \r\nX: y",
    b"Subject: \t \n folded after spaces",
    b"Name : spaced colon\nName\t:\ttabbed",
    b"No colon here\nX-A: a\n  continued\nnot a field\n  not a continuation either",
    b"  leading space: no field\nX: ok",
    b"X-Latin: caf\xe9 \x85 \xa0end\nX-\xe9: the name has a non-ASCII byte",
    b"X-Nul: a\x00b\n\x00: c\nX-Ctl: \x1c\x1d",
    b"::: \n:x: y\n!#$%&'*+-.^_`|~: punctuation name",
    b"MiXeD-CaSe: Value KEPT As Written\n",
    b"X: 1\n\n\nY: 2",
    b"X: trailing\r",
    b"X:" + b"v" * 70000,
]


@pytest.mark.parametrize("head", HEADER_CASES)
def test_header_fields_same_as_python(head):
    assert T._folded_fields(head) == T._py_folded_fields(head)


def test_header_fields_by_hand():
    assert CW.header_fields(b"Subject: Hi\r\n there\r\nX-A : b\nbad line\n\tnot folded") == [
        ("subject", "Hi\r\n there\r"),
        ("x-a", "b"),
    ]


def test_random_header_blocks_same_as_python():
    rng = random.Random(7)
    pieces = [b"\n", b"\r\n", b" ", b"\t", b":", b"X-A", b"subject", b"From ", b"a", b"\xe9",
              b"\x00", b"=?utf-8?q?x?=", b": ", b"\n ", b"\n\t"]
    for _ in range(3000):
        head = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 30)))
        assert T._folded_fields(head) == T._py_folded_fields(head), repr(head)


EDGE_MESSAGES = [
    b"",
    b"\n",
    b"Subject: \n\n",
    b"Subject: ab abc " + b"a" * 20 + b" " + b"b" * 21 + b"\n\nab abc " + b"c" * 20 + b" "
    + b"d" * 21,
    b"Subject: Visit HTTP://Shop.Example/Buy-Now\nX-Url: https://u:p@192.0.2.9:8080/\n\n"
    b"://x http://a.example http://b.example. ftp://1.2.3.4/ hxxp://no.example",
    b"X-Nul: a\x00b\x00c abc\x00\n\nbody \x00\x00\x00 \x1c\x1d\x1e\x1f words\x1fhere",
    b"Subject: =?utf-8?B?w6l0w6kgc3BhbQ==?=\n\ncaf\xc3\xa9 ascii words",
    b"Content-Type: text/html\n\n<a href='HTTP://X.Example/Path-Word'>Click HERE</a>",
    b"Subject: " + b"x" * 5000 + b"\n\n" + b"long " * 100000,
    b"no header line at all, just text http://x.example/abc",
]


@pytest.mark.parametrize("raw", EDGE_MESSAGES)
def test_tokenize_edge_messages_same_tokens(raw, monkeypatch):
    with_c, pure = tokenize_both(raw, monkeypatch)
    assert with_c == pure


ALPHABETS = [
    " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\"'<>(){}[],;:|*=",  # separators
    "'.!?-$%#&+/_\\`~^@",  # edge characters
    "abcXYZ019\x00\x01\x7f",  # word characters
]
PIECES = ["://", "http", "https", "ftp", "HTTP", "www.", ".example", "192.0.2.", "@", ":80"]


def random_text(rng: random.Random) -> str:
    chunks = []
    for _ in range(rng.randrange(0, 40)):
        if rng.random() < 0.25:
            chunks.append(rng.choice(PIECES))
        else:
            alphabet = rng.choice(ALPHABETS)
            chunks.append("".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30))))
    return "".join(chunks)


def test_random_ascii_text_same_as_python():
    rng = random.Random(20250515)
    for _ in range(4000):
        text = random_text(rng)
        for prefix in ("", "subject:"):
            assert c_words(text, prefix, True) == py_words(text, prefix, True), repr(text)
        assert c_words(text) == py_words(text), repr(text)
        assert c_urls(text) == py_urls(text), repr(text)
        assert c_urls(text.lower(), lower=True) == py_urls(text.lower(), lower=True), repr(text)


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("words", (b"abc", [], "", True, 20)),
        ("words", ("abc", (), "", True, 20)),
        ("words", ("abc", [], None, True, 20)),
        ("words", ("abc", [], "", 1, 20)),
        ("words", ("abc", [], "", True, 20.0)),
        ("url_tokens", ("abc", [], True, None)),
        ("field_words", ((("a", "b"),), [], 20)),
        ("field_words", ([("a", "b", "c")], [], 20)),
        ("field_words", ([("a", b"b")], [], 20)),
        ("header_fields", ("Subject: x",)),
        ("header_fields", (bytearray(b"Subject: x"),)),
    ],
)
def test_wrong_types_are_type_errors(call, args):
    with pytest.raises(TypeError):
        getattr(CW, call)(*args)


def test_wrong_argument_count_is_a_type_error():
    with pytest.raises(TypeError, match="takes 5 arguments"):
        CW.words("abc", [])
