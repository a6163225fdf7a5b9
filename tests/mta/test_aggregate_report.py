"""DMARC aggregate reports built from the receiver's event log (real Lab, real SMTP).

Each expectation comes from the scenario or from what the receiver logged for that
message, never from a stored run: the client address is the delivering lab host's,
the DKIM domain and selector are read from the signature we sent, the SPF domain is
the envelope sender the MX saw.
"""

from __future__ import annotations

import email
import math
import re

import pytest

import labkit.dns
import labkit.mta
from labkit.auth import reports
from labkit.mta import events, make_message
from labkit.mta.receiver import Decision
from labkit.mta.sender import dkim_sign

BRAND = "brand.example"
_TAG = re.compile(r"(?:^|;)\s*([a-z]+)\s*=\s*([^;\s]+)")

# name: (sending host, From, To, sign?, how many, host the MX hears it from,
#        the MX's decision, the report's disposition, override reasons[, MAIL FROM])
SCENARIOS = {
    "signed": ("mail.brand.example", "news@brand.example", "alice@corp.example", True, 2,
               "mail.brand.example", "INBOX", "pass", ()),
    "forged": ("mail.nospf.example", "ceo@brand.example", "alice@corp.example", False, 1,
               "mail.nospf.example", "reject", "reject", ()),
    "forwarded": ("mail.brand.example", "news@brand.example", "alice@fwd.example.net", True, 1,
                  "mx.fwd.example.net", "INBOX", "pass", ()),
    "list": ("mail.brand.example", "news@brand.example", "lab-list@lists.example.org", True, 1,
             "mail.lists.example.org", "INBOX", "none", ("trusted_forwarder",)),
    # null envelope sender: SPF checks the HELO name (no SPF record there), unsigned
    "bounce": ("mail.brand.example", "postmaster@brand.example", "alice@corp.example", False, 1,
               "mail.brand.example", "reject", "reject", (), ""),
}


def _signature(raw: bytes) -> tuple[str, str] | None:
    """(d, s) of the message's DKIM-Signature, read from the bytes we sent."""
    value = email.message_from_bytes(raw)["DKIM-Signature"]
    if value is None:
        return None
    tags = dict(_TAG.findall(re.sub(r"\s+", "", str(value))))
    return tags["d"], tags["s"]


@pytest.fixture(scope="module")
def traffic(lab):
    """Send every scenario through the lab; per scenario: (signature, message-ids)."""
    sent = {}
    for name, (host, frm, to, sign, n, *rest) in SCENARIOS.items():
        ids = []
        for i in range(n):
            raw = make_message(from_=frm, to=to, subject=f"report {name} {i}", body="hello\n")
            if sign:
                raw = dkim_sign(raw, BRAND)
            res = lab.send(raw, from_host=host, mail_from=rest[4] if len(rest) > 4 else None)
            assert res.ok or name in ("forged", "bounce"), (name, res.steps)
            ids.append(res.message_id)
        sent[name] = (_signature(raw), ids)
    # a forgery of corp.example: corp.example's policy, so not in brand.example's report
    res = lab.send(make_message(from_="boss@corp.example", to="alice@corp.example",
                                subject="report other", body="hello\n"), from_host="mail.attacker.test")
    sent["other"] = (None, [res.message_id])
    return sent


def _row(report: reports.AggregateReport, *key: str) -> tuple[reports.EvaluationRecord, int]:
    """The one row with this (source_ip, header_from, envelope_from)."""
    found = [(rec, n) for rec, n in report.rows
             if (rec.source_ip, rec.header_from, rec.envelope_from) == key]
    assert len(found) == 1, f"{key}: {len(found)} rows in {report.rows}"
    return found[0]


def test_report_from_lab_verdicts_matches_what_the_receiver_decided(lab, traffic):
    report = reports.build(lab.verdicts(), policy_domain=BRAND)
    assert report.problems == ()
    check = report.validate()
    assert check.valid, check.errors
    # one verdict per message the MX received (the list sends one per member)
    received = {name: [v for mid in traffic[name][1] for v in lab.verdicts(mid)] for name in traffic}
    assert report.messages == sum(len(received[name]) for name in SCENARIOS)
    assert report.other_domains == len(received["other"]) == 1
    for name, (host, frm, _, _, n, via, action, disposition, reasons, *_) in SCENARIOS.items():
        signature, _ = traffic[name]
        logged = received[name]
        assert len(logged) >= n and {v["decision"] for v in logged} == {action}, name
        envelope = logged[-1]["mail_from"].strip("<>").rpartition("@")[2]
        rec, count = _row(report, lab.hosts[via].address, frm.rpartition("@")[2], envelope)
        assert count == len(logged), name
        assert all(v["client"] == rec.source_ip for v in logged)
        # DKIM: domain and selector of the signature we sent, result as the MX judged it
        judged = logged[-1]["dkim"]  # "result:domain", the log's short form
        if signature is None:
            assert rec.dkim == () and judged == [], name
        else:
            assert rec.dkim == ((*signature, judged[0].partition(":")[0]),), name
        # SPF checks the envelope domain, or the HELO name (the host's) for a null sender
        assert (rec.envelope_from, rec.spf_domain, rec.spf_result) == (
            envelope, envelope or host, logged[-1]["spf"]), name
        assert rec.envelope_to == "corp.example"
        # policy_evaluated: alignment with brand.example (every domain here is exact)
        dkim_ok = any(j == f"pass:{BRAND}" for j in judged)
        spf_ok = logged[-1]["spf"] == "pass" and envelope == BRAND
        assert (rec.dkim_aligned, rec.spf_aligned) == (
            "pass" if dkim_ok else "fail", "pass" if spf_ok else "fail"), name
        assert rec.dmarc_result == logged[-1]["dmarc"]
        assert rec.disposition == disposition, name
        assert tuple(kind for kind, _ in rec.reasons) == reasons, name


