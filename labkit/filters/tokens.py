"""Turn a raw message (bytes) into the tokens a Bayesian filter counts.

The hot path of every filter, so it avoids the ``email`` package's object model and
walks the MIME tree with a few regular expressions:

* headers: selected fields are tokenised with a field prefix (``subject:free``,
  ``from:example.com``, ``x-mailer:outlook``), the client address of the receiving
  hop becomes ``received:ip:198.51.100.150`` (and its /24 and /16), every header
  name present gives ``header:<name>``;
* bodies: base64 and quoted-printable decoded, charsets decoded (unknown or broken
  ones fall back to latin-1), multipart walked recursively, non-text parts
  summarised by their content type and file name;
* HTML: reduced to text, plus ``tag:<name>`` and ``attr:<name>`` tokens and the
  URLs found in ``href``/``src``;
* URLs: ``url:<host>`` and each parent domain, ``url:ip`` for numeric hosts, and the
  words of the path (``url:path:<word>``, 3-20 letters, digits, ``-`` or ``_``);
* words: lower-cased, 3-20 characters; longer ones become ``skip:<first char> <len//10>``;
  in bodies also each pair of neighbouring words (``"click here"``), which lets the
  filters see a little phrasing.

Never raises on bad input: empty, binary, huge (capped at ``max_bytes`` of text
per part) or malformed messages simply give fewer tokens.

Introduced in lab 09 (Bayesian filtering).
"""

from __future__ import annotations

import binascii
import codecs
import logging
import re
from collections.abc import Iterator
from itertools import compress

log = logging.getLogger(__name__)

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

