"""Aggregate reports built from real lab traffic, checked against RFC 9990 (session 14 review).

Each report here comes from messages sent through a running Lab (real SMTP on loopback,
the receiver's own verdict log) or from ``lk.auth.evaluate`` on the lab's DNS; the
expectations come from the published DMARC records in data/zones and from the log.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

import labkit.auth
import labkit.mta
from labkit.auth import reports
from labkit.mta import make_message
from labkit.mta.sender import dkim_sign

BRAND = "brand.example"
NS = {"d": reports.NAMESPACE}


@pytest.fixture(scope="module")
def lab(lab_dns):
    """A Lab on the session's LabDNS; no content filter (reports only need authentication)."""
    with labkit.mta.Lab(dns=lab_dns, scorer=None) as running:
        signed = dkim_sign(make_message(from_="news@brand.example", to="alice@corp.example",
                                        subject="signed", body="hello\n"), BRAND)
        assert running.send(signed, from_host="mail.brand.example").ok
        running.send(make_message(from_="ceo@brand.example", to="alice@corp.example",
                                  subject="forged", body="hello\n"), from_host="mail.nospf.example")
        running.send(make_message(from_="postmaster@brand.example", to="alice@corp.example",
                                  subject="bounce", body="hello\n"),
                     from_host="mail.brand.example", mail_from="")
        yield running


def _xml(report: reports.AggregateReport) -> ET.Element:
    return ET.fromstring(report.xml)


def _published(report: reports.AggregateReport) -> dict[str, str]:
    pub = _xml(report).find("d:policy_published", NS)
    return {child.tag.rpartition("}")[2]: child.text for child in pub}


def test_policy_published_is_the_policy_the_receiver_applied(lab):
    """brand.example publishes p=reject (data/zones); without policy= the report said p=none.

    RFC 9990 (first-level elements, policy_published): "The DMARC policy configuration observed by the
    receiving system"; the receiver logged dmarc_policy=reject for mail From brand.example.
    """
    logged = {v["dmarc_policy"] for v in lab.verdicts() if v.get("header_from") == BRAND}
    assert logged == {"reject"}
    report = reports.build(lab.verdicts(), policy_domain=BRAND)
    published = _published(report)
    assert published["p"] == "reject"
    assert published["testing"] == "n"  # the log's dmarc_testing: no t=y
    assert "pct" not in published  # RFC 9990 dropped pct
    assert report.validate().valid


def test_policy_published_from_verdicts_is_the_whole_record_and_the_discovery_method(lab_dns):
    """A Verdict carries the DMARC record found: p, sp, np as published, and how it was found.

    RFC 9990: discovery_method is "psl" (RFC 7489's method) or "treewalk" (RFC 9989).
    """
    message = make_message(from_="ceo@brand.example", to="alice@corp.example", subject="x", body="x\n")
    for method in ("psl", "treewalk"):
        verdict = labkit.auth.evaluate(message, ip="198.51.100.99", mail_from="ceo@brand.example",
                                       helo="mail.nospf.example", dns=lab_dns, dmarc_method=method)
        record = verdict.dmarc.record
        assert (record.p, record.sp, record.np) == ("reject", "quarantine", "reject")
        report = reports.build([verdict], policy_domain=BRAND)
        published = _published(report)
        assert published["discovery_method"] == method
        assert (published["p"], published["sp"], published["np"]) == ("reject", "quarantine", "reject")
        assert report.validate().valid
    # an explicit policy= and discovery_method= still win over what the evaluations say
    report = reports.build([verdict], policy_domain=BRAND, policy="v=DMARC1; p=none",
                           discovery_method="psl")
    assert (_published(report)["p"], _published(report)["discovery_method"]) == ("none", "psl")


def test_date_range_covers_every_record(lab):
    """begin <= the first verdict's time and end >= the last one's (whole UTC seconds)."""
    stamps = [v["t"] for v in lab.verdicts() if v.get("dmarc_policy_domain") == BRAND]
    assert any(t != int(t) for t in stamps)  # the log has fractions of a second
    report = reports.build(lab.verdicts(), policy_domain=BRAND)
    assert report.begin <= min(stamps) and report.end >= max(stamps)
    assert (report.begin, report.end) == (math.floor(min(stamps)), math.ceil(max(stamps)))
    dates = _xml(report).find("d:report_metadata/d:date_range", NS)
    assert (int(dates.find("d:begin", NS).text), int(dates.find("d:end", NS).text)) == (
        report.begin, report.end)


def test_report_ids_are_unique_per_report(lab):
    ids = {reports.build(lab.verdicts(), policy_domain=BRAND).report_id for _ in range(20)}
    assert len(ids) == 20


