"""DKIM keys: generation, the DNS TXT record that publishes them, and key look-ups.

A DKIM key pair is an ordinary RSA (RFC 6376, 2048 bits or more per RFC 8301) or
Ed25519 (RFC 8463) key.  The private half stays with the signer as a PEM file; the
public half is published in DNS as a TXT record at ``<selector>._domainkey.<domain>``::

    brand-s2026._domainkey... TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkq..."

A single DNS character-string holds at most 255 bytes, so a 2048-bit RSA key is
published as several strings that the verifier concatenates.

Introduced in lab 04 (DKIM).
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dkim
import dkim.util
import dns.exception
import dns.name
import dns.resolver
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from .. import _coerce
from ..errors import UsageError
from ..paths import data_dir

log = logging.getLogger(__name__)

KEY_TYPES = ("rsa", "ed25519")
MIN_RSA_BITS = 1024  # RFC 8301 3.2: keys below this are not acceptable
RECOMMENDED_RSA_BITS = 2048  # RFC 8301 3.2: signers SHOULD use at least this

_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


@dataclass(frozen=True, kw_only=True)
class KeyPair:
    """A freshly generated DKIM key: the private PEM and the public TXT record text.

    ``private_pem`` never appears in the repr.  ``txt_strings`` is the record split
    into DNS character-strings of at most 255 bytes; :meth:`zone_line` writes the
    record as a zone-file line.
    """

    private_pem: bytes = field(repr=False)
    public_txt: str
    key_type: str
    bits: int

    @property
    def txt_strings(self) -> tuple[str, ...]:
        """The TXT record text split into <=255-byte strings."""
        return split_txt(self.public_txt)

    def zone_line(self, selector: str, domain: str, ttl: int = 300) -> str:
        """``<selector>._domainkey.<domain>. TTL IN TXT "..." "..."`` for a zone file."""
        quoted = " ".join(f'"{s}"' for s in self.txt_strings)
        return f"{key_name(selector, domain)} {ttl} IN TXT {quoted}"

    def to_dict(self) -> dict:
        """Public facts only (never the private key)."""
        return {
            "key_type": self.key_type,
            "bits": self.bits,
            "public_txt": self.public_txt,
            "txt_strings": list(self.txt_strings),
        }


def key_name(selector: str, domain: str) -> str:
    """The DNS name of a DKIM key: ``<selector>._domainkey.<domain>.``."""
    selector = _coerce.text(selector, "selector", example="s2026")
    domain = _coerce.text(domain, "domain", example="brand.example")
    return f"{selector.strip('.')}._domainkey.{domain.strip('.')}."


def split_txt(text: str, size: int = 255) -> tuple[str, ...]:
    """Split TXT record text into DNS character-strings of at most ``size`` bytes."""
    data = _coerce.text(text, "text", example="v=DKIM1; k=rsa; p=MIIB...").encode("ascii")
    return tuple(data[i : i + size].decode("ascii") for i in range(0, len(data), size)) or ("",)


def generate_key(key_type: str = "rsa", bits: int = 2048) -> KeyPair:
    """Generate a DKIM key pair with ``cryptography``.

    ``key_type`` is ``"rsa"`` (``bits`` >= 2048, RFC 8301) or ``"ed25519"`` (RFC 8463;
    ``bits`` is ignored).  Returns a :class:`KeyPair` with the PEM private key
    (PKCS#8) and the public TXT record text.

    Introduced in lab 04 (DKIM).
    """
    key_type = str(key_type).lower()
    if key_type == "rsa":
        if not isinstance(bits, int) or bits < RECOMMENDED_RSA_BITS or bits > 8192:
            raise UsageError(f"RSA DKIM keys must have 2048..8192 bits (RFC 8301), not {bits!r}")
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    elif key_type == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
        bits = 256
    else:
        raise UsageError(f"key type must be one of {KEY_TYPES}, not {key_type!r}")
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return KeyPair(private_pem=pem, public_txt=public_txt(pem), key_type=key_type, bits=bits)


def _load_private(pem: bytes | str):
    if isinstance(pem, KeyPair):
        pem = pem.private_pem
    if isinstance(pem, str):
        pem = pem.encode("ascii", "replace")
    try:
        return serialization.load_pem_private_key(bytes(pem), password=None)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"not a PEM private key (unencrypted PKCS#1/PKCS#8 expected): {exc}") from None


def public_txt(private_pem: bytes | str) -> str:
    """The DKIM TXT record text (``v=DKIM1; k=...; p=...``) for a PEM private key."""
    key = _load_private(private_pem)
    if isinstance(key, rsa.RSAPrivateKey):
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}"
    raise UsageError(f"DKIM keys are RSA or Ed25519, not {type(key).__name__}")


@dataclass(frozen=True)
class SigningKey:
    """A private key in the form dkimpy wants (internal; never printed)."""

    key_type: str
    material: bytes = field(repr=False)
    bits: int
    rsa_key: object = field(default=None, repr=False, compare=False)

    @property
    def algorithm(self) -> str:
        """The ``a=`` value this key signs with."""
        return "ed25519-sha256" if self.key_type == "ed25519" else "rsa-sha256"


@functools.lru_cache(maxsize=64)
def signing_key(private_pem: bytes) -> SigningKey:
    """Convert a PEM private key once into dkimpy's format (cached by content)."""
    key = _load_private(private_pem)
    if isinstance(key, rsa.RSAPrivateKey):
        material = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        return SigningKey("rsa", material, key.key_size, rsa_key=key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return SigningKey("ed25519", base64.b64encode(seed), 256)
    raise UsageError(f"DKIM keys are RSA or Ed25519, not {type(key).__name__}")


def lab_key(domain: str, selector: str) -> bytes:
    """The lab's private key for ``domain``/``selector``: ``data/keys/<domain>/<selector>.pem``.

    The matching public key is published in the course zones (``data/zones``).

    Introduced in lab 04 (DKIM).
    """
    domain = str(domain).strip().rstrip(".").lower()
    selector = str(selector).strip().lower()  # DNS names ignore case (RFC 4343)
    labels = domain.split(".") + selector.split(".")
    if not domain or not all(_LABEL.match(x) for x in labels):
        raise UsageError(f"not a domain/selector pair: {domain!r} / {selector!r}")
    path = Path(data_dir()) / "keys" / domain / f"{selector}.pem"
    try:
        return path.read_bytes()
    except OSError:
        raise UsageError(f"no lab key for {selector}._domainkey.{domain} (looked for {path})") from None


# --------------------------------------------------------------------------- look-ups
@dataclass(frozen=True, kw_only=True)
class KeyRecord:
    """A parsed DKIM key record (RFC 6376 3.6.1).

    ``problem`` is ``None`` for a usable key, else ``"revoked"`` (empty ``p=``),
    ``"syntax"``, or ``"unsupported"``; ``detail`` explains it.
    """

    text: str
    key_type: str = "rsa"
    bits: int = 0
    hashes: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    services: tuple[str, ...] = ("*",)
    problem: str | None = None
    detail: str = ""
    parsed: object = field(default=None, repr=False, compare=False)
    public_key: object = field(default=None, repr=False, compare=False)


def _openssl_rsa(parsed: dict) -> rsa.RSAPublicKey | None:
    """The key dkimpy parsed, as a ``cryptography`` key (None if OpenSSL refuses it)."""
    try:
        return rsa.RSAPublicNumbers(int(parsed["publicExponent"]), int(parsed["modulus"])).public_key()
    except (ValueError, TypeError, KeyError):
        return None


@functools.lru_cache(maxsize=256)
def parse_key_record(text: bytes) -> KeyRecord:
    """Parse the TXT text of a DKIM key record (cached: records repeat across messages)."""
    shown = text.decode("ascii", "replace")
    try:
        tags = dkim.util.parse_tag_value(text)
    except dkim.util.DuplicateTag as exc:
        tag = exc.args[0].decode("ascii", "replace") if isinstance(exc.args[0], bytes) else exc.args[0]
        return KeyRecord(text=shown, problem="syntax", detail=f"tag {tag}= occurs more than once in the key "
                         "record; RFC 6376 3.2 makes such a tag list invalid")
    except Exception as exc:  # dkimpy raises several tag-list errors
        return KeyRecord(text=shown, problem="syntax", detail=f"key record is not a tag list: {exc}")
    version = tags.get(b"v")
    if version is not None and version != b"DKIM1":
        return KeyRecord(text=shown, problem="syntax", detail=f"v={version.decode(errors='replace')} is not DKIM1")
    if version is not None and next(iter(tags)) != b"v":
        # RFC 6376 3.6.1: v= is optional, but when present "This tag MUST be the first tag"
        first = next(iter(tags)).decode("ascii", "replace")
        return KeyRecord(text=shown, problem="syntax",
                         detail=f"v=DKIM1 must be the first tag of a key record (RFC 6376 3.6.1), not after {first}=")
    # RFC 6376 3.2: values are case-sensitive unless their tag says otherwise, and k= (3.6.1)
    # does not: "RSA" is not "rsa" (dkimpy refuses it too)
    key_type = tags.get(b"k", b"rsa").decode("ascii", "replace").strip()
    hashes = tuple(h.strip().lower() for h in tags.get(b"h", b"").decode("ascii", "replace").split(":") if h.strip())
    flags = tuple(f.strip().lower() for f in tags.get(b"t", b"").decode("ascii", "replace").split(":") if f.strip())
    services = tuple(s.strip().lower() for s in tags.get(b"s", b"*").decode("ascii", "replace").split(":") if s.strip())
    common = {"text": shown, "key_type": key_type, "hashes": hashes, "flags": flags, "services": services}
    if b"p" not in tags:
        return KeyRecord(**common, problem="syntax", detail="the key record has no p= tag")
    pvalue = re.sub(rb"\s+", b"", tags[b"p"])
    if not pvalue:
        return KeyRecord(**common, problem="revoked", detail="p= is empty: the key has been revoked (RFC 6376 3.6.1)")
    if key_type not in KEY_TYPES:
        detail = f"unknown key type k={key_type}"
        if key_type.lower() in KEY_TYPES:
            detail += (f": key types are case-sensitive (RFC 6376 3.2, 3.6.1), so the record must say "
                       f"k={key_type.lower()}")
        return KeyRecord(**common, problem="unsupported", detail=detail)
    if not ({"*", "email"} & set(services)):
        return KeyRecord(**common, problem="unsupported", detail=f"key is not for email (s={':'.join(services)})")
    try:
        raw = base64.b64decode(pvalue, validate=True)
    except (binascii.Error, ValueError) as exc:
        return KeyRecord(**common, problem="syntax", detail=f"p= is not valid base64: {exc}")
    try:
        parsed, bits, _ktag, _tls = dkim.evaluate_pk(b"key", b"k=" + key_type.encode() + b"; p=" + pvalue)
    except Exception as exc:  # KeyFormatError, nacl errors, ASN.1 errors
        return KeyRecord(**common, problem="syntax", detail=f"p= does not hold a {key_type} public key: {exc}")
    if key_type == "ed25519" and len(raw) != 32:
        return KeyRecord(**common, problem="syntax", detail=f"an Ed25519 key is 32 bytes, p= has {len(raw)}")
    public = _openssl_rsa(parsed) if key_type == "rsa" else None
    return KeyRecord(**common, bits=int(bits or 0), parsed=parsed, public_key=public)


@dataclass(frozen=True, kw_only=True)
class KeyLookup:
    """The outcome of fetching one DKIM key from DNS.

    ``status``: ``"found"``, ``"nxdomain"`` (no such name), ``"nodata"`` (name
    without TXT), ``"timeout"``, ``"servfail"`` (or refused / no server).
    """

    name: str
    status: str
    text: bytes = b""
    count: int = 0
    detail: str = ""

    @property
    def temporary(self) -> bool:
        """A time-out or server failure: DKIM says ``temperror``, try again later."""
        return self.status in ("timeout", "servfail")


def lookup_key(resolver: dns.resolver.Resolver, name: str) -> KeyLookup:
    """Fetch the TXT record at ``name`` from ``resolver`` and classify the outcome."""
    try:
        qname = dns.name.from_text(name)
    except (dns.exception.DNSException, ValueError) as exc:
        return KeyLookup(name=name, status="nxdomain", detail=f"not a valid DNS name: {exc}")
    try:
        answer = resolver.resolve(qname, "TXT", search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return KeyLookup(name=name, status="nxdomain", detail=f"{name} does not exist (NXDOMAIN)")
    except dns.exception.Timeout as exc:
        return KeyLookup(name=name, status="timeout", detail=f"no answer for {name}: {exc}")
    except dns.resolver.NoNameservers as exc:
        return KeyLookup(name=name, status="servfail", detail=f"the server failed for {name} (SERVFAIL/REFUSED): {exc}")
    except dns.exception.DNSException as exc:
        return KeyLookup(name=name, status="servfail", detail=f"DNS error for {name}: {exc}")
    rrset = answer.rrset
    if rrset is None or len(rrset) == 0:
        return KeyLookup(name=name, status="nodata", detail=f"{name} exists but has no TXT record")
    records = [b"".join(r.strings) for r in rrset]
    return KeyLookup(name=name, status="found", text=records[0], count=len(records))


def dkimpy_dnsfunc(resolver: dns.resolver.Resolver,
                   log_to: list | None = None) -> Callable[..., bytes | None]:
    """A ``dnsfunc`` for dkimpy bound to one resolver (no global state).

    Timeouts and server failures raise dkimpy's ``DnsTimeoutError``; each
    :class:`KeyLookup` is appended to ``log_to`` when given.
    """

    def dnsfunc(name, timeout=5):
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)
        result = lookup_key(resolver, text)
        if log_to is not None:
            log_to.append(result)
        if result.temporary:
            raise dkim.DnsTimeoutError(result.detail)
        return result.text or None

    return dnsfunc


__all__ = [
    "KeyPair",
    "KeyRecord",
    "KeyLookup",
    "generate_key",
    "public_txt",
    "split_txt",
    "key_name",
    "lab_key",
    "lookup_key",
    "parse_key_record",
]
