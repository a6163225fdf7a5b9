"""Aggregate-report calls given a learner's wrong input: each fails at the call, in words.

Before these checks ``summary([1, 2])`` ended in "'list' object has no attribute
'pivot_table'", and ``build()`` given raw messages instead of verdicts made a report
row of defaults (source 0.0.0.0, From unknown.invalid) counting mail that nobody
had evaluated. The verdicts here come from real evaluations on the course zones.
"""

from __future__ import annotations

import email
import email.policy

import matplotlib
import pytest

import labkit as lk
from labkit.auth import reports
from labkit.errors import UsageError

matplotlib.use("Agg")

FROM, TO = "news@brand.example", "alice@corp.example"


@pytest.fixture(scope="module")
def msg() -> bytes:
    return lk.mta.make_message(from_=FROM, to=TO, subject="report input", body="hello")


@pytest.fixture(scope="module")
def verdict(lab_dns, msg):
    ip = lab_dns.resolver().resolve("mail.brand.example", "A")[0].address
    return lk.auth.evaluate(msg, ip=ip, mail_from=FROM, helo="mail.brand.example", dns=lab_dns)


@pytest.fixture(scope="module")
def report(verdict):
    return reports.build([verdict, verdict], policy_domain="brand.example")


# ------------------------------------------------------------------ summary / plot
@pytest.mark.parametrize(("value", "phrase"), [
    ([1, 2], "not list"),
    (None, "not NoneType (did the cell that makes it run?)"),
    ("week1", "not str"),
])
def test_summary_says_it_takes_a_reports_table(value, phrase):
    with pytest.raises(TypeError, match=r"summary\(\) takes the table of a report: "
                                        r"report\.to_dataframe\(\)") as err:
        reports.summary(value)
    assert phrase in str(err.value)


def test_summary_of_a_table_without_the_report_columns(report):
    frame = report.to_dataframe().drop(columns=["dmarc"])
    with pytest.raises(UsageError, match="has no column 'dmarc'"):
        reports.summary(frame)


def test_summary_and_plot_read_a_report_as_its_table(report):
    assert reports.summary(report).equals(reports.summary(report.to_dataframe()))
    assert reports.summary(report).loc[report.rows[0][0].source_ip, "total"] == 2
    assert reports.plot(report).get_xlabel() == "source IP"


def test_plot_says_what_it_takes():
    with pytest.raises(TypeError, match=r"plot\(\) takes the table of a report"):
        reports.plot([1, 2])


def test_plot_with_a_misspelt_by_names_the_choices(report):
    with pytest.raises(UsageError, match="by must be 'source' or 'time', not 'day'"):
        reports.plot(report.to_dataframe(), by="day")


# ------------------------------------------------------------------ build
def test_build_refuses_raw_messages_instead_of_verdicts(msg):
    with pytest.raises(TypeError, match=r"item 0 of the records is a raw message: evaluate it first"):
        reports.build([msg], policy_domain="brand.example")
    parsed = email.message_from_bytes(msg, policy=email.policy.default)
    with pytest.raises(TypeError, match=r"item 0 of the records is a raw message.*lk\.auth\.evaluate"):
        reports.build([parsed], policy_domain="brand.example")


def test_build_refuses_text_none_and_one_message_whole(msg):
    with pytest.raises(TypeError, match="item 0 of the records is text"):
        reports.build([msg.decode()], policy_domain="brand.example")
    with pytest.raises(TypeError, match=r"item 1 of the records is None"):
        reports.build([{"source_ip": "192.0.2.1", "header_from": "brand.example"}, None],
                      policy_domain="brand.example")
    with pytest.raises(TypeError, match="records is a raw message"):
        reports.build(msg, policy_domain="brand.example")  # its bytes were read as numbers


def test_build_given_one_verdict_says_to_put_it_in_a_list(verdict):
    with pytest.raises(TypeError, match=r"records is one Verdict, not a list of them: put it in a list"):
        reports.build(verdict, policy_domain="brand.example")


def test_to_record_refuses_a_raw_message(msg):
    with pytest.raises(TypeError, match="raw message"):
        reports.to_record(msg)


def test_build_arguments_of_the_wrong_kind(verdict):
    with pytest.raises(UsageError, match="discovery_method must be 'treewalk' or 'psl', not 'tree'"):
        reports.build([verdict], policy_domain="brand.example", discovery_method="tree")
    with pytest.raises(TypeError, match=r"policy_domain must be a str .*\.decode\(\) it"):
        reports.build([verdict], policy_domain=b"brand.example")
    with pytest.raises(UsageError, match="policy_domain is empty"):
        reports.build([verdict], policy_domain="")
    with pytest.raises(UsageError, match="policy is the published DMARC record"):
        reports.build([verdict], policy_domain="brand.example", policy="reject")


def test_build_reads_the_policy_as_its_record_text(verdict):
    text = reports.build([verdict], policy_domain="brand.example", policy="v=DMARC1; p=reject; sp=none",
                         report_id="r1", begin=1, end=2)
    parsed = reports.build([verdict], policy_domain="brand.example",
                           policy=lk.auth.dmarc.parse_record("v=DMARC1; p=reject; sp=none"),
                           report_id="r1", begin=1, end=2)
    assert text.xml == parsed.xml and b"<p>reject</p>" in text.xml
    assert reports.validate(text).valid


def test_valid_input_builds_as_before(report):
    assert report.messages == 2 and report.problems == ()
    assert reports.validate(report).valid


# ------------------------------------------------------------------ parse / validate
def test_parse_and_validate_say_what_they_take(report):
    with pytest.raises(TypeError, match=r"parse\(\) takes a report: .* not NoneType \(did the cell"):
        reports.parse(None)
    with pytest.raises(TypeError, match=r"validate\(\) takes a report: .* not list \(one report at a time\)"):
        reports.validate([report])
    # a bad report is still a finding, not an error
    assert not reports.validate(b"<feedback/>").valid


def test_parse_reads_a_list_of_reports_as_the_reports(report):
    listed, spread = reports.parse([report, report.xml]), reports.parse(report, report.xml)
    assert listed.equals(spread) and len(listed) == 2 * len(report.rows)
    assert listed.attrs["problems"] == []
