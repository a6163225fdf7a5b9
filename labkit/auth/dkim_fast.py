"""A lean DKIM verifier for the plain, well-formed message: the receiver's fast path.

:func:`labkit.auth.dkim.verify` spends most of its time in dkimpy's Python-level
work, not in the RSA step: splitting the message line by line, parsing and checking
the tag list twice, canonicalising *every* header field for each signature. This
module does the same work for the common case with a few passes in C:

- :func:`parse` splits the header block with one regular expression (CRLF line
  ends only) and reads the body as dkimpy does (bare LF counted as CRLF);
- :meth:`FastMessage.tags` / :meth:`FastMessage.validate` read a ``DKIM-Signature``
  tag list (``rsa-sha256`` or ``ed25519-sha256``, ``c=`` simple or relaxed,
  ordinary ``h=``, optional ``i=``, ``l=``, ``q=``, ``t=``, ``x=``);
- :meth:`FastMessage.check_with_key` canonicalises only the signed fields and the
  body (each body form once per message), hashes with :mod:`hashlib` and checks
  ``b=`` with ``cryptography`` (RSA) or the Ed25519 key dkimpy parsed.

It never decides anything it is unsure of: whatever is unusual (another line-end
style, an unknown or repeated tag, a value dkimpy might read differently, an odd
signature length, any exception) raises :class:`Fallback`, and the caller runs
dkimpy's path, so every result, reason and warning is the same either way.

Not named in the labs: :func:`labkit.auth.dkim.verify` (lab 04) calls it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time

import dkim
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, utils
from dkim.canonicalization import CanonicalizationPolicy
from nacl.exceptions import BadSignatureError

from .dkim_keys import KeyRecord


class Fallback(Exception):
    """The fast path is not sure the input is the plain case: use dkimpy's path."""


