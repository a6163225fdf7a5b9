"""Turn a raw message (bytes) into the tokens a Bayesian filter counts.

The hot path of every filter, so it avoids the ``email`` package's object model and
walks the MIME tree with a few regular expressions:

* headers: selected fields are tokenised with a field prefix (``subject:free``,
  ``from:example.com``, ``x-mailer:outlook``), the client address of the first hop
  from outside becomes ``received:ip:198.51.100.150`` (and its /24 and /16): the
  topmost ``Received`` header whose client address is not loopback, private or
  link-local (a mailbox fetched from ``localhost``, or relayed inside an organisation's
  own network, says nothing about the sender); every header name present gives
  ``header:<name>``;
* bodies: base64 and quoted-printable decoded, charsets decoded (unknown or broken
  ones fall back to latin-1; text with no charset named is read as UTF-8 when its
  bytes are UTF-8, as a ``str`` message's are, else as latin-1; header fields the
  same), multipart walked recursively, non-text parts summarised by their content
  type and file name;
* HTML: reduced to text (character references decoded as a browser does: numeric ones,
  every HTML 4 name followed by ";" (``&eacute;``, ``&copy;``, ...), and the legacy
  names without it (``&copy2002`` is "©2002"); anything else is left as text, so
  ``?id=7&sub=2`` stays as it is), plus
  ``tag:<name>`` and ``attr:<name>`` tokens and the URLs found in ``href``/``src``;
* URLs: ``url:<host>`` and each parent domain, ``url:ip`` for numeric hosts, and the
  words of the path (``url:path:<word>``, 3-20 letters, digits, ``-`` or ``_``);
* words: lower-cased, 3-20 characters; longer ones become ``skip:<first char> <len//10>``;
  in bodies also each pair of neighbouring words (``"click here"``), which lets the
  filters see a little phrasing;
* Chinese and Japanese: written without spaces, so a run of Han, Hiragana or Katakana
  characters gives each pair of neighbouring characters (``"未承"``, ``"承諾"``,
  ``"諾広"``, ...; a single character on its own), the usual way to index such text;
  CJK punctuation separates words.

Never raises on bad input: empty, binary, huge (capped at ``max_bytes`` of text
per part) or malformed messages simply give fewer tokens. No pattern here can backtrack
over the whole text once per character (unclosed tags and comments, long runs before an
"@"): time stays linear in the message size.

The word, pair, URL and header-field scans of ASCII text, and the whole header loop when
no field read holds non-ASCII text or an encoded word, run in C when the optional module
``labkit.filters._cwords`` is built (see :mod:`labkit.filters.compiled`), giving
exactly the tokens of the Python functions here (``_py_words``, ``_py_url_tokens``,
``_py_field_words``, ``_py_folded_fields``, ``_py_header_tokens``), which stay the
reference and run everywhere else; likewise the passes that turn ASCII HTML into text
(``labkit.filters._chtml``; reference ``_py_html_to_text``).

Introduced in lab 09 (Bayesian filtering).
"""

from __future__ import annotations

import binascii
import codecs
import functools
import logging
import re
from collections.abc import Iterator
from html.entities import html5, name2codepoint
from itertools import compress, pairwise

from .. import _coerce
from ..errors import UsageError
from . import compiled

log = logging.getLogger(__name__)

#: the compiled scans (labkit.filters._cwords), or None: the Python code then runs
_c = compiled.load("_cwords")
#: the compiled HTML passes (labkit.filters._chtml), or None: _py_html_to_text then runs
_ch = compiled.load("_chtml")

#: at most this many bytes of decoded text per part are tokenised
MAX_BYTES = 200_000
#: longer words become ``skip:<first char> <length rounded down to tens>``
MAX_WORD = 20
#: also emit neighbouring word pairs from bodies
PAIRS = True
#: also emit the words of URL paths (``url:path:cheap-pills``)
URL_PATHS = True
#: at most this many MIME parts are visited
MAX_PARTS = 64
#: headers whose addresses also give ``field:domain`` tokens
_ADDRESS_FIELDS = frozenset(
    ("from", "to", "cc", "reply-to", "return-path", "sender", "message-id", "errors-to")
)
#: headers not tokenised (their words are noise)
_SKIP_FIELDS = frozenset(("date",))

_ENCWORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
# a word: separators split, and the punctuation in _EDGE may not start or end one
_SEP = r"\s\"'<>(){}\[\],;:|*="
_EDGE = r"'.!?\-$%#&+/_\\`~^@"
# a word of 3 characters or more (shorter ones are never tokens, so the regex skips them)
_WORD3 = re.compile(rf"[^{_SEP}{_EDGE}][^{_SEP}]+[^{_SEP}{_EDGE}]")
# On ASCII text ``\s`` is exactly these characters; spelling them out lets ``re`` test a
# character with one bitmap look-up instead of a Unicode category call (same matches).
_WS_ASCII = r"\t\n\x0b\x0c\r\x1c-\x1f "
_SEP_ASCII = _WS_ASCII + _SEP[2:]
_WORD3_ASCII = re.compile(rf"[^{_SEP_ASCII}{_EDGE}][^{_SEP_ASCII}]+[^{_SEP_ASCII}{_EDGE}]")
_FIELD_STR = re.compile(r"^([!-9;-~]+)[ \t]*:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.MULTILINE)
_UNFOLD_STR = re.compile(r"\r?\n[ \t]+")
_URL_SRC = r"(?:https?|ftp)://([^\s\"'<>/?#:)]+)([^\s\"'<>)]*)"
_URL = re.compile(_URL_SRC, re.IGNORECASE)
_URL_LOWER = re.compile(_URL_SRC)  # for lower-cased ASCII text (see _TELLING_TAG_LOWER)
_PATH_WORD = re.compile(r"[a-z0-9][a-z0-9_-]{2,19}")
# an address's domain: found from its "@" (the local part, [\w.+-]+, is checked by the
# look-behind and by _email_domains), so a long run of word characters is read once
_EMAIL_AT = re.compile(r"(?<=[\w.+-])@([\w-]+(?:\.[\w-]+)+)")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
# a character reference: "&#" and decimal digits, "&#x" and hex digits, or "&" and a run
# of letters and digits (a name, or a legacy name and more: _entity settles which); the
# ";" is optional. "&" with anything else after it is plain text.
_ENTITY = re.compile(r"&(?:#(?:[xX]([0-9a-fA-F]+)|([0-9]+))|([a-zA-Z0-9]+))(;?)")
_IP = re.compile(r"\[(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\]")
# client addresses that are not the sender's: loopback, RFC 1918 private, link-local,
# "this network" (the lab's documentation ranges are public here: they are its Internet)
_INTERNAL_IP = re.compile(
    r"(?:127|10|0)\.|192\.168\.|169\.254\.|172\.(?:1[6-9]|2\d|3[01])\."
)
# Han (with extension A and compatibility ideographs), Hiragana, Katakana (with the
# phonetic extensions and the half-width forms): scripts written without spaces
_CJK_RUN = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]+"
)
# CJK punctuation and symbols, full-width ASCII punctuation: word separators
_CJK_PUNCT = re.compile("[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]+")
_PARAM = re.compile(r";\s*([a-zA-Z*-]+)\s*=\s*(\"[^\"]*\"|[^;\s]+)")
#: named character references given their own meaning here: nbsp is a space (it separates
#: words), and apos (XML's, not HTML 4's) is decoded too
_ENTITIES = {"nbsp": " ", "amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _named_entities() -> dict[str, str]:
    """{lower-case name: character} of every HTML 4 named character reference.

    The text is lower-cased before its references are decoded, so a name is looked up
    lower-cased; where two names differ only in case (``Eacute``/``eacute``,
    ``Sigma``/``sigma``, ``rArr``/``rarr``, ``Dagger``/``dagger`` ...) the one spelled
    in lower case wins (each such pair has one), so ``&Eacute;`` gives "é" (words are
    lower-cased anyway) and ``&rArr;`` gives "→".  (Were there no such name, the first
    in ASCII order would win: the choice never depends on dict order.)
    HTML 4's 252 names only, not HTML5's 2,125: no name that only HTML5 has occurs
    with its ";" in the corpus's 1,210 HTML parts (measured; without a ";" a browser
    takes only the legacy names, :data:`_LEGACY_ENTITIES`, which HTML 4 has too), and
    93 of HTML5's names give two characters (``&acE;``), which the compiled passes'
    one-character table does not hold.
    """
    table: dict[str, str] = {}
    for name in sorted(name2codepoint, key=lambda n: (n != n.lower(), n)):  # lower case first
        table.setdefault(name.lower(), chr(name2codepoint[name]))
    table.update(_ENTITIES)
    return table


#: every HTML 4 name (lower-cased) -> its character, with _ENTITIES' meanings: the names
#: taken with their ";" (the compiled HTML passes get this dict below and look names up in it)
_NAMED_ENTITIES = _named_entities()
#: the names a browser also decodes without their ";" (lower-cased: the text is, first),
#: those ``html.entities.html5`` lists without one: amp, lt, gt, quot, nbsp, copy, reg,
#: not, eacute, frac12, sup2 ... (HTML 3.2's set, all in HTML 4), with _NAMED_ENTITIES'
#: characters; the longest that starts the letters after an "&" is taken (``&notin`` is
#: "¬in", ``&copy2002`` "©2002")
_LEGACY_ENTITIES = {
    name: _NAMED_ENTITIES[name]
    for name in sorted({key.lower() for key in html5 if not key.endswith(";")})
}
#: the longest legacy name (6: eacute, frac12 ...)
_LEGACY_MAX = max(map(len, _LEGACY_ENTITIES))


def _windows_1252(n: int) -> str:
    """The character windows-1252 gives byte ``n``; ``chr(n)`` where it gives none."""
    try:
        return bytes((n,)).decode("cp1252")
    except UnicodeDecodeError:  # (0x81, 0x8d, 0x8f, 0x90, 0x9d)
        return chr(n)


#: the characters of numeric references 128-159, which a browser reads as windows-1252
#: (``&#153;`` is "™", like ``&trade;``; U+0099 is a control character no one sees)
_C1_REFERENCES = "".join(map(_windows_1252, range(0x80, 0xA0)))


# the compiled HTML passes look names up in these two tables (compiled.load has left out
# a module built from older C code, without set_legacy, whose text would differ)
if _ch is not None:
    _ch.set_entities(_NAMED_ENTITIES)
    _ch.set_legacy(_LEGACY_ENTITIES)
# Only telling tags and attributes become tokens: the common layout ones (table, font,
# br ...) occur together, and counting each as independent evidence swamps the words.
_TAG_TOKENS = frozenset(
    "img form input script iframe object embed map area base meta style select textarea".split()
)
_TELLING_TAG_SRC = rf"<\s*({'|'.join(sorted(_TAG_TOKENS))})(?![a-zA-Z0-9])"
# attributes that become tokens (action, usemap, background, on*) or give URLs
_TELLING_ATTR_SRC = (
    r"[{ws}\"'/](href|src|action|usemap|background|on[a-zA-Z]+)[{ws}]*=[{ws}]*"
    r"(\"[^\"]*\"|'[^']*'|[^{ws}>]+)"
)
_TELLING_TAG = re.compile(_TELLING_TAG_SRC, re.IGNORECASE)
_TELLING_ATTR = re.compile(_TELLING_ATTR_SRC.format(ws=r"\s"), re.IGNORECASE)
# the same without IGNORECASE (much slower in re), for ASCII text already lower-cased:
# there both match exactly what the case-blind ones match in the original text
_TELLING_TAG_LOWER = re.compile(_TELLING_TAG_SRC)
_TELLING_ATTR_LOWER = re.compile(_TELLING_ATTR_SRC.format(ws=_WS_ASCII))
_TELLING_ATTR_CASED = re.compile(_TELLING_ATTR_SRC.format(ws=r"\s"))  # Unicode \s, no IGNORECASE
# The only non-ASCII characters that IGNORECASE matches to an ASCII letter (i, i, s, k).
# Text without them matches the IGNORECASE patterns exactly where its ASCII-lower-cased
# form matches the lower-case ones (tests/filters/test_tokens.py checks this list).
_CASE_FOLDS_TO_ASCII = "\u0130\u0131\u017f\u212a"
_FOLDS_TO_ASCII = re.compile(f"[{_CASE_FOLDS_TO_ASCII}]")
_URL_ATTRS = frozenset(("href", "src", "action"))
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_INVISIBLE_SRC = r"<\s*(style|script)(?![a-zA-Z0-9])[^>]*>.*?(?:<\s*/\s*\1\s*>|(\Z))"
_INVISIBLE = re.compile(_INVISIBLE_SRC, re.DOTALL | re.IGNORECASE)
_INVISIBLE_LOWER = re.compile(_INVISIBLE_SRC, re.DOTALL)


def tokenize(message: bytes | str, *, max_bytes: int = MAX_BYTES) -> list[str]:
    """Tokens of a raw message, in order (duplicates kept; filters may take a set).

    >>> tokens = tokenize(b"Subject: Free money\\n\\nClick here for FREE money")
    >>> "subject:free" in tokens and "money" in tokens
    True

    Introduced in lab 09 (Bayesian filtering).
    """
    if isinstance(message, str):
        message = message.encode("utf-8", "replace")
    elif not isinstance(message, bytes):
        # an EmailMessage, a corpus message (its .raw); an int or a list is a TypeError
        # in words (bytes(5) would be five NUL bytes, tokenised without a complaint)
        message = _coerce.message_bytes(message)
    # checked here: inside the try below a bad max_bytes would only add "tokenizer:error"
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
        raise TypeError(f"max_bytes must be a whole number of bytes such as {MAX_BYTES}, "
                        f"not {max_bytes!r}")
    if max_bytes < 0:
        raise UsageError(f"max_bytes must be 0 or more, not {max_bytes}")
    out: list[str] = []
    try:
        _message_tokens(message, out, max_bytes)
    except Exception:  # noqa: BLE001 - the filter must always get a score
        log.debug("tokenizer gave up part-way", exc_info=True)
        out.append("tokenizer:error")
    return out


def _split(raw: bytes) -> tuple[bytes, bytes]:
    """(header block, body) at the first blank line (``\n``, ``\r\n`` or mixed)."""
    # the first blank line by two C-level finds instead of a regex scan of every byte
    lf = raw.find(b"\n\n")
    crlf = raw.find(b"\n\r\n", 0, lf + 2 if lf >= 0 else len(raw))
    if crlf >= 0:
        nl, end = crlf, crlf + 3
    elif lf >= 0:
        nl, end = lf, lf + 2
    else:
        return raw, b""
    return raw[: nl - 1 if nl and raw[nl - 1] == 13 else nl], raw[end:]


def parse_headers(head: bytes) -> list[tuple[str, str]]:
    """(lower-case name, unfolded value) pairs of a header block; never raises."""
    return [(name, _unfold(value)) for name, value in _folded_fields(head)]


def _folded_fields(head: bytes) -> list[tuple[str, str]]:
    """(lower-case name, value as written: folded, not stripped) pairs of a header block.

    The tokenizer reads most values folded: unfolding only turns a line break and its
    indentation into one space, which changes no word, address, URL or encoded word.
    In C when the compiled module is there.
    """
    if _c is None:
        return _py_folded_fields(head)
    return _c.header_fields(_without_mbox_line(head))


def _without_mbox_line(head: bytes) -> bytes:
    if head.startswith(b"From "):  # mbox separator line
        nl = head.find(b"\n")
        return head[nl + 1 :] if nl >= 0 else b""
    return head


def _py_folded_fields(head: bytes) -> list[tuple[str, str]]:
    """:func:`_folded_fields` in Python (the reference for the compiled scan)."""
    head = _without_mbox_line(head)
    # names are ASCII by the pattern; values are read as latin-1 (every byte maps)
    return [(name.lower(), value) for name, value in _FIELD_STR.findall(head.decode("latin-1"))]


def _unfold(value: str) -> str:
    return (_UNFOLD_STR.sub(" ", value) if "\n" in value else value).strip()


#: codecs Python has but no mail charset is, read as latin-1: punycode's decoder is
#: quadratic (one 200 kB part in "charset=punycode" took ~6 s, and a message has 64)
_NOT_CHARSETS = frozenset(("punycode",))
#: a longer charset name is read as latin-1 without a look-up (IANA's names have at most
#: 40 characters): each name looked up stays in the stdlib's codec cache for good, found
#: or not, and so would megabytes of name per message
MAX_CHARSET_NAME = 64


def _codec(charset: str | None) -> str:
    if not charset:
        return "latin-1"
    charset = charset.strip().strip('"').lower()
    return "latin-1" if len(charset) > MAX_CHARSET_NAME else _lookup_codec(charset)


@functools.lru_cache(maxsize=256)
def _lookup_codec(charset: str) -> str:
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return "latin-1"
    return "latin-1" if name in _NOT_CHARSETS else name


def _decode_text(data: bytes, charset: str | None) -> str:
    if not charset or not charset.strip().strip('"'):
        return _unlabelled(data)
    try:
        return data.decode(_codec(charset), "replace")
    except Exception:  # noqa: BLE001 - odd codecs can raise anything
        return data.decode("latin-1")


def _unlabelled(data: bytes) -> str:
    """Text whose charset is not named: UTF-8 when the bytes are UTF-8, else latin-1.

    RFC 2045 makes unlabelled text US-ASCII; 8-bit bytes there are today almost always
    UTF-8 (and text handed to :func:`tokenize` as a ``str`` is encoded as UTF-8), while
    a latin-1 text is rarely valid UTF-8.  A text cut at ``max_bytes`` may end inside a
    character: that partial character is dropped, not the whole text read as latin-1.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.end == len(data) and e.start >= len(data) - 3:  # a character cut at the end
            try:
                return data[: e.start].decode("utf-8")
            except UnicodeDecodeError:
                pass
        return data.decode("latin-1")


def _header_text(value: str) -> str:
    """A header value read as latin-1 (every byte maps), read again as UTF-8 when its
    bytes are UTF-8: RFC 6532 allows UTF-8 in header fields, and a ``str`` message
    given to :func:`tokenize` arrives so."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def decode_header_value(value: str) -> str:
    """Decode RFC 2047 encoded words (``=?utf-8?B?...?=``), tolerating broken ones."""
    if "=?" not in value:
        return value

    def repl(m: re.Match) -> str:
        charset, enc, text = m.group(1), m.group(2).lower(), m.group(3)
        raw = text.encode("latin-1", "replace")
        try:
            if enc == "b":
                data = binascii.a2b_base64(raw + b"===")
            else:
                data = binascii.a2b_qp(raw.replace(b"_", b" "), header=True)
        except (binascii.Error, ValueError):
            return text
        return _decode_text(data, charset.split("*")[0])

    return _ENCWORD.sub(repl, value)


def _params(value: str) -> tuple[str, dict[str, str]]:
    main = value.split(";", 1)[0].strip().lower()
    params = {k.lower(): v.strip('"') for k, v in _PARAM.findall(value)}
    return main, params


def _split_long(words: list[str], lens: list[int]) -> tuple[list[str], list[str]]:
    """(words of at most MAX_WORD characters, longer ones), each in order.

    ``words`` is taken over (the long ones are deleted from it); ``lens`` are their lengths.
    """
    # C-level iteration; a few long words (the usual case) are deleted in place
    long_at = list(compress(range(len(words)), map(MAX_WORD.__lt__, lens)))
    long = [words[i] for i in long_at]
    if len(long_at) > 32:
        return list(compress(words, map(MAX_WORD.__ge__, lens))), long
    for i in reversed(long_at):
        del words[i]
    return words, long


def _skips(long: list[str], prefix: str = "") -> list[str]:
    return [f"{prefix}skip:{w[0]} {len(w) // 10 * 10}" for w in long]


def _cjk_pairs(text: str, out: list[str], prefix: str = "") -> str:
    """Append the character pairs of each CJK run of ``text`` (a lone character on its
    own) and return the text with those runs and CJK punctuation turned into spaces."""
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            out.append(prefix + run)
        else:
            out.extend([prefix + run[i : i + 2] for i in range(len(run) - 1)])
    return _CJK_PUNCT.sub(" ", _CJK_RUN.sub(" ", text))


def _words(
    text: str, out: list[str], prefix: str = "", pairs: bool = False, lowered: bool = False
) -> None:
    """Append the words of ``text`` (lower-cased unless ``lowered`` says it is), each
    with ``prefix``; then, with ``pairs``, each two neighbours joined by a space; then
    a ``skip:`` token for each word longer than MAX_WORD. In C for ASCII text."""
    if _c is None or not _c.words(text, out, prefix, True if pairs else False, MAX_WORD):
        _py_words(text, out, prefix, pairs, lowered)


def _py_words(
    text: str, out: list[str], prefix: str = "", pairs: bool = False, lowered: bool = False
) -> None:
    """:func:`_words` in Python (the reference for the compiled scan)."""
    if not lowered:
        text = text.lower()
    ascii_text = text.isascii()
    if not ascii_text and _CJK_RUN.search(text) is not None:
        text = _cjk_pairs(text, out, prefix)
    short = (_WORD3_ASCII if ascii_text else _WORD3).findall(text)
    long: list[str] = []
    lens = list(map(len, short))
    if lens and max(lens) > MAX_WORD:
        short, long = _split_long(short, lens)
    if prefix:
        out.extend(map(prefix.__add__, short))
    else:
        out.extend(short)
    if pairs:
        if prefix:
            out.extend([f"{prefix}{a} {b}" for a, b in pairwise(short)])
        else:
            out.extend(map(" ".join, pairwise(short)))
    if long:
        out.extend(_skips(long, prefix))


def _url_tokens(text: str, out: list[str], url: re.Pattern = _URL) -> None:
    """Append the tokens of each URL in ``text`` (``url`` is _URL, or _URL_LOWER for a
    lower-cased ASCII text): path words, then host, parent domains or ``url:ip``.
    In C for ASCII text."""
    if _c is None or not _c.url_tokens(text, out, url is not _URL_LOWER, bool(URL_PATHS)):
        _py_url_tokens(text, out, url)


def _py_url_tokens(text: str, out: list[str], url: re.Pattern = _URL) -> None:
    """:func:`_url_tokens` in Python (the reference for the compiled scan)."""
    # Same matches as url.findall(text), found from each "://" (a C-level find) instead
    # of trying the scheme at every character: a match's scheme starts 5, 4 or 3
    # characters before its "://", and those starts are tried left to right.
    k = text.find("://")
    pos = 0  # the end of the last match: the next one starts there or later
    match = url.match
    while k >= 0:
        for start in (k - 5, k - 4, k - 3):
            if start >= pos and (m := match(text, start)) is not None:
                break
        else:
            k = text.find("://", k + 1)
            continue
        pos = m.end()
        k = text.find("://", pos)
        host, path = m.groups()
        if URL_PATHS and path:
            out.extend(["url:path:" + w for w in _PATH_WORD.findall(path.lower())])
        host = host.lower().rstrip(".")
        if "@" in host:
            host = host.rsplit("@", 1)[1]
        if host.replace(".", "").isdigit():
            out.append("url:ip")
            out.append("url:" + host)
            continue
        parts = host.split(".")
        for i in range(max(0, len(parts) - 4), len(parts) - 1):
            out.append("url:" + ".".join(parts[i:]))


def _drop_invisible(html: str, invisible: re.Pattern) -> str:
    """``invisible.sub(" ", html)`` in linear time.

    A start tag with no ``>`` after it cannot match, but ``re`` would scan to the end
    of the text for each one (quadratic on a truncated or hostile part); so matching
    stops at the last ``>`` and the rest is kept, unless a match ran to the end of
    the text (an unclosed element), which swallows the rest as well.
    """
    gt = html.rfind(">")
    if html.find("<", gt + 1) < 0:  # no start can lack a ">": the plain substitution
        return invisible.sub(" ", html)
    head = html[: gt + 1]
    pieces: list[str] = []
    last = 0
    to_end = False
    for m in invisible.finditer(head):
        pieces.append(head[last : m.start()])
        pieces.append(" ")
        last = m.end()
        to_end = m.group(2) is not None  # matched \Z: no end tag
    pieces.append(head[last:])
    if not to_end:
        pieces.append(html[gt + 1 :])
    return "".join(pieces)


def _drop_tags(html: str) -> str:
    """``_TAG.sub(" ", html)``, matching only up to the last ``>`` (linear time)."""
    gt = html.rfind(">")
    if html.find("<", gt + 1) < 0:
        return _TAG.sub(" ", html)
    return _TAG.sub(" ", html[: gt + 1]) + html[gt + 1 :]


def _html_to_text(html: str, out: list[str]) -> str:
    """The text of an HTML part; its telling tags and attributes (``tag:``, ``attr:``
    and URL tokens) are appended to ``out``. In C for ASCII HTML."""
    if _ch is not None:
        text = _ch.html_to_text(html, out, _attr_url_tokens)
        if text is not None:
            return text
    return _py_html_to_text(html, out)


def _py_html_to_text(html: str, out: list[str]) -> str:
    """:func:`_html_to_text` in Python (the reference for the compiled passes)."""
    # comments and style/script elements (to their end tag, or the end of the text) go
    # first; then the telling tags and attributes become tokens, and every tag a space
    if html.isascii():  # lower-case it once and match case-sensitively: same matches, faster
        html = html.lower()
        telling_tag, telling_attr = _TELLING_TAG_LOWER, _TELLING_ATTR_LOWER
        invisible = _INVISIBLE_LOWER
    elif _FOLDS_TO_ASCII.search(html) is None:  # the same, lower-casing only ASCII letters
        html = html.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")
        telling_tag, telling_attr = _TELLING_TAG_LOWER, _TELLING_ATTR_CASED
        invisible = _INVISIBLE_LOWER
    else:
        telling_tag, telling_attr, invisible = _TELLING_TAG, _TELLING_ATTR, _INVISIBLE
    if "<!--" in html:  # a comment ends at a "-->": nothing after the last one can match
        end = html.rfind("-->") + 3
        if end > 2:
            html = _COMMENT.sub(" ", html[:end]) + html[end:]
    out.extend(["tag:" + t.lower() for t in telling_tag.findall(html)])
    html = _drop_invisible(html, invisible)
    for name, val in telling_attr.findall(html):
        name = name.lower()
        if name in _URL_ATTRS:
            _attr_url_tokens(val.strip("\"'"), out)
            if name == "action":
                out.append("attr:action")
        else:
            out.append("attr:" + name)
    html = _drop_tags(html)
    return _ENTITY.sub(_entity, html) if "&" in html else html


def _entity(m: re.Match) -> str:
    """What a browser shows for the reference ``m`` of _ENTITY (HTML's named and numeric
    character reference states, with our tables): a name with ";" from _NAMED_ENTITIES,
    else the longest legacy name that starts the run, the rest of the run kept as text;
    else the reference as it is.  A number is its digits: 128-159 are read as
    windows-1252 (:data:`_C1_REFERENCES`); 0, a surrogate (half of a UTF-16 pair, no
    character on its own) or past U+10FFFF gives a space (a browser shows U+FFFD there)."""
    hexa, dec, name, semi = m.groups()
    if name is None:
        digits = (hexa or dec).lstrip("0")  # (int() refuses more than 4,300 digits)
        if len(digits) > 7:
            return " "
        code = int(digits or "0", 16 if hexa else 10)
        if 0x80 <= code < 0xA0:
            return _C1_REFERENCES[code - 0x80]
        return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else " "
    low = name.lower()
    if semi and low in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[low]
    n = _legacy_prefix(low)
    return _LEGACY_ENTITIES[low[:n]] + name[n:] + semi if n else m.group()


def _legacy_prefix(low: str) -> int:
    """The length of the longest legacy name that starts ``low`` (0: none)."""
    for n in range(min(len(low), _LEGACY_MAX), 0, -1):
        if low[:n] in _LEGACY_ENTITIES:
            return n
    return 0


def _attr_entity(m: re.Match) -> str:
    """:func:`_entity` inside an attribute value: there a browser leaves a legacy name
    without its ";" as it is when "=", a letter or a digit follows it (``?a=1&copy=2``
    is a query, not "©=2")."""
    name = m.group(3)
    if name is not None and not (m.group(4) and name.lower() in _NAMED_ENTITIES):
        n = _legacy_prefix(name.lower())
        if n and (n < len(name) or m.string[m.end() : m.end() + 1] == "="):
            return m.group()
    return _entity(m)


def _attr_url_tokens(value: str, out: list[str]) -> None:
    """:func:`_url_tokens` of an href, src or action value, its character references
    decoded as a browser decodes them (``&amp;`` in a query is "&", not a path word
    "amp"; a host may be written ``www&#46;shop&#46;example``)."""
    _url_tokens(_ENTITY.sub(_attr_entity, value) if "&" in value else value, out)


def _email_domains(text: str) -> list[str]:
    """The domains ``re.findall(r"[\\w.+-]+@([\\w-]+(?:\\.[\\w-]+)+)", text)`` gives.

    That pattern is quadratic on a long run of word characters before an "@" with no
    valid domain; this finds each domain from its "@" instead. An "@" right after the
    previous match's domain has no local part left (the match consumed it) and is skipped.
    """
    if text.count("@") < 2:  # (at most one match: nothing to skip)
        return _EMAIL_AT.findall(text)
    found: list[str] = []
    end = -1
    for m in _EMAIL_AT.finditer(text):
        if m.start() != end:
            found.append(m.group(1))
            end = m.end()
    return found


#: header fields handled apart from the plain ones
_SUBJECT, _CONTENT_TYPE, _ADDRESS, _RECEIVED = range(4)
_FIELD_KINDS = {name: _ADDRESS for name in _ADDRESS_FIELDS} | {
    "subject": _SUBJECT,
    "content-type": _CONTENT_TYPE,
    "received": _RECEIVED,
}
# Field names' words are found in one pass over all plain header text, the names'
# texts joined by a marker "word" that a header cannot hold (checked: no \x01 in it).
_MARK = "\x01\x01\x01"
_MARK_JOIN = "\n" + _MARK + "\n"


def _header_tokens(fields: list[tuple[str, str]], out: list[str]) -> None:
    """Append the tokens of a message's header fields: ``header:<name>`` for each name
    (first-seen order), the Subject's words and URLs, the Content-Type's main type and
    charset, the domains of address fields, the words of the other fields (per name),
    then the client address of the topmost Received header from outside. In C when every
    field read is ASCII with no encoded word ("=?")."""
    if _c is None or not _c.header_tokens(fields, out, MAX_WORD, bool(URL_PATHS)):
        _py_header_tokens(fields, out)


def _py_header_tokens(fields: list[tuple[str, str]], out: list[str]) -> None:
    """:func:`_header_tokens` in Python (the reference for the compiled loop)."""
    # the plain fields' words are gathered per field name, in first-seen order
    plain: dict[str, list[str]] = {}
    ip = None  # the client address in the topmost Received header that names one
    for name, value in fields:
        texts = plain.get(name)
        if texts is None:
            out.append("header:" + name)
            plain[name] = texts = []
        if name in _SKIP_FIELDS:
            continue
        if not value.isascii():
            value = _header_text(value)
        text = decode_header_value(value) if "=?" in value else value
        kind = _FIELD_KINDS.get(name)
        if kind == _SUBJECT:
            _words(text, out, "subject:")
            _url_tokens(text, out)
            continue
        if kind == _CONTENT_TYPE:  # the main type and charset are read unfolded
            value = _unfold(value)
            text = decode_header_value(value) if "=?" in value else value
            main, params = _params(text)
            out.append("content-type:" + main)
            if "charset" in params:
                out.append("charset:" + params["charset"].lower())
            continue
        if kind == _RECEIVED:
            if ip is None and (m := _IP.search(value)) and not _INTERNAL_IP.match(m.group(1)):
                ip = m.group(1)
        elif kind == _ADDRESS and "@" in text:
            out.extend([f"{name}:{dom.lower()}" for dom in _email_domains(text)])
        # unfolding only shortens the text: it matters when the 2,000-character cut does
        texts.append(text if len(text) <= 2000 else _capped(value))
    _field_words([(name, "\n".join(texts)) for name, texts in plain.items() if texts], out)
    if ip:
        a, b, c, _ = ip.split(".")
        out.append("received:ip:" + ip)
        out.append(f"received:ip:{a}.{b}.{c}")
        out.append(f"received:ip:{a}.{b}")
    else:
        out.append("received:ip:none")


def _capped(value: str) -> str:
    """The first 2,000 characters of a long field's unfolded, decoded value."""
    value = _unfold(value)
    return (decode_header_value(value) if "=?" in value else value)[:2000]


def _field_words(named: list[tuple[str, str]], out: list[str]) -> None:
    """``_words(text, out, name + ":")`` for each (name, text); in C when all are ASCII."""
    if _c is None or not _c.field_words(named, out, MAX_WORD):
        _py_field_words(named, out)


def _py_field_words(named: list[tuple[str, str]], out: list[str]) -> None:
    """``_py_words(text, out, name + ":")`` for each (name, text), in one regex pass."""
    if not named:
        return
    joined = _MARK_JOIN.join([text for _, text in named])
    if joined.count("\x01") != 3 * (len(named) - 1):  # a field holds \x01 itself
        for name, text in named:
            _py_words(text, out, name + ":")
        return
    joined = joined.lower()  # (lower-casing is per character, but for a final sigma,
    # which the "\n" around each marker separates as a field's end does)
    ascii_text = joined.isascii()
    if not ascii_text and _CJK_RUN.search(joined) is not None:
        for name, text in named:  # CJK pairs: per field (rare in headers)
            _py_words(text, out, name + ":")
        return
    words = (_WORD3_ASCII if ascii_text else _WORD3).findall(joined)
    # positions of the long words (rare per field, but most headers have a few)
    long_at: list[int] = []
    lens = list(map(len, words))
    if max(lens, default=0) > MAX_WORD:
        long_at = list(compress(range(len(words)), map(MAX_WORD.__lt__, lens)))
    n_long = len(long_at)
    li = 0  # the next long word
    start = 0
    last = len(named) - 1
    for i, (name, _) in enumerate(named):
        end = words.index(_MARK, start) if i < last else len(words)
        prefix = name + ":"
        if li < n_long and long_at[li] < end:
            out.extend([prefix + w for w in words[start:end] if len(w) <= MAX_WORD])
            long = []
            while li < n_long and long_at[li] < end:
                long.append(words[long_at[li]])
                li += 1
            out.extend(_skips(long, prefix))
        else:
            out.extend([prefix + w for w in words[start:end]])
        start = end + 1


def _message_tokens(raw: bytes, out: list[str], max_bytes: int) -> None:
    if not raw or raw.isspace():  # (isspace: the bytes strip() removes, without a copy)
        out.append("message:empty")
        return
    head, body = _split(raw)
    fields = _folded_fields(head)
    if not fields:
        out.append("header:none")
        body = raw
    _header_tokens(fields, out)
    parts = 0
    for ctype, text in _walk(fields, body, 0, max_bytes):
        parts += 1
        if parts > MAX_PARTS:
            out.append("mime:too-many-parts")
            break
        if text is None:
            out.append("part:" + ctype)
            continue
        if ctype == "text/html":
            text = _html_to_text(text, out)
        if text.isascii():  # (an O(1) check) words are lower-cased anyway
            text = text.lower()
            _url_tokens(text, out, _URL_LOWER)
            _words(text, out, pairs=PAIRS, lowered=True)
        else:
            _url_tokens(text, out)
            _words(text, out, pairs=PAIRS)


def _walk(
    fields: list[tuple[str, str]], body: bytes, depth: int, max_bytes: int
) -> Iterator[tuple[str, str | None]]:
    """Yield (content type, decoded text or None) for each leaf part."""
    ctype_value = ""
    cte = ""
    disposition = ""
    for name, value in fields:  # (folded values: unfolded below, for the last of each)
        if name == "content-type":
            ctype_value = value
        elif name == "content-transfer-encoding":
            cte = value
        elif name == "content-disposition":
            disposition = value
    ctype_value = _unfold(ctype_value)
    cte = _unfold(cte).lower()
    disposition = _unfold(disposition)
    ctype, params = _params(ctype_value) if ctype_value else ("text/plain", {})
    if "/" not in ctype:
        ctype = "text/plain"
    if ctype.startswith("multipart/") and depth < 8:
        boundary = params.get("boundary")
        if boundary:
            yield from _walk_multipart(body, boundary, depth, max_bytes)
            return
        ctype = "text/plain"
    if ctype == "message/rfc822" and depth < 8:
        head, inner = _split(body)
        yield from _walk(_folded_fields(head), inner, depth + 1, max_bytes)
        return
    if not ctype.startswith("text/"):
        filename = params.get("name") or _params("x;" + disposition)[1].get("filename")
        yield ctype, None
        if filename:
            ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
            yield "filename:" + ext[:8], None
        return
    data = _transfer_decode(body, cte, max_bytes)
    yield ctype, _decode_text(data[:max_bytes], params.get("charset"))


def _transfer_decode(body: bytes, cte: str, max_bytes: int) -> bytes:
    if cte == "base64":
        chunk = body[: max_bytes * 4 // 3 + 4]
        try:
            return binascii.a2b_base64(re.sub(rb"[^A-Za-z0-9+/]", b"", chunk) + b"==")
        except (binascii.Error, ValueError):
            return chunk
    if cte == "quoted-printable":
        try:
            return binascii.a2b_qp(body[: max_bytes * 3])
        except (binascii.Error, ValueError):
            return body[:max_bytes]
    return body[:max_bytes]


def _walk_multipart(
    body: bytes, boundary: str, depth: int, max_bytes: int
) -> Iterator[tuple[str, str | None]]:
    delim = b"--" + boundary.encode("latin-1", "replace")
    chunks = body.split(delim)
    # chunks[0] is the preamble; a chunk starting with "--" is the close (then epilogue)
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        elif chunk.startswith(b"\n"):
            chunk = chunk[1:]
        else:
            nl = chunk.find(b"\n")  # trailing junk on the boundary line
            chunk = chunk[nl + 1 :] if nl >= 0 else b""
        if chunk.startswith(b"\n") or chunk.startswith(b"\r\n"):
            head, part = b"", chunk.lstrip(b"\r\n")
        else:
            head, part = _split(chunk)
        yield from _walk(_folded_fields(head), part, depth + 1, max_bytes)


__all__ = ["tokenize", "parse_headers", "decode_header_value", "MAX_BYTES"]
