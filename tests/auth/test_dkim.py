"""DKIM sign/verify through a real LabDNS: RFC 8463 vectors, every failure reason, warnings."""

from __future__ import annotations

import base64
import hashlib
import re
import threading

import dkim as dkimpy
import dns.resolver
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

import labkit.dns
from labkit.auth import dkim, dkim_keys
from labkit.errors import UsageError
from tests.auth.dkim_support import (
    MESSAGE,
    RFC8463_ED_TXT,
    RFC8463_MESSAGE,
    RFC8463_SEED_B64,
    RFC8463_ZONE,
    keypair,
    zone,
)

D = "sender.example"


def _tiny_rsa_txt() -> str:
    # a 512-bit modulus: only its size matters, the verifier must refuse it before any maths
    n = (1 << 511) | 0x1235
    der = rsa.RSAPublicNumbers(65537, n).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def lab():
    records = {
        "rsa": keypair("rsa").public_txt,
        "ed": keypair("ed25519").public_txt,
        "gone": "v=DKIM1; k=rsa; p=",
        "junk": "v=DKIM1; k=rsa; p=AAAA!!notbase64",
        "tiny": _tiny_rsa_txt(),
        "wrong": keypair("rsa", "other").public_txt,
        "only256": keypair("rsa").public_txt.replace("k=rsa;", "k=rsa; h=sha256;"),
        "edrec": keypair("ed25519").public_txt,
        "testing": keypair("rsa").public_txt + "; t=y",
    }
    text = zone(D, records) + "notxt._domainkey IN A 192.0.2.1\n"
    with labkit.dns.LabDNS([text, RFC8463_ZONE]) as server:
        yield server


def _sign(selector="rsa", kind="rsa", message=MESSAGE, **kw):
    return dkim.sign(message, domain=D, selector=selector, private_key=keypair(kind).private_pem, **kw)


def _dkimpy_says(message: bytes, lab, idx: int = 0) -> bool:
    """The other implementation: dkimpy's own verifier, pointed at the same LabDNS."""
    resolver = lab.resolver()

    def txt(name, timeout=5):
        try:
            ans = resolver.resolve(name.decode(), "TXT", search=False)
        except dns.resolver.NXDOMAIN:
            return None
        return b"".join(ans[0].strings)

    return dkimpy.DKIM(message).verify(idx=idx, dnsfunc=txt)


# ---------------------------------------------------------------- RFC test vectors
def test_rfc8463_example_both_signatures_pass(lab):
    results = dkim.verify(RFC8463_MESSAGE, dns=lab)
    assert [(r.result, r.selector, r.algorithm) for r in results] == [
        ("pass", "brisbane", "ed25519-sha256"),
        ("pass", "test", "rsa-sha256"),
    ]
    assert results[0].key_bits == 256 and results[1].key_bits == 1024
    assert [r.header_b for r in results] == ["/gCrinpc", "F45dVWDf"]


def test_rfc8463_seed_gives_the_published_key_and_signs_verifiably(lab):
    seed = base64.b64decode(RFC8463_SEED_B64)
    key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    assert dkim_keys.public_txt(pem) == RFC8463_ED_TXT
    body_start = RFC8463_MESSAGE.index(b"From: Joe")
    resigned = dkim.sign(RFC8463_MESSAGE[body_start:], domain="football.example.com", selector="brisbane",
                         private_key=pem)
    (result,) = dkim.verify(resigned, dns=lab)
    assert result.result == "pass"
    # the RFC's bh= is the same body hash our signature declares
    assert "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=" in resigned.decode()


def test_rfc8463_tampered_body_and_header(lab):
    body = RFC8463_MESSAGE.replace(b"We lost the game", b"We won the game")
    assert [r.code for r in dkim.verify(body, dns=lab)] == ["body-hash-mismatch"] * 2
    head = RFC8463_MESSAGE.replace(b"Subject: Is dinner ready?", b"Subject: Is lunch ready?")
    assert [r.code for r in dkim.verify(head, dns=lab)] == ["signature-mismatch"] * 2
    assert _dkimpy_says(head, lab, 0) is False


