"""What a demanding learner found in labs 04 (DKIM), 05 (DMARC) and 06 (the verdict).

Each test pins one correction, with the real parts where the statement is about them:

- lab 04, exercise 2: ``verify()`` returns an empty tuple for a message without a
  signature, which the exercise did not say (an answer reading ``results[0]`` raised
  IndexError in a hidden test); the visible checks said what the answer got, not what
  was expected;
- lab 05, section 6: the Nikkei 225 figure came from "the course's source page", which
  names no one; it is now TwoFive's survey, with its dates, and the cell computes the
  percentages the survey published;
- lab 05, exercise 2 and lab 06, exercise 1: visible checks that did not say what was
  expected, and one that raised TypeError (``None["dmarc"]``) instead of explaining;
- lab 06: the MX prepends three fields before the message (Return-Path, Received,
  Authentication-Results), not "two". (Its "Time" line ran into the introduction; that
  check is in tests/delivery/test_first_impression.py, for every lab.)
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import labkit as lk
from tests.notebooks.test_prose_sources import _cell

LABS = Path(__file__).resolve().parents[2] / "labs"


def _nb(lab: str) -> nbformat.NotebookNode:
    return nbformat.read(str(LABS / lab / f"{lab}.ipynb"), as_version=4)


def _grade_cell_index(cells: list, grade_id: str) -> int:
    (found,) = [i for i, c in enumerate(cells)
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id]
    return found


def _visible(test_source: str) -> str:
    """The part of a grading cell a learner sees (hidden tests cut off)."""
    return test_source.split("### BEGIN HIDDEN TESTS", 1)[0]


def _try_answers(lab: str, test_id: str, answers: list[str]) -> list[tuple[str, str] | None]:
    """Run the lab up to the grading cell ``test_id`` (with the reference solution),
    then, for each answer, define it and run the visible checks again; return each
    run's (error name, message), None when the checks passed. The first entry is the
    reference solution's own run."""
    nb = _nb(lab)
    end = _grade_cell_index(nb.cells, test_id)
    test = nb.cells[end]
    cells = [c for c in nb.cells[:end + 1] if c.cell_type == "code"]
    for n, answer in enumerate(answers):
        cells.append(nbformat.v4.new_code_cell(answer, id=f"answer-{n}"))
        checks = copy.deepcopy(test)
        checks["id"] = f"checks-{n}"
        checks.source = _visible(test.source)
        cells.append(checks)
    nb.cells = cells
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(LABS / lab)}}).execute()
    runs = [test] + [c for c in nb.cells if c.get("id", "").startswith("checks-")]
    out = []
    for cell in runs:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        out.append((errors[0].ename, errors[0].evalue) if errors else None)
    return out


# --------------------------------------------------------------------------- lab 04


def test_lab04_exercise2_says_an_unsigned_message_gives_an_empty_tuple(lab_dns):
    unsigned = (b"From: Shop <orders@shop.example>\r\nTo: alice@corp.example\r\n"
                b"Subject: Your order\r\n\r\nThank you.\r\n")
    assert lk.auth.dkim.verify(unsigned, dns=lab_dns) == ()
    text = _cell("04-dkim", "md-43")
    assert "an empty tuple when the message carries no signature" in text, text


@pytest.mark.slow
@pytest.mark.notebook
def test_lab04_exercise2_visible_checks_say_what_was_expected():
    runs = _try_answers("04-dkim", "ex2-signature-kind-tests", [
        "def signature_kind(from_domain, results):\n    return None\n",
        "def signature_kind(from_domain, results):\n    return 'third-party'\n",
    ])
    assert runs[0] is None, runs[0]
    assert runs[1][0] == "AssertionError" and "expected 'third-party'" in runs[1][1], runs[1]
    assert runs[2][0] == "AssertionError" and "expected 'author'" in runs[2][1], runs[2]


# --------------------------------------------------------------------------- lab 05


def test_lab05_nikkei_figures_name_their_survey_and_match_its_percentages():
    text = _cell("05-dmarc", "md-46")
    assert "the course's source page" not in text, text
    assert "TwoFive" in text and "2 December 2025" in text, text
    (code,) = [c.source for c in _nb("05-dmarc").cells if c.get("id") == "code-47"]
    namespace: dict = {}
    exec(compile(code, "code-47", "exec"), namespace)  # noqa: S102 - the lab's own cell
    # the percentages TwoFive published for the same counts (Web担当者Forum, 2 December 2025)
    assert namespace["percent"] == {"May 2023": 62.2, "November 2025": 94.2}, (code, namespace["percent"])
    after = _cell("05-dmarc", "md-48")
    assert "only 22.0 % ask for `quarantine` or `reject` (November 2025)" in after, after
    summary = _cell("05-dmarc", "md-52")
    assert "about the percentage computed above in May 2023" not in summary, summary
    assert "TwoFive" in summary, summary


