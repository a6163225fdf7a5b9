"""DKIM (RFC 6376, RFC 8301, RFC 8463): sign a message, verify every signature on it.

Signing and the tag and canonicalisation rules are dkimpy's (the RSA arithmetic runs in
OpenSSL through ``cryptography``; plain messages are verified by the lean reader in
:mod:`labkit.auth.dkim_fast`, which hands anything unusual back to dkimpy, so results are
the same either way); this module adds what a learner needs:
one result per ``DKIM-Signature`` (dkimpy alone checks only the first), a precise
reason for each failure, warnings for the risky choices, and an explain mode that
shows the canonicalised headers and body and both body hashes::

    signed = lk.auth.dkim.sign(raw, domain="brand.example", selector="s2026",
                               private_key=lk.auth.dkim.lab_key("brand.example", "s2026"))
    for r in lk.auth.dkim.verify(signed, dns=lab_dns):
        print(r.result, r.reason)

Result values (RFC 8601 2.7.1) and the reason ``code`` behind them:

========== =============================================================
pass       ``ok``
fail       ``body-hash-mismatch`` (the body changed), ``signature-mismatch``
           (a signed header changed, or the wrong key), ``body-too-short``
           (``l=`` counts more body than there is, RFC 6376 3.5)
neutral    ``signature-syntax`` (the DKIM-Signature itself is malformed)
permerror  ``key-not-found``, ``key-revoked`` (``p=`` empty), ``key-syntax``,
           ``key-too-small``, ``key-mismatch``, ``from-not-signed``,
           ``expired`` (x= past, no leeway), ``future-timestamp`` (t= ahead),
           ``message-syntax``
temperror  ``dns-temperror`` (time-out or server failure fetching the key)
========== =============================================================

Two passes carry a caveat in their reason as well as in the warnings: a key record
with ``t=y`` (testing: RFC 6376 3.6.1 says the message MUST NOT be treated differently
from unsigned mail; ``DKIMResult.testing``) and ``rsa-sha1`` (RFC 8301 3.1 says it MUST
NOT be used for verifying; labkit still checks it so the lab can show why).

Introduced in lab 04 (DKIM).
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import re
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dkim
import dkim.util
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, utils
from dkim.canonicalization import CanonicalizationPolicy, InvalidCanonicalizationPolicyError

from .. import _coerce
from ..errors import UsageError
from . import dkim_fast
from .dkim_keys import (
    MIN_RSA_BITS,
    RECOMMENDED_RSA_BITS,
    KeyLookup,
    KeyPair,
    KeyRecord,
    generate_key,
    key_name,
    lab_key,
    lookup_key,
    parse_key_record,
    public_txt,
    signing_key,
    split_txt,
)

log = logging.getLogger(__name__)

RESULT_FOR_CODE = {
    "ok": "pass",
    "body-hash-mismatch": "fail",
    "signature-mismatch": "fail",
    "body-too-short": "fail",
    "signature-syntax": "neutral",
    "key-not-found": "permerror",
    "key-revoked": "permerror",
    "key-syntax": "permerror",
    "key-too-small": "permerror",
    "key-mismatch": "permerror",
    "from-not-signed": "permerror",
    "expired": "permerror",
    "future-timestamp": "permerror",
    "message-syntax": "permerror",
    "dns-temperror": "temperror",
}

MAX_SIGNATURES = 10  # a verifier may stop early (RFC 6376 6.1); each one can cost a DNS time-out

_HASHES = {"rsa-sha256": hashlib.sha256, "rsa-sha1": hashlib.sha1, "ed25519-sha256": hashlib.sha256}


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value.decode("utf-8", "replace")


def _as_bytes(message: bytes | str) -> bytes:
    # str: bytes decoded with surrogateescape come back as they were; an EmailMessage is
    # rendered; anything else (an int, a list, None) is a TypeError that says what to pass
    return _coerce.message_bytes(message)


# ------------------------------------------------------------------------- results
@dataclass(frozen=True, kw_only=True)
class DKIMExplanation:
    """What a verifier computed for one signature, for a learner to inspect.

    ``canonical_headers``: the signed header fields after header canonicalisation,
    in hashing order (the DKIM-Signature itself last, with ``b=`` emptied);
    ``signed_data``: the exact bytes fed to the header hash; ``canonical_body``:
    the body after body canonicalisation (cut to ``l=`` when present);
    ``body_hash_declared`` (``bh=``) and ``body_hash_computed`` (base64).
    """

    canonicalization: str
    canonical_headers: tuple[tuple[str, str], ...]
    signed_data: bytes
    canonical_body: bytes
    body_hash_declared: str
    body_hash_computed: str
    unsigned_body_bytes: int = 0

    @property
    def body_hash_matches(self) -> bool:
        """Does the body hash the signer declared (``bh=``) equal the one computed here?"""
        return self.body_hash_declared == self.body_hash_computed

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {
            "canonicalization": self.canonicalization,
            "canonical_headers": [list(h) for h in self.canonical_headers],
            "signed_data": _text(self.signed_data),
            "canonical_body": _text(self.canonical_body),
            "body_hash_declared": self.body_hash_declared,
            "body_hash_computed": self.body_hash_computed,
            "body_hash_matches": self.body_hash_matches,
            "unsigned_body_bytes": self.unsigned_body_bytes,
        }

    def __str__(self) -> str:
        lines = [f"canonicalization c={self.canonicalization}", "signed header data (as hashed):"]
        lines += ["  " + line for line in _text(self.signed_data).split("\r\n")]
        body = _text(self.canonical_body)
        if len(body) > 2000:
            body = body[:2000] + f"... ({len(self.canonical_body)} bytes)"
        lines.append("canonical body:")
        lines += ["  " + line for line in body.split("\r\n")]
        lines.append(f"bh= declared : {self.body_hash_declared}")
        lines.append(f"bh= computed : {self.body_hash_computed}"
                     + ("  (match)" if self.body_hash_matches else "  (MISMATCH)"))
        if self.unsigned_body_bytes:
            lines.append(f"{self.unsigned_body_bytes} body bytes after l= are not covered by the signature")
        return "\n".join(lines)


@dataclass(frozen=True, kw_only=True)
class DKIMResult:
    """The verdict on one DKIM-Signature header field.

    ``result``: pass, fail, neutral, temperror or permerror; ``code``: the precise
    reason as a token (see the module docstring); ``reason``: the same in words.
    ``warnings`` lists risky but legal choices (``l=``, rsa-sha1, short keys,
    From not over-signed). ``steps`` is the verifier's trace. ``explanation`` is
    set when ``verify(..., explain=True)``. ``header_b`` is the first 8 characters
    of ``b=`` (``header.b``, RFC 6008), which tells two signatures of one domain apart.
    ``testing`` is True when the key record says ``t=y``: RFC 6376 3.6.1 then forbids
    treating the message differently from unsigned mail, whatever ``result`` says.
    """

    result: str
    code: str
    reason: str
    domain: str = ""
    selector: str = ""
    algorithm: str = ""
    identity: str = ""
    canonicalization: str = ""
    signed_headers: tuple[str, ...] = ()
    body_length: int | None = None
    key_type: str = ""
    key_bits: int = 0
    index: int = 0
    header_b: str = ""
    testing: bool = False
    warnings: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    explanation: DKIMExplanation | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when this signature verified (``pass``)."""
        return self.result == "pass"

    @property
    def header_d(self) -> str:
        """``header.d`` for Authentication-Results (the signing domain)."""
        return self.domain

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        data = {
            "result": self.result,
            "code": self.code,
            "reason": self.reason,
            "domain": self.domain,
            "selector": self.selector,
            "algorithm": self.algorithm,
            "identity": self.identity,
            "canonicalization": self.canonicalization,
            "signed_headers": list(self.signed_headers),
            "body_length": self.body_length,
            "key_type": self.key_type,
            "key_bits": self.key_bits,
            "index": self.index,
            "header_b": self.header_b,
            "testing": self.testing,
            "warnings": list(self.warnings),
            "steps": list(self.steps),
        }
        if self.explanation is not None:
            data["explanation"] = self.explanation.to_dict()
        return data

    def _head(self) -> str:
        return (f"dkim={self.result} (d={self.domain or '?'} s={self.selector or '?'} "
                f"a={self.algorithm or '?'}): {self.reason}")

    def __str__(self) -> str:
        return "\n".join([self._head()] + [f"  ! {w}" for w in self.warnings])

    def explain(self) -> str:
        """The trace (each warning where it was found) and, if computed, the canonical
        forms, as text."""
        lines = [self._head(), "steps:"] + [f"  {i}. {s}" for i, s in enumerate(self.steps, 1)]
        lines += [f"  ! {w}" for w in self.warnings if f"warning: {w}" not in self.steps]
        if self.explanation is not None:
            lines.append(str(self.explanation))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = {"pass": "#1a7f37", "fail": "#cf222e"}.get(self.result, "#9a6700")
        # a warning is in the trace where it was found: marked there, not listed twice
        items = "".join(f"<li>&#9888; {html.escape(s[9:])}</li>" if s.startswith("warning: ")
                        else f"<li>{html.escape(s)}</li>" for s in self.steps)
        warns = "".join(f"<li>&#9888; {html.escape(w)}</li>" for w in self.warnings
                        if f"warning: {w}" not in self.steps)
        return (
            f"<div><b style='color:{colour}'>dkim={html.escape(self.result)}</b> "
            f"d={html.escape(self.domain)} s={html.escape(self.selector)} "
            f"a={html.escape(self.algorithm)} &mdash; {html.escape(self.reason)}"
            f"<ol>{items}</ol>{'<ul>' + warns + '</ul>' if warns else ''}</div>"
        )