# ---------------------------------------------------------------- keys
def test_generate_key_rsa_and_ed25519_txt():
    pair = keypair("rsa")
    key = serialization.load_pem_private_key(pair.private_pem, None)
    assert key.key_size == 2048 and pair.bits == 2048
    assert all(len(s.encode()) <= 255 for s in pair.txt_strings)
    assert "".join(pair.txt_strings) == pair.public_txt and len(pair.txt_strings) >= 2
    der = base64.b64decode(pair.public_txt.split("p=")[1])
    assert der == key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    ed = keypair("ed25519")
    raw = base64.b64decode(ed.public_txt.split("p=")[1])
    assert len(raw) == 32 and "k=ed25519" in ed.public_txt
    assert "private_pem" not in repr(ed) and "PRIVATE" not in repr(ed)
    with pytest.raises(UsageError):
        dkim_keys.generate_key("rsa", bits=1024)
    with pytest.raises(UsageError):
        dkim_keys.generate_key("dsa")


def test_zone_line_is_served_by_labdns():
    pair = keypair("rsa")
    text = f"$ORIGIN z.example.\n$TTL 300\n@ IN SOA ns hm 1 1 1 1 1\n{pair.zone_line('k1', 'z.example')}\n"
    with labkit.dns.LabDNS(text) as server:
        ans = server.resolver().resolve("k1._domainkey.z.example", "TXT")
        assert b"".join(ans[0].strings).decode() == pair.public_txt


def test_lab_key_reads_data_keys(tmp_path, monkeypatch):
    folder = tmp_path / "keys" / "brand.example"
    folder.mkdir(parents=True)
    (folder / "s2026.pem").write_bytes(keypair("rsa").private_pem)
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    assert dkim.lab_key("brand.example", "s2026") == keypair("rsa").private_pem
    with pytest.raises(UsageError):
        dkim.lab_key("brand.example", "missing")
    with pytest.raises(UsageError):
        dkim.lab_key("../etc", "passwd")


def test_lab_key_selector_is_case_insensitive_like_the_domain():
    """DNS names ignore case (RFC 4343), so S2026._domainkey.Brand.Example is the lab's
    s2026 key: the file look-up lowers the selector as it lowers the domain."""
    assert dkim.lab_key("Brand.Example", "S2026") == dkim.lab_key("brand.example", "s2026")


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("canon", ["relaxed/relaxed", "relaxed/simple", "simple/relaxed", "simple/simple"])
@pytest.mark.parametrize("kind,selector", [("rsa", "rsa"), ("ed25519", "ed")])
def test_sign_verify_round_trip_agrees_with_dkimpy(lab, canon, kind, selector):
    signed = _sign(selector, kind, canonicalization=canon)
    assert f"c={canon}".encode() in signed
    (result,) = dkim.verify(signed, dns=lab)
    assert result.result == "pass", result.reason
    assert (result.domain, result.selector, result.canonicalization) == (D, selector, canon)
    if kind == "rsa":  # dkimpy's verifier needs nothing of ours
        assert _dkimpy_says(signed, lab) is True


def test_sign_lf_message_and_str_input(lab):
    lf = MESSAGE.replace(b"\r\n", b"\n")
    signed = _sign(message=lf)
    assert b"\r\n" not in signed
    assert dkim.verify(signed, dns=lab)[0].result == "pass"
    assert dkim.verify(signed.decode(), dns=lab)[0].result == "pass"


def test_default_headers_oversign_from(lab):
    signed = _sign()
    (result,) = dkim.verify(signed, dns=lab)
    assert result.signed_headers.count("from") == 2
    assert not any("over-signed" in w for w in result.warnings)
    # a second From added on top breaks an over-signed signature
    forged = b"From: CEO <ceo@corp.example>\r\n" + signed
    assert dkim.verify(forged, dns=lab)[0].result == "fail"


def test_chosen_headers_and_relaxed_tolerates_refolding(lab):
    signed = _sign(headers=["from", "subject"])
    (result,) = dkim.verify(signed, dns=lab)
    assert result.signed_headers == ("from", "subject")
    assert any("not over-signed" in w for w in result.warnings)
    # unsigned header changes do not matter; relaxed header canonicalisation absorbs whitespace
    changed = signed.replace(b"To: Bob <bob@corp.example>", b"To: Mallory <m@attacker.test>")
    changed = changed.replace(b"Subject: Quarterly figures", b"Subject:   Quarterly\r\n\tfigures  ")
    assert dkim.verify(changed, dns=lab)[0].result == "pass"
    with pytest.raises(UsageError):
        _sign(headers=["subject"])


