"""DMARC aggregate reports: build from evaluations, validate against the XSD, parse back, plot."""

from __future__ import annotations

import gzip
import io
import xml.etree.ElementTree as ET
import zipfile
from datetime import datetime, timezone

import matplotlib
import pytest

from labkit.auth import reports

matplotlib.use("Agg")

NS = {"d": reports.NAMESPACE}
T0 = datetime(2026, 11, 27, tzinfo=timezone.utc).timestamp()

# RFC 9990 Appendix B sample report (facts from the RFC: element names, order and values)
RFC9990_SAMPLE = """<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">
  <version>1.0</version>
  <report_metadata>
    <org_name>Sample Reporter</org_name>
    <email>report_sender@example-reporter.com</email>
    <extra_contact_info>...</extra_contact_info>
    <report_id>3v98abbp8ya9n3va8yr8oa3ya</report_id>
    <date_range><begin>302832000</begin><end>302918399</end></date_range>
    <generator>Example DMARC Aggregate Reporter v1.2</generator>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain>
    <p>quarantine</p><sp>none</sp><np>none</np>
    <testing>n</testing>
    <discovery_method>treewalk</discovery_method>
  </policy_published>
  <record>
    <row>
      <source_ip>192.0.2.123</source_ip>
      <count>123</count>
      <policy_evaluated><disposition>pass</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated>
    </row>
    <identifiers><envelope_from>example.com</envelope_from><header_from>example.com</header_from></identifiers>
    <auth_results>
      <dkim><domain>example.com</domain><result>pass</result><selector>abc123</selector></dkim>
      <spf><domain>example.com</domain><result>fail</result></spf>
    </auth_results>
  </record>
</feedback>
"""

# An RFC 7489-style report: no namespace, pct, sampled_out override
RFC7489_REPORT = """<?xml version="1.0"?>
<feedback>
  <report_metadata><org_name>old.example</org_name><email>r@old.example</email>
    <report_id>legacy-1</report_id><date_range><begin>1795737600</begin><end>1795823999</end></date_range>
  </report_metadata>
  <policy_published><domain>brand.example</domain><adkim>r</adkim><aspf>r</aspf><p>reject</p>
    <sp>quarantine</sp><pct>100</pct></policy_published>
  <record>
    <row><source_ip>203.0.113.66</source_ip><count>7</count>
      <policy_evaluated><disposition>reject</disposition><dkim>fail</dkim><spf>fail</spf>
        <reason><type>sampled_out</type></reason></policy_evaluated></row>
    <identifiers><header_from>brand.example</header_from></identifiers>
    <auth_results><spf><domain>attacker.test</domain><result>pass</result></spf></auth_results>
  </record>
</feedback>
"""


def _evaluations():
    brand_ok = {"source_ip": "192.0.2.10", "header_from": "brand.example", "envelope_from": "news@brand.example",
                "spf_domain": "brand.example", "spf_result": "pass",
                "dkim": [("brand.example", "s2026", "pass")], "disposition": "none", "dmarc_result": "pass"}
    phish = {"source_ip": "203.0.113.66", "header_from": "brand.example", "envelope_from": "x@attacker.test",
             "spf_domain": "attacker.test", "spf_result": "pass",
             "dkim": [{"domain": "attacker.test", "selector": "evil", "result": "pass"}],
             "disposition": "reject", "dmarc_result": "fail"}
    listed = {"ip": "198.51.100.50", "header_from": "brand.example", "mail_from": "bounce@lists.example.org",
              "spf_result": "pass", "dkim_domain": "brand.example", "dkim_selector": "s2026", "dkim_result": "fail",
              "disposition": "none", "dmarc_result": "fail", "reasons": [("mailing_list", "ARC from lists.example.org")]}
    log = []
    for i in range(5):
        log.append({**brand_ok, "timestamp": T0 + 3600 * i})
    for i in range(3):
        log.append({**phish, "timestamp": T0 + 86400 + 60 * i})
    log.append({**listed, "timestamp": T0 + 2 * 86400})
    return log


