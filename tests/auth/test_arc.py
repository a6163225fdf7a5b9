"""ARC sealing and chain verification through a real LabDNS (lists and forwarders)."""

from __future__ import annotations

import re

import dkim as dkimpy
import pytest

import labkit.dns
from labkit.auth import arc, dkim
from labkit.errors import UsageError
from tests.auth.dkim_support import MESSAGE, keypair, zone

LIST_AR = ("Authentication-Results: mail.lists.example.org; spf=pass smtp.mailfrom=sender.example; "
           "dkim=pass header.d=sender.example header.s=s; dmarc=pass header.from=sender.example")


@pytest.fixture(scope="module")
def lab():
    zones = [
        zone("sender.example", {"s": keypair("rsa").public_txt}),
        zone("lists.example.org", {"list": keypair("rsa", "list").public_txt, "gone": "v=DKIM1; p="}),
        zone("fwd.example.net", {"f": keypair("rsa", "fwd").public_txt}),
    ]
    with labkit.dns.LabDNS(zones) as server:
        yield server


def _list_edit(message: bytes) -> bytes:
    edited = message.replace(b"Subject: Quarterly figures", b"Subject: [team] Quarterly figures")
    return edited + b"-- \r\nteam mailing list\r\n"


@pytest.fixture(scope="module")
def chain(lab):
    """Author signs; the list edits and seals (i=1); a forwarder seals again (i=2)."""
    signed = dkim.sign(MESSAGE, domain="sender.example", selector="s", private_key=keypair("rsa").private_pem)
    listed = arc.seal(_list_edit(signed), domain="lists.example.org", selector="list",
                      private_key=keypair("rsa", "list").private_pem, authserv_id="mail.lists.example.org",
                      results_header=LIST_AR, dns=lab)
    forwarded = arc.seal(listed, domain="fwd.example.net", selector="f",
                         private_key=keypair("rsa", "fwd").private_pem, authserv_id="mx.fwd.example.net", dns=lab)
    return signed, listed, forwarded


def _dkimpy_arc(message: bytes, lab):
    resolver = lab.resolver()

    def txt(name, timeout=5):
        return b"".join(resolver.resolve(name.decode(), "TXT", search=False)[0].strings)

    return dkimpy.arc_verify(message, dnsfunc=txt)[0]


def test_unsealed_message_is_none(lab, chain):
    result = arc.verify(chain[0], dns=lab)
    assert result.result == "none" and result.instances == ()
    assert result.trusted_results(["lists.example.org"]) is None


def test_list_seal_passes_while_author_dkim_breaks(lab, chain):
    _, listed, _ = chain
    assert dkim.verify(listed, dns=lab)[0].code == "body-hash-mismatch"
    result = arc.verify(listed, dns=lab)
    assert result.result == "pass", result.reason
    (inst,) = result.instances
    assert (inst.instance, inst.sealer, inst.cv, inst.seal_valid, inst.ams_valid) == (
        1, "lists.example.org", "none", True, True)
    assert inst.authserv_id == "mail.lists.example.org"
    assert inst.result_for("dmarc").result == "pass"
    assert inst.result_for("dmarc").get("header.from") == "sender.example"
    assert inst.result_for("arc").result == "none"  # seal() added the chain state
    assert _dkimpy_arc(listed, lab) == dkimpy.CV_Pass
    # the sealer also put its Authentication-Results on the message, one result per line
    # as receivers write it (RFC 5322 2.1.1), like the AAR that dkimpy writes
    ar = re.search(rb"^Authentication-Results: mail\.lists\.example\.org;\r\n\tspf=pass"
                   rb"(?:[^\r]*\r\n\t)+[^\r]*\r\n(?=\S)", listed, re.M)
    assert ar, listed[:1500]
    assert max(len(line) for line in ar.group(0).split(b"\r\n")) <= 78


