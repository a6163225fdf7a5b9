"""The course's own keys (data/keys) against the course zones, and the ``labkit dkim`` CLI."""

from __future__ import annotations

import json
import re

import pytest
from cryptography.hazmat.primitives import serialization

import labkit.cli
import labkit.dns
from labkit.auth import arc, dkim, dkim_keys
from tests.auth.dkim_support import MESSAGE, keypair, zone

BRAND_MSG = MESSAGE.replace(b"alice@sender.example", b"news@brand.example")


@pytest.mark.parametrize("domain,selector,code", [
    ("brand.example", "s2026", "ok"),
    ("brand.example", "ed2026", "ok"),
    ("brand.example", "s2027", "ok"),
    ("brand.example", "old", "key-revoked"),
    ("corp.example", "lab2026", "ok"),
    ("attacker.test", "evil", "ok"),
    ("lists.example.org", "list", "ok"),
    ("esp.example.com", "esp", "ok"),
])
def test_lab_keys_sign_and_verify_in_the_course_zones(lab_dns, domain, selector, code):
    key = dkim.lab_key(domain, selector)
    signed = dkim.sign(BRAND_MSG, domain=domain, selector=selector, private_key=key)
    (result,) = dkim.verify(signed, dns=lab_dns)
    assert result.code == code, result.reason
    assert result.domain == domain


def test_weak_lab_key_is_flagged(lab_dns):
    key = dkim.lab_key("attacker.test", "weak")
    assert serialization.load_pem_private_key(key, None).key_size == 1024
    (result,) = dkim.verify(dkim.sign(BRAND_MSG, domain="attacker.test", selector="weak", private_key=key),
                            dns=lab_dns)
    assert result.result == "pass" and result.key_bits == 1024
    assert any("1024 bits" in w for w in result.warnings)


def test_list_seals_with_its_lab_key(lab_dns):
    signed = dkim.sign(BRAND_MSG, domain="brand.example", selector="s2026",
                       private_key=dkim.lab_key("brand.example", "s2026"))
    sealed = arc.seal(signed + b"-- footer\r\n", domain="lists.example.org", selector="list",
                      private_key=dkim.lab_key("lists.example.org", "list"),
                      authserv_id="mail.lists.example.org",
                      results_header="mail.lists.example.org; dkim=pass header.d=brand.example; "
                                     "dmarc=pass header.from=brand.example", dns=lab_dns)
    result = arc.verify(sealed, dns=lab_dns)
    assert result.result == "pass"
    assert result.trusted_results(["lists.example.org"]).result_for("dmarc").result == "pass"


# ---------------------------------------------------------------- CLI
def _run(capsys, *argv) -> tuple[int, str, str]:
    code = labkit.cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_keygen_sign_verify(tmp_path, capsys):
    code, out, _ = _run(capsys, "dkim", "keygen", "--selector", "k1", "--domain", "sender.example",
                        "--out", str(tmp_path))
    assert code == 0 and "k1._domainkey.sender.example." in out
    pem = (tmp_path / "k1.pem").read_bytes()
    assert (tmp_path / "k1.pem").stat().st_mode & 0o077 == 0
    assert dkim_keys.public_txt(pem) in out.replace('" "', "")
    zone_file = tmp_path / "sender.example.zone"
    zone_file.write_text("$ORIGIN sender.example.\n$TTL 300\n@ IN SOA ns hm 1 1 1 1 1\n"
                         + (tmp_path / "k1.txt").read_text())
    msg = tmp_path / "m.eml"
    msg.write_bytes(MESSAGE)
    code = labkit.cli.main(["dkim", "sign", str(msg), "-d", "sender.example", "-s", "k1", "--key",
                            str(tmp_path / "k1.pem"), "--headers", "from:to:subject:from", "--c", "simple/relaxed"])
    signed = capsys.readouterr().out.encode()
    unfolded = re.sub(rb"\r\n[ \t]+", b" ", signed)
    assert code == 0 and b"c=simple/relaxed" in unfolded
    assert re.search(rb"h=from\s*:\s*to\s*:\s*subject\s*:\s*from;", unfolded)
    (tmp_path / "s.eml").write_bytes(signed)
    code, out, _ = _run(capsys, "dkim", "verify", str(tmp_path / "s.eml"), "--zones", str(zone_file), "--json")
    assert code == 0 and json.loads(out)[0]["result"] == "pass"
    (tmp_path / "t.eml").write_bytes(signed.replace(b"Hello Bob", b"Hello Eve"))
    code, out, _ = _run(capsys, "dkim", "verify", str(tmp_path / "t.eml"), "--zones", str(zone_file), "--explain")
    assert code == 1 and "body-hash-mismatch" in out and "bh= computed" in out


def test_cli_bad_usage(tmp_path, capsys):
    assert _run(capsys, "dkim", "verify", str(tmp_path / "missing.eml"))[0] == 2
    msg = tmp_path / "m.eml"
    msg.write_bytes(MESSAGE)
    assert _run(capsys, "dkim", "sign", str(msg), "-d", "x.example", "-s", "nokey")[0] == 2
    assert _run(capsys, "dkim", "keygen", "--bits", "512", "--out", str(tmp_path))[0] == 2
    assert _run(capsys, "dkim", "keygen", "--selector", "only", "--out", str(tmp_path))[0] == 2


def test_cli_unsigned_message_is_not_a_failure(tmp_path, capsys):
    pair = keypair("rsa")
    zone_file = tmp_path / "z.zone"
    zone_file.write_text(zone("sender.example", {"rsa": pair.public_txt}))
    msg = tmp_path / "m.eml"
    msg.write_bytes(MESSAGE)
    code, out, _ = _run(capsys, "dkim", "verify", str(msg), "--zones", str(zone_file))
    assert code == 0 and "no DKIM-Signature" in out


def test_cli_one_good_signature_is_enough(tmp_path, capsys):
    # RFC 6376 6.1: a verifier may stop at the first signature that verifies; a message
    # whose one signature passes and another fails was exit 1, as if it were forged
    pair = keypair("rsa")
    zone_file = tmp_path / "z.zone"
    zone_file.write_text(zone("sender.example", {"rsa": pair.public_txt}))
    good = dkim.sign(MESSAGE, domain="sender.example", selector="rsa", private_key=pair.private_pem)
    both = dkim.sign(good, domain="sender.example", selector="gone", private_key=pair.private_pem)
    (tmp_path / "m.eml").write_bytes(both)
    code, out, _ = _run(capsys, "dkim", "verify", str(tmp_path / "m.eml"), "--zones", str(zone_file))
    assert out.count("dkim=pass") == 1 and out.count("dkim=permerror") == 1, out
    assert code == 0
    (tmp_path / "bad.eml").write_bytes(both.replace(b"Hello Bob", b"Hello Eve"))
    assert _run(capsys, "dkim", "verify", str(tmp_path / "bad.eml"), "--zones", str(zone_file))[0] == 1
