"""RSA verification runs in OpenSSL, and judges every signature as dkimpy's own arithmetic does.

The reference is dkimpy's complete verifier (``dkim.verify``: its pure-Python RSA, its own
key fetch), run on the same bytes against the same LabDNS.
"""

from __future__ import annotations

import base64
import re

import dkim as dkimpy
import pytest

import labkit.dns
from labkit.auth import dkim, dkim_keys
from tests.auth.dkim_support import MESSAGE, keypair, zone

D = "sender.example"


@pytest.fixture(scope="module")
def server():
    records = {"s1": keypair("rsa").public_txt, "other": keypair("rsa", "other").public_txt}
    with labkit.dns.LabDNS(zones=zone(D, records)) as lab:
        yield lab


def sign(selector="s1", key_tag="", algorithm=None, message=MESSAGE) -> bytes:
    return dkim.sign(message, domain=D, selector=selector, algorithm=algorithm,
                     private_key=(keypair("rsa", key_tag) if key_tag else keypair("rsa")).private_pem)


def with_b(signed: bytes, change) -> bytes:
    """Replace the signature bytes (the b= tag) by change(old bytes)."""
    head, sep, rest = signed.partition(b"\r\n\r\n")
    m = re.search(rb"(;\s*b=)([A-Za-z0-9+/=\s]+?)(?=;|\r\n(?![ \t])|$)", head)
    old = base64.b64decode(re.sub(rb"\s+", b"", m.group(2)))
    new = base64.b64encode(change(old))
    return head[:m.start(2)] + new + head[m.end(2):] + sep + rest


def modulus() -> int:
    """n of the published s1 key."""
    return dkim_keys.signing_key(keypair("rsa").private_pem).rsa_key.public_key().public_numbers().n


def plus_modulus(sig: bytes) -> bytes:
    value = int.from_bytes(sig, "big") + modulus()
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


VARIANTS = {
    "good": lambda: sign(),
    "good-rsa-sha1": lambda: sign(algorithm="rsa-sha1"),
    "header-changed": lambda: sign().replace(b"Subject: Quarterly", b"Subject: Quarterlx"),
    "body-changed": lambda: sign().replace(b"figures are", b"figures were"),
    "other-key": lambda: sign(selector="s1", key_tag="other"),
    "bit-flipped": lambda: with_b(sign(), lambda s: s[:-1] + bytes([s[-1] ^ 1])),
    "one-byte-short": lambda: with_b(sign(), lambda s: s[1:]),
    "one-byte-long": lambda: with_b(sign(), lambda s: b"\x00" + s),
    "plus-modulus": lambda: with_b(sign(), plus_modulus),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_same_judgement_as_dkimpy(server, name):
    message = VARIANTS[name]()
    ours = dkim.verify(message, dns=server)
    assert len(ours) == 1
    reference = dkimpy.verify(message, dnsfunc=dkim_keys.dkimpy_dnsfunc(server.resolver()), minkey=0)
    assert (ours[0].result == "pass") == bool(reference), (name, ours[0].code, ours[0].reason)


def test_expected_reasons_for_the_plain_cases(server):
    codes = {n: dkim.verify(VARIANTS[n](), dns=server)[0].code
             for n in ("good", "good-rsa-sha1", "header-changed", "body-changed", "other-key", "bit-flipped")}
    assert codes == {"good": "ok", "good-rsa-sha1": "ok", "header-changed": "signature-mismatch",
                     "body-changed": "body-hash-mismatch", "other-key": "signature-mismatch",
                     "bit-flipped": "signature-mismatch"}


def test_well_formed_signatures_never_use_the_pure_python_rsa(server, monkeypatch):
    calls = []

    def spy(*args):
        calls.append(args)
        raise AssertionError("pure-Python RSA used")

    monkeypatch.setattr(dkimpy, "RSASSA_PKCS1_v1_5_verify", spy)
    # ("other-key" is left out: a signature made with another key may exceed this modulus)
    for name in ("good", "good-rsa-sha1", "header-changed", "bit-flipped"):
        dkim.verify(VARIANTS[name](), dns=server)
    assert calls == []
    assert [r.result for r in dkim.verify(VARIANTS["good"](), dns=server)] == ["pass"]
    # a signature OpenSSL would refuse outright is left to dkimpy's arithmetic
    dkim.verify(VARIANTS["one-byte-short"](), dns=server)
    assert len(calls) == 1