_HEAD_SPLIT = re.compile(rb"\r?\n\r?\n")
_ENCWORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
# a word: separators split, and the punctuation in _EDGE may not start or end one
_SEP = r"\s\"'<>(){}\[\],;:|*="
_EDGE = r"'.!?\-$%#&+/_\\`~^@"
# a word of 3 characters or more (shorter ones are never tokens, so the regex skips them)
_WORD3 = re.compile(rf"[^{_SEP}{_EDGE}][^{_SEP}]+[^{_SEP}{_EDGE}]")
_FIELD_STR = re.compile(r"^([!-9;-~]+)[ \t]*:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.MULTILINE)
_UNFOLD_STR = re.compile(r"\r?\n[ \t]+")
_URL_SRC = r"(?:https?|ftp)://([^\s\"'<>/?#:)]+)([^\s\"'<>)]*)"
_URL = re.compile(_URL_SRC, re.IGNORECASE)
_URL_LOWER = re.compile(_URL_SRC)  # for lower-cased ASCII text (see _TELLING_TAG_LOWER)
_PATH_WORD = re.compile(r"[a-z0-9][a-z0-9_-]{2,19}")
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9]*)([^>]*)>", re.DOTALL)
_ENTITY = re.compile(r"&(#?[a-zA-Z0-9]+);?")
_IP = re.compile(r"\[(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\]")
_PARAM = re.compile(r";\s*([a-zA-Z*-]+)\s*=\s*(\"[^\"]*\"|[^;\s]+)")
_ENTITIES = {"nbsp": " ", "amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
# Only telling tags and attributes become tokens: the common layout ones (table, font,
# br ...) occur together, and counting each as independent evidence swamps the words.
_TAG_TOKENS = frozenset(
    "img form input script iframe object embed map area base meta style select textarea".split()
)
_TELLING_TAG_SRC = rf"<\s*({'|'.join(sorted(_TAG_TOKENS))})(?![a-zA-Z0-9])"
# attributes that become tokens (action, usemap, background, on*) or give URLs
_TELLING_ATTR_SRC = (
    r"[\s\"'/](href|src|action|usemap|background|on[a-zA-Z]+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)"
)
_TELLING_TAG = re.compile(_TELLING_TAG_SRC, re.IGNORECASE)
_TELLING_ATTR = re.compile(_TELLING_ATTR_SRC, re.IGNORECASE)
# the same without IGNORECASE (much slower in re), for ASCII text already lower-cased:
# there both match exactly what the case-blind ones match in the original text
_TELLING_TAG_LOWER = re.compile(_TELLING_TAG_SRC)
_TELLING_ATTR_LOWER = re.compile(_TELLING_ATTR_SRC)
_URL_ATTRS = frozenset(("href", "src", "action"))
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_INVISIBLE = re.compile(
    r"<\s*(style|script)(?![a-zA-Z0-9])[^>]*>.*?(?:<\s*/\s*\1\s*>|\Z)",
    re.DOTALL | re.IGNORECASE,
)


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
        message = bytes(message)
    out: list[str] = []
    try:
        _message_tokens(message, out, max_bytes)
    except Exception:  # noqa: BLE001 - the filter must always get a score
        log.debug("tokenizer gave up part-way", exc_info=True)
        out.append("tokenizer:error")
    return out


def _split(raw: bytes) -> tuple[bytes, bytes]:
    m = _HEAD_SPLIT.search(raw)
    if m is None:
        return raw, b""
    return raw[: m.start()], raw[m.end() :]


def parse_headers(head: bytes) -> list[tuple[str, str]]:
    """(lower-case name, unfolded value) pairs of a header block; never raises."""
    if head.startswith(b"From "):  # mbox separator line
        nl = head.find(b"\n")
        head = head[nl + 1 :] if nl >= 0 else b""
    # names are ASCII by the pattern; values are read as latin-1 (every byte maps)
    return [
        (name.lower(), (_UNFOLD_STR.sub(" ", value) if "\n" in value else value).strip())
        for name, value in _FIELD_STR.findall(head.decode("latin-1"))
    ]


def _codec(charset: str | None) -> str:
    if not charset:
        return "latin-1"
    charset = charset.strip().strip('"').lower()
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return "latin-1"


def _decode_text(data: bytes, charset: str | None) -> str:
    try:
        return data.decode(_codec(charset), "replace")
    except Exception:  # noqa: BLE001 - odd codecs can raise anything
        return data.decode("latin-1")


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


def _words(text: str, out: list[str], prefix: str = "", pairs: bool = False) -> None:
    text = text.lower()
    short = _WORD3.findall(text)
    long: list[str] = []
    if short and max(map(len, short)) > MAX_WORD:
        # split by length with C-level iteration (header fields often hold a long word)
        long = list(compress(short, map(MAX_WORD.__lt__, map(len, short))))
        short = list(compress(short, map(MAX_WORD.__ge__, map(len, short))))
    if prefix:
        out.extend([prefix + w for w in short])
    else:
        out.extend(short)
    if pairs:
        if prefix:
            out.extend([f"{prefix}{a} {b}" for a, b in zip(short, short[1:], strict=False)])
        else:
            out.extend(map(" ".join, zip(short, short[1:], strict=False)))
    if long:
        out.extend([f"{prefix}skip:{w[0]} {len(w) // 10 * 10}" for w in long])


def _url_tokens(text: str, out: list[str], url: re.Pattern = _URL) -> None:
    if "://" not in text:
        return
    for host, path in url.findall(text):
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


def _html_to_text(html: str, out: list[str]) -> str:
    # comments and style/script elements (to their end tag, or the end of the text) go
    # first; then the telling tags and attributes become tokens, and every tag a space
    if html.isascii():  # lower-case it once and match case-sensitively: same matches, faster
        html = html.lower()
        telling_tag, telling_attr = _TELLING_TAG_LOWER, _TELLING_ATTR_LOWER
    else:
        telling_tag, telling_attr = _TELLING_TAG, _TELLING_ATTR
    html = _COMMENT.sub(" ", html)
    out.extend(["tag:" + t.lower() for t in telling_tag.findall(html)])
    html = _INVISIBLE.sub(" ", html)
    for name, val in telling_attr.findall(html):
        name = name.lower()
        if name in _URL_ATTRS:
            _url_tokens(val.strip("\"'"), out)
            if name == "action":
                out.append("attr:action")
        else:
            out.append("attr:" + name)
    return _ENTITY.sub(_entity, _TAG.sub(" ", html))


def _entity(m: re.Match) -> str:
    name = m.group(1)
    if name.startswith("#"):
        try:
            code = int(name[2:], 16) if name[1:2] in ("x", "X") else int(name[1:])
            return chr(code) if 0 < code < 0x110000 else " "
        except ValueError:
            return " "
    return _ENTITIES.get(name.lower(), " ")


def _received_ip(fields: list[tuple[str, str]]) -> str | None:
    """The client address in the topmost Received header that names one."""
    for name, value in fields:
        if name == "received":
            m = _IP.search(value)
            if m:
                return m.group(1)
    return None


def _header_tokens(fields: list[tuple[str, str]], out: list[str]) -> None:
    # the plain fields' words are gathered per field name: one word pass per name
    plain: dict[str, list[str]] = {}
    for name, value in fields:
        if name not in plain:
            out.append("header:" + name)
            plain[name] = []
        if name in _SKIP_FIELDS:
            continue
        text = decode_header_value(value) if "=?" in value else value
        if name == "subject":
            _words(text, out, "subject:")
            _url_tokens(text, out)
        elif name == "content-type":
            main, params = _params(text)
            out.append("content-type:" + main)
            if "charset" in params:
                out.append("charset:" + params["charset"].lower())
        else:
            if name in _ADDRESS_FIELDS:
                for dom in _EMAIL.findall(text):
                    out.append(f"{name}:{dom.lower()}")
            plain[name].append(text[:2000])
    for name, texts in plain.items():
        if texts:
            _words("\n".join(texts), out, name + ":")
    ip = _received_ip(fields)
    if ip:
        a, b, c, _ = ip.split(".")
        out.append("received:ip:" + ip)
        out.append(f"received:ip:{a}.{b}.{c}")
        out.append(f"received:ip:{a}.{b}")
    else:
        out.append("received:ip:none")


def _message_tokens(raw: bytes, out: list[str], max_bytes: int) -> None:
    if not raw.strip():
        out.append("message:empty")
        return
    head, body = _split(raw)
    fields = parse_headers(head)
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
    for name, value in fields:
        if name == "content-type":
            ctype_value = value
        elif name == "content-transfer-encoding":
            cte = value.strip().lower()
        elif name == "content-disposition":
            disposition = value
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
        yield from _walk(parse_headers(head), inner, depth + 1, max_bytes)
        return
    filename = params.get("name") or _params("x;" + disposition)[1].get("filename")
    if not ctype.startswith("text/"):
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
        yield from _walk(parse_headers(head), part, depth + 1, max_bytes)


__all__ = ["tokenize", "parse_headers", "decode_header_value", "MAX_BYTES"]
