"""RFC 6376 key-record and signature tags, RFC 8301 floors: real signatures, real key records
served by a LabDNS, and Perl's Mail::DKIM as a second opinion where the two should agree.

Each signature with an odd tag list is made by ``dkim_support.sign_tags`` (labkit's own
``sign()`` refuses most of them); the key records are ordinary TXT records in the zone.
"""

from __future__ import annotations

import functools
import re
import time

import pytest

import labkit.dns
from labkit.auth import dkim, dkim_keys, verdict
from tests.auth.dkim_support import MESSAGE, keypair, rsa_512_pem, sign_tags, zone

D = "sender.example"
PLAIN = "v=1; a=rsa-sha256; c=relaxed/relaxed; d=sender.example; s={s}; h=from:to:subject; {extra}bh=%BH%; b="


def _rsa_txt() -> str:
    return keypair("rsa").public_txt


def _body_of(txt: str) -> str:
    return txt.split("p=", 1)[1]


@pytest.fixture(scope="module")
def lab():
    p = _body_of(_rsa_txt())
    records = {
        "rsa": _rsa_txt(),
        "testing": _rsa_txt() + "; t=y",
        "strict": _rsa_txt() + "; t=s",
        "sha1only": f"v=DKIM1; k=rsa; h=sha1; p={p}",
        "both": f"v=DKIM1; k=rsa; h=sha1:sha256:sha999; p={p}",
        "email": _rsa_txt() + "; s=email",
        "star": _rsa_txt() + "; s=*",
        "mixed": _rsa_txt() + "; s=tlsrpt:email",
        "other": _rsa_txt() + "; s=tlsrpt",
        "gone": "v=DKIM1; k=rsa; p=",
        "extra": _rsa_txt() + "; zz=unknown; n=notes for humans",
        "vlast": f"k=rsa; p={p}; v=DKIM1",
        "nov": f"k=rsa; p={p}",
        "edkey": keypair("ed25519").public_txt,
        "weak": dkim_keys.public_txt(rsa_512_pem()),
        "k1024": dkim_keys.public_txt(_pem_1024()),
    }
    with labkit.dns.LabDNS(zone(D, records)) as server:
        yield server


@functools.cache
def _pem_1024() -> bytes:
    """One 1024-bit key (the floor RFC 8301 3.2 sets) for the module."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _signed(selector: str = "rsa", extra: str = "", *, tags: str | None = None, pem: bytes | None = None,
            hash_name: str = "sha256", message: bytes = MESSAGE) -> bytes:
    text = tags if tags is not None else PLAIN.format(s=selector, extra=extra)
    if hash_name == "sha1":
        text = text.replace("rsa-sha256", "rsa-sha1")
    return sign_tags(message, text, pem or keypair("rsa").private_pem, hash_name=hash_name)


def _both_paths(message: bytes, lab) -> dkim.DKIMResult:
    """The verdict of the fast path and of dkimpy's path (explain=True), which must agree."""
    (fast,) = dkim.verify(message, dns=lab)
    (slow,) = dkim.verify(message, dns=lab, explain=True)
    assert (fast.result, fast.code, fast.reason, fast.warnings) == (slow.result, slow.code, slow.reason, slow.warnings)
    return slow


def test_the_test_signer_makes_signatures_labkit_accepts(lab):
    assert _both_paths(_signed(), lab).result == "pass"


# ------------------------------------------------------------ key record tags (RFC 6376 3.6.1)
def test_t_y_testing_key_says_treat_as_unsigned(lab):
    """3.6.1 t=y: "Verifiers MUST NOT treat messages from Signers in testing mode differently
    from unsigned email, even should the signature fail to verify." The signature itself
    is checked as usual; the learner must be told the verdict may not be used."""
    good = _both_paths(_signed("testing"), lab)
    assert good.result == "pass"
    assert good.testing is True
    assert "MUST NOT" in good.reason and "unsigned" in good.reason
    assert any("t=y" in w and "unsigned" in w for w in good.warnings)
    bad = _both_paths(_signed("testing").replace(b"Quarterly", b"Yearly"), lab)
    assert (bad.result, bad.testing) == ("fail", True)
    assert any("t=y" in w and "unsigned" in w for w in bad.warnings)
    plain = _both_paths(_signed(), lab)
    assert plain.testing is False and not any("t=y" in w for w in plain.warnings)


def test_t_s_key_wants_i_in_exactly_d(lab):
    assert _both_paths(_signed("strict", "i=@sender.example; "), lab).result == "pass"
    assert _both_paths(_signed("strict"), lab).result == "pass"  # no i=: it defaults to @d
    sub = _both_paths(_signed("strict", "i=news@mail.sender.example; "), lab)
    assert (sub.result, sub.code) == ("permerror", "key-mismatch")
    assert "t=s" in sub.reason
    # without t=s the same subdomain identity is fine (3.5 i=)
    assert _both_paths(_signed("rsa", "i=news@mail.sender.example; "), lab).result == "pass"


