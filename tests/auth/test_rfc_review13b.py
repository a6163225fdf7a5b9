"""Standards review, part 2: ARC sealing (RFC 8617) and Sender ID record selection (RFC 4406).

Each case is built on a real LabDNS with real sealed messages and compared with the RFC
and, where one exists here, an independent implementation (dkimpy's ARC verifier, Perl
Mail::DKIM's ARC verifier).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import dkim as dkimpy
import pytest

import labkit.dns
from labkit.auth import arc, senderid
from tests.auth.dkim_support import MESSAGE, keypair, zone

PERL_SCRIPT = Path(__file__).parent / "tools" / "mail_dkim_verify.pl"


@pytest.fixture(scope="module")
def lab():
    zones = [
        zone("lists.example.org", {"list": keypair("rsa", "list").public_txt}),
        zone("fwd.example.net", {"f": keypair("rsa", "fwd").public_txt}),
    ]
    with labkit.dns.LabDNS(zones) as server:
        yield server


def _list_seal(message: bytes, lab, results_header: str | None = None) -> bytes:
    return arc.seal(message, domain="lists.example.org", selector="list",
                    private_key=keypair("rsa", "list").private_pem,
                    authserv_id="mail.lists.example.org", results_header=results_header, dns=lab)


def _fwd_seal(message: bytes, lab) -> bytes:
    return arc.seal(message, domain="fwd.example.net", selector="f",
                    private_key=keypair("rsa", "fwd").private_pem,
                    authserv_id="mx.fwd.example.net", dns=lab)


def _dkimpy_arc(message: bytes, lab) -> bytes:
    resolver = lab.resolver()

    def txt(name, timeout=5):
        return b"".join(resolver.resolve(name.decode(), "TXT", search=False)[0].strings)

    return dkimpy.arc_verify(message, dnsfunc=txt)[0]


def _perl_arc(message: bytes, lab) -> str | None:
    perl = shutil.which("perl")
    if not perl or subprocess.run([perl, "-MMail::DKIM::ARC::Verifier", "-e1"],
                                  capture_output=True).returncode:
        return None
    out = subprocess.run([perl, str(PERL_SCRIPT), lab.host, str(lab.port)], input=message,
                         capture_output=True, timeout=60, check=True).stdout.decode()
    return re.search(r"^arc (\S+)", out, re.M).group(1)


# ------------------------------------------------------------------ ARC (RFC 8617)
def test_the_same_sealer_twice_keeps_a_valid_chain(lab):
    """A message that passes the same ADMD twice (a list that is a member of another
    list on the same host) gets a second set with cv=pass: the chain it received was
    valid (RFC 8617 5.1.2). The A-R field the first pass left on the message bears
    the same authserv-id; it must not be merged into the new AAR, where its
    ``arc=none`` made two chain states and dkimpy sealed cv=fail."""
    first = _list_seal(MESSAGE, lab)
    assert arc.verify(first, dns=lab).result == "pass"
    second = _list_seal(first, lab)
    result = arc.verify(second, dns=lab)
    assert [(i.instance, i.cv) for i in result.instances] == [(1, "none"), (2, "pass")], result.explain()
    assert result.result == "pass", result.reason
    # the new AAR records this pass only: one chain state, the one it found
    assert [str(r) for r in result.instances[1].results if r.method == "arc"] == ["arc=pass"]
    assert _dkimpy_arc(second, lab) == dkimpy.CV_Pass
    theirs = _perl_arc(second, lab)
    assert theirs in (None, "pass")
    # the same with the arrival results given, as the lab's mailing list does
    second = _list_seal(first, lab, "mail.lists.example.org; spf=pass smtp.mailfrom=sender.example")
    assert arc.verify(second, dns=lab).result == "pass"


def test_no_set_is_added_on_top_of_a_cv_fail_seal(lab):
    """RFC 8617 5.1, step 1: when the most recent ARC-Seal already says cv=fail, the
    sealer stops: the message leaves without a further ARC set."""
    listed = _list_seal(MESSAGE, lab)
    broken = listed.replace(b"the   figures", b"the changed figures")
    failed = _fwd_seal(broken, lab)  # i=2 finds the chain broken: cv=fail
    assert [(i.instance, i.cv) for i in arc.verify(failed, dns=lab).instances] == [(1, "none"), (2, "fail")]
    resealed = _list_seal(failed, lab)
    assert resealed == failed
    assert b"i=3" not in resealed


# ------------------------------------------------------------------ Sender ID (RFC 4406)
ZONE = """
$ORIGIN sid2.test.
@ SOA ns h 1 2 3 4 5
@ NS ns
ns A 192.0.2.1
twice TXT "v=spf1 ip4:192.0.2.70 -all"
twice TXT "spf2.0/pra ip4:192.0.2.70 -all"
twice TXT "spf2.0/mfrom,pra ip4:192.0.2.71 -all"
"""


def test_two_records_for_the_pra_scope_are_a_permerror():
    """RFC 4406 4.4: more than one spf2.0 record covering the pra scope is a PermError
    (Mail::SPF: "Redundant applicable 'spf2.0' sender policies found"); it used to
    fall back to the v=spf1 record and say pass."""
    with labkit.dns.LabDNS(zones=ZONE) as dns:
        res = senderid.check(b"From: boss@twice.sid2.test\r\n\r\nhi", ip="192.0.2.70",
                             helo="h.example", dns=dns)
    assert res.result == "permerror", str(res)
    assert res.scope == "spf2.0/pra"
