"""The DKIM fast path gives exactly dkimpy's path's results (differential tests).

``labkit.auth.dkim.verify`` first tries ``labkit.auth.dkim_fast`` and falls back to the
dkimpy path when anything is unusual. Every test here runs both on the same bytes and
compares every field of every result; the reference is the same ``verify`` with the fast
path switched off (``dkim_fast.parse`` answering "not plain"), and the helpers are
compared with dkimpy's own functions on seeded random inputs.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import labkit.dns
import labkit.paths
from labkit.auth import dkim, dkim_fast, dkim_keys
from tests.auth.dkim_support import MESSAGE, RFC8463_MESSAGE, RFC8463_ZONE, keypair, zone

D = "sender.example"
SEED = 20261128


@pytest.fixture(scope="module")
def small_key() -> dkim_keys.KeyPair:
    """A 1024-bit RSA key (generate_key refuses it; verifiers accept it with a warning)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return dkim_keys.KeyPair(private_pem=pem, public_txt=dkim_keys.public_txt(pem), key_type="rsa", bits=1024)


@pytest.fixture(scope="module")
def lab(small_key):
    records = {
        "rsa": keypair("rsa").public_txt,
        "ed": keypair("ed25519").public_txt,
        "gone": "v=DKIM1; k=rsa; p=",
        "wrong": keypair("rsa", "other").public_txt,
        "small": small_key.public_txt,
        "testing": keypair("rsa").public_txt + "; t=y",
        "strict": keypair("rsa").public_txt + "; t=s",
        "edonly": keypair("ed25519").public_txt.replace("k=ed25519", "k=rsa"),
        "broken": "v=DKIM1; k=rsa; p=AAAA!!notbase64",
    }
    text = zone(D, records) + "notxt._domainkey IN A 192.0.2.1\n"
    with labkit.dns.LabDNS([text, RFC8463_ZONE], faults={f"flaky._domainkey.{D}": "servfail"}) as server:
        yield server