def test_h_tag_of_the_key_limits_the_hash(lab):
    refused = _both_paths(_signed("sha1only"), lab)
    assert (refused.result, refused.code) == ("permerror", "key-mismatch")
    assert "sha256" in refused.reason
    assert _both_paths(_signed("sha1only", hash_name="sha1"), lab).result == "pass"
    assert _both_paths(_signed("both"), lab).result == "pass"  # an unknown hash name is ignored


@pytest.mark.parametrize("selector", ["email", "star", "mixed"])
def test_s_service_email_or_star_is_usable(lab, selector):
    assert _both_paths(_signed(selector), lab).result == "pass"


def test_s_service_without_email_is_refused(lab):
    result = _both_paths(_signed("other"), lab)
    assert result.result == "permerror"
    assert "s=tlsrpt" in result.reason


def test_k_must_match_a(lab):
    ed_sig_rsa_key = _signed(tags="v=1; a=ed25519-sha256; c=relaxed/relaxed; d=sender.example; s=rsa; "
                             "h=from:to:subject; bh=%BH%; b=", pem=keypair("ed25519").private_pem)
    rsa_sig_ed_key = _signed("edkey")
    for message in (ed_sig_rsa_key, rsa_sig_ed_key):
        result = _both_paths(message, lab)
        assert (result.result, result.code) == ("permerror", "key-mismatch"), result.reason


def test_empty_p_is_a_revoked_key(lab):
    result = _both_paths(_signed("gone"), lab)
    assert (result.result, result.code) == ("permerror", "key-revoked")
    assert "revoked" in result.reason


def test_unknown_key_tags_are_ignored(lab):
    assert _both_paths(_signed("extra"), lab).result == "pass"


def test_v_must_be_the_first_tag_of_the_key_record(lab):
    """3.6.1 v=: "This tag MUST be the first tag in the record." Without v= the record is fine."""
    assert _both_paths(_signed("nov"), lab).result == "pass"
    result = _both_paths(_signed("vlast"), lab)
    assert (result.result, result.code) == ("permerror", "key-syntax")
    assert "first" in result.reason
    record = dkim_keys.parse_key_record(f"k=rsa; v=DKIM1; p={_body_of(_rsa_txt())}".encode())
    assert record.problem == "syntax"


# ------------------------------------------------------------ signature tags (RFC 6376 3.5)
def test_i_must_be_d_or_a_subdomain(lab):
    for identity in ("@other.example", "@example", "x@notsender.example"):
        result = _both_paths(_signed("rsa", f"i={identity}; "), lab)
        assert (result.result, result.code) == ("neutral", "signature-syntax"), identity
    assert _both_paths(_signed("rsa", "i=joe@a.b.sender.example; "), lab).result == "pass"


def test_x_in_the_past_is_expired_without_leeway(lab):
    """3.5 x=: signatures MAY be considered invalid past the expiration; 6.1.1 names the
    PERMFAIL "signature expired". x= is the signer's own deadline: no clock-skew leeway
    (dkimpy allowed 10 hours, so a signature expired an hour ago passed)."""
    now = int(time.time())
    an_hour_ago = _both_paths(_signed("rsa", f"t={now - 7200}; x={now - 3600}; "), lab)
    assert (an_hour_ago.result, an_hour_ago.code) == ("permerror", "expired")
    assert "x=" in an_hour_ago.reason
    assert _both_paths(_signed("rsa", f"t={now - 60}; x={now + 3600}; "), lab).result == "pass"


def test_x_before_t_is_invalid(lab):
    now = int(time.time())
    result = _both_paths(_signed("rsa", f"t={now + 600}; x={now + 300}; "), lab)
    assert result.result in ("neutral", "permerror") and result.result != "pass"
    assert "x=" in result.reason and "t=" in result.reason


def test_t_in_the_future(lab):
    """3.5 t=: "Implementations MAY ignore signatures that have a timestamp in the future."
    A little skew is tolerated (the signer's clock may run ahead); a month is not."""
    now = int(time.time())
    assert _both_paths(_signed("rsa", f"t={now + 600}; "), lab).result == "pass"
    month = _both_paths(_signed("rsa", f"t={now + 30 * 86400}; "), lab)
    assert (month.result, month.code) == ("permerror", "future-timestamp")


def test_l_longer_than_the_body_fails(lab):
    """3.5 l=: "This value MUST NOT be larger than the actual number of octets in the
    canonicalized message body." The canonical body of MESSAGE has 40 octets."""
    body = MESSAGE.split(b"\r\n\r\n", 1)[1]
    size = len(b"Hello Bob,\r\n\r\nthe figures are attached.\r\n")
    assert re.sub(rb"[ \t]+\r\n", b"\r\n", re.sub(rb"[ \t]+", b" ", body)).rstrip(b"\r\n") + b"\r\n" == \
        b"Hello Bob,\r\n\r\nthe figures are attached.\r\n"
    exact = _both_paths(_signed("rsa", f"l={size}; "), lab)
    assert exact.result == "pass"
    longer = _both_paths(_signed("rsa", f"l={size + 1}; "), lab)
    assert longer.result == "fail"
    assert f"l={size + 1}" in longer.reason and str(size) in longer.reason