def test_simple_canonicalization_is_strict_about_whitespace(lab):
    signed = _sign(canonicalization=("simple", "simple"))
    changed = signed.replace(b"the   figures", b"the figures")
    assert dkim.verify(changed, dns=lab)[0].code == "body-hash-mismatch"
    relaxed = _sign(canonicalization=("relaxed", "relaxed"))
    assert dkim.verify(relaxed.replace(b"the   figures", b"the figures"), dns=lab)[0].result == "pass"


# ---------------------------------------------------------------- every reason
def _resign_h(signed: bytes, new_h: bytes) -> bytes:
    return re.sub(rb"h=[^;]+;", b"h=" + new_h + b";", signed, count=1)


def test_reasons(lab):
    good = _sign()
    cases = {
        "body-hash-mismatch": good.replace(b"attached", b"ATTACHED"),
        "signature-mismatch": good.replace(b"Quarterly figures", b"Quarterly invoice"),
        "key-not-found": _sign("nosuch"),
        "key-revoked": _sign("gone"),
        "key-syntax": _sign("junk"),
        "key-too-small": _sign("tiny"),
        "key-mismatch": _sign("edrec"),
        "from-not-signed": _resign_h(good, b"to : subject"),
        "signature-syntax": good.replace(b"bh=", b"xh=", 1),
    }
    expected_result = {"body-hash-mismatch": "fail", "signature-mismatch": "fail",
                       "signature-syntax": "neutral"}
    for code, message in cases.items():
        (result,) = dkim.verify(message, dns=lab)
        assert result.code == code, (code, result.reason)
        assert result.result == expected_result.get(code, "permerror"), code
        assert result.steps and result.reason
    nodata = _sign("notxt")
    assert dkim.verify(nodata, dns=lab)[0].code == "key-not-found"
    # another key published under the selector: body fine, signature wrong
    wrong = _sign("wrong")
    assert dkim.verify(wrong, dns=lab)[0].code == "signature-mismatch"
    assert _dkimpy_says(wrong, lab) is False


def test_h_sha256_only_key_refuses_rsa_sha1(lab):
    signed = _sign("only256", algorithm="rsa-sha1")
    (result,) = dkim.verify(signed, dns=lab)
    assert result.code == "key-mismatch"
    assert any("rsa-sha1" in w for w in result.warnings)


def test_dns_timeout_and_servfail_are_temperror():
    pair = keypair("rsa")
    text = zone(D, {"rsa": pair.public_txt})
    signed = _sign()
    with labkit.dns.LabDNS(text, faults={"rsa._domainkey.sender.example/TXT": "timeout"}) as server:
        (result,) = dkim.verify(signed, dns=server.resolver(timeout=0.3))
        assert (result.result, result.code) == ("temperror", "dns-temperror")
        server.clear_faults()
        server.set_fault("rsa._domainkey.sender.example", "servfail")
        assert dkim.verify(signed, dns=server)[0].result == "temperror"
        server.clear_faults()
        assert dkim.verify(signed, dns=server)[0].result == "pass"


def test_revoked_key_published_live():
    pair = keypair("rsa")
    signed = _sign()
    with labkit.dns.LabDNS(zone(D, {"rsa": pair.public_txt})) as server:
        assert dkim.verify(signed, dns=server)[0].result == "pass"
        server.add("rsa._domainkey.sender.example.", "TXT", '"v=DKIM1; p="')
        assert dkim.verify(signed, dns=server)[0].code == "key-revoked"


def test_expired_and_future_signatures():
    signed = _sign()
    old = re.sub(rb"t=(\d+);", b"t=1000000000; x=1000000100;", signed, count=1)
    future = re.sub(rb"t=(\d+);", b"t=9999999999;", signed, count=1)
    with labkit.dns.LabDNS(zone(D, {"rsa": keypair("rsa").public_txt})) as server:
        assert dkim.verify(old, dns=server)[0].code == "expired"
        assert dkim.verify(future, dns=server)[0].code == "future-timestamp"


def test_every_signature_is_checked_in_order(lab):
    once = _sign("ed", "ed25519")
    twice = dkim.sign(once, domain=D, selector="gone", private_key=keypair("rsa").private_pem)
    thrice = dkim.sign(twice, domain=D, selector="rsa", private_key=keypair("rsa").private_pem)
    results = dkim.verify(thrice, dns=lab)
    assert [(r.selector, r.result) for r in results] == [("rsa", "pass"), ("gone", "permerror"), ("ed", "pass")]
    assert [r.index for r in results] == [0, 1, 2]
    assert dkim.verify(MESSAGE, dns=lab) == ()


