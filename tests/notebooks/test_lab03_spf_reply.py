"""Lab 03, exercise 3 (``spf_reply``): its tests refuse plausible wrong policies.

Each case puts one answer into the solution cell of a copy of the worked notebook
and runs the copy through nbgrader's Validator (:func:`labkit.grading.validate`), as
a learner's "Validate" button would: the exercise's graded cell must fail for each
wrong answer and pass for the other defensible answer to ``permerror`` (a refusal
with 550 5.7.24), while every other graded cell of the lab keeps passing.
"""

from __future__ import annotations

import nbformat
import pytest

import labkit.grading

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

LAB = next(lab for lab in labkit.grading.find_labs() if lab.assignment_id == "03-spf")
SOLUTION_ID = "ex3-spf-reply"
TESTS_ID = "ex3-spf-reply-tests"


def _policy(reject: tuple[str, ...], defer: tuple[str, ...], permerror: str | None = None) -> str:
    lines = ["def spf_reply(result):"]
    if permerror:
        lines += ['    if result == "permerror":', f"        return {permerror!r}"]
    lines += [f"    if result in {reject!r}:", '        return "550 5.7.23 not authorised"',
              f"    if result in {defer!r}:", '        return "451 4.7.24 try again later"',
              '    return "250 OK"']
    return "\n".join(lines) + "\n"


WRONG = {
    "refuses none": _policy(("fail", "none"), ("temperror",)),
    "refuses softfail": _policy(("fail", "softfail"), ("temperror",)),
    "accepts temperror": _policy(("fail",), ()),
    "defers permerror": _policy(("fail",), ("temperror", "permerror")),
    "calls permerror an SPF fail": _policy(("fail", "permerror"), ("temperror",)),
}
RIGHT = {
    "refuses permerror with 5.7.24": _policy(("fail",), ("temperror",), "550 5.7.24 broken SPF record"),
}


def _validate(tmp_path, answer: str) -> labkit.grading.Validation:
    nb = nbformat.read(str(LAB.notebook), as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == SOLUTION_ID]
    cell.source = answer
    copy = tmp_path / LAB.notebook.name
    nbformat.write(nb, str(copy))
    return labkit.grading.validate(copy)


@pytest.mark.parametrize("answer", WRONG.values(), ids=WRONG.keys())
def test_a_wrong_policy_fails_only_this_exercise(tmp_path, answer):
    result = _validate(tmp_path, answer)
    assert result.failed == (TESTS_ID,), result.to_dict()


@pytest.mark.parametrize("answer", RIGHT.values(), ids=RIGHT.keys())
def test_the_other_defensible_permerror_answer_passes(tmp_path, answer):
    result = _validate(tmp_path, answer)
    assert result.ok and TESTS_ID in result.passed, result.to_dict()