# --------------------------------------------------------------------------- signing
def _canon_pair(canonicalization: Sequence[str] | str) -> tuple[bytes, bytes]:
    if isinstance(canonicalization, str):
        parts = canonicalization.split("/")
        if len(parts) == 1:
            parts.append("simple")
    elif isinstance(canonicalization, (list, tuple)):
        parts = list(canonicalization)
    else:  # None, a number, bytes: not a way to canonicalize
        parts = []
    parts = [p.strip().lower() if isinstance(p, str) else p for p in parts]
    if len(parts) != 2 or any(p not in ("simple", "relaxed") for p in parts):
        raise UsageError(f"canonicalization must be simple|relaxed for header and body, not {canonicalization!r}")
    return parts[0].encode(), parts[1].encode()


def _private_pem(private_key: Any) -> bytes:
    """The PEM bytes of a signing key given as bytes, str or a KeyPair; a TypeError otherwise."""
    if isinstance(private_key, KeyPair):
        private_key = private_key.private_pem
    if not isinstance(private_key, (bytes, bytearray, str)):
        raise TypeError("private_key must be a PEM key (bytes or str) or a KeyPair, e.g. "
                        "lk.auth.dkim.lab_key('brand.example', 's2026'), not "
                        f"{type(private_key).__name__}")
    if isinstance(private_key, str):
        private_key = private_key.encode("ascii", "replace")
    return bytes(private_key)


def _named(**names: str) -> None:
    """An empty d= or s= would make a signature no verifier can use: refuse it at the call."""
    for what, value in names.items():
        if not value:
            raise UsageError(f"{what} is empty: a DKIM or ARC signature names its {what}")