# ---------------------------------------------------------------- warnings and explain
def test_body_length_warning_and_its_danger(lab):
    signed = _sign(body_length=True)
    assert re.search(rb"l=\d+", signed)
    appended = signed + b"Click http://attacker.test/pay now\r\n"
    (plain,) = dkim.verify(appended, dns=lab)
    (result,) = dkim.verify(appended, dns=lab, explain=True)
    assert plain.warnings == result.warnings
    assert result.result == "pass"  # that is the danger
    assert any(w.startswith("l=") for w in result.warnings)
    assert any("not covered" in w for w in result.warnings)
    # the two blank lines that ended the signed body (dropped by canonicalisation) now sit
    # before the added text, so they are unsigned too
    assert result.explanation.unsigned_body_bytes == len(b"\r\n\r\nClick http://attacker.test/pay now\r\n")


def test_explain_shows_canonical_forms_and_hashes(lab):
    signed = _sign(canonicalization="simple/simple", headers=["from", "subject", "from"])
    tampered = signed.replace(b"Hello Bob", b"Hello Eve")
    (result,) = dkim.verify(tampered, dns=lab, explain=True)
    ex = result.explanation
    body = tampered.split(b"\r\n\r\n", 1)[1]
    while body.endswith(b"\r\n\r\n"):  # simple body canonicalisation, by hand
        body = body[:-2]
    assert ex.canonical_body == body
    assert ex.body_hash_computed == base64.b64encode(hashlib.sha256(body).digest()).decode()
    declared = re.search(rb"bh=([^;]+);", signed).group(1).decode()
    assert ex.body_hash_declared == declared and not ex.body_hash_matches
    assert [n for n, _ in ex.canonical_headers] == ["From", "Subject", "DKIM-Signature"]
    assert ex.signed_data.startswith(b"From: Alice <alice@sender.example>\r\nSubject: Quarterly figures\r\n")
    assert ex.signed_data.rstrip().endswith(b"b=")
    assert "MISMATCH" in str(ex) and "body-hash-mismatch" in result.explain()
    assert result.to_dict()["explanation"]["body_hash_computed"] == ex.body_hash_computed
    assert "dkim=fail" in result._repr_html_()


