"""What a demanding learner found in labs 00 (set-up), 01 (anatomy), 02 (DNS) and 03 (SPF).

Each test pins one correction, with the real parts where the statement is about them:

- feedback: an answer that lets a dnspython exception out (``who_is``, ``origin_report``,
  ``spf_records``) met a traceback from deep inside dnspython, where lab 02's
  ``classify`` already said what was expected; an ``origin_report`` that ignored its
  ``resolver`` argument passed, and a ``spf_records`` that did so was told to join TXT
  strings;
- lab 03, exercise 3: its hidden SMTP checks asserted that the forwarder's SRS was off,
  so re-running them after section 6 switched SRS on failed a correct answer with a
  bare ``AssertionError``; none of those checks said what the MX had answered;
- lab 03, section 5: ``temperror`` was "DNS did not answer in time", though the lab
  itself gets it from a SERVFAIL (RFC 7208 section 4.4: a time-out or any error RCODE);
- lab 02: the key terms "authoritative server" and "full-service resolver" were never
  explained; the Nikkei 225 figure named no survey (it is TwoFive's, with its dates);
  "Real organisations pick one of these two" (``-all``/``~all``) and its lab 03
  twin had no source: the sentences now speak of the recordings the labs show.
"""

from __future__ import annotations

import copy
from pathlib import Path

import dns.flags
import nbformat
import pytest
from nbclient import NotebookClient

import labkit as lk
import labkit.dns.live
from tests.grading import test_wrong_answers as wrong_answers
from tests.notebooks.test_prose_sources import _cell

LABS = Path(__file__).resolve().parents[2] / "labs"


def _nb(lab: str) -> nbformat.NotebookNode:
    return nbformat.read(str(LABS / lab / f"{lab}.ipynb"), as_version=4)


# ------------------------------------------------------------- feedback on wrong answers

NO_PTR_CHECK = """
    ip = trusted_client_ip(raw, our_servers)
    helo = None
    for hop in lk.widgets.inspector.received_chain(raw):
        if hop.by in our_servers:
            helo = hop.helo
        elif helo is not None:
            break
    reverse = resolver.resolve_address(ip)[0].target.to_text().rstrip(".") if ip else None
    domain = email.utils.parseaddr(email.message_from_bytes(raw).get("From", ""))[1]
    return {"client_ip": ip, "reverse_name": reverse, "claimed_helo": helo,
            "from_domain": domain.rpartition("@")[2].lower() or None}
"""

SPF_TEXTS = """
    texts = [b"".join(r.strings).decode() for r in resolver.resolve(domain, "TXT")]
    return [t for t in texts if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")]
"""

FEEDBACK = {
    "00-setup": [
        ("who_is", "no try/except around the look-up",
         'return resolver.resolve(name, "A")[0].address',
         "let dnspython's NXDOMAIN out: a name that does not exist should give None"),
        ("who_is", "only NXDOMAIN caught", """
            try:
                return resolver.resolve(name, "A")[0].address
            except dns.resolver.NXDOMAIN:
                return None
            """, "let dnspython's NoAnswer out; corp.example exists"),
        ("where_it_acts", "the filter's defences placed at the receiving server", """
            places = {"SMTP-AUTH": "sending server", "POP before SMTP": "sending server", "OP25B": "ISP"}
            return places.get(defence, "receiving server")
            """, "you placed none at: ['filter']"),
    ],
    "01-anatomy": [
        ("origin_report", "no PTR: NXDOMAIN not caught",
         NO_PTR_CHECK,
         "let dnspython's NXDOMAIN out for a client whose address 203.0.113.99 has no PTR record"),
        ("origin_report", "hole: the lab's resolver instead of the one given", NO_PTR_CHECK.replace(
            "    reverse = resolver.resolve_address(ip)[0].target.to_text().rstrip(\".\") if ip else None\n",
            "    try:\n"
            "        reverse = lab.resolver.resolve_address(ip)[0].target.to_text().rstrip(\".\") if ip else None\n"
            "    except dns.resolver.NXDOMAIN:\n"
            "        reverse = None\n"),
         "ask the resolver you are given"),
    ],
    "02-dns": [
        ("spf_records", "no try/except around the look-up", SPF_TEXTS,
         "let dnspython's NoAnswer out: a domain without TXT records gives []"),
        ("spf_records", "the notebook's resolver instead of the one given", """
            try:
                answer = globals()["resolver"].resolve(domain, "TXT")
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return []
            texts = [b"".join(r.strings).decode() for r in answer]
            return [t for t in texts if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")]
            """, "sent no question to the resolver it was given"),
    ],
}


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("lab", sorted(FEEDBACK))
def test_wrong_answers_meet_an_assertion_that_says_what_was_expected(lab, monkeypatch):
    """The cases run through tests/grading/test_wrong_answers.py's own test: each wrong
    answer in place of the solution, then the exercise's graded cell with its hidden
    tests; the cell must fail with an AssertionError holding the case's phrase."""
    monkeypatch.setitem(wrong_answers.WRONG, lab, FEEDBACK[lab])
    wrong_answers.test_wrong_answers_fail_with_a_message_that_says_why(lab)


# ------------------------------------------------------- lab 03, exercise 3 run again