def _header_names(headers: Any) -> list[bytes]:
    """``headers=``: a list of field names; one string (its letters would be names) or a
    dict (its keys) is refused."""
    names = _coerce.sequence(headers, "headers", of="field names such as ['From', 'To', 'Subject']")
    for name in names:
        _coerce.text(name, "each name in headers", example="From")
    return [name.strip().lower().encode("ascii", "replace") for name in names]


def sign(
    message: bytes | str,
    *,
    domain: str,
    selector: str,
    private_key: bytes | str | KeyPair,
    headers: Sequence[str] | None = None,
    canonicalization: Sequence[str] | str = ("relaxed", "relaxed"),
    body_length: bool | None = None,
    algorithm: str | None = None,
    identity: str | None = None,
) -> bytes:
    """Sign ``message`` and return it with a ``DKIM-Signature`` header on top.

    ``headers``: the header fields to sign, in ``h=`` order; a name listed more
    often than it occurs is *over-signed* (no such field may be added later).
    The default signs RFC 6376's recommended fields present in the message and
    over-signs From. ``canonicalization``: (header, body), each ``simple`` or
    ``relaxed``. ``body_length=True`` adds ``l=`` (dangerous: anything appended
    to the body still verifies); it is True, False or None, and text is a
    ``TypeError``. ``algorithm`` defaults to the key's
    (``rsa-sha256`` or ``ed25519-sha256``); ``rsa-sha1`` is accepted for the
    lesson on why it is obsolete, and so is an RSA key under 1024 bits, with a warning.

    Introduced in lab 04 (DKIM).
    """
    raw = _as_bytes(message)
    domain = _coerce.domain(domain, "domain", lower=False)
    selector = _coerce.text(selector, "selector", example="s2026").strip()
    _named(domain=domain, selector=selector)
    key = signing_key(_private_pem(private_key))
    if key.key_type == "rsa" and key.bits < MIN_RSA_BITS:
        # signed all the same: showing that a verifier refuses it is a lesson of lab 04
        warnings.warn(f"signing with an RSA key of {key.bits} bits: RFC 8301 3.2 requires "
                      f"signers to use at least {MIN_RSA_BITS} bits, and verifiers refuse "
                      "the signature (permerror key-too-small)", stacklevel=2)
    if algorithm:
        _coerce.text(algorithm, "algorithm", example="rsa-sha256")
    if identity:
        identity = _coerce.text(identity, "identity", example="@brand.example")
    algo = (algorithm or key.algorithm).strip().lower()
    if algo not in _HASHES:
        raise UsageError(f"algorithm must be one of {sorted(_HASHES)}, not {algorithm!r}")
    if (algo == "ed25519-sha256") != (key.key_type == "ed25519"):
        raise UsageError(f"a {key.key_type} key cannot make {algo} signatures")
    body_length = False if body_length is None else _coerce.flag(body_length, "body_length")
    canon = _canon_pair(canonicalization)
    linesep = dkim.util.get_linesep(raw)
    try:
        signer = _Signer(raw, key.rsa_key, signature_algorithm=algo.encode(), linesep=linesep, minkey=0)
    except dkim.DKIMException as exc:
        raise UsageError(f"cannot sign this message: {exc}") from None
    if headers is None:
        include = None
        if not any(name.lower() == b"from" for name, _ in signer.headers):
            raise UsageError("the message has no From header field; DKIM requires signing From")
    else:
        include = _header_names(headers)
        if b"from" not in include:
            raise UsageError("h= must include From (RFC 6376 5.4)")
    try:
        sig = signer.sign(
            selector.encode("ascii"),
            domain.encode("ascii"),
            key.material,
            identity=identity.encode("ascii") if identity else None,
            canonicalize=canon,
            include_headers=include,
            length=body_length,
        )
    except (dkim.DKIMException, UnicodeEncodeError) as exc:
        raise UsageError(f"cannot sign: {exc}") from None
    return sig + raw


