"""Shared material for the DKIM/ARC/report tests: keys, zones, messages, RFC 8463 vectors."""

from __future__ import annotations

import base64
import functools
import hashlib
import random
import re

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from labkit.auth import dkim_keys

SOA = "@ IN SOA ns hostmaster 1 3600 600 86400 300\n@ IN NS ns\nns IN A 192.0.2.53\n"

MESSAGE = (
    b"From: Alice <alice@sender.example>\r\n"
    b"To: Bob <bob@corp.example>\r\n"
    b"Subject: Quarterly figures\r\n"
    b"Date: Sat, 28 Nov 2026 09:00:00 +0000\r\n"
    b"Message-ID: <figures-1@sender.example>\r\n"
    b"\r\n"
    b"Hello Bob,\r\n"
    b"\r\n"
    b"the   figures are attached.  \r\n"
    b"\r\n"
    b"\r\n"
)


@functools.cache
def keypair(kind: str, tag: str = "") -> dkim_keys.KeyPair:
    """One key per (kind, tag) for the whole test session (RSA generation is slow)."""
    return dkim_keys.generate_key(kind)


def zone(domain: str, records: dict[str, str]) -> str:
    """Zone text for ``domain`` with ``selector -> TXT text`` key records."""
    lines = [f"$ORIGIN {domain}.", "$TTL 300", SOA]
    for selector, text in records.items():
        strings = " ".join(f'"{s}"' for s in dkim_keys.split_txt(text)) if text else '""'
        lines.append(f"{selector}._domainkey IN TXT {strings}")
    return "\n".join(lines) + "\n"


# RFC 8463 Appendix A: keys and the example message signed with Ed25519 and RSA.
RFC8463_SEED_B64 = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
RFC8463_ED_TXT = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
RFC8463_RSA_TXT = (
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhd"
    "R6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5"
    "QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
)
RFC8463_ZONE = zone("football.example.com", {"brisbane": RFC8463_ED_TXT, "test": RFC8463_RSA_TXT})
RFC8463_MESSAGE = (
    b"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    b" d=football.example.com; i=@football.example.com;\r\n"
    b" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    b" subject : date : message-id : from : subject : date;\r\n"
    b" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    b" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    b" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    b" d=football.example.com; i=@football.example.com;\r\n"
    b" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    b" date : message-id : from : subject : date;\r\n"
    b" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    b" b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    b" DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    b" dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
    b"From: Joe SixPack <joe@football.example.com>\r\n"
    b"To: Suzie Q <suzie@shopping.example.net>\r\n"
    b"Subject: Is dinner ready?\r\n"
    b"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    b"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    b"\r\n"
    b"Hi.\r\n"
    b"\r\n"
    b"We lost the game.  Are you hungry yet?\r\n"
    b"\r\n"
    b"Joe.\r\n"
)


# ---------------------------------------------------------------- a signer for odd tag lists
def _relaxed_field(name: bytes, value: bytes) -> bytes:
    """RFC 6376 3.4.2, written out again here (not labkit's) so the tests do not grade
    labkit's canonicalisation with itself."""
    value = re.sub(rb"\r\n(?=[ \t])", b"", value)
    value = re.sub(rb"[ \t]+", b" ", value).strip(b" \t\r\n")
    return name.strip().lower() + b":" + value


def _relaxed_body(body: bytes) -> bytes:
    """RFC 6376 3.4.4: WSP runs to one space, none at line ends, no empty lines at the end."""
    text = b"\r\n".join(re.sub(rb"[ \t]+", b" ", line).rstrip(b" ") for line in body.split(b"\r\n"))
    text = text.rstrip(b"\r\n")
    return text + b"\r\n" if text else b""


def sign_tags(message: bytes, tags: str, private_pem: bytes, *, hash_name: str = "sha256") -> bytes:
    """``message`` (CRLF) with a relaxed/relaxed DKIM-Signature made of exactly ``tags``.

    ``tags`` is the tag list as it will appear, ending in ``b=``; ``%BH%`` is replaced
    by the body hash of the whole body.  The signed fields follow ``h=`` (bottom-up,
    RFC 6376 5.4.2).  labkit's ``sign()`` refuses the odd signatures these tests need
    (duplicate tags, x= in the past, h= without From), hence this separate signer.
    """
    head, _, body = message.partition(b"\r\n\r\n")
    digest = getattr(hashlib, hash_name)
    value = " " + tags.replace("%BH%", base64.b64encode(digest(_relaxed_body(body)).digest()).decode())
    assert value.rstrip().endswith("b="), tags
    names = [n.strip().lower().encode() for n in re.search(r"(?:^|;)\s*h=([^;]*)", value).group(1).split(":")]
    pool: dict[bytes, list] = {}
    for m in re.finditer(rb"([^:\r\n]+):([^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*)", head + b"\r\n"):
        pool.setdefault(m.group(1).strip().lower(), []).append((m.group(1), m.group(2)))
    data = b""
    for name in names:
        if pool.get(name):
            data += _relaxed_field(*pool[name].pop()) + b"\r\n"
    data += _relaxed_field(b"DKIM-Signature", value.encode())
    key = serialization.load_pem_private_key(private_pem, password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(hashlib.sha256(data).digest())
    else:
        signature = key.sign(data, padding.PKCS1v15(), getattr(hashes, hash_name.upper())())
    return b"DKIM-Signature:" + value.encode() + base64.b64encode(signature) + b"\r\n" + message


def rsa_512_pem(seed: int = 512) -> bytes:
    """A real 512-bit RSA private key (PEM).  ``cryptography`` refuses to generate one,
    so its primes are drawn here (Fermat test on 12 bases; fine for a test key)."""
    rng = random.Random(seed)

    def prime(bits: int) -> int:
        while True:
            n = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
            if all(pow(a, n - 1, n) == 1 for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)):
                return n

    p, q, e = prime(256), prime(256), 65537
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, p * q))
    return numbers.private_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())