# ---------------------------------------------------------------- bad input
BAD = {
    "no separator": b"DKIM-Signature: v=1; a=rsa-sha256; d=x.example; s=a; h=from; bh=AA==; b=AA==\r\nFrom: a@b",
    "binary": bytes(range(256)) * 4,
    "8-bit header": b"From: J\xf6rg <j@sender.example>\r\nDKIM-Signature: v=1; d=\xff\xfe; s=\x00\r\n\r\nbody\r\n",
    "huge header": b"X-Pad: " + b"a" * 1_000_000 + b"\r\nFrom: a@b.example\r\n\r\nx\r\n",
    "broken folding": b" leading continuation\r\nDKIM-Signature: v=1;\r\n\tbroken\r\nFrom x\r\n\r\n",
    "header without colon": b"DKIM-Signature: v=1; a=rsa-sha256\r\nThis is not a header\r\n\r\nbody\r\n",
    "empty": b"",
    "absurd tags": b"DKIM-Signature: v=1; a=rsa-sha256; d=sender.example; s=rsa; h=from; l=99999999999999999999999999999999;"
                   b" bh=AAAA; b=AAAA; t=9999999999999999999999\r\nFrom: a@sender.example\r\n\r\nx\r\n",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_never_raises(lab, name):
    results = dkim.verify(BAD[name], dns=lab)
    assert isinstance(results, tuple)
    for r in results:
        assert r.result in ("neutral", "permerror", "fail") and r.reason
        r.to_dict()


def test_bad_input_header_without_colon_still_reports_the_signature(lab):
    (result,) = dkim.verify(BAD["header without colon"], dns=lab)
    assert (result.result, result.code) == ("permerror", "message-syntax")


# ---------------------------------------------------------------- no global state
def test_two_labdns_two_threads_each_verifies_against_its_own():
    a, b = keypair("rsa"), keypair("rsa", "other")
    signed_a = dkim.sign(MESSAGE, domain=D, selector="sel", private_key=a.private_pem)
    signed_b = dkim.sign(MESSAGE, domain=D, selector="sel", private_key=b.private_pem)
    outcomes: dict[str, list] = {"a": [], "b": []}
    with labkit.dns.LabDNS(zone(D, {"sel": a.public_txt})) as dns_a, \
            labkit.dns.LabDNS(zone(D, {"sel": b.public_txt})) as dns_b:

        def run(tag, server):
            for _ in range(40):
                ra = dkim.verify(signed_a, dns=server)[0].result
                rb = dkim.verify(signed_b, dns=server)[0].result
                outcomes[tag].append((ra, rb))

        threads = [threading.Thread(target=run, args=("a", dns_a)), threading.Thread(target=run, args=("b", dns_b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert outcomes["a"] == [("pass", "fail")] * 40
    assert outcomes["b"] == [("fail", "pass")] * 40


@pytest.mark.parametrize("algorithm", [b"rsa-sha256", b"rsa-sha1"])
def test_fast_rsa_signer_writes_exactly_what_dkimpy_writes(algorithm):
    """Our OpenSSL-backed RSA step must not change a single byte of dkimpy's header."""
    from dkim.canonicalization import CanonicalizationPolicy

    from labkit.auth.dkim_keys import signing_key

    key = signing_key(keypair("rsa").private_pem)
    canon = CanonicalizationPolicy.from_c_value(b"relaxed/simple")
    include = [b"from", b"to", b"subject", b"from"]
    fields = [(b"v", b"1"), (b"a", algorithm), (b"c", b"relaxed/simple"), (b"d", D.encode()),
              (b"s", b"rsa"), (b"t", b"1795800000"), (b"h", b" : ".join(include)), (b"bh", b"AAAA"),
              (b"b", b"0" * 60)]
    ours = dkim._Signer(MESSAGE, key.rsa_key, signature_algorithm=algorithm)
    theirs = dkimpy.DKIM(MESSAGE, signature_algorithm=algorithm)
    for signer in (ours, theirs):
        signer.hasher = {b"rsa-sha256": hashlib.sha256, b"rsa-sha1": hashlib.sha1}[algorithm]
    pk = dkimpy.crypto.parse_pem_private_key(key.material)
    mine = ours.gen_header(list(fields), include, canon, b"DKIM-Signature", pk)
    reference = theirs.gen_header(list(fields), include, canon, b"DKIM-Signature", pk)
    assert mine == reference


# RFC 6376 3.4.6: the canonicalisation example, header fields A and B and a body with
# trailing white space, tabs and empty lines at the end. The RFC writes "B : Y" (obsolete
# white space before the colon), which dkimpy's parser refuses; the field is "B: Y" here.
RFC6376_HEADERS = b"A: X\r\nB: Y\t\r\n\tZ  \r\n"
RFC6376_BODY = b" C \r\nD \t E\r\n\r\n\r\n"


@pytest.mark.parametrize("canon,headers,body", [
    ("relaxed/relaxed", [("a", "X"), ("b", "Y Z")], b" C\r\nD E\r\n"),
    ("simple/simple", [("A", " X"), ("B", " Y\t\r\n\tZ  ")], b" C \r\nD \t E\r\n"),
])
def test_rfc6376_canonicalization_example(lab, canon, headers, body):
    message = b"From: alice@sender.example\r\n" + RFC6376_HEADERS + b"\r\n" + RFC6376_BODY
    signed = _sign(message=message, headers=["from", "a", "b"], canonicalization=canon)
    (result,) = dkim.verify(signed, dns=lab, explain=True)
    assert result.result == "pass"
    ex = result.explanation
    assert list(ex.canonical_headers[1:3]) == headers
    assert ex.canonical_body == body


def test_obsolete_space_before_colon_is_a_message_syntax_result(lab):
    signed = _sign(message=b"From: alice@sender.example\r\n" + RFC6376_HEADERS + b"\r\n" + RFC6376_BODY)
    (result,) = dkim.verify(signed.replace(b"B: Y", b"B : Y"), dns=lab)
    assert (result.result, result.code) == ("permerror", "message-syntax")


def test_signature_flood_is_capped(lab):
    message = _sign()
    for _ in range(dkim.MAX_SIGNATURES + 2):
        message = _sign("nosuch", message=message)
    results = dkim.verify(message, dns=lab)
    assert len(results) == dkim.MAX_SIGNATURES + 3
    assert all(r.code == "key-not-found" for r in results[:dkim.MAX_SIGNATURES])
    assert [r.result for r in results[dkim.MAX_SIGNATURES:]] == ["neutral"] * 3
    assert "not evaluated" in results[-1].reason and results[-1].selector == "rsa"
