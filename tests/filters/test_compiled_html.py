"""The compiled HTML passes (labkit.filters._chtml) give exactly the Python text and tokens.

Both run in one process: ``tokens._html_to_text`` uses the C passes for ASCII HTML, and
``tokens._py_html_to_text`` is the Python reference.  ``tokenize`` runs pure Python when
the module handles ``tokens._ch`` and ``tokens._c`` are set to None (monkeypatch: those
handles are how ``tokenize`` chooses, so patching them is the real switch, not a
stand-in).  Every comparison is ``==`` on the returned text and on the whole token list.
Skipped when the module is not built.
"""

from __future__ import annotations

import random

import pytest

from labkit.filters import compiled
from labkit.filters import tokens as T

CH = compiled.load("_chtml")
pytestmark = pytest.mark.skipif(CH is None, reason="labkit.filters._chtml is not built")


def both(html: str) -> tuple[tuple[str, list[str]], tuple[str, list[str]]]:
    """((text, tokens) from _html_to_text, (text, tokens) from _py_html_to_text)."""
    c_out: list[str] = []
    c_text = T._html_to_text(html, c_out)
    py_out: list[str] = []
    py_text = T._py_html_to_text(html, py_out)
    return (c_text, c_out), (py_text, py_out)


def assert_same(html: str) -> None:
    if html.isascii():  # the C passes really ran (and did not hand the text back)
        assert CH.html_to_text(html, [], T._url_tokens) is not None
    with_c, pure = both(html)
    assert with_c == pure, repr(html[:300])


def html_parts(raw: bytes) -> list[str]:
    """The decoded text/html parts of a message, found as tokenize finds them."""
    head, body = T._split(raw)
    fields = T._folded_fields(head)
    if not fields:
        body = raw
    return [text for ctype, text in T._walk(fields, body, 0, T.MAX_BYTES)
            if ctype == "text/html" and text is not None]


def test_tokenize_uses_the_compiled_module_when_built():
    assert T._ch is CH


def test_every_corpus_html_part_same(full_corpus):
    assert len(full_corpus) == 6045
    parts = [h for m in full_corpus for h in html_parts(m.raw)]
    assert sum(map(str.isascii, parts)) > 900  # the C passes see most of them
    differ = [h[:80] for h in parts if both(h)[0] != both(h)[1]]
    assert not differ, f"{len(differ)} of {len(parts)} HTML parts differ, e.g. {differ[:3]}"


def test_whole_corpus_same_tokens(full_corpus, monkeypatch):
    differ = []
    for m in full_corpus:
        with_c = T.tokenize(m.raw)
        with monkeypatch.context() as mp:
            mp.setattr(T, "_ch", None)
            mp.setattr(T, "_c", None)
            pure = T.tokenize(m.raw)
        if with_c != pure:
            differ.append(m.name)
    assert not differ, f"{len(differ)} messages differ, e.g. {differ[:5]}"


EDGE_CASES = [
    "",
    "plain text, no markup at all",
    # comments
    "a<!-- hidden <img src=http://x.example/> -->b",
    "a<!-- never closed <img src=http://x.example/>",
    "a<!-->b<img>c-->d",  # "<!-->" opens a comment, it does not close one
    "a<!--->b-->c",
    "a<!---->b",
    "<!--a-->-->b<!--c-->",
    "<!--a--><!--b",
    "x<!--y--><<!--z-->img src=u>w",  # a comment turned into a space joins "<" and a name
    "<script><!-- document.write('<img src=http://a.example/>') --></script>after",
    "<script>a<!--</script>-->b</script>c",
    # style and script
    "<script>never ended <img src=http://x.example/p>",
    "<script",
    "<script src=http://x.example/a.js",
    "a<script>b</script >c</script>d",
    "a<script>b< / script >c",
    "a<script>b</ script\t\n>c",
    "a<script>b</scriptx>c</script>d",
    "a<scriptx>b</scriptx>c",
    "a<script1>b</script1>c",
    "a<style><style>b</style>c</style>d",
    "a<style>b</script>c",
    "a< style type=text/css>b</style>c<style>d",
    "a<script>b</script>c<script>d</style>e",
    "<script>" + "<" * 200,
    "<style>a</style" + ">" * 3,
    # "<" and ">"
    "<",
    "a <",
    "text ending in <",
    "<" * 500,
    "<" * 300 + "img" + "<" * 300,
    "a < b > c",
    "<>",
    "< >",
    "</>",
    "< / a >x",
    "<1a>b",
    "<a<b>c",
    "x>y>z",
    "<img" + " x" * 100,
    "<a href=http://x.example/>" + "<" * 100,
    # telling tags
    "<img><IMG><imgx><img1><img-1><img/><  img>< img\n>",
    "<form><input><select><textarea><iframe><object><embed><map><area><base><meta>",
    "<form<input>",
    "<\x1cimg>",
    "<\x0bimg>",
    # attributes
    '<a href="http://x.example/a">x</a>',
    "<a href='http://x.example/a'>x</a>",
    '<a href="http://x.example/a"src="http://y.example/">',  # the '"' was consumed
    "<a href=http://x.example/a/src=http://y.example/>",
    '<a href="unclosed src=http://y.example/>',
    "<a href='unclosed src=http://y.example/>",
    "<a href = 'http://q.example/' onclick =go()>",
    "<a href=>x</a>",
    "<a href= >x</a>",
    "<a href=",
    "<a href",
    "<a href= ",
    "<a hrefx=http://x.example/>",
    "<a xhref=http://x.example/>",
    "<a onclick=alert(1) onmouseover='x' on=1 onx=2 oN1=3>",
    "<a ONCLICK=ALERT(1) HREF=HTTP://X.EXAMPLE/PATH-WORD>",
    "<form action=http://f.example/post><img usemap=#m background=b.png>",
    '<form action="">',
    "<a href=\"'http://x.example/'\">",
    "<a href='\"'>",
    "<a href=\"\">",
    "<a href=''>",
    "/href=http://x.example/ \"src=http://y.example/ 'src='http://z.example/'",
    "<a\thref\t=\thttp://x.example/\t>",
    "<a\x1chref=http://x.example/>",
    "<img src=a=b=c src=d>",
    "<a href=x>y href=z>",
    "a=b = c==d",
    "=" * 100,
    "<a href==x>",
    "<body onload=x background=y.jpg>",
    "<a srcset=x src=y>",
    "<a onhref=x>",
    # entities
    "&amp;&lt;&gt;&quot;&apos;&nbsp;",
    "&amp &lt &gt",
    "&AMP; &Amp; &NBSP;",
    "&unknown; &unknown &x; &a",
    "&#65;&#x41;&#X41;&#0041;&#x0041;",
    "&#0; &#x0; &#00;",
    "&#x110000; &#1114112; &#x10ffff; &#1114111;",
    "&#xD800; &#55296; &#xdfff;",
    "&#x; &#; &#x0x41; &#x0x; &#xx41; &#0x41; &#x00x41; &#12a; &#xg1;",
    "&#" + "9" * 5000 + ";",  # beyond int()'s digit limit: a space either way
    "&#x" + "f" * 50 + ";",
    "&#128; &#233; &#8364; &#x1F600;",
    "&&&amp;;;",
    "&amp;amp;",
    "a &",
    "a &amp",
    "a &#",
    "a &#x",
    "a &#65",
    "<a href='&amp;'>&lt;img src=x&gt;</a>",
    # case, control characters, NUL
    "<A HREF='HTTP://UPPER.EXAMPLE/Some-Path'>CLICK</A><SCRIPT>X</SCRIPT><IMG SRC=Y>",
    "<sCrIpT>x</ScRiPt>y<StYlE>z</sTyLe>",
    "a\x00<img\x00src=x>\x00b&amp\x00;",
    "\x00<script>\x00</script>\x00",
    # not ASCII: the Python code runs
    "<a href='http://x.example/caf\u00e9'>caf\u00e9</a>",
    "<IMG SRC=\u0130>",
]


