"""AlignmentExplorer: built without a browser; .value holds the identifiers and policy."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

import labkit.dns  # noqa: E402
from labkit.errors import UsageError  # noqa: E402
from labkit.widgets.alignment import AlignmentExplorer  # noqa: E402

TENANT = '"v=DMARC1; p=reject; psd=n"'


def test_alignment_break_phish_fails_and_shows_policy(lab_dns):
    # SPF and DKIM pass for attacker.test, but From says brand.example
    w = AlignmentExplorer("security@brand.example", "bounce@attacker.test", "attacker.test",
                          p="reject", dns=lab_dns)
    assert w.verdict["spf_aligned"] is False and w.verdict["dkim_aligned"] is False
    assert "DMARC: fail → disposition reject (p=reject)" in w.text
    w.value = {"p": "quarantine"}
    assert "DMARC: fail → disposition quarantine" in w.text
    assert w._controls["p"].value == "quarantine"  # the control follows .value


@pytest.mark.parametrize(
    ("mail_from", "d", "aspf", "adkim", "spf_ok", "dkim_ok"),
    [
        # RFC 9989 alignment by hand: strict = identical names, relaxed = same org domain
        ("news.brand.example", "brand.example", "r", "r", True, True),
        ("news.brand.example", "brand.example", "s", "s", False, True),
        ("news.brand.example", "mail.brand.example", "s", "r", False, True),
        ("news.brand.example", "mail.brand.example", "s", "s", False, False),
        ("brand.example.attacker.test", "brand-example.test", "r", "r", False, False),
    ],
)
def test_alignment_matrix(lab_dns, mail_from, d, aspf, adkim, spf_ok, dkim_ok):
    w = AlignmentExplorer(dns=lab_dns)
    w.value = {"header_from": "brand.example", "mail_from": mail_from, "dkim_domain": d,
               "aspf": aspf, "adkim": adkim, "p": "reject"}
    assert (w.verdict["spf_aligned"], w.verdict["dkim_aligned"]) == (spf_ok, dkim_ok)
    expected = "pass" if (spf_ok or dkim_ok) else "fail"
    assert f"DMARC: {expected}" in w.text
    assert ("aligned" if dkim_ok else "not aligned") in w.text.split("DKIM")[1].splitlines()[0]


def test_editing_a_control_reevaluates(lab_dns):
    w = AlignmentExplorer("brand.example", "brand.example", "", dns=lab_dns)
    assert w.verdict["dmarc"] == "pass"
    w._controls["mail_from"].value = "evil@attacker.test"
    assert w.value["mail_from"] == "evil@attacker.test"
    assert w.verdict["dmarc"] == "fail" and "not aligned" in w._view.value


def test_tree_walk_and_psl_disagree_on_a_tenant_with_psd_n():
    # a tenant under dmarc.test declares itself an organisational domain (psd=n):
    # the RFC 9989 tree walk stops there; the Public Suffix List knows nothing of it
    with labkit.dns.LabDNS() as dns:
        dns.add("_dmarc.tenant.dmarc.test", "TXT", TENANT)
        w = AlignmentExplorer("tenant.dmarc.test", "bounce@dmarc.test", "", dns=dns)
        assert w.value["method"] == "treewalk"
        assert w.verdict["org"]["tenant.dmarc.test"] == "tenant.dmarc.test"
        assert w.verdict["dmarc"] == "fail"
        w.value = {"method": "psl"}
        assert w.verdict["org"]["tenant.dmarc.test"] == "dmarc.test"
        assert w.verdict["dmarc"] == "pass"
        assert "organisational domains (psl)" in w.text


def test_unknown_key_is_refused():
    w = AlignmentExplorer()
    with pytest.raises(UsageError, match="unknown keys"):
        w.value = {"from": "x.example"}


def test_text_fallback_is_the_whole_verdict(lab_dns):
    w = AlignmentExplorer(dns=lab_dns)
    assert w._repr_mimebundle_()["text/plain"] == w.text
    assert w.text.endswith("DMARC: fail → disposition reject (p=reject)")