def test_build_groups_and_validates():
    report = reports.build(_evaluations(), policy_domain="brand.example",
                           policy={"p": "reject", "sp": "quarantine", "np": "reject", "adkim": "r", "aspf": "r"},
                           report_id="lab-1")
    assert report.problems == ()
    check = reports.validate(report)
    assert check.valid, check.errors
    root = ET.fromstring(report.xml)
    assert root.tag == f"{{{reports.NAMESPACE}}}feedback"
    records = root.findall("d:record", NS)
    assert [int(r.find("d:row/d:count", NS).text) for r in records] == [5, 3, 1]
    assert report.messages == 9
    phish = records[1]
    assert phish.find("d:row/d:source_ip", NS).text == "203.0.113.66"
    assert phish.find("d:row/d:policy_evaluated/d:disposition", NS).text == "reject"
    # attacker.test passes SPF and DKIM, but not aligned with brand.example
    assert phish.find("d:row/d:policy_evaluated/d:dkim", NS).text == "fail"
    assert phish.find("d:row/d:policy_evaluated/d:spf", NS).text == "fail"
    assert phish.find("d:auth_results/d:dkim/d:selector", NS).text == "evil"
    good = records[0]
    assert good.find("d:row/d:policy_evaluated/d:disposition", NS).text == "pass"  # RFC 9990's word
    assert good.find("d:row/d:policy_evaluated/d:dkim", NS).text == "pass"
    assert good.find("d:identifiers/d:envelope_from", NS).text == "brand.example"
    listed = records[2]
    assert listed.find("d:row/d:policy_evaluated/d:reason/d:type", NS).text == "mailing_list"
    # SPF passed for lists.example.org: relaxed alignment with brand.example fails
    assert listed.find("d:row/d:policy_evaluated/d:spf", NS).text == "fail"
    assert root.find("d:report_metadata/d:date_range/d:begin", NS).text == str(int(T0))
    assert root.find("d:policy_published/d:np", NS).text == "reject"


def test_round_trip_into_dataframe_and_summary():
    report = reports.build(_evaluations(), policy_domain="brand.example", policy={"p": "reject"})
    frame = reports.parse(report.xml)
    assert list(frame.columns) == list(reports.COLUMNS)
    assert frame["count"].sum() == 9
    assert frame.attrs["problems"] == []
    by_ip = frame.groupby("source_ip")["count"].sum().to_dict()
    assert by_ip == {"192.0.2.10": 5, "203.0.113.66": 3, "198.51.100.50": 1}
    assert set(frame.loc[frame.dmarc == "pass", "source_ip"]) == {"192.0.2.10"}
    assert frame.loc[frame.source_ip == "203.0.113.66", "dkim_domains"].item() == "attacker.test"
    table = reports.summary(frame)
    assert table.loc["203.0.113.66", "fail"] == 3 and table.loc["192.0.2.10", "pass"] == 5
    assert table.index[0] == "192.0.2.10"  # largest sender first


def test_rfc9990_sample_validates_and_parses():
    assert reports.validate(RFC9990_SAMPLE).valid
    frame = reports.parse(RFC9990_SAMPLE)
    row = frame.iloc[0]
    assert (row.source_ip, row["count"], row.disposition, row.dkim_selectors) == ("192.0.2.123", 123, "pass", "abc123")
    assert row.begin == datetime.fromtimestamp(302832000, tz=timezone.utc)


def test_rfc7489_report_parses_but_is_not_rfc9990():
    frame = reports.parse(RFC7489_REPORT)
    assert frame.iloc[0].reasons == "sampled_out" and frame.iloc[0]["count"] == 7
    check = reports.validate(RFC7489_REPORT)
    assert not check.valid and check.errors


@pytest.mark.parametrize("mutate,expect", [
    (lambda x: x.replace("<count>123</count>", "<count>0</count>"), "count"),
    (lambda x: x.replace("<disposition>pass</disposition>", "<disposition>maybe</disposition>"), "disposition"),
    (lambda x: x.replace("<source_ip>192.0.2.123</source_ip>", "<source_ip>not-an-ip</source_ip>"), "source_ip"),
    (lambda x: x.replace("<p>quarantine</p>", ""), "p"),
])
def test_schema_catches_broken_reports(mutate, expect):
    check = reports.validate(mutate(RFC9990_SAMPLE))
    assert not check.valid
    assert any(expect in e for e in check.errors), check.errors