@pytest.mark.slow
@pytest.mark.notebook
def test_lab05_exercise2_visible_checks_say_what_was_expected():
    runs = _try_answers("05-dmarc", "ex2-next-policy-tests", [
        "def next_policy(current, rows, known):\n    return current\n",
        "def next_policy(current, rows, known):\n"
        "    return {'none': 'quarantine', 'quarantine': 'reject', 'reject': 'reject'}[current]\n",
    ])
    assert runs[0] is None, runs[0]
    assert runs[1][0] == "AssertionError" and "expected 'quarantine'" in runs[1][1], runs[1]
    assert runs[2][0] == "AssertionError" and "expected 'none'" in runs[2][1], runs[2]


# --------------------------------------------------------------------------- lab 06


def test_lab06_the_mx_prepends_return_path_received_and_authentication_results(lab_dns):
    with lk.Lab(dns=lab_dns) as lab:
        message = lk.mta.make_message(from_="news@brand.example", to="alice@corp.example",
                                      subject="November news", body="Our November news is online.")
        lab.send(message, from_host="mail.brand.example", dkim=True)
        stored = lab.mailbox("alice@corp.example").latest()
    names = [line.split(b":", 1)[0].decode() for line in stored.split(b"\r\n")
             if line and not line[:1].isspace()][:3]
    assert names == ["Return-Path", "Received", "Authentication-Results"], names
    text = _cell("06-verdict", "cell-005")
    assert "two trace headers" not in text, text
    for name in names:
        assert f"`{name}`" in text, (name, text)
    # section 2 draws the line between what our MX wrote and what arrived below those three
    forged = _cell("06-verdict", "cell-016")
    assert "everything below our own `Received` line arrived with the message" not in forged, forged
    assert ("our MX put five fields on top of what arrived: its Return-Path, its `Received` line and its"
            " `Authentication-Results`, then the two `X-Spam-` lines") in forged, forged
    assert "Everything below those five arrived with the message" in forged, forged


@pytest.mark.slow
@pytest.mark.notebook
def test_lab06_exercise1_visible_checks_explain_instead_of_raising():
    runs = _try_answers("06-verdict", "ex1-our-results-tests", [
        # one list of results per method (results_by_method), not the first result
        "def our_results(raw, authserv_id):\n"
        "    msg = email.message_from_bytes(raw, policy=email.policy.compat32)\n"
        "    for value in msg.get_all('Authentication-Results', []):\n"
        "        if str(value).split(';')[0].split()[0].lower() == authserv_id.lower():\n"
        "            return lk.auth.results.results_by_method(str(value))\n"
        "    return None\n",
        # gives up (None) when the message holds more than one header
        "def our_results(raw, authserv_id):\n"
        "    msg = email.message_from_bytes(raw, policy=email.policy.compat32)\n"
        "    values = msg.get_all('Authentication-Results', [])\n"
        "    if len(values) != 1:\n"
        "        return None\n"
        "    parsed = lk.auth.results.parse_authentication_results(str(values[0]))\n"
        "    if parsed is None or parsed.authserv_id.lower() != authserv_id.lower():\n"
        "        return None\n"
        "    return {c.method: c.result for c in reversed(parsed.results)}\n",
    ])
    assert runs[0] is None, runs[0]
    assert runs[1][0] == "AssertionError", runs[1]
    assert "expected" in runs[1][1] and "'dmarc': 'pass'" in runs[1][1], runs[1]
    assert runs[2][0] == "AssertionError", runs[2]
    assert "expected" in runs[2][1] and "topmost" in runs[2][1], runs[2]


# ------------------------------------------------------- lab 04, lists that sign again


def test_lab04_a_list_signature_passes_for_the_list_not_for_the_author(lab_dns):
    """Re-signing does not rescue the author's DMARC; ARC is what lets the receiver
    deliver. The lab's list, told to sign, shows both on a real delivery."""
    with lk.Lab(dns=lab_dns, scorer=None) as lab:
        lab.handler("mail.lists.example.org").sign = True
        message = lk.mta.make_message(from_="news@brand.example", to="lab-list@lists.example.org",
                                      subject="Autumn offers", body="Our autumn offers.")
        verdict = lab.verdicts(lab.send(message, from_host="mail.brand.example", dkim=True).message_id)[-1]
    assert verdict["dkim"] == ["pass:lists.example.org", "fail:brand.example"], verdict
    assert verdict["header_from"] == "brand.example" and verdict["dmarc"] == "fail", verdict
    assert verdict["arc"] == "pass" and verdict["decision"] == "INBOX", verdict
    text = _cell("04-dkim", "md-39")
    assert "That is why lists re-sign with their own domain and add ARC" not in text, text
    assert ("That signature passes, but for the list's domain: the author's domain still fails DMARC's"
            " alignment test (lab 05).") in text, text
    assert "What lets a receiver deliver such mail anyway is ARC (lab 06)" in text, text