@pytest.mark.parametrize("html", EDGE_CASES)
def test_edge_cases_same(html):
    assert_same(html)


def test_by_hand():
    out: list[str] = []
    text = CH.html_to_text(
        "<HTML><!-- x --><IMG SRC='http://Img.Example/a.gif'><Script>bad()</Script>"
        "<form ACTION=\"http://f.example/go\" onSubmit=x>Fish &amp; chips&#33;</form>",
        out, T._url_tokens)
    assert out == ["tag:img", "tag:script", "tag:form", "url:path:gif", "url:img.example",
                   "url:f.example", "attr:action", "attr:onsubmit"]
    # one space each for <html>, the comment, <img>, the script element, <form>, </form>
    assert text == "     fish & chips! "


def test_numeric_entities_give_any_character():
    out: list[str] = []
    text = CH.html_to_text("&#xD7FF;&#233;&#x1F600;&#0;&#x110000;&#xD800;", out, T._url_tokens)
    assert text == "\ud7ff\u00e9\U0001f600   "  # 0, too big, a surrogate: a space
    assert text == T._py_html_to_text("&#xD7FF;&#233;&#x1F600;&#0;&#x110000;&#xD800;", [])


def test_big_page_same():
    rng = random.Random(5)
    chunks = []
    while sum(map(len, chunks)) < 500_000:
        chunks.append(rng.choice([
            "<p>Some words here &amp; there</p>\n",
            "<a href='http://shop.example/buy-now?id=1'>buy</a> ",
            "<img src=http://img.example/x.gif width=1>",
            "<script>var a = '<b>';</script>",
            "<!-- a comment -->",
            "<style>p { color: red }</style>",
            "<td onclick=go()>cell&nbsp;</td>",
        ]))
    page = "".join(chunks)
    assert_same(page)
    assert_same(page + "<script>unclosed " + page[:1000])
    assert_same(page + "<" + page.replace(">", ""))


def test_non_ascii_is_left_to_python():
    out = ["kept"]
    assert CH.html_to_text("<img src=x>caf\u00e9", out, T._url_tokens) is None
    assert out == ["kept"]  # nothing appended before saying no


def test_an_error_in_url_tokens_is_raised():
    def broken(value, out):
        raise RuntimeError("from url_tokens")

    with pytest.raises(RuntimeError, match="from url_tokens"):
        CH.html_to_text("<img src=http://x.example/>", [], broken)


PIECES = ["<", ">", "/", "!", "-", "=", '"', "'", "&", "#", ";", " ", "\t", "\n", "x",
          "a", "0", "9", "<!--", "-->", "script", "style", "img", "form", "href", "src",
          "action", "onclick", "on", "usemap", "background", "amp", "#x", "lt", "S", "IMG",
          "HREF", "http://x.example/p-q"]


def test_random_html_same():
    rng = random.Random(20250516)
    for _ in range(4000):
        html = "".join(rng.choice(PIECES) for _ in range(rng.randrange(0, 40)))
        assert_same(html)


@pytest.mark.parametrize(
    "args",
    [
        (b"<img>", [], T._url_tokens),
        ("<img>", (), T._url_tokens),
        ("<img>", [], None),
        ("<img>", []),
    ],
)
def test_wrong_types_are_type_errors(args):
    with pytest.raises(TypeError):
        CH.html_to_text(*args)