def test_null_reverse_path_is_an_empty_envelope_from_not_the_helo_name(lab, lab_dns):
    """RFC 9990 (contents of the "identifiers" element): envelope_from "MAY be existing but empty if the message had a null
    reverse-path"; the HELO name (what RFC 7489's schema comment suggested) is not the
    RFC5321.MailFrom domain. SPF still names the domain it checked (postmaster@HELO,
    RFC 7208 2.4) with scope mfrom.
    """
    message = make_message(from_="postmaster@brand.example", to="alice@corp.example",
                           subject="bounce", body="x\n")
    verdict = labkit.auth.evaluate(message, ip="192.0.2.10", mail_from="", helo="mail.brand.example",
                                   dns=lab_dns)
    from_verdict = reports.build([verdict], policy_domain=BRAND)
    bounces = [v for v in lab.verdicts() if v["mail_from"] == "<>"]
    assert len(bounces) == 1
    from_log = reports.build(bounces, policy_domain=BRAND)
    for report in (from_verdict, from_log):
        (record,) = _xml(report).findall("d:record", NS)
        envelope = record.find("d:identifiers/d:envelope_from", NS)
        assert envelope is not None and (envelope.text or "") == ""
        spf = record.find("d:auth_results/d:spf", NS)
        assert (spf.find("d:domain", NS).text, spf.find("d:scope", NS).text) == (
            "mail.brand.example", "mfrom")
        assert report.validate().valid
    # a record without any envelope information writes no envelope_from at all
    plain = reports.build([{"source_ip": "192.0.2.1", "header_from": BRAND, "spf_domain": BRAND}],
                          policy_domain=BRAND)
    assert _xml(plain).find("d:record/d:identifiers/d:envelope_from", NS) is None


def test_every_dkim_result_has_a_selector_element(lab):
    """RFC 9990 (contents of the "dkim" element): selector is REQUIRED in each dkim element; a log line from before
    the selector was logged gives an empty one rather than none."""
    signed = [v for v in lab.verdicts() if v["dkim_results"]]
    assert signed and signed[0]["dkim_results"][0]["selector"]
    report = reports.build(signed, policy_domain=BRAND)
    selectors = [e.text for e in _xml(report).iterfind("d:record/d:auth_results/d:dkim/d:selector", NS)]
    assert selectors == [signed[0]["dkim_results"][0]["selector"]]
    old = [{k: v for k, v in signed[0].items() if k != "dkim_results"}]
    report = reports.build(old, policy_domain=BRAND)
    dkim = _xml(report).findall("d:record/d:auth_results/d:dkim", NS)
    assert len(dkim) == 1 and dkim[0].find("d:selector", NS) is not None
    assert report.validate().valid
    # and the schema labkit validates with requires it (it had minOccurs="0")
    root = _xml(report)
    for element in root.iterfind("d:record/d:auth_results/d:dkim", NS):
        element.remove(element.find("d:selector", NS))
    assert not reports.validate(ET.tostring(root)).valid


def test_ipv6_sources_many_records_and_error_results_validate(lab):
    """Real verdicts, each re-sourced (IPv6 documentation addresses) and given unusual results."""
    base = [v for v in lab.verdicts() if v.get("dmarc_policy_domain") == BRAND]
    outcomes = ("temperror", "permerror", "none", "neutral", "softfail", "fail", "pass")
    items = []
    for i in range(300):
        v = dict(base[i % len(base)])
        v["client"] = f"2001:db8:{i:x}::{i % 7 + 1}" if i % 3 else f"2001:db8::ffff:192.0.2.{i % 250}"
        v["spf"] = outcomes[i % len(outcomes)]
        v["dkim_results"] = [{"domain": BRAND, "selector": "s2026",
                              "result": ("temperror", "permerror", "none", "policy", "neutral")[i % 5]}]
        items.append(v)
    report = reports.build(items, policy_domain=BRAND)
    assert report.problems == ()
    assert len(report.rows) == 300 and report.messages == 300
    check = report.validate()
    assert check.valid, check.errors
    sources = {e.text for e in _xml(report).iterfind("d:record/d:row/d:source_ip", NS)}
    assert "2001:db8:1::2" in sources and "2001:db8::ffff:c000:203" in sources


def test_a_report_from_the_event_log_states_the_whole_published_record(lab):
    """brand.example publishes p=reject; sp=quarantine; np=reject (data/zones). The verdict
    events carried only the applied policy, so a report built from the log said sp=reject
    (sp defaults to p) and nothing of np or the alignment modes; the receiver now logs
    the record's tags (dmarc_published) and the report states them."""
    from labkit.mta import events

    for source in (lab.verdicts(), events.read(lab.root / "logs" / "mx.corp.example.jsonl")):
        published = _published(reports.build(source, policy_domain=BRAND))
        assert {k: published.get(k) for k in ("p", "sp", "np", "adkim", "aspf", "discovery_method")} == {
            "p": "reject", "sp": "quarantine", "np": "reject", "adkim": "r", "aspf": "r",
            "discovery_method": "treewalk"}, published
