"""A demanding learner's audit of labs 06-10 (session 17): grading holes and feedback.

Each case puts a learner's answer in place of the worked solution and runs the exercise's
graded cell with its hidden tests in the lab's own kernel, as nbgrader's autograder does:

- lab 06, exercise 1: an ``our_results`` that trusts every header whose authserv-id only
  *begins* with ours (``value.lower().startswith(authserv_id)``) passed every test, so a
  forged ``mx.corp.example.attacker.test; dmarc=pass`` header would have been believed:
  the very forgery the section teaches to ignore;
- lab 10, exercise 1: the feedback showed what came back but not what was expected, so a
  learner who counted Junk as delivered read only a dict of wrong counts;
- lab 10, exercise 2: "too much spam in the inbox" named the kinds but not how many
  messages got through against the limit of 2.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import require_corpus_for
from tests.grading.test_wrong_answers import LABS, _with_answer

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

RIGHT = None  # a correct answer: the graded cell must run without any error

# lab -> [(solution cell's grade_id, what the learner did, answer body, RIGHT or phrase in the message)]
CASES = {
    "06-verdict": [
        ("ex1-our-results", "an authserv-id that only begins with ours is trusted", """
            for value in headers(raw, "Authentication-Results"):
                if value.lower().startswith(authserv_id.lower()):
                    return {m: r[0] for m, r in lk.auth.results.results_by_method(value).items()}
            return None
            """, "only begins with ours"),
        ("ex1-our-results", "the first word before ';' compared exactly (version number allowed)", """
            for value in headers(raw, "Authentication-Results"):
                if value.split(";", 1)[0].split()[0].lower() == authserv_id.lower():
                    return {m: r[0] for m, r in lk.auth.results.results_by_method(value).items()}
            return None
            """, RIGHT),
    ],
    "10-capstone": [
        ("ex1-confusion", "only a rejection counted as caught", """
            out = {"fp": 0, "fn": 0, "tp": 0, "tn": 0}
            for decision, spam in zip(decisions, labels):
                caught = decision == "reject"
                out[("tp" if caught else "fn") if spam else ("fp" if caught else "tn")] += 1
            return out
            """, "expected {'fp': 0, 'fn': 0, 'tp': 1, 'tn': 1}"),
        ("ex2-policy", "a content bar so high that three spam reach the inbox", """
            if f["allowlisted"]:
                return "INBOX"
            if f["dnsbl"] or f["disposition"] == "reject":
                return "reject"
            if f["disposition"] == "quarantine" or f["content"] >= 0.9:
                return "Junk"
            return "INBOX"
            """, "3 spam messages reached it, at most 2 may"),
    ],
}


def _run(lab: str) -> list[tuple[str, str, list]]:
    """Run ``lab`` with each case of it in one kernel: the answer in place of the solution
    cell, then the graded cell (hidden tests included), then the worked solution again so
    that later cells work. Return (exercise, case, outputs of the graded cell)."""
    notebook = LABS[lab]
    require_corpus_for(notebook)
    nb = nbformat.read(str(notebook), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    cases = CASES[lab]
    last = cases[-1][0]
    plan, tagged = [], []
    for i, cell in enumerate(code):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for exercise, name, body, _ in cases:
            if exercise == grade_id:
                test = code[i + 1]
                assert test.metadata["nbgrader"].get("grade"), f"{exercise}: no graded cell after it"
                answer = copy.deepcopy(cell)
                answer.source = _with_answer(cell.source, body)
                plan += [answer, copy.deepcopy(test)]
                tagged.append((exercise, name, len(plan) - 1))
        plan.append(copy.deepcopy(cell))
        if grade_id == last:
            plan.append(copy.deepcopy(code[i + 1]))
            break
    for n, cell in enumerate(plan):
        cell["id"] = f"run-{n}"
    nb.cells = plan
    NotebookClient(nb, kernel_name="python3", timeout=180, allow_errors=True,
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    graded = {n for _, _, n in tagged}
    unexpected = [f"{c.source[:60]!r}: {o.ename}: {o.evalue}" for n, c in enumerate(nb.cells)
                  if n not in graded for o in c.outputs if o.output_type == "error"]
    assert not unexpected, f"the lab itself failed: {unexpected}"
    return [(exercise, name, nb.cells[n].outputs) for exercise, name, n in tagged]


@pytest.mark.parametrize("lab", sorted(CASES))
def test_wrong_answers_fail_with_a_reason_and_right_ones_pass(lab):
    ran = _run(lab)
    assert [(e, n) for e, n, _ in ran] == [(e, n) for e, n, _, _ in CASES[lab]]
    expected = {(e, n): want for e, n, _, want in CASES[lab]}
    wrong = []
    for exercise, name, outputs in ran:
        errors = [o for o in outputs if o.output_type == "error"]
        want = expected[exercise, name]
        if want is RIGHT:
            wrong += [f"{exercise} ({name}): a correct answer lost the marks: {e.ename}: {e.evalue}"
                      for e in errors]
        elif not errors:
            wrong.append(f"{exercise} ({name}): a wrong answer passed every test")
        elif errors[0].ename != "AssertionError" or want not in errors[0].evalue:
            wrong.append(f"{exercise} ({name}): the learner read {errors[0].ename}: {errors[0].evalue!r}")
    assert not wrong, "\n".join(wrong)