def test_h_without_from_is_invalid(lab):
    result = _both_paths(_signed(tags=PLAIN.format(s="rsa", extra="").replace("h=from:to:subject", "h=to:subject")),
                         lab)
    assert (result.result, result.code) == ("permerror", "from-not-signed")


def test_unknown_signature_tags_are_ignored(lab):
    assert _both_paths(_signed("rsa", "zz=anything; "), lab).result == "pass"


@pytest.mark.parametrize("extra", ["s=rsa; ", "d=sender.example; ", "bh=AAAA; "])
def test_duplicate_tag_is_invalid_and_named(lab, extra):
    """3.2: "Tags with duplicate names MUST NOT occur within a single tag-list; if a tag
    name does occur more than once, the entire tag-list is invalid." """
    result = _both_paths(_signed("rsa", extra), lab)
    assert (result.result, result.code) == ("neutral", "signature-syntax")
    tag = extra.split("=")[0]
    assert f"{tag}=" in result.reason and "more than once" in result.reason


def test_duplicate_tag_in_a_key_record_is_named():
    record = dkim_keys.parse_key_record(b"v=DKIM1; k=rsa; k=rsa; p=AAAA")
    assert record.problem == "syntax"
    assert "k=" in record.detail and "more than once" in record.detail


# ------------------------------------------------------------ several signatures (6.1, 4.2)
def test_each_signature_has_its_own_result_and_the_summary_names_them(lab):
    message = _signed("gone", message=_signed("rsa", message=_signed("sha1only")))
    results = dkim.verify(message, dns=lab)
    assert [(r.selector, r.result) for r in results] == [("gone", "permerror"), ("rsa", "pass"),
                                                         ("sha1only", "permerror")]
    found = verdict.evaluate(message, ip="192.0.2.1", mail_from="alice@sender.example", helo="mail.sender.example",
                             dns=lab)
    lines = [s for s in found.steps if s.startswith("DKIM ")]
    assert lines[0].startswith("DKIM d=sender.example s=gone: permerror")
    assert lines[1].startswith("DKIM d=sender.example s=rsa: pass")
    assert lines[2].startswith("DKIM d=sender.example s=sha1only: permerror")


# ------------------------------------------------------------ RFC 8301
def test_rsa_sha1_passes_with_the_warning_in_reason_and_trace(lab):
    """rsa-sha1 is accepted on purpose (ARCHITECTURE.md), but RFC 8301 3.1 says it MUST NOT
    be used for verifying: the learner must read that wherever the verdict is shown."""
    result = _both_paths(_signed("rsa", hash_name="sha1"), lab)
    assert result.result == "pass"
    assert "rsa-sha1" in result.reason and "RFC 8301" in result.reason
    assert any("rsa-sha1" in w and "MUST NOT" in w for w in result.warnings)
    assert any("rsa-sha1" in s for s in result.steps)  # Verdict.explain(detail=True) prints steps
    found = verdict.evaluate(_signed("rsa", hash_name="sha1"), ip="192.0.2.1", mail_from="alice@sender.example",
                             helo="mail.sender.example", dns=lab)
    assert "rsa-sha1" in found.explain(detail=True).split("DKIM d=sender.example:", 1)[1]
    assert any("rsa-sha1" in s for s in found.steps if s.startswith("DKIM "))


def test_512_bit_key_is_never_valid(lab):
    """RFC 8301 3.2: "Verifiers MUST NOT consider signatures using RSA keys of less than
    1024 bits as valid signatures." A real 512-bit key and a correct signature."""
    pem = rsa_512_pem()
    with pytest.warns(UserWarning, match="RFC 8301 3.2"):  # the signer is told, too
        ours = dkim.sign(MESSAGE, domain=D, selector="weak", private_key=pem)
    for message in (ours, _signed("weak", pem=pem)):
        result = _both_paths(message, lab)
        assert (result.result, result.code, result.key_bits) == ("permerror", "key-too-small", 512)
        assert "1024" in result.reason


def test_1024_bit_key_passes_with_a_warning(lab):
    result = _both_paths(_signed("k1024", pem=_pem_1024()), lab)
    assert (result.result, result.key_bits) == ("pass", 1024)
    assert any("2048" in w for w in result.warnings)


def test_each_warning_is_shown_once_in_explain_and_html(lab):
    # warnings entered the trace in 6daed32; explain() and the HTML view also listed them
    # from .warnings, so a learner read each one twice
    signed = dkim.sign(MESSAGE, domain=D, selector="rsa", private_key=keypair("rsa").private_pem,
                       body_length=True)
    # text appended after signing: still a pass, with the "not covered" warning from l=
    (result,) = dkim.verify(signed + b"P.S. appended later\r\n", dns=lab)  # (explain=False:
    # the canonical forms explain=True adds may quote a warning's numbers on their own)
    assert result.result == "pass" and result.warnings, result
    text, page = result.explain(), result._repr_html_()
    for w in result.warnings:
        assert text.count(w) == 1, text
        assert page.count(__import__("html").escape(w)) == 1, page