def test_two_instances_and_trusted_sealer(lab, chain):
    *_, forwarded = chain
    result = arc.verify(forwarded, dns=lab)
    assert result.result == "pass"
    assert [i.instance for i in result.instances] == [1, 2]
    assert result.sealers == ("lists.example.org", "fwd.example.net")
    assert [i.cv for i in result.instances] == ["none", "pass"]
    # the forwarder recorded its own view: author DKIM broken by the list, chain passing
    second = result.instances[1]
    assert second.result_for("dkim").result == "fail" and second.result_for("arc").result == "pass"
    assert result.trusted_results(["Lists.Example.org."]).instance == 1
    assert result.trusted_results(["fwd.example.net", "lists.example.org"]).instance == 2
    assert result.trusted_results(["attacker.test"]) is None
    assert result.oldest_pass == 0  # RFC 8617 5.2 step 5: every AMS verifies
    assert "i=2" in result.explain() and result.to_dict()["sealers"] == ["lists.example.org", "fwd.example.net"]
    assert _dkimpy_arc(forwarded, lab) == dkimpy.CV_Pass


def test_body_changed_after_last_seal(lab, chain):
    *_, forwarded = chain
    tampered = forwarded.replace(b"team mailing list", b"visit attacker.test")
    result = arc.verify(tampered, dns=lab)
    assert result.result == "fail" and result.failed_instance == 2
    assert "body changed" in result.reason
    assert "RFC 8617 5.2 step 4: the newest ARC-Message-Signature (i=2) verifies: NO" in result.steps
    assert result.trusted_results(["lists.example.org"]) is None
    assert _dkimpy_arc(tampered, lab) == dkimpy.CV_Fail


def test_recorded_results_cannot_be_rewritten(lab, chain):
    *_, forwarded = chain
    tampered = forwarded.replace(b"spf=pass smtp.mailfrom=sender.example;\r\n dkim=pass",
                                 b"spf=fail smtp.mailfrom=sender.example;\r\n dkim=pass", 1)
    assert tampered != forwarded
    result = arc.verify(tampered, dns=lab)
    assert result.result == "fail"
    assert not result.instances[0].seal_valid
    assert "ARC-Seal does not verify" in result.reason
    assert "RFC 8617 5.2 step 6: every ARC-Seal verifies: NO, i=1, i=2" in result.steps


def test_removed_set_and_key_problems(lab, chain):
    _, listed, forwarded = chain
    # drop the AAR of i=1: incomplete set
    no_aar = re.sub(rb"ARC-Authentication-Results: i=1;.*?(?=\r\n\S)\r\n", b"", forwarded, count=1, flags=re.S)
    result = arc.verify(no_aar, dns=lab)
    assert result.result == "fail" and "Incomplete ARC set" in result.reason
    # a sealer whose key is revoked
    revoked = arc.seal(_list_edit(MESSAGE), domain="lists.example.org", selector="gone",
                       private_key=keypair("rsa", "list").private_pem, authserv_id="mail.lists.example.org",
                       dns=lab)
    result = arc.verify(revoked, dns=lab)
    assert result.result == "fail" and result.failed_instance == 1
    assert "revoked" in result.reason


def test_cv_fail_ends_the_chain(lab, chain):
    *_, forwarded = chain
    broken = forwarded.replace(b"team mailing list", b"changed text")
    resealed = arc.seal(broken, domain="fwd.example.net", selector="f", private_key=keypair("rsa", "fwd").private_pem,
                        authserv_id="mx.fwd.example.net", dns=lab)
    result = arc.verify(resealed, dns=lab)
    assert result.result == "fail"
    assert result.instances[-1].cv == "fail" and result.instances[-1].instance == 3


def test_seal_misuse(lab):
    with pytest.raises(UsageError):
        arc.seal(MESSAGE, domain="lists.example.org", selector="list", private_key=keypair("ed25519").private_pem,
                 authserv_id="mail.lists.example.org", dns=lab)
    with pytest.raises(UsageError):
        arc.seal(MESSAGE, domain="lists.example.org", selector="list", private_key=keypair("rsa", "list").private_pem,
                 authserv_id="mail.lists.example.org", results_header="Authentication-Results: other.example; spf=pass",
                 dns=lab)


@pytest.mark.parametrize("raw", [
    b"",
    b"ARC-Seal: i=1; cv=none; garbage\r\nFrom: a@b.example\r\n\r\nx\r\n",
    b"ARC-Seal: i=x\r\nnot a header line\r\n\r\n",
    b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=lists.example.org; s=list; b=AAAA\r\n"
    b"ARC-Message-Signature: i=1; a=rsa-sha256; d=lists.example.org; s=list; h=from; bh=AAAA; b=AAAA\r\n"
    b"ARC-Authentication-Results: i=1; mail.lists.example.org; spf=pass\r\nFrom: a@b.example\r\n\r\nx\r\n",
    bytes(range(256)),
])
def test_bad_input_never_raises(lab, raw):
    result = arc.verify(raw, dns=lab)
    assert result.result in ("none", "fail") and result.reason
    result.to_dict()