# one header field: a name of printable characters without ':', its value with every
# continuation line, each line ending in CRLF (rfc822_parse keeps values that way); the
# name starts a line (the look-behind), so a long line without a colon is read once, not
# again from each of its characters (quadratic: 8 s for 1.6 MB of 990-character lines)
_FIELD = re.compile(rb"(?<![^\n])([!-9;-~]+):([^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*)")
_LINE_END = re.compile(rb"\r?\n")
# a run of WSP that relaxed canonicalisation changes: one with a tab, or two or more
# characters (a lone space stays as it is; matching it too, as "[\t ]+" does, made the
# substitution 5-6 times slower on ordinary text, whose every word ends in one)
_WSP = re.compile(rb"\t[\t ]*| [\t ]+")
# WSP before a line end, tried only where a run of WSP starts: dkimpy's "[\t ]+\r\n" retries at
# every position of a long run that is not followed by CRLF (quadratic: a 1 MB body of
# 1,000-space lines costs it seconds); both find the same matches
_WSP_EOL = re.compile(rb"(?<![\t ])[\t ]+\r\n")
_B_TAG = re.compile(rb"[;\s]b\s*=")  # where dkim.RE_BTAG can start
_BASE64_OR_SPACE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n\x0b\x0c"
_TAG_NAME = re.compile(rb"[A-Za-z][A-Za-z0-9_]*")
_BASE64 = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
_NUMBER = re.compile(rb"[0-9]+")
_LENGTH = re.compile(rb"[0-9]{1,76}")
_NAME = re.compile(rb"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
_H_LIST = re.compile(rb"[!-9;-~]+(?:\s*:\s*[!-9;-~]+)*")
_H_SEPARATOR = re.compile(rb"\s*:\s*")

_TAGS = frozenset((b"v", b"a", b"b", b"bh", b"c", b"d", b"h", b"i", b"l", b"q", b"s", b"t", b"x"))
_MANDATORY = (b"v", b"a", b"b", b"bh", b"d", b"h", b"s")
_ALGORITHMS = frozenset((b"rsa-sha256", b"ed25519-sha256"))  # both hash with SHA-256
_CANONICALIZATION = {
    b"simple": (b"simple", b"simple"),
    b"relaxed": (b"relaxed", b"simple"),
    b"simple/simple": (b"simple", b"simple"),
    b"simple/relaxed": (b"simple", b"relaxed"),
    b"relaxed/simple": (b"relaxed", b"simple"),
    b"relaxed/relaxed": (b"relaxed", b"relaxed"),
}
_CLOCK_SLOP = 36000  # dkimpy's 10 hours of leeway for t= and x=


def parse(raw: bytes) -> FastMessage | None:
    """The header fields and body of ``raw`` as dkimpy's ``rfc822_parse`` reads them,
    or None when the message is not plain (then dkimpy's parser decides)."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = raw[: end + 2]
    breaks = head.count(b"\n")
    if head.count(b"\r") != breaks or head.count(b"\r\n") != breaks:
        return None  # a bare CR or LF in the header block
    if b"\x0b" in head or b"\x0c" in head:
        return None  # whitespace that relaxed canonicalisation does not compress
    fields = _FIELD.findall(head)
    if sum(len(name) + len(value) for name, value in fields) + len(fields) != len(head):
        return None  # something no field pattern covers: a continuation first, a name with a space, ...
    body = raw[end + 4 :]
    if body.count(b"\n") != body.count(b"\r\n"):
        body = _LINE_END.sub(b"\r\n", body)  # dkimpy splits on CR?LF and joins with CRLF
    return FastMessage(fields, body)


def _strip_trailing_lines(body: bytes) -> bytes:
    """Empty lines at the end removed; exactly one CRLF at the end (RFC 6376 3.4.3)."""
    end = len(body)
    while body.endswith(b"\r\n", 0, end):
        end -= 2
    if end == len(body):
        return body + b"\r\n"
    return body[: end + 2]


def simple_body(body: bytes) -> bytes:
    """The ``simple`` body canonicalisation (RFC 6376 3.4.3)."""
    return _strip_trailing_lines(body)


# the last body given to relaxed_body and its form (the same bytes object, held here)
_last_relaxed: tuple[bytes, bytes] = (b"", b"")


def relaxed_body(body: bytes) -> bytes:
    """The ``relaxed`` body canonicalisation (RFC 6376 3.4.4): no WSP at line ends,
    runs of WSP as one space, no empty lines at the end (and an empty body stays empty).

    The last body and its form are remembered: dkimpy asks again for the same body
    object for each signature and each ARC set (50 ARC sets on a 7.6 MB body cost 56 s).
    """
    global _last_relaxed
    last = _last_relaxed  # (one read: another thread may replace it)
    if body is last[0]:
        return last[1]
    lines = body
    if b" \r\n" in lines or b"\t\r\n" in lines:  # (a search is much cheaper than the sub)
        lines = _WSP_EOL.sub(b"\r\n", lines)
    canonical = _strip_trailing_lines(_WSP.sub(b" ", lines))
    if canonical == b"\r\n":
        canonical = b""
    if type(body) is bytes:  # (immutable: the same object always has the same form)
        _last_relaxed = (body, canonical)
    return canonical


def relaxed_field(name: bytes, value: bytes) -> bytes:
    """One header field in ``relaxed`` form (RFC 6376 3.4.2), CRLF-terminated.

    ``value`` is as :func:`parse` accepts it: CRLF only at line ends, each followed by
    the WSP of a continuation line (or the end), and no VT or FF; then unfolding,
    compressing WSP runs and trimming is splitting on whitespace and joining with spaces.
    """
    return name.lower() + b":" + b" ".join(value.split()) + b"\r\n"


def without_b(value: bytes) -> bytes:
    """``value`` (a DKIM-Signature) with the ``b=`` value taken out, as dkimpy's
    ``RE_BTAG`` substitution does it, for a tag list with exactly one place where
    ``b=`` can start and only base64 and whitespace up to the next ``;``."""
    found = _B_TAG.search(value)
    if found is None or _B_TAG.search(value, found.end()) is not None:
        raise Fallback("b= not found exactly once")
    start = found.end()
    end = value.find(b";", start)
    if end < 0:
        end = len(value)
    tail = value[start:end]
    if tail.translate(None, _BASE64_OR_SPACE):
        raise Fallback("b= value that is not plain base64")
    rest = value[start + len(tail.rstrip()) :]
    if rest in (b"\r\n", b"\n"):
        rest = b""  # RE_BTAG also takes a line end that closes the field
    return value[:start] + rest


_BODY_FORMS = {b"simple": simple_body, b"relaxed": relaxed_body}


def _base64(value: bytes) -> bytes:
    clean = b"".join(value.split())
    if len(clean) % 4 or not _BASE64.fullmatch(clean):
        raise Fallback("base64 value that dkimpy might read otherwise")
    try:
        return base64.b64decode(clean, validate=True)
    except (binascii.Error, ValueError):
        raise Fallback("base64 value that dkimpy might read otherwise") from None


class FastMessage:
    """A plain message split once; the verifier calls its methods for each signature.

    ``headers`` is the list of (name, value) pairs and ``body`` the body, exactly as
    dkimpy's parser gives them; each body canonical form is computed once.
    """

    __slots__ = ("headers", "body", "_bodies", "_by_name")

    def __init__(self, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.headers = headers
        self.body = body
        self._bodies: dict[bytes, bytes] = {}
        self._by_name: dict[bytes, list[tuple[bytes, bytes]]] | None = None

    # ---------------------------------------------------------------- tag list
    @staticmethod
    def tags(value: bytes) -> dict[bytes, bytes]:
        """The tag list as ``dkim.util.parse_tag_value`` reads it, when it is plain."""
        specs = value.strip().split(b";")
        if not specs[-1]:
            specs.pop()  # one trailing ';' is allowed
        tags: dict[bytes, bytes] = {}
        for spec in specs:
            key, equals, tag_value = spec.partition(b"=")
            key = key.strip()
            if not equals or key in tags or not _TAG_NAME.fullmatch(key):
                raise Fallback("tag list that is not plain")
            tags[key] = tag_value.strip()
        return tags

    @staticmethod
    def validate(sig: dict[bytes, bytes]) -> None:
        """Pass only when ``dkim.validate_signature_fields`` would pass; otherwise
        raise :class:`Fallback` (dkimpy then words the error)."""
        if not _TAGS.issuperset(sig) or any(tag not in sig for tag in _MANDATORY):
            raise Fallback("unknown or missing tags")
        domain = sig[b"d"]
        if (sig[b"v"] != b"1" or sig[b"a"] not in _ALGORITHMS
                or sig.get(b"c", b"simple/simple") not in _CANONICALIZATION
                or not _NAME.fullmatch(domain) or not _NAME.fullmatch(sig[b"s"])
                or not _H_LIST.fullmatch(sig[b"h"]) or sig.get(b"q", b"dns/txt") != b"dns/txt"):
            raise Fallback("a tag value outside the plain case")
        _base64(sig[b"b"])
        _base64(sig[b"bh"])
        identity = sig.get(b"i")
        if identity is not None and not (
            len(identity) > len(domain) and identity.lower().endswith(domain.lower())
            and identity[-len(domain) - 1] in (64, 46)
        ):
            raise Fallback("i= that dkimpy would refuse")
        if b"l" in sig and not _LENGTH.fullmatch(sig[b"l"]):
            raise Fallback("l= that is not a plain number")
        if b"t" in sig or b"x" in sig:
            now = int(time.time())
            signed = _timestamp(sig, b"t")
            expires = _timestamp(sig, b"x")
            if signed is not None and signed > now + _CLOCK_SLOP:
                raise Fallback("t= in the future")
            if expires is not None and (expires < now - _CLOCK_SLOP or (signed and expires < signed)):
                raise Fallback("x= in the past")

    # ----------------------------------------------------------------- hashing
    def body_hash(self, canon: CanonicalizationPolicy, algorithm: str, length: int | None = None) -> tuple[bytes, str, int]:
        """(canonical body cut to ``length``, its base64 SHA-256, bytes after ``length``)."""
        canonical = self._body(canon.body_algorithm.name)
        unsigned = 0
        if length is not None:
            unsigned = max(0, len(canonical) - length)
            canonical = canonical[:length]
        # the fast path admits sha256 algorithms only (validate)
        return canonical, base64.b64encode(hashlib.sha256(canonical).digest()).decode(), unsigned

    def _body(self, form: bytes) -> bytes:
        canonical = self._bodies.get(form)
        if canonical is None:
            canonical = self._bodies[form] = _BODY_FORMS[form](self.body)
        return canonical

    def _selected(self, include: list[bytes]) -> list[tuple[bytes, bytes]]:
        """The fields ``h=`` names, each name taken from the bottom up (RFC 6376 5.4.2)."""
        if self._by_name is None:
            self._by_name = {}
            for field in self.headers:
                self._by_name.setdefault(field[0].lower(), []).append(field)
        left = {}
        chosen = []
        for name in include:
            fields = left.get(name)
            if fields is None:
                fields = left[name] = list(self._by_name.get(name, ()))
            if fields:
                chosen.append(fields.pop())
        return chosen

    def check_with_key(self, idx: int, record: KeyRecord, sig: dict[bytes, bytes] | None = None,
                       sig_header: tuple[bytes, bytes] | None = None) -> bool:
        """Check ``bh=`` then ``b=`` of signature ``sig`` with the parsed key ``record``.

        Raises ``dkim.ValidationError`` on a body hash mismatch (as dkimpy does) and
        :class:`Fallback` for anything outside the plain case.
        """
        if sig is None or sig_header is None:
            raise Fallback("no parsed signature")
        try:
            return self._check(record, sig, sig_header)
        except (Fallback, dkim.ValidationError):
            raise
        except Exception as exc:  # whatever went wrong here, dkimpy's path decides
            raise Fallback(f"unexpected {type(exc).__name__} in the fast check") from exc

    def _check(self, record, sig: dict[bytes, bytes], sig_header: tuple[bytes, bytes]) -> bool:
        header_form, body_form = _CANONICALIZATION[sig.get(b"c", b"simple/simple")]
        body = self._body(body_form)
        if b"l" in sig:
            body = body[: int(sig[b"l"])]
        if hashlib.sha256(body).digest() != _base64(sig[b"bh"]):
            raise dkim.ValidationError("body hash mismatch")
        include = [name.lower() for name in _H_SEPARATOR.split(sig[b"h"])]
        if b"from" in include:
            include.append(b"from")  # extra From fields count too (as dkimpy does)
        name, value = sig_header[0], without_b(sig_header[1])
        if header_form == b"relaxed":
            signed = [relaxed_field(n, v) for n, v in self._selected(include)]
            signed.append(relaxed_field(name, value).rstrip())
        else:
            signed = [n + b":" + v for n, v in self._selected(include)]
            signed.append(name + b":" + value.rstrip())
        digest = hashlib.sha256(b"".join(signed)).digest()
        signature = _base64(sig[b"b"])
        if record.key_type == "rsa" and sig[b"a"] == b"rsa-sha256":
            return _rsa_verify(record, signature, digest)
        if record.key_type == "ed25519" and sig[b"a"] == b"ed25519-sha256" and len(signature) == 64:
            try:
                record.parsed.verify(digest, signature)
            except BadSignatureError:
                return False
            return True
        raise Fallback("key and signature outside the plain case")


def _timestamp(sig: dict[bytes, bytes], tag: bytes) -> int | None:
    value = sig.get(tag)
    if value is None:
        return None
    if not _NUMBER.fullmatch(value):
        raise Fallback(f"{tag.decode()}= is not a plain number")
    return int(value)


def _rsa_verify(record, signature: bytes, digest: bytes) -> bool:
    key = record.public_key
    modulus = record.parsed["modulus"] if isinstance(record.parsed, dict) else None
    if key is None or modulus is None:
        raise Fallback("RSA key OpenSSL did not load")
    size = (modulus.bit_length() + 7) // 8
    if len(signature) != size or int.from_bytes(signature, "big") >= modulus or size < 64:
        raise Fallback("a signature OpenSSL would refuse outright")
    try:
        key.verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


__all__ = ["Fallback", "FastMessage", "parse", "simple_body", "relaxed_body", "relaxed_field", "without_b"]