class _Signer(dkim.DKIM):
    """dkimpy's signer with the RSA step done by ``cryptography`` (OpenSSL).

    dkimpy computes RSA in pure Python (about 20 ms per 2048-bit signature); the
    header building, folding and hashing below follow dkimpy's ``gen_header``
    step by step, so the output is byte-for-byte what dkimpy writes.
    """

    def __init__(self, message: bytes, rsa_key, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self._rsa_key = rsa_key

    def gen_header(self, fields, include_headers, canon_policy, header_name, pk, standardize=False):
        if self._rsa_key is None or standardize or not self.signature_algorithm.startswith(b"rsa-"):
            return super().gen_header(fields, include_headers, canon_policy, header_name, pk, standardize)
        value = dkim.fold(b"; ".join(b"=".join(x) for x in fields), namelen=len(header_name), linesep=b"\r\n")
        value = dkim.RE_BTAG.sub(b"\\1", value)
        hasher = self.hasher()
        headers = canon_policy.canonicalize_headers(self.headers)
        self.signed_headers = dkim.hash_headers(
            hasher, canon_policy, headers, include_headers, (header_name, b" " + value), dict(fields)
        )
        digest = _CRYPTO_HASHES[self.signature_algorithm]()
        signature = self._rsa_key.sign(hasher.digest(), padding.PKCS1v15(), utils.Prehashed(digest))
        fields = [(k, base64.b64encode(signature)) if k == b"b" else (k, v) for k, v in fields]
        value = b"; ".join(b"=".join(x) for x in fields) + self.linesep
        return dkim.fold(value, namelen=len(header_name), linesep=self.linesep)


_CRYPTO_HASHES = {b"rsa-sha256": hashes.SHA256, b"rsa-sha1": hashes.SHA1}


# ------------------------------------------------------------------------ verifying
class _Verifier(dkim.DKIM):
    """dkimpy's verifier given an already fetched and parsed key (no DNS inside).

    The RSA step runs in OpenSSL (``cryptography``) instead of dkimpy's pure-Python
    arithmetic; everything before it (tag checks, body and header canonicalisation,
    hashing, the errors raised) follows dkimpy's ``verify_sig_process``, so results and
    reasons do not change.  Odd signatures (not exactly the modulus length, or not
    below the modulus) and Ed25519 keys (PyNaCl, already native) go through dkimpy.
    """

    _public_key = None

    @staticmethod
    def tags(value: bytes) -> dict:
        """The DKIM-Signature tag list, as dkimpy parses it."""
        return dkim.util.parse_tag_value(value)

    @staticmethod
    def validate(sig: dict) -> None:
        """dkimpy's checks of the tag values (raises ``dkim.ValidationError``)."""
        dkim.validate_signature_fields(sig)

    def body_hash(self, canon: CanonicalizationPolicy, algorithm: str,
                  length: int | None = None) -> tuple[bytes, str, int]:
        """:func:`canonical_body_hash` of this message's body."""
        return canonical_body_hash(self.body, canon, algorithm, length)

    def check_with_key(self, idx: int, record: KeyRecord, sig: dict | None = None,
                       sig_header: tuple | None = None) -> bool:
        """dkimpy's check of signature ``idx`` (parsed again from the message) with ``record``."""
        prep = self.verify_headerprep(idx)
        if not prep:
            raise dkim.ValidationError("no such signature")
        sig, include_headers, sigheaders = prep
        self.pk = record.parsed
        self.keysize = record.bits
        self.ktag = record.key_type.encode()
        self.seqtlsrpt = False
        self._public_key = record.public_key
        return bool(self.verify_sig_process(sig, include_headers, sigheaders[idx], None))

    def verify_sig_process(self, sig, include_headers, sig_header, dnsfunc):
        if self.ktag != b"rsa" or self._public_key is None or self.tlsrpt or self.seqtlsrpt:
            return super().verify_sig_process(sig, include_headers, sig_header, dnsfunc)
        try:
            canon = CanonicalizationPolicy.from_c_value(sig.get(b"c", b"simple/simple"))
        except InvalidCanonicalizationPolicyError as exc:
            raise dkim.MessageFormatError(f"invalid c= value: {exc.args[0]}") from None
        new_hash = dkim.HASH_ALGORITHMS[sig[b"a"]]
        if b"bh" in sig:
            body = canon.canonicalize_body(self.body)
            if b"l" in sig:
                body = body[: int(sig[b"l"])]
            computed = new_hash(body).digest()
            declared = base64.b64decode(re.sub(rb"\s+", b"", sig[b"bh"]))
            if computed != declared:
                raise dkim.ValidationError(
                    f"body hash mismatch (got {base64.b64encode(computed)}, expected {sig[b'bh']})")
        if b"from" in include_headers:
            include_headers.append(b"from")  # extra From fields count too (as dkimpy does)
        header_hash = new_hash()
        headers = canon.canonicalize_headers(self.headers)
        self.signed_headers = dkim.hash_headers(header_hash, canon, headers, include_headers, sig_header, sig)
        signature = base64.b64decode(re.sub(rb"\s+", b"", sig[b"b"]))
        modulus = self.pk["modulus"]
        size = (modulus.bit_length() + 7) // 8
        if len(signature) != size or int.from_bytes(signature, "big") >= modulus or size < 64:
            try:  # the cases OpenSSL would refuse outright: let dkimpy judge them
                return dkim.RSASSA_PKCS1_v1_5_verify(header_hash, signature, self.pk)
            except (TypeError, dkim.DigestTooLargeError) as exc:
                raise dkim.KeyFormatError(f"digest too large for modulus: {exc}") from None
        try:
            self._public_key.verify(signature, header_hash.digest(), padding.PKCS1v15(),
                                    utils.Prehashed(_CRYPTO_HASHES[sig[b"a"]]()))
        except InvalidSignature:
            return False
        return True


_SIG_HEADER = re.compile(rb"^dkim-signature[ \t]*:", re.IGNORECASE | re.MULTILINE)


def _tag(value: bytes, tag: bytes) -> bytes:
    m = re.search(rb"(?:^|;)\s*" + tag + rb"\s*=\s*([^;]*)", value)
    return re.sub(rb"\s+", b"", m.group(1)) if m else b""


def _lenient_signature_count(raw: bytes) -> int:
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    return len(_SIG_HEADER.findall(head))


_H_SEPARATOR = re.compile(rb"\s*:\s*")


def _split_h(value: bytes) -> list[bytes]:
    return [x.strip().lower() for x in _H_SEPARATOR.split(value.strip()) if x.strip()]


def _linear_relaxed_body_in_dkimpy() -> None:
    """Give dkimpy's ``Relaxed`` canonicalisation the linear body form of :mod:`dkim_fast`.

    dkimpy strips blanks at line ends with the regex ``[\\t ]+\\r\\n``, which re-scans a
    run of blanks that does not end its line from each of its positions: quadratic in
    the run's length (measured: a 1 MB body of lines ``x<997 spaces>y`` costs 1.6 s of
    CPU; one 160 kB run, 49 s).  dkimpy runs it when it signs (DKIM and ARC), when it
    verifies an ARC set, and on our own dkimpy path, so a mail with long blank runs
    could tie up a receiver.  :func:`dkim_fast.relaxed_body` gives the same bytes
    (tests compare it with dkimpy's own helper functions on random bodies) in one
    pass; it replaces dkimpy's for the whole process, so every caller is covered.
    """
    dkim.canonicalization.Relaxed.canonicalize_body = staticmethod(dkim_fast.relaxed_body)


_linear_relaxed_body_in_dkimpy()


_RFC822_NAME = re.compile(rb"([\x21-\x7e]+?):")


def _rfc822_parse(message: bytes) -> tuple[list[list[bytes]], bytes]:
    """dkimpy's ``rfc822_parse`` (same fields, body and errors) in linear time.

    dkimpy appends each continuation line to the field's value, copying the value
    every time: quadratic in the number of continuation lines (measured: one field
    folded over 640,000 short lines, 2.5 MB, kept ARC verification busy for 39 s).
    Here the lines of a field are joined once.
    """
    headers: list[list] = []
    lines, rest = _split_head(message)
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:  # the end of the header block: the rest is the body
            i += 1
            break
        if line[0] in (0x09, 0x20):
            headers[-1][1].append(line)  # (an IndexError before any field, as in dkimpy)
        else:
            m = _RFC822_NAME.match(line)
            if m is not None:
                headers.append([m.group(1), [line[m.end(0):]]])
            elif not line.startswith(b"From "):
                shown = f"{line!s}"
                shown = shown[:80] + " ..." if len(shown) > 80 else shown  # one readable line
                raise dkim.MessageFormatError(f"Unexpected characters in RFC822 header: {shown}")
        i += 1
    fields = [[name, b"\r\n".join(pieces) + b"\r\n"] for name, pieces in headers]
    if rest is None:
        return fields, b"\r\n".join(lines[i:])
    if rest.count(b"\n") != rest.count(b"\r\n"):  # bare LFs: every line end as CRLF
        rest = rest.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return fields, rest


def _split_head(message: bytes) -> tuple[list[bytes], bytes | None]:
    """The lines up to and including the first empty one, and the bytes after it
    (None when there is no empty line: then ``lines`` is every line).

    Lines end at CRLF or a bare LF, as in dkimpy. Only the header block is split into
    lines: splitting a 10 MB body too, to join it again, cost ~0.1 s per parse.
    """
    if message.startswith((b"\n", b"\r\n")):  # no header at all
        return [b""], message[message.index(b"\n") + 1:]
    # the first empty line: a line end right after a line end
    ends = [at for at in (message.find(b"\n\n"), message.find(b"\n\r\n")) if at >= 0]
    if not ends:
        return re.split(b"\r?\n", message), None
    cut = min(ends)
    lines = re.split(b"\r?\n", message[: cut + 1])  # ends with the empty line (b"")
    return lines, message[cut + 2:] if message[cut + 1] == 0x0A else message[cut + 3:]


def _select_headers(headers: list, include_headers: list) -> list:
    """dkimpy's ``select_headers`` (the same fields, in the same order) in linear time.

    For each name of ``h=`` the next field of that name from the bottom up (RFC 6376
    5.4.2).  dkimpy searches the header list backwards for each name: an ``h=`` of
    8,000 names absent from 8,000 fields cost 4.6 s, before any signature check.
    """
    by_name: dict = {}
    for one in headers:
        by_name.setdefault(one[0].lower(), []).append(one)
    chosen = []
    for name in include_headers:
        assert name == name.lower()  # (as dkimpy asserts)
        fields = by_name.get(name)
        if fields:
            chosen.append(fields.pop())
    return chosen


# dkimpy's RE_BTAG spells folding white space as (?:(?:\s*\r?\n)?\s+)? before "=" and
# before each base64 character.  That matches exactly the runs \s* matches (CR and LF
# are \s), and each run must end at a non-space character, so every match is the same;
# but its nested quantifiers try each way of splitting a run at its line breaks:
# quadratic in the length of a run of folded blank lines after "b=" (60 kB: 11 s).
_RE_BTAG = re.compile(rb"([;\s]b\s*=)(?:\s*[a-zA-Z0-9+/=])*(?:\r?\n\Z)?")


# dkimpy's test of a b= value, r"[\s0-9A-Za-z+/]+[\s=]*$", with the first run atomic:
# the same strings match (the white space the first run gives back, the second takes), but
# a value that does not match is no longer tried at every split of its white space
# (quadratic: a b= value followed by 20,000 folded blank lines took 10 s to refuse).
# A look-ahead never backtracks into itself once it matched, so (?=(run))\1 is an atomic
# run; the possessive ++ would say the same but needs Python 3.11 (we support 3.10).
_B_VALUE = re.compile(rb"(?=([\s0-9A-Za-z+/]+))\1[\s=]*$")
_dkimpy_validate_signature_fields = dkim.validate_signature_fields


def _validate_signature_fields(sig, mandatory_fields=None, arc=False):
    """dkimpy's ``validate_signature_fields``, refusing a bad ``b=`` in linear time.

    A ``b=`` value dkimpy's pattern accepts goes to dkimpy as it is (the pattern then
    matches at once).  For one it refuses, dkimpy checks a copy whose ``b=`` is refused
    at once: the checks before ``b=`` (mandatory tags, ``a=``) raise what they would have
    raised, and otherwise the ``b=`` error is raised with the real value, word for word.
    """
    args = (mandatory_fields,) if mandatory_fields is not None else ()
    value = sig.get(b"b") if isinstance(sig, dict) else None
    if not isinstance(value, bytes) or _B_VALUE.match(value) is not None:
        return _dkimpy_validate_signature_fields(sig, *args, arc=arc)
    try:
        _dkimpy_validate_signature_fields(dict(sig) | {b"b": b"!"}, *args, arc=arc)
    except dkim.ValidationError as exc:
        if str(exc) != "b= value is not valid base64 (b'!')":
            raise
    raise dkim.ValidationError(f"b= value is not valid base64 ({value!s})")


def _linear_header_parsing_in_dkimpy() -> None:
    """Give dkimpy linear-time equivalents of its header parser, its ``h=`` field
    selection, its ``b=`` removal and its ``b=`` check, for the whole process (like the
    body form above).

    dkimpy parses every message that has an ``ARC-Seal`` field, and every message the
    fast path hands back, so a crafted header block could tie up a receiver.  Tests
    hold each replacement against dkimpy's own on random input.
    """
    dkim.rfc822_parse = _rfc822_parse
    dkim.select_headers = _select_headers
    dkim.RE_BTAG = _RE_BTAG
    dkim.validate_signature_fields = _validate_signature_fields


_linear_header_parsing_in_dkimpy()


def canonical_body_hash(
    body: bytes, canon: CanonicalizationPolicy, algorithm: str, length: int | None = None
) -> tuple[bytes, str, int]:
    """(canonical body cut to ``length``, its base64 hash, bytes left unsigned after ``length``)."""
    canonical = canon.canonicalize_body(body)
    unsigned = 0
    if length is not None:
        unsigned = max(0, len(canonical) - length)
        canonical = canonical[:length]
    digest = _HASHES.get(algorithm, hashlib.sha256)(canonical).digest()
    return canonical, base64.b64encode(digest).decode(), unsigned


def _explanation(verifier: dkim.DKIM, sig: dict, sig_header: tuple, include: list[bytes]) -> DKIMExplanation:
    algorithm = _text(sig.get(b"a", b"rsa-sha256"))
    canon = CanonicalizationPolicy.from_c_value(sig.get(b"c", b"simple/simple"))
    length = int(sig[b"l"]) if b"l" in sig else None
    body, computed, unsigned = canonical_body_hash(verifier.body, canon, algorithm, length)
    hasher = dkim.HashThrough(_HASHES.get(algorithm, hashlib.sha256)(), debug=True)
    headers = canon.canonicalize_headers(verifier.headers)
    chosen = list(include) + ([b"from"] if b"from" in include else [])  # as dkimpy verifies
    signed = dkim.hash_headers(hasher, canon, headers, chosen, sig_header, sig)
    sig_canon = canon.canonicalize_headers([(sig_header[0], dkim.RE_BTAG.sub(b"\\1", sig_header[1]))])
    shown = [(_text(n), _text(v).rstrip("\r\n")) for n, v in list(signed) + sig_canon]
    return DKIMExplanation(
        canonicalization=_text(canon.to_c_value()),
        canonical_headers=tuple(shown),
        signed_data=hasher.hashed(),
        canonical_body=body,
        body_hash_declared=_text(re.sub(rb"\s+", b"", sig.get(b"bh", b""))),
        body_hash_computed=computed,
        unsigned_body_bytes=unsigned,
    )


class _Check:
    """Collects the trace and warnings for one signature, then builds the result."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.steps: list[str] = []
        self.warnings: list[str] = []
        self.facts: dict = {"index": index}

    def warn(self, text: str) -> None:
        """A risky but legal choice: listed in ``warnings`` and, where it was found, in the
        trace (``Verdict.explain(detail=True)`` prints the trace, not the warnings)."""
        self.warnings.append(text)
        self.steps.append(f"warning: {text}")

    def done(self, code: str, reason: str, explanation: DKIMExplanation | None = None) -> DKIMResult:
        result = RESULT_FOR_CODE[code]
        self.steps.append(f"result: dkim={result} ({code})")
        return DKIMResult(
            result=result,
            code=code,
            reason=reason,
            warnings=tuple(self.warnings),
            steps=tuple(self.steps),
            explanation=explanation,
            **self.facts,
        )


def _signature_warnings(check: _Check, sig: dict, include: list[bytes]) -> None:
    algorithm = _text(sig.get(b"a"))
    if b"l" in sig:
        check.warn(
            f"l={_text(sig[b'l'])}: only the first {_text(sig[b'l'])} body bytes are signed; "
            "text appended after them (a new link, another MIME part) still verifies"
        )
    if algorithm == "rsa-sha1":
        check.warn("rsa-sha1 is obsolete: RFC 8301 3.1 says it MUST NOT be used for signing or verifying "
                   "(SHA-1 collisions can be forged); labkit checks it only to show why. Use rsa-sha256")
    if include.count(b"from") == 1:
        check.warn(
            "From is signed once but not over-signed: a verifier that ignores extra From fields "
            "would accept a second From added above it"
        )


def _verify_one(verifier: _Verifier | dkim_fast.FastMessage, raw_value: bytes, idx: int, sig_header: tuple,
                resolver, keys: dict, explain: bool, prefetched: dict) -> DKIMResult:
    """One signature: the same steps, warnings and reasons whichever ``verifier`` does the
    parsing and hashing (dkimpy's, or the fast path, which raises ``Fallback`` when unsure)."""
    check = _Check(idx)
    check.steps.append(f"DKIM-Signature #{idx + 1}: parse the tag list")
    try:
        sig = verifier.tags(raw_value)
    except dkim_fast.Fallback:
        raise
    except dkim.util.DuplicateTag as exc:
        return check.done("signature-syntax", f"the DKIM-Signature is invalid: tag {_text(exc.args[0])}= occurs "
                          "more than once, and RFC 6376 3.2 makes such a tag list invalid as a whole")
    except Exception as exc:
        return check.done("signature-syntax", f"the DKIM-Signature is not a valid tag list: {exc}")
    check.facts.update(
        domain=_text(sig.get(b"d")).lower(),
        selector=_text(sig.get(b"s")),
        algorithm=_text(sig.get(b"a")).lower(),
        identity=_text(sig.get(b"i")),
        canonicalization=_text(sig.get(b"c", b"simple/simple")),
        signed_headers=tuple(_text(h) for h in _split_h(sig.get(b"h", b""))),
        header_b=_text(b"".join(sig.get(b"b", b"").split())[:8]),  # split() splits on exactly \s
    )
    try:
        verifier.validate(sig)
    except dkim.ValidationError as exc:
        text = str(exc)
        code = ("expired" if "x= value is past" in text else
                "future-timestamp" if "in the future" in text else "signature-syntax")
        return check.done(code, f"signature rejected: {text}")
    expired = _expired(sig)
    if expired:
        return check.done("expired", expired)
    try:
        canon = CanonicalizationPolicy.from_c_value(sig.get(b"c", b"simple/simple"))
    except InvalidCanonicalizationPolicyError as exc:
        return check.done("signature-syntax", f"unknown canonicalization c={exc}")
    if b"l" in sig:
        check.facts["body_length"] = int(sig[b"l"])
    include = _split_h(sig[b"h"])
    _signature_warnings(check, sig, include)
    check.steps.append(
        f"tags ok: d={check.facts['domain']} s={check.facts['selector']} a={check.facts['algorithm']} "
        f"c={_text(canon.to_c_value())} h={':'.join(_text(h) for h in include)}"
    )
    if b"from" not in include:
        check.warn("From is not signed: the signature says nothing about the visible sender")
        return check.done("from-not-signed", "h= does not include From; RFC 6376 6.1.1 requires ignoring such a signature")

    name = key_name(check.facts["selector"], check.facts["domain"])
    lookup: KeyLookup | None = keys.get(name)
    if lookup is None:
        lookup = keys[name] = prefetched.get(name) or _fetch_key(resolver, name)
        check.steps.append(f"DNS: TXT {name} -> {lookup.status}")
    else:
        check.steps.append(f"DNS: TXT {name} -> {lookup.status} (already fetched for an earlier signature)")
    if lookup.temporary:
        return check.done("dns-temperror", f"key look-up failed temporarily: {lookup.detail}")
    if lookup.status != "found":
        return check.done("key-not-found", f"no key published at {name}: {lookup.detail}")
    if lookup.count > 1:
        check.warn(f"{lookup.count} TXT records at {name}; the first one was used")
    record = parse_key_record(lookup.text)
    check.facts.update(key_type=record.key_type, key_bits=record.bits)
    if record.problem == "revoked":
        return check.done("key-revoked", f"the key at {name} is revoked (empty p=)")
    if record.problem is not None:
        return check.done("key-syntax", f"the key record at {name} is unusable: {record.detail}")
    check.steps.append(f"key: k={record.key_type}, {record.bits} bits")
    if "y" in record.flags:
        check.facts["testing"] = True
        check.warn("the key record has t=y: the domain is testing DKIM, and RFC 6376 3.6.1 says a verifier "
                   "MUST NOT treat the message differently from unsigned mail, even when the signature fails")
    expected_type = "ed25519" if check.facts["algorithm"].startswith("ed25519") else "rsa"
    if record.key_type != expected_type:
        return check.done("key-mismatch", f"a={check.facts['algorithm']} needs a {expected_type} key, but {name} holds k={record.key_type}")
    hash_name = check.facts["algorithm"].split("-")[-1]
    if record.hashes and hash_name not in record.hashes:
        return check.done("key-mismatch", f"the key allows h={':'.join(record.hashes)} only, the signature uses {hash_name}")
    if "s" in record.flags and check.facts["identity"]:
        ident_domain = check.facts["identity"].rsplit("@", 1)[-1].lower()
        if ident_domain != check.facts["domain"]:
            return check.done("key-mismatch", f"the key has t=s, so i= must be in exactly d={check.facts['domain']}")
    if record.key_type == "rsa" and record.bits < MIN_RSA_BITS:
        check.warn(f"the RSA key has only {record.bits} bits; keys under {MIN_RSA_BITS} bits are breakable")
        return check.done("key-too-small", f"RSA key of {record.bits} bits is below the {MIN_RSA_BITS}-bit minimum (RFC 8301)")
    if record.key_type == "rsa" and record.bits < RECOMMENDED_RSA_BITS:
        check.warn(f"the RSA key has {record.bits} bits; RFC 8301 asks signers for {RECOMMENDED_RSA_BITS} or more")

    explanation = None
    if explain:
        try:
            explanation = _explanation(verifier, sig, sig_header, include)
        except Exception as exc:  # explanation is a bonus; never fail the verdict on it
            log.debug("no explanation for signature %d: %s", idx, exc)
    if b"l" in sig:
        length = check.facts["body_length"]
        size = len(verifier.body_hash(canon, check.facts["algorithm"])[0])
        if size < length:
            check.steps.append(f"l={length}, but the canonical body has {size} octets")
            return check.done("body-too-short",
                              f"l={length} but the canonical body has only {size} octets: RFC 6376 3.5 says l= MUST "
                              "NOT be larger than the body, so part of what was signed is missing", explanation)
        if size > length:
            check.warn(f"{size - length} body bytes after l= are not covered by the signature")
    check.steps.append("hash the canonical body and compare with bh=")
    try:
        good = verifier.check_with_key(idx, record, sig, sig_header)
    except dkim.ValidationError as exc:
        if "body hash mismatch" in str(exc):
            declared = _text(re.sub(rb"\s+", b"", sig[b"bh"]))
            computed = verifier.body_hash(canon, check.facts["algorithm"], check.facts.get("body_length"))[1]
            check.steps.append(f"bh= declared {declared}, computed {computed}: different")
            return check.done("body-hash-mismatch",
                              f"body hash mismatch: the body was changed after signing (bh= {declared}, computed {computed})",
                              explanation)
        return check.done("signature-syntax", f"signature rejected: {exc}", explanation)
    except dkim_fast.Fallback:
        raise
    except Exception as exc:  # dkimpy/nacl errors on malformed signature bytes
        check.steps.append(f"the signature could not be checked: {exc}")
        return check.done("signature-mismatch", f"signature does not verify: {exc}", explanation)
    check.steps.append("body hash matches; check b= over the signed header fields with the public key")
    if not good:
        return check.done("signature-mismatch",
                          "signature mismatch: the body is intact but a signed header field changed, or b= was made with another key",
                          explanation)
    check.steps.append("signature valid")
    reason = f"good signature by {check.facts['domain']} (selector {check.facts['selector']})"
    if check.facts["algorithm"] == "rsa-sha1":
        reason += ", but made with rsa-sha1, which RFC 8301 3.1 says MUST NOT be used for verifying"
    if check.facts.get("testing"):
        reason += ("; the key has t=y (testing), so RFC 6376 3.6.1 says the message MUST NOT be treated "
                   "differently from unsigned mail")
    return check.done("ok", reason, explanation)


def _expired(sig: dict, now: float | None = None) -> str:
    """Why the signature has expired (``x=`` before now), or ""; RFC 6376 3.5 and 6.1.1.

    No leeway: ``x=`` is the signer's own deadline, and only the verifier's clock is
    involved (dkimpy allows 10 hours, so a signature that expired an hour ago passed).
    The leeway for a ``t=`` ahead of the verifier's clock (the signer's clock) stays.
    """
    value = sig.get(b"x")
    if value is None or not value.strip().isdigit():
        return ""  # (a malformed x= was refused by validate)
    deadline = int(value)
    now = int(time.time() if now is None else now)
    if now <= deadline:
        return ""
    return (f"signature rejected: it expired at x={deadline}, {now - deadline} seconds before this check "
            "(RFC 6376 3.5: a verifier may treat a signature as invalid after its x= time)")


def _fetch_key(resolver, name: str) -> KeyLookup:
    """The key record at ``name``; with a lab host's cached resolver, fetched once per
    version of the DNS data (a failed look-up is always asked again)."""
    derived = getattr(resolver.cache, "derived", None)
    if derived is None:
        return lookup_key(resolver, name)
    return derived(("dkim-key", name), lambda: lookup_key(resolver, name),
                   keep=lambda found: not found.temporary)


def verify(message: bytes | str, *, dns: Any, explain: bool = False) -> tuple[DKIMResult, ...]:
    """Verify every DKIM-Signature on ``message``, in header order (top first).

    ``dns`` is a :class:`labkit.dns.LabDNS` or a dnspython Resolver; key look-ups
    go there and nowhere else. Returns one :class:`DKIMResult` per signature (an
    empty tuple for an unsigned message). Never raises on bad input: a malformed
    message or signature gives a ``permerror``/``neutral`` result with the reason.
    Signatures after the first :data:`MAX_SIGNATURES` are reported ``neutral``
    without being checked (each could cost a DNS time-out).
    ``explain=True`` attaches the canonicalised headers and body and both body
    hashes to each result (always computed on dkimpy's path; without it, a plain
    message is read by :mod:`labkit.auth.dkim_fast`, with the same results).
    ``explain`` is True or False: text such as ``"no"`` is a ``TypeError`` (it
    would count as True).

    Introduced in lab 04 (DKIM).
    """
    import labkit.dns

    explain = _coerce.flag(explain, "explain")
    resolver = labkit.dns.as_resolver(dns)
    try:
        raw = _as_bytes(message)
    except (TypeError, ValueError) as exc:
        return (_Check(0).done("message-syntax", f"not a message: {exc}"),)
    fetched: dict[str, KeyLookup] = {}
    if not explain:
        fast = dkim_fast.parse(raw)
        if fast is not None:
            try:
                return _verify_all(fast, resolver, fetched, explain=False)
            except dkim_fast.Fallback as exc:
                log.debug("DKIM fast path declined (%s): verifying with dkimpy", exc)
    try:
        verifier = _Verifier(raw, minkey=0)
    except Exception as exc:  # MessageFormatError and anything odd in the bytes
        count = _lenient_signature_count(raw)
        return tuple(
            _Check(i).done("message-syntax", f"the message cannot be parsed: {exc}") for i in range(count)
        )
    return _verify_all(verifier, resolver, {}, explain=explain, prefetched=fetched)


def _verify_all(verifier: _Verifier | dkim_fast.FastMessage, resolver, keys: dict, *, explain: bool,
                prefetched: dict | None = None) -> tuple[DKIMResult, ...]:
    """Every signature of a parsed message; ``keys`` collects the key look-ups made, and
    ``prefetched`` holds look-ups an abandoned fast attempt already made (asked once only)."""
    signatures = [(n, v) for n, v in verifier.headers if n.lower() == b"dkim-signature"]
    results = []
    for idx, (name, value) in enumerate(signatures):
        if idx >= MAX_SIGNATURES:
            check = _Check(idx)
            check.facts.update(domain=_text(_tag(value, b"d")).lower(), selector=_text(_tag(value, b"s")))
            results.append(check.done("signature-syntax", f"not evaluated: only the first {MAX_SIGNATURES} signatures are checked"))
            continue
        try:
            results.append(_verify_one(verifier, value, idx, (name, value), resolver, keys, explain,
                                       prefetched or {}))
        except dkim_fast.Fallback:
            raise
        except Exception as exc:  # last line of defence: outcomes are values
            if isinstance(verifier, dkim_fast.FastMessage):
                raise dkim_fast.Fallback(f"unexpected {type(exc).__name__}") from exc
            log.warning("DKIM signature %d: unexpected %s: %s", idx, type(exc).__name__, exc)
            results.append(_Check(idx).done("signature-syntax", f"the signature could not be processed: {exc}"))
    return tuple(results)


__all__ = [
    "DKIMResult",
    "DKIMExplanation",
    "KeyPair",
    "sign",
    "verify",
    "generate_key",
    "lab_key",
    "public_txt",
    "split_txt",
    "key_name",
    "RESULT_FOR_CODE",
]