def test_compressed_and_file_inputs(tmp_path):
    report = reports.build(_evaluations(), policy_domain="brand.example")
    gz = gzip.compress(report.xml)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("corp.example!brand.example!1!2.xml", report.xml)
    path = tmp_path / "r.xml.gz"
    path.write_bytes(gz)
    frame = reports.parse(gz, buf.getvalue(), path)
    assert frame["count"].sum() == 27
    assert reports.validate(path).valid and reports.validate(gz).valid


def test_bad_input_never_raises():
    frame = reports.parse(b"<feedback><record>", b"not xml", b"\x1f\x8bbroken", "<other/>",
                          '<!DOCTYPE x [<!ENTITY a "b">]><feedback/>')
    assert len(frame) == 0 and len(frame.attrs["problems"]) == 5
    assert not reports.validate(b"<<<").valid
    assert not reports.validate('<!DOCTYPE x [<!ENTITY a "b">]><feedback/>').valid
    weird = [{"source_ip": "999.1.1.1", "header_from": "", "spf_result": "maybe", "disposition": "explode",
              "dkim": [("", "s", "pass"), ("ok.example", "s", "weird")], "timestamp": "soon"}, object()]
    report = reports.build(weird, policy_domain="brand.example", policy={"p": "bogus"})
    assert len(report.problems) >= 6
    assert reports.validate(report).valid, reports.validate(report).errors
    empty = reports.build([], policy_domain="brand.example")
    assert empty.problems and not reports.validate(empty).valid


def test_records_from_objects():
    class Spf:
        ip, mail_from, domain, result = "192.0.2.10", "a@brand.example", "brand.example", "pass"

    class Sig:
        domain, selector, result = "brand.example", "ed2026", "pass"

    class Dmarc:
        header_from, result, disposition, spf_aligned, dkim_aligned = "brand.example", "pass", "none", True, True

    class Verdict:
        spf, dkim, dmarc, disposition, arc_override = Spf(), (Sig(),), Dmarc(), "accept", False

    rec = reports.to_record(Verdict())
    assert (rec.source_ip, rec.header_from, rec.spf_aligned, rec.dkim) == (
        "192.0.2.10", "brand.example", "pass", (("brand.example", "ed2026", "pass"),))
    report = reports.build([Verdict(), Verdict()], policy_domain="brand.example")
    assert report.rows[0][1] == 2 and reports.validate(report).valid


def test_plots():
    frame = reports.parse(reports.build(_evaluations(), policy_domain="brand.example").xml, RFC7489_REPORT)
    ax = reports.plot(frame, by="source")
    heights = sorted(round(p.get_height()) for p in ax.patches if p.get_height())
    assert heights == [1, 5, 10]  # 1 list + 3+7 attacker fails, 5 passes
    ax = reports.plot(frame, by="time")
    assert {line.get_label() for line in ax.get_lines()} == {"DMARC pass", "DMARC fail"}
    matplotlib.pyplot.close("all")


def test_sp_is_always_reported_and_defaults_to_p():
    """sp is a required element of policy_published; a record without sp= means sp = p."""
    report = reports.build(_evaluations(), policy_domain="brand.example", policy={"p": "quarantine"})
    root = ET.fromstring(report.xml)
    assert root.find("d:policy_published/d:sp", NS).text == "quarantine"
    assert root.find("d:policy_published/d:np", NS) is None
    assert reports.validate(report).valid
    pub = root.find("d:policy_published", NS)
    pub.remove(pub.find("d:sp", NS))
    assert not reports.validate(ET.tostring(root)).valid


def test_verdicts_judged_by_another_domains_policy_are_left_out_and_counted(lab_dns):
    """Real verdicts: a report for brand.example holds only mail its DMARC record judged."""
    from labkit.auth import evaluate

    def verdict(frm: str):
        raw = f"From: {frm}\r\nTo: alice@corp.example\r\nSubject: s\r\n\r\nb\r\n".encode()
        return evaluate(raw, ip="203.0.113.66", mail_from=frm, helo="mail.attacker.test", dns=lab_dns)

    found = [verdict("ceo@brand.example"), verdict("boss@corp.example"), verdict("x@news.brand.example")]
    assert [v.dmarc.policy_domain for v in found] == ["brand.example", "corp.example", "brand.example"]
    report = reports.build(found, policy_domain="brand.example")
    assert report.messages == 2 and report.other_domains == 1
    assert {rec.header_from for rec, _ in report.rows} == {"brand.example", "news.brand.example"}
    assert reports.build(found, policy_domain="corp.example").messages == 1
