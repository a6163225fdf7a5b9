"""Cross-check against another implementation: Perl's Mail::DKIM (Debian libmail-dkim-perl).

Both verifiers read the same bytes and ask the same LabDNS. Mail::DKIM 1.2023 has no
Ed25519, so the cross-checks use RSA signatures.

Where the two differ on purpose (measured with Mail::DKIM 1.20230212), labkit follows
RFC 6376 and Mail::DKIM passes: a signature whose h= lacks From (5.4, 6.1.1), a duplicate
tag (3.2), a key record whose v= is not first (3.6.1), l= longer than the body (3.5), t=
a month ahead (3.5 allows ignoring it), and a 512-bit key (RFC 8301 3.2; Mail::DKIM
refuses it only in its Strict mode). Those cases live in test_dkim_rfc6376_tags.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import labkit.dns
from labkit.auth import arc, dkim
from tests.auth.dkim_support import MESSAGE, RFC8463_MESSAGE, RFC8463_ZONE, keypair, sign_tags, zone
from tests.conftest import unavailable

SCRIPT = Path(__file__).parent / "tools" / "mail_dkim_verify.pl"
D = "sender.example"
# our result -> Mail::DKIM's word for it
EXPECTED = {"pass": "pass", "fail": "fail", "permerror": "invalid", "neutral": "invalid", "temperror": "temperror"}


@pytest.fixture(scope="module")
def perl_dkim():
    perl = shutil.which("perl")
    ok = perl and subprocess.run([perl, "-MMail::DKIM::Verifier", "-MMail::DKIM::ARC::Verifier", "-e1"],
                                 capture_output=True).returncode == 0
    if not ok:
        unavailable("Perl Mail::DKIM is not installed (Debian: libmail-dkim-perl)")
    return perl


@pytest.fixture(scope="module")
def lab():
    zones = [
        zone(D, {"rsa": keypair("rsa").public_txt, "gone": "v=DKIM1; k=rsa; p=",
                 "wrong": keypair("rsa", "other").public_txt,
                 "strict": keypair("rsa").public_txt + "; t=s",
                 "sha1only": keypair("rsa").public_txt.replace("k=rsa;", "k=rsa; h=sha1;"),
                 "tlsrpt": keypair("rsa").public_txt + "; s=tlsrpt",
                 "extra": keypair("rsa").public_txt + "; zz=unknown"}),
        zone("lists.example.org", {"list": keypair("rsa", "list").public_txt}),
        RFC8463_ZONE,
    ]
    with labkit.dns.LabDNS(zones) as server:
        yield server


def _theirs(perl: str, lab, message: bytes) -> tuple[list[tuple[str, str]], str]:
    out = subprocess.run([perl, str(SCRIPT), lab.host, str(lab.port)], input=message,
                         capture_output=True, timeout=60, check=True).stdout.decode()
    sigs = [(m.group(1), m.group(2)) for m in re.finditer(r"^dkim \S+ (\S+) (\S+)", out, re.M)]
    return sigs, re.search(r"^arc (\S+)", out, re.M).group(1)


def _sign(selector: str = "rsa", message: bytes = MESSAGE, **kw) -> bytes:
    return dkim.sign(message, domain=D, selector=selector, private_key=keypair("rsa").private_pem, **kw)


def _cases() -> dict[str, bytes]:
    good = _sign()
    return {
        "good": good,
        "simple": _sign(canonicalization=("simple", "simple")),
        "body changed": good.replace(b"attached", b"ATTACHED"),
        "header changed": good.replace(b"Quarterly figures", b"Quarterly invoice"),
        "whitespace under relaxed": good.replace(b"the   figures", b"the figures"),
        "no key": _sign("nosuch"),
        "revoked": _sign("gone"),
        "other key": _sign("wrong"),
        "l= with appended text": _sign(body_length=True) + b"appended\r\n",
        "rsa-sha1": _sign(algorithm="rsa-sha1"),
        "three signatures": _sign("gone", _sign("wrong", _sign())),
        "rfc 8463 (rsa signature)": RFC8463_MESSAGE,
    }


CASES = ("good", "simple", "body changed", "header changed", "whitespace under relaxed", "no key", "revoked",
         "other key", "l= with appended text", "rsa-sha1", "three signatures", "rfc 8463 (rsa signature)")


@pytest.fixture(scope="module")
def cases():
    built = _cases()
    assert set(built) == set(CASES)
    return built


@pytest.mark.parametrize("case", CASES)
def test_dkim_results_agree(perl_dkim, lab, cases, case):
    message = cases[case]
    ours = [(r.selector, r.result) for r in dkim.verify(message, dns=lab)]
    theirs, _ = _theirs(perl_dkim, lab, message)
    if case.startswith("rfc 8463"):  # Mail::DKIM here cannot do Ed25519: compare the RSA one
        ours, theirs = ours[1:], theirs[1:]
    assert sorted((s, EXPECTED[r]) for s, r in ours) == sorted(theirs), (ours, theirs)


def test_arc_results_agree(perl_dkim, lab):
    signed = _sign()
    sealed = arc.seal(signed + b"-- list footer\r\n", domain="lists.example.org", selector="list",
                      private_key=keypair("rsa", "list").private_pem, authserv_id="mail.lists.example.org",
                      results_header="mail.lists.example.org; dkim=pass header.d=sender.example", dns=lab)
    tampered = sealed.replace(b"list footer", b"evil footer")
    for message, expected in ((signed, "none"), (sealed, "pass"), (tampered, "fail")):
        assert arc.verify(message, dns=lab).result == expected
        assert _theirs(perl_dkim, lab, message)[1] == expected


TAGS = "v=1; a=rsa-sha256; c=relaxed/relaxed; d=sender.example; s={s}; h=from:to:subject; {extra}bh=%BH%; b="


def _tagged(selector: str, extra: str = "") -> bytes:
    return sign_tags(MESSAGE, TAGS.format(s=selector, extra=extra), keypair("rsa").private_pem)


TAG_CASES = {  # RFC 6376 3.5 / 3.6.1 tags both verifiers read the same way
    "t=s key, i= in a subdomain": lambda: _tagged("strict", "i=@mail.sender.example; "),
    "t=s key, i= equal to d=": lambda: _tagged("strict", "i=@sender.example; "),
    "h=sha1 key, rsa-sha256 signature": lambda: _tagged("sha1only"),
    "s=tlsrpt key": lambda: _tagged("tlsrpt"),
    "unknown key tag": lambda: _tagged("extra"),
    "unknown signature tag": lambda: _tagged("rsa", "zz=1; "),
    "i= outside d=": lambda: _tagged("rsa", "i=@other.example; "),
    "i= in a subdomain of d=": lambda: _tagged("rsa", "i=joe@a.sender.example; "),
    # labkit passed this one before (dkimpy's 10 hours of leeway); Mail::DKIM has none
    "x= an hour ago": lambda: _tagged("rsa", f"t={int(time.time()) - 7200}; x={int(time.time()) - 3600}; "),
}


@pytest.mark.parametrize("case", list(TAG_CASES))
def test_tag_results_agree(perl_dkim, lab, case):
    message = TAG_CASES[case]()
    ours = [EXPECTED[r.result] for r in dkim.verify(message, dns=lab)]
    theirs = [result for _, result in _theirs(perl_dkim, lab, message)[0]]
    assert ours == theirs, (ours, theirs)