def test_dns_timeout_on_sealer_key_is_named(chain):
    *_, forwarded = chain
    zones = [zone("lists.example.org", {"list": keypair("rsa", "list").public_txt}),
             zone("fwd.example.net", {"f": keypair("rsa", "fwd").public_txt})]
    with labkit.dns.LabDNS(zones, faults={"f._domainkey.fwd.example.net": "timeout"}) as server:
        result = arc.verify(forwarded, dns=server.resolver(timeout=0.3))
    assert result.result == "fail" and result.failed_instance == 2
    assert "temperror" in result.reason


def test_too_many_arc_sets_fail_without_work(lab):
    flood = b"".join(b"ARC-Seal: i=%d; a=rsa-sha256; cv=pass; d=x.example; s=s; b=AAAA\r\n" % i for i in range(1, 53))
    result = arc.verify(flood + MESSAGE, dns=lab)
    assert result.result == "fail" and "50" in result.reason


def test_sealing_and_verifying_long_blank_runs_never_use_dkimpys_quadratic_regex(lab, monkeypatch):
    """dkimpy's trailing-blank regex is quadratic in a blank run that does not end its line
    (1 MB of such lines: 1.6 s).  Signing, sealing and ARC verification go through
    dkimpy's ``Relaxed`` canonicalisation, which labkit makes linear with the same bytes."""

    def refuse(_body):
        raise AssertionError("dkimpy's relaxed body regex was used")

    monkeypatch.setattr(dkimpy.canonicalization, "strip_trailing_whitespace", refuse)
    head, _ = MESSAGE.split(b"\r\n\r\n", 1)
    padded = head + b"\r\n\r\n" + (b"x" + b" " * 997 + b"y\r\n") * 50 + b"end \t \r\n\r\n"
    signed = dkim.sign(padded, domain="sender.example", selector="s", private_key=keypair("rsa").private_pem)
    sealed = arc.seal(_list_edit(signed), domain="lists.example.org", selector="list",
                      private_key=keypair("rsa", "list").private_pem, authserv_id="mail.lists.example.org",
                      results_header=LIST_AR, dns=lab)
    assert arc.verify(sealed, dns=lab).result == "pass"
    monkeypatch.undo()
    # dkimpy's own ARC verifier agrees (its body form is the linear one too; that it equals
    # dkimpy's helper functions is tested in test_dkim_fast)
    assert _dkimpy_arc(sealed, lab) == dkimpy.CV_Pass
    assert [r.result for r in dkim.verify(signed, dns=lab)] == ["pass"]
    tampered = sealed.replace(b"x" + b" " * 997 + b"y", b"x" + b" " * 996 + b"zy", 1)
    assert arc.verify(tampered, dns=lab).result == "fail"


def test_seal_of_a_message_with_a_huge_dkim_domain_keeps_its_lines_short(lab):
    """The sealer writes its own DKIM results into ARC-Authentication-Results when it is
    given none; a crafted signature's d= of 70,000 characters went there in full."""
    crafted = (b"DKIM-Signature: v=1; a=rsa-sha256; d=" + b"x" * 70_000 + b".example; s=sel;"
               b" c=relaxed/relaxed; h=from; bh=AAAA; b=AAAAAAAA\r\n" + MESSAGE)
    sealed = arc.seal(crafted, domain="lists.example.org", selector="list",
                      private_key=keypair("rsa", "list").private_pem,
                      authserv_id="mail.lists.example.org", dns=lab)
    head = sealed[: len(sealed) - len(crafted)]  # the three ARC fields the sealer added
    assert head.startswith(b"ARC-Seal:") and b"x" * 300 not in head
    aar = re.search(rb"ARC-Authentication-Results:.*?\r\n(?![ \t])", head, re.S).group(0)
    assert b"dkim=permerror header.d=unknown" in aar
    assert arc.verify(sealed, dns=lab).result == "pass"