def test_report_from_the_json_lines_files_equals_the_one_from_memory(lab, traffic):
    def rows(report):
        return [(rec.to_dict(), n) for rec, n in report.rows]

    from_memory = reports.build(lab.verdicts(), policy_domain=BRAND)
    mx_file = reports.build(events.read(lab.root / "logs" / "mx.corp.example.jsonl"), policy_domain=BRAND)
    # the whole log directory: every host's events; only the MX's verdicts count
    whole = reports.build(events.read(lab.root / "logs"), policy_domain=BRAND,
                          begin=from_memory.begin, end=from_memory.end)
    assert rows(mx_file) == rows(from_memory) == rows(whole)
    # the date range covers the logged verdicts: whole seconds, rounded outwards (RFC 9990)
    stamps = [v["t"] for v in lab.verdicts() if v["message_id"] not in traffic["other"][1]]
    assert (mx_file.begin, mx_file.end) == (from_memory.begin, from_memory.end) == (
        math.floor(min(stamps)), math.ceil(max(stamps)))
    assert whole.other_domains == from_memory.other_domains == 1
    assert whole.problems == () and whole.validate().valid


def test_log_lines_from_before_the_report_fields_still_build(lab, traffic):
    """An older verdict line: DKIM as "result:domain" only, no alignment or policy fields."""
    new_fields = ("dkim_results", "spf_domain", "dmarc_policy_domain", "dmarc_disposition",
                  "dmarc_testing", "spf_aligned", "dkim_aligned", "arc_override")
    signature, ids = traffic["signed"]
    old = [{k: v for k, v in lab.verdicts(mid)[-1].items() if k not in new_fields} for mid in ids]
    report = reports.build(old, policy_domain=BRAND)
    (rec, count), = report.rows
    assert count == len(ids) and rec.source_ip == lab.hosts["mail.brand.example"].address
    assert rec.dkim == ((signature[0], "", "pass"),)  # the selector was never logged
    assert (rec.dkim_aligned, rec.spf_aligned, rec.disposition) == ("pass", "pass", "pass")
    assert report.validate().valid


def test_verdicts_made_without_authentication_are_named_not_reported(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, scorer=None) as lab:
        lab.receiver.authenticate = False
        res = lab.send(make_message(from_="news@brand.example", to="alice@corp.example",
                                    subject="no auth", body="hello\n"), from_host="mail.brand.example")
        assert res.ok and "dmarc" not in lab.verdicts(res.message_id)[-1]
        report = reports.build(lab.verdicts(), policy_domain=BRAND)
        assert report.messages == 0
        assert any("1 verdict event(s) without a DMARC evaluation" in p for p in report.problems)


def test_test_mode_and_local_policy_are_override_reasons():
    """t=y weakens p=reject to quarantine; a receiver choosing Junk itself is local policy.

    A LabDNS of its own: the test publishes a DMARC record with t=y.
    """
    with labkit.dns.LabDNS() as dns, labkit.mta.Lab(dns=dns, scorer=None) as lab:
        dns.add("_dmarc.trial.dmarc.test", "TXT", '"v=DMARC1; p=reject; t=y"')
        trial = lab.send(make_message(from_="team@trial.dmarc.test", to="alice@corp.example",
                                      subject="trial", body="hello\n"), from_host="mail.attacker.test")
        assert lab.verdicts(trial.message_id)[-1]["decision"] == "Junk"  # quarantine, not reject
        (rec, _), = reports.build(lab.verdicts(trial.message_id), policy_domain="trial.dmarc.test").rows
        assert rec.disposition == "quarantine" and [k for k, _ in rec.reasons] == ["policy_test_mode"]

        # local policy (the hook a lab overrides): p=none asks for nothing, the MX junks it
        lab.receiver.decide = lambda verdict, judgement, ctx: Decision(action="Junk", reason="local rule")
        junked = lab.send(make_message(from_="team@none.dmarc.test", to="alice@corp.example",
                                       subject="junked", body="hello\n"), from_host="mail.attacker.test")
        report = reports.build(lab.verdicts(junked.message_id), policy_domain="none.dmarc.test")
        (rec, _), = report.rows
        assert rec.disposition == "quarantine" and [k for k, _ in rec.reasons] == ["local_policy"]
        assert report.validate().valid