@pytest.mark.slow
@pytest.mark.notebook
def test_lab03_exercise3_checks_pass_when_run_again_after_srs_is_on():
    """A learner who reaches section 6's SRS cell and then runs exercise 3's graded cell
    again (with the reference answer) must see it pass, and SRS must be as it was."""
    nb = _nb("03-spf")
    code = [c for c in nb.cells if c.cell_type == "code"]
    ids = [c.get("id") for c in code]
    srs_on = ids.index("code-48")
    assert "srs = True" in code[srs_on].source, code[srs_on].source
    (tests,) = [c for c in code if c.metadata.get("nbgrader", {}).get("grade_id") == "ex3-spf-reply-tests"]
    again = copy.deepcopy(tests)
    again["id"] = "ex3-again"
    after = nbformat.v4.new_code_cell('assert lab.handler("mx.fwd.example.net").srs, "SRS was switched off"',
                                      id="srs-still-on")
    nb.cells = code[:srs_on + 1] + [again, after]
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(LABS / "03-spf")}}).execute()
    errors = {c.get("id"): f"{o.ename}: {o.evalue}" for c in nb.cells for o in c.outputs
              if o.output_type == "error"}
    assert not errors, errors


# ----------------------------------------------------------------------------- prose


def test_lab03_temperror_is_any_transient_dns_failure_not_only_a_timeout():
    """RFC 7208 section 4.4: SERVFAIL, any other error RCODE, or a time-out give
    temperror. The lab's own checker agrees, for all three faults the lab DNS plays."""
    for fault in ("servfail", "refused", "timeout"):
        with lk.dns.LabDNS(faults={"brand.example/TXT": fault}) as lab:
            result = lk.auth.spf.check("192.0.2.10", "news@brand.example", "mail.brand.example",
                                       dns=lab.resolver(timeout=0.3))
        assert result.result == "temperror", (fault, result)
    text = _cell("03-spf", "md-40")
    assert "DNS did not answer in time" not in text, text
    assert ("a DNS look-up failed for now: it timed out, or the server answered with an error such as"
            " SERVFAIL (RFC 7208 §4.4; try again later)") in text, text


def test_lab02_explains_the_authoritative_server_and_the_resolver(lab_dns):
    """The key terms list both; the text now says what they are, and the lab server's
    answers do carry the AA flag the text names."""
    answer = lab_dns.resolver().resolve("brand.example", "MX")
    assert answer.response.flags & dns.flags.AA, dns.flags.to_text(answer.response.flags)
    text = _cell("02-dns", "2")
    assert "That server is an **authoritative server** (権威DNSサーバ)" in text, text
    assert "with the AA (\"authoritative answer\") flag set" in text, text
    assert "it asks a **full-service resolver** (フルサービスリゾルバ, often called a cache server, キャッシュDNSサーバ)" in text, text
    terms = _cell("02-dns", "37")
    assert "権威DNSサーバ" in terms and "フルサービスリゾルバ" in terms, terms


def test_lab02_nikkei_figures_name_twofive_and_its_dates():
    """TwoFive's survey (November 2025 edition, reported by Web担当者Forum on 2 December
    2025): 140 of 225 companies in May 2023 (62.2 %), 212 in November 2025 (94.2 %),
    counting a company with DMARC on at least one of its domains."""
    text = _cell("02-dns", "32")
    assert "DMARC is less common than SPF" not in text, text
    assert "A survey of the Nikkei 225 companies in May 2023" not in text, text
    assert "TwoFive" in text and "at least one of its domains has a DMARC record" in text, text
    assert "140 of the 225 in May 2023 and 212 in November 2025" in text, text
    assert "Web担当者Forum on 2 December 2025" in text, text
    (cell,) = [c for c in _nb("02-dns").cells if c.get("id") == "33"]
    shares = eval(cell.source, {})  # noqa: S307 - the lab's own one-line cell
    assert shares == {"May 2023": "62.2%", "November 2025": "94.2%"}, shares


def test_labs02_03_speak_of_the_recorded_records_not_of_all_real_organisations():
    """No source says what every real organisation ends its record with; the recordings
    the labs show do end with -all or ~all, and that is what the text now says."""
    for name in ("google.co.jp", "google.com", "ipa.go.jp", "softbank.jp"):
        (record,) = lk.dns.live.dig(name, "TXT", mode="snapshot").answers
        assert record.split()[-1] in ("-all", "~all"), (name, record)
    spf = _cell("03-spf", "md-21")
    assert "Real organisations end their records with" not in spf, spf
    assert "The real records recorded further down end with `-all` or `~all`." in spf, spf
    dns_text = _cell("02-dns", "32")
    assert "Real organisations pick one of these two" not in dns_text, dns_text


def test_lab00_one_wrong_password_is_logged_once_per_mechanism():
    """Lab 00's defence trail shows two 'auth reject' lines for one wrong password; the
    text says why: smtplib tries PLAIN and then LOGIN in the same session."""
    with lk.Lab() as lab:
        note = lk.mta.make_message(from_="taro@isp.example", to="bob@corp.example",
                                   subject="agenda", body="The agenda.")
        status = lab.submit(note, user="taro@isp.example", password="guess",
                            from_host="198.51.100.140").status
        tries = lab.events.entries(host="smtp.isp.example", event="auth")
    assert status == "rejected", status
    assert [(e["mechanism"], e["decision"]) for e in tries] == [("PLAIN", "reject"), ("LOGIN", "reject")], tries
    assert len({e["session"] for e in tries}) == 1, tries
    text = _cell("00-setup", "defence-trail-read")
    assert "The wrong password shows twice" in text and "PLAIN and then LOGIN, in one session" in text, text


def test_lab02_calls_a_dkim_key_a_key_not_a_policy():
    text = _cell("02-dns", "4")
    assert "three kinds of policy" not in text, text
    assert "DKIM public keys at `<selector>._domainkey.<domain>` (a key, not a policy)" in text, text