class Paths:
    """Runs ``dkim.verify`` with and without the fast path and says which one decided."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch
        self.dkimpy_parses = 0
        original = dkim._Verifier

        class Counting(original):
            def __init__(inner, *args, **kwargs):
                self.dkimpy_parses += 1
                super().__init__(*args, **kwargs)

        monkeypatch.setattr(dkim, "_Verifier", Counting)

    def fast(self, message: bytes, dns) -> tuple[tuple, bool]:
        """(results, True when the fast path decided alone)."""
        before = self.dkimpy_parses
        results = dkim.verify(message, dns=dns)
        return results, self.dkimpy_parses == before

    def reference(self, message: bytes, dns) -> tuple:
        with self.monkeypatch.context() as patch:
            patch.setattr(dkim_fast, "parse", lambda raw: None)
            return dkim.verify(message, dns=dns)

    def compare(self, message: bytes, dns) -> bool:
        results, alone = self.fast(message, dns)
        expected = self.reference(message, dns)
        assert [r.to_dict() for r in results] == [r.to_dict() for r in expected], message[:400]
        assert results == expected
        return alone


@pytest.fixture
def paths(monkeypatch) -> Paths:
    return Paths(monkeypatch)


# ---------------------------------------------------------------- variants
def _crlf(raw: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", raw)


def _course_messages() -> list[bytes]:
    folder = labkit.paths.data_dir() / "messages"
    return [_crlf(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


FOLDED = (
    b"Received: from a.example by b.example;\r\n\tSat, 28 Nov 2026 09:00:00 +0000\r\n"
    b"From:   \"Alice  Example\"\r\n   <alice@sender.example>  \r\n"
    b"To: bob@corp.example,\r\n\tcarol@corp.example\r\n"
    b"Subject:no space\tand\t\ttabs   \r\n"
    b"subject: a second subject\r\n"
    b"X-Empty:\r\n"
    b"Date: Sat, 28 Nov 2026 09:00:00 +0000\r\n"
    b"\r\n"
    b"  leading spaces\r\n\ttab line \t \r\n\r\nlast line without newline"
)


def _sign_options() -> list[tuple[str, dict]]:
    options = []
    for header in ("simple", "relaxed"):
        for body in ("simple", "relaxed"):
            options.append(("rsa", {"canonicalization": (header, body)}))
    options += [
        ("ed", {}),
        ("ed", {"canonicalization": ("simple", "simple")}),
        ("rsa", {"body_length": True}),
        ("ed", {"body_length": True, "canonicalization": ("relaxed", "simple")}),
        ("rsa", {"headers": ["from", "to", "subject", "from", "subject", "date", "reply-to"]}),
        ("rsa", {"headers": ["From", "Subject"], "canonicalization": ("simple", "relaxed")}),
        ("gone", {}), ("nowhere", {}), ("wrong", {}), ("small", {}), ("testing", {}),
        ("strict", {"identity": "news@sub.sender.example"}), ("edonly", {}), ("broken", {}),
        ("notxt", {}), ("flaky", {}),
    ]
    return options


def _key_for(selector: str, small_key) -> bytes:
    kind = "ed25519" if selector == "ed" else "rsa"
    if selector == "small":
        return small_key.private_pem
    return keypair(kind).private_pem


def _sign(message: bytes, selector: str, small_key, **kw) -> bytes:
    return dkim.sign(message, domain=D, selector=selector, private_key=_key_for(selector, small_key), **kw)


def _signature(raw: bytes) -> tuple[int, int]:
    start = raw.lower().index(b"dkim-signature:")
    end = start + re.search(rb"\r?\n(?![ \t])", raw[start:]).end()
    return start, end


def _edit_signature(raw: bytes, edit) -> bytes:
    start, end = _signature(raw)
    return raw[:start] + edit(raw[start:end]) + raw[end:]


def _flip(text: bytes, tag: bytes) -> bytes:
    m = re.search(rb"[;\s]" + tag + rb"=\s*([A-Za-z0-9+/])", text)
    pos = m.start(1)
    return text[:pos] + (b"B" if text[pos:pos + 1] == b"A" else b"A") + text[pos + 1:]


MUTATIONS = {
    "none": lambda raw: raw,
    "subject case": lambda raw: raw.replace(b"Subject:", b"SUBJECT:", 1),
    "subject spaces": lambda raw: re.sub(rb"(?m)^(Subject:)(.*)$", rb"\1  \2 \t", raw, count=1),
    "subject folded": lambda raw: re.sub(rb"(?m)^(Subject: \S+) ", rb"\1\r\n\t ", raw, count=1),
    "subject changed": lambda raw: re.sub(rb"(?m)^(Subject:.*?)\r$", rb"\1 (edited)\r", raw, count=1),
    "second subject on top": lambda raw: b"Subject: added above\r\n" + raw,
    "second subject below": lambda raw: raw.replace(b"\r\n\r\n", b"\r\nSubject: added below\r\n\r\n", 1),
    "second from on top": lambda raw: b"From: mallory@attacker.example\r\n" + raw,
    "body appended": lambda raw: raw + b"Appended line.\r\n",
    "body blank lines": lambda raw: raw + b"\r\n\r\n\r\n",
    "body inner spaces": lambda raw: raw.replace(b" ", b"  \t", 3),
    "body trailing spaces": lambda raw: re.sub(rb"(\r\n\r\n[^\r\n]*)", rb"\1   ", raw, count=1),
    "body word changed": lambda raw: re.sub(rb"(\r\n\r\n[^A-Za-z]*)([A-Za-z])", lambda m: m.group(1) + m.group(2).swapcase(),
                                            raw, count=1),
    "bare LF everywhere": lambda raw: raw.replace(b"\r\n", b"\n"),
    "bare LF in body": lambda raw: raw[: raw.index(b"\r\n\r\n") + 4] + raw[raw.index(b"\r\n\r\n") + 4:].replace(b"\r\n", b"\n"),
    "bare CR in a header": lambda raw: raw.replace(b"To: ", b"To: \r", 1),
    "VT in a header": lambda raw: raw.replace(b"To: ", b"To: \x0b", 1),
    "8-bit header": lambda raw: raw.replace(b"Date: ", "Date: \u00e9 ".encode(), 1),
    "mbox From line": lambda raw: b"From sender@example Sat Nov 28 09:00:00 2026\r\n" + raw,
    "continuation first": lambda raw: b" stray continuation\r\n" + raw,
    "no blank line": lambda raw: raw[: raw.index(b"\r\n\r\n") + 2],
    "header name with space": lambda raw: raw.replace(b"Date:", b"Date :", 1),
    "bad b=": lambda raw: _edit_signature(raw, lambda s: _flip(s, b"b")),
    "b= cut short": lambda raw: _edit_signature(raw, lambda s: re.sub(rb"(\sb=[^;]*?)[A-Za-z0-9+/=](\s*)$", rb"\1\2", s)),
    "b= cut to 60 bytes": lambda raw: _edit_signature(raw, lambda s: re.sub(rb"(\sb=)[^;]*$", rb"\1" + base64.b64encode(bytes(60)) + b"\r\n", s)),
    "wrong bh=": lambda raw: _edit_signature(raw, lambda s: _flip(s, b"bh")),
    "b= unfolded": lambda raw: _edit_signature(raw, lambda s: re.sub(rb"\r\n[ \t]+", b" ", s[:-2]) + b"\r\n"),
    "signature name upper": lambda raw: _edit_signature(raw, lambda s: b"DKIM-SIGNATURE:" + s[15:]),
    "unknown tag": lambda raw: _edit_signature(raw, lambda s: s.replace(b"v=1;", b"v=1; z=From:x;", 1)),
    "x= in the past": lambda raw: _edit_signature(raw, lambda s: s.replace(b"v=1;", b"v=1; x=1000;", 1)),
    "x= later": lambda raw: _edit_signature(raw, lambda s: s.replace(b"v=1;", b"v=1; x=99999999999;", 1)),
    "t= in the future": lambda raw: _edit_signature(raw, lambda s: re.sub(rb"t=\d+", b"t=99999999999", s, count=1)),
    "i= elsewhere": lambda raw: _edit_signature(raw, lambda s: re.sub(rb"i=[^;]*", b"i=@other.example", s, count=1)),
    "i= equals d=": lambda raw: _edit_signature(raw, lambda s: re.sub(rb"i=[^;]*", D.encode(), s, count=1)),
    "q= other": lambda raw: _edit_signature(raw, lambda s: s.replace(b"q=dns/txt", b"q=http", 1)),
    "v=2": lambda raw: _edit_signature(raw, lambda s: s.replace(b"v=1;", b"v=2;", 1)),
    "c= bogus": lambda raw: _edit_signature(raw, lambda s: re.sub(rb"c=[a-z/]+", b"c=loose/tight", s, count=1)),
    "c= header only": lambda raw: _edit_signature(raw, lambda s: re.sub(rb"c=([a-z]+)/[a-z]+", rb"c=\1", s, count=1)),
    "l= not a number": lambda raw: _edit_signature(raw, lambda s: s.replace(b"v=1;", b"v=1; l=12a;", 1)
                                                   if b" l=" not in s else re.sub(rb"l=\d+", b"l=", s)),
    "l= short": lambda raw: _edit_signature(raw, lambda s: s.replace(b"v=1;", b"v=1; l=5;", 1)
                                            if b" l=" not in s else re.sub(rb"l=\d+", b"l=5", s)),
    "duplicate tag": lambda raw: _edit_signature(raw, lambda s: s.replace(b"v=1;", b"v=1; v=1;", 1)),
    "no h=": lambda raw: _edit_signature(raw, lambda s: re.sub(rb"h=[^;]*;", b"", s, count=1)),
    "h= without from": lambda raw: _edit_signature(raw, lambda s: re.sub(rb"h=[^;]*;", b"h=to : subject;", s, count=1)),
    "h= upper case": lambda raw: _edit_signature(raw, lambda s: re.sub(rb"h=[^;]*;", lambda m: m.group(0).upper().replace(b"H=", b"h="), s, count=1)),
    "empty tag spec": lambda raw: _edit_signature(raw, lambda s: s.replace(b"v=1;", b"v=1;;", 1)),
    "trailing semicolon": lambda raw: _edit_signature(raw, lambda s: s.rstrip() + b";\r\n"),
    "tag name odd": lambda raw: _edit_signature(raw, lambda s: s.replace(b"v=1;", b"v=1; 9x=1;", 1)),
    "a= sha1": lambda raw: _edit_signature(raw, lambda s: re.sub(rb"a=[a-z0-9-]+", b"a=rsa-sha1", s, count=1)),
    "d= with specials": lambda raw: _edit_signature(raw, lambda s: re.sub(rb"d=[^;]*", b"d=sender.example,x", s, count=1)),
}


def _variants(small_key) -> list[tuple[str, bytes]]:
    rnd = random.Random(SEED)
    bases = [("MESSAGE", MESSAGE), ("FOLDED", FOLDED)] + [
        (f"course {i}", m) for i, m in enumerate(_course_messages())]
    options = _sign_options()
    out = []
    for base_name, base in bases:
        for selector, kw in options:
            signed = _sign(base, selector, small_key, **kw)
            names = ["none"] + rnd.sample(sorted(MUTATIONS), 8)
            out += [(f"{base_name}/{selector}/{kw}/{m}", MUTATIONS[m](signed)) for m in names]
        # every mutation at least once, on a plain relaxed RSA signature and on Ed25519
        for selector in ("rsa", "ed"):
            signed = _sign(base, selector, small_key)
            out += [(f"{base_name}/{selector}/all/{m}", fn(signed)) for m, fn in MUTATIONS.items()]
    return out


def _multi(small_key) -> list[bytes]:
    """Several signatures on one message, including repeated selectors and bad ones."""
    first = _sign(MESSAGE, "rsa", small_key)
    second = _sign(first, "ed", small_key, canonicalization=("simple", "simple"))
    third = _sign(second, "gone", small_key)
    fourth = _sign(third, "rsa", small_key, body_length=True)
    return [second, third, fourth, MUTATIONS["bad b="](fourth), MUTATIONS["body appended"](fourth),
            MUTATIONS["subject changed"](fourth), RFC8463_MESSAGE, MUTATIONS["b= cut to 60 bytes"](second)]


# ---------------------------------------------------------------- whole-result comparisons
def test_fast_path_matches_dkimpy_path_on_generated_variants(lab, paths, small_key):
    resolver = lab.resolver(cache=True)
    variants = _variants(small_key)
    assert len(variants) > 800
    alone = 0
    for i, (_name, message) in enumerate(variants):
        alone += paths.compare(message, lab if i % 7 == 0 else resolver)
    # the fast path really decided most of them (else this test compares dkimpy with itself)
    assert alone > len(variants) // 2
    assert alone < len(variants)


def test_fast_path_matches_on_several_signatures(lab, paths, small_key):
    for message in _multi(small_key):
        paths.compare(message, lab)
    results, alone = paths.fast(_multi(small_key)[2], lab)
    assert alone and [r.code for r in results] == ["ok", "key-revoked", "ok", "ok"]


def test_plain_signatures_are_decided_by_the_fast_path(lab, paths, small_key):
    signed = [_sign(MESSAGE, "rsa", small_key, canonicalization=c)
              for c in (("simple", "simple"), ("relaxed", "relaxed"), ("relaxed", "simple"))]
    signed += [_sign(MESSAGE, "ed", small_key), _sign(FOLDED, "rsa", small_key, body_length=True)]
    for message in signed:
        results, alone = paths.fast(message, lab)
        assert alone and [r.result for r in results] == ["pass"]
    tampered = MUTATIONS["subject changed"](signed[1])
    results, alone = paths.fast(tampered, lab)
    assert alone and [r.code for r in results] == ["signature-mismatch"]
    results, alone = paths.fast(MUTATIONS["body word changed"](signed[1]), lab)
    assert alone and [r.code for r in results] == ["body-hash-mismatch"]


def test_unusual_input_goes_to_dkimpy(lab, paths, small_key):
    signed = _sign(MESSAGE, "rsa", small_key)
    for name in ("bare LF everywhere", "mbox From line", "unknown tag", "duplicate tag", "x= in the past",
                 "a= sha1", "b= cut short"):
        results, alone = paths.fast(MUTATIONS[name](signed), lab)
        assert not alone, name


def test_late_fallback_asks_dns_once(lab, paths, small_key):
    # an Ed25519 b= of 60 bytes: the fast path gives up after fetching the key; dkimpy's
    # path reuses that answer, so the query log shows one look-up, and the trace reads as usual
    message = MUTATIONS["b= cut to 60 bytes"](_sign(MESSAGE, "ed", small_key))
    lab.clear_queries()
    results, alone = paths.fast(message, lab)
    assert not alone
    assert [q.name for q in lab.queries].count(f"ed._domainkey.{D}.") == 1
    assert results[0].code == "signature-mismatch"
    assert f"DNS: TXT ed._domainkey.{D}. -> found" in results[0].steps


def test_explain_uses_dkimpy_and_agrees(lab, paths, small_key):
    signed = _sign(FOLDED, "rsa", small_key, canonicalization=("relaxed", "relaxed"), body_length=True)
    (explained,) = dkim.verify(signed + b"tail\r\n", dns=lab, explain=True)
    (fast,), alone = paths.fast(signed + b"tail\r\n", lab)
    assert alone and explained.explanation is not None
    assert explained.to_dict() | {"explanation": None} == fast.to_dict() | {"explanation": None}


def test_vertical_tab_and_form_feed_in_signed_fields(lab, paths, small_key):
    # relaxed canonicalisation compresses only SP and HTAB: VT and FF inside a value stay
    odd = MESSAGE.replace(b"Subject: ", b"Subject: a\x0bb\x0cc ", 1)
    for canon in (("relaxed", "relaxed"), ("simple", "simple")):
        signed = _sign(odd, "rsa", small_key, canonicalization=canon)
        paths.compare(signed, lab)
        assert [r.result for r in dkim.verify(signed, dns=lab)] == ["pass"]


def _hand_signed(message: bytes, tags_before: bytes, tags_after: bytes, header_names: list[bytes]) -> bytes:
    """A simple/simple rsa-sha256 signature with b= in the middle of the tag list, made here
    from RFC 6376 3.7 (not by labkit's or dkimpy's signer)."""
    head, body = message.split(b"\r\n\r\n", 1)
    body_hash = base64.b64encode(hashlib.sha256(body.rstrip(b"\r\n") + b"\r\n").digest())
    fields = {}
    for line in head.split(b"\r\n"):
        name = line.split(b":", 1)[0]
        fields.setdefault(name.lower(), []).append(line + b"\r\n")
    signed = b"".join(fields[name.lower()].pop() for name in header_names if fields.get(name.lower()))
    template = (b"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=" + D.encode() + b"; s=rsa;\r\n "
                + tags_before + b" bh=" + body_hash + b"; b=%s;\r\n " + tags_after + b"\r\n")
    data = signed + (template % b"").rstrip(b"\r\n")
    key = serialization.load_pem_private_key(keypair("rsa").private_pem, None)
    sig = base64.b64encode(key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    return template % sig + message


def test_b_tag_in_the_middle_of_the_list(lab, paths):
    message = _hand_signed(MESSAGE, b"h=From:Subject:Date;", b"q=dns/txt; i=@" + D.encode() + b";",
                           [b"From", b"Subject", b"Date"])
    results, alone = paths.fast(message, lab)
    assert alone and [r.code for r in results] == ["ok"]
    paths.compare(message, lab)
    paths.compare(message.replace(b"Date: Sat", b"Date: Sun"), lab)


# ---------------------------------------------------------------- helpers against dkimpy's own
def _random_bytes(rnd: random.Random, alphabet: bytes, size: int) -> bytes:
    return bytes(rnd.choice(alphabet) for _ in range(size))


def _dkimpy_relaxed_body(body: bytes) -> bytes:
    """dkimpy's relaxed body form, composed from its own helper functions as its
    ``Relaxed.canonicalize_body`` does (labkit replaces that method process-wide)."""
    c = dkimpy.canonicalization
    return c.correct_empty_body(c.strip_trailing_lines(c.compress_whitespace(c.strip_trailing_whitespace(body))))


def test_body_canonicalisation_equals_dkimpy():
    rnd = random.Random(SEED)
    alphabet = b"ab \t\r\n\r\n\x0b="
    for _ in range(3000):
        body = _random_bytes(rnd, alphabet, rnd.randrange(0, 40))
        assert dkim_fast.simple_body(body) == dkimpy.canonicalization.Simple.canonicalize_body(body)
        assert dkim_fast.relaxed_body(body) == _dkimpy_relaxed_body(body)
    for body in (b"a" + b" " * 3000 + b"x\r\n", b"\t \t" * 1000 + b"\r\n \r\n", b"x \r \r\n" * 500):
        assert dkim_fast.relaxed_body(body) == _dkimpy_relaxed_body(body)
    # the method dkimpy itself calls (signing, ARC) is now the linear one
    assert dkimpy.canonicalization.Relaxed.canonicalize_body is dkim_fast.relaxed_body


def test_parse_equals_rfc822_parse_or_declines():
    rnd = random.Random(SEED)
    good = [b"From: a@b.example", b"To: c", b" folded", b"\tfolded tab", b"Subject:x", b"X-A: \xe9", b"a:b:c",
            b"DKIM-Signature: v=1;", b"X-Empty:", b" "]
    odd = [b"bad header", b"Sp ace: v", b":colon", b"x\r", b"From x", b"x\x0bz: y", b""]
    body = [b"body", b"", b" ", b"a\rb", b"\t", b"x\x0c"]
    accepted = 0
    for _ in range(4000):
        head = [rnd.choice(good if rnd.random() < 0.9 else odd) for _ in range(rnd.randrange(1, 8))]
        lines = head + [b""] * rnd.choice((0, 1, 1, 1, 2)) + [rnd.choice(body) for _ in range(rnd.randrange(0, 5))]
        raw = b"".join(line + rnd.choice((b"\r\n", b"\r\n", b"\r\n", b"\n")) for line in lines)
        raw = raw[: len(raw) - rnd.choice((0, 0, 1, 2))]
        fast = dkim_fast.parse(raw)
        if fast is None:
            continue
        accepted += 1
        headers, body_text = dkimpy.rfc822_parse(raw)
        assert [tuple(h) for h in headers] == fast.headers, raw
        assert body_text == fast.body, raw
    assert accepted > 400


def test_relaxed_field_equals_dkimpy():
    rnd = random.Random(SEED)
    for _ in range(2000):
        raw = b"Name: " + b"".join(rnd.choice((b"a", b" ", b"\t", b"\xe9", b"\r\n ", b"\r\n\t", b"\x0b", b"\x0c"))
                                   for _ in range(12))
        fast = dkim_fast.parse(raw + b"\r\n\r\n")
        if fast is None:
            continue
        (name, value), = fast.headers
        ((cname, cvalue),) = dkimpy.canonicalization.Relaxed.canonicalize_headers([(name, value)])
        assert dkim_fast.relaxed_field(name, value) == cname + b":" + cvalue


def test_tags_and_without_b_equal_dkimpy_or_decline(small_key):
    rnd = random.Random(SEED)
    signed = _sign(FOLDED, "rsa", small_key)
    start, end = _signature(signed)
    value = signed[start + len(b"DKIM-Signature:"):end]
    specs = [s for s in value.split(b";")]
    extras = [b" b=AAAA", b" x b=", b"bh=QUJD b=", b" =", b"", b"\r\n b = QU\r\n JD ", b" h=from:b=x", b"9=1",
              b" b=QU!JD", b" b=AB CD-x ", b" b=\r\n "]
    compared = 0
    for _ in range(3000):
        chosen = rnd.sample(specs, rnd.randrange(1, len(specs) + 1))
        chosen += rnd.sample(extras, rnd.randrange(0, 2))
        rnd.shuffle(chosen)
        text = b";".join(chosen) + rnd.choice((b"", b";", b"\r\n", b";\r\n"))
        try:
            fast_tags = dkim_fast.FastMessage.tags(text)
        except dkim_fast.Fallback:
            fast_tags = None
        if fast_tags is not None:
            assert fast_tags == dkimpy.util.parse_tag_value(text)
        try:
            cut = dkim_fast.without_b(text)
        except dkim_fast.Fallback:
            continue
        compared += 1
        assert cut == dkimpy.RE_BTAG.sub(b"\\1", text), text
    assert compared > 300


def test_dkimpy_path_canonicalises_relaxed_bodies_without_dkimpys_regex(lab, small_key, monkeypatch):
    """The dkimpy path (and explain mode) use the linear relaxed-body canonicaliser:
    dkimpy's own regex is quadratic in long runs of spaces, a cheap denial of service."""
    body = b"padded" + b" " * 5000 + b"line\r\n" + (b"\t " * 2000 + b"x\r\n") * 3
    signed = _sign(_crlf(MESSAGE).split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" + body, "rsa", small_key)
    assert b"c=relaxed/relaxed" in signed

    def refuse(_body):
        raise AssertionError("dkimpy's relaxed body regex was used")

    monkeypatch.setattr(dkimpy.canonicalization, "strip_trailing_whitespace", refuse)
    monkeypatch.setattr(dkim_fast, "parse", lambda raw: None)  # force the dkimpy path
    assert [r.result for r in dkim.verify(signed, dns=lab)] == ["pass"]
    assert [r.result for r in dkim.verify(signed, dns=lab, explain=True)] == ["pass"]
    tampered = signed.replace(b"padded ", b"padded  x ", 1)
    assert [r.result for r in dkim.verify(tampered, dns=lab)] == ["fail"]
