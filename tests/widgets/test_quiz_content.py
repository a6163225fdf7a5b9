"""The self-check quiz of every lab, read from the stored notebooks without running them.

Each lab ends with one cell ``lk.widgets.Quiz([...])`` whose list holds one dict per
question: ``prompt``, ``choices``, ``answer`` (the index of the right choice) and
``explanation`` (shown after a right answer). The list is parsed with ``ast`` and
checked for what a learner would trip over:

- a question has a prompt, at least two choices and an explanation, none of them blank;
- ``answer`` is an integer that names one of the choices;
- no question offers the same choice twice (compared case-insensitively, spaces folded);
- no lab asks the same prompt twice;
- no text holds a control character: a radio-button label cannot show a line break, so a
  ``\\n`` inside a choice reads as a space and the choice looks like another one;
- no dict carries a key the widget does not read (a misspelt ``explanation`` would be
  dropped silently and the learner would see no explanation).

Whether the marked answer is *right* is a matter for a reviewer with the RFCs open; this
file only guarantees that every question can be answered and explained.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import labkit as lk
import labkit.grading
from tests.widgets.stored_calls import call_literal, copy_with_edit

LABS = labkit.grading.find_labs()

KEYS = {"prompt", "choices", "answer", "explanation"}
REQUIRED = {"prompt", "choices", "answer", "explanation"}
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def quiz_questions(notebook: Path) -> list[dict]:
    """The question dicts of the notebook's one Quiz call, as literals (nothing is run)."""
    questions = call_literal(notebook, "Quiz", "questions")
    assert isinstance(questions, list), f"{notebook.name}: the quiz is not a literal list"
    return questions


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def problems(questions: list, lab: str) -> list[str]:
    """Everything structurally wrong with one lab's quiz, one sentence each."""
    found = []
    if not questions:
        found.append(f"{lab}: the quiz has no questions")
    prompts: dict[str, int] = {}
    for n, q in enumerate(questions, 1):
        where = f"{lab} Q{n}"
        if not isinstance(q, dict):
            found.append(f"{where}: not a dict but {type(q).__name__}")
            continue
        if unknown := sorted(set(q) - KEYS):
            found.append(f"{where}: keys the widget does not read: {unknown}")
        if missing := sorted(REQUIRED - set(q)):
            found.append(f"{where}: missing {missing}")
        texts = {"prompt": q.get("prompt"), "explanation": q.get("explanation")}
        choices = q.get("choices")
        if not isinstance(choices, (list, tuple)):
            found.append(f"{where}: choices is not a list")
            choices = []
        for i, choice in enumerate(choices):
            texts[f"choice {i}"] = choice
        for name, text in texts.items():
            if name in {"prompt", "explanation"} and name not in q:
                continue  # already reported as missing
            if not isinstance(text, str) or not text.strip():
                found.append(f"{where}: {name} is blank")
            elif CONTROL.search(text):
                found.append(f"{where}: {name} holds a control character: {text!r}")
        if len(choices) < 2:
            found.append(f"{where}: {len(choices)} choice(s), a question needs at least two")
        folded = [_fold(c) for c in choices if isinstance(c, str)]
        dupes = sorted({c for c in folded if folded.count(c) > 1})
        if dupes:
            found.append(f"{where}: choice(s) offered twice: {dupes}")
        answer = q.get("answer")
        if "answer" in q and (
            not isinstance(answer, int) or isinstance(answer, bool)
            or not 0 <= answer < len(choices)
        ):
            found.append(f"{where}: answer {answer!r} is not the index of one of {len(choices)} choices")
        if isinstance(q.get("prompt"), str) and q["prompt"].strip():
            key = _fold(q["prompt"])
            if key in prompts:
                found.append(f"{where}: same prompt as Q{prompts[key]}")
            prompts.setdefault(key, n)
    return found


def course_quizzes(labs=LABS) -> dict[str, list]:
    return {lab.assignment_id: quiz_questions(lab.notebook) for lab in labs}


def test_every_lab_has_a_quiz_of_several_questions():
    quizzes = course_quizzes()
    assert len(quizzes) == len(LABS) >= 10
    assert all(len(q) >= 4 for q in quizzes.values()), {lab: len(q) for lab, q in quizzes.items()}


@pytest.mark.parametrize("lab", LABS, ids=[lab.assignment_id for lab in LABS])
def test_quiz_is_structurally_sound(lab):
    questions = quiz_questions(lab.notebook)
    assert problems(questions, lab.assignment_id) == []
    # and the real widget builds it, with the right choice where the dict says
    quiz = lk.widgets.Quiz(questions)
    for item, q in zip(quiz.items, questions, strict=True):
        assert item.question.is_correct(q["choices"][q["answer"]])
        assert item.question.explanation == q["explanation"]


# Wording a review against the RFCs found false (or true only under an unstated
# assumption) and corrected; none may come back. Phrase (case-insensitive) -> why.
REVIEWED_FALSE = {
    "the local part is never examined":
        "RFC 7208 section 7.2: the %{l} and %{s} macros expand the MAIL FROM local part",
    "can only decide after the message data":
        "RFC 4405: the SUBMITTER extension gives the PRA at MAIL FROM, before the data",
    "submission always requires smtp-auth":
        "RFC 6409 section 4.3: unless authorised another way, e.g. a protected subnetwork",
    "forwards the mail unchanged. what happens":
        "SPF fails only if the forwarder keeps the envelope sender; with SRS it passes",
}


def test_no_reviewed_false_statement_is_back():
    found = []
    for lab, questions in course_quizzes().items():
        for n, q in enumerate(questions, 1):
            text = _fold(" ".join([q["prompt"], *q["choices"], q["explanation"]]))
            found += [f"{lab} Q{n}: {phrase!r} ({why})"
                      for phrase, why in REVIEWED_FALSE.items() if phrase in text]
    assert found == []


# --- the checker finds what it should, on edited copies of real notebooks --------------


def _lab(assignment_id: str):
    return next(lab for lab in LABS if lab.assignment_id == assignment_id)


def _copy_with_edit(notebook: Path, tmp_path: Path, old: str, new: str) -> Path:
    """A copy of ``notebook`` whose Quiz cell has ``old`` replaced by ``new`` once."""
    return copy_with_edit(notebook, tmp_path, "Quiz", old, new)


def _first_question(lab: str) -> dict:
    return quiz_questions(_lab(lab).notebook)[0]


LAB = "04-dkim"  # any lab will do; its first question is edited below


def _broken(tmp_path: Path, old: str, new: str) -> list[str]:
    return problems(quiz_questions(_copy_with_edit(_lab(LAB).notebook, tmp_path, old, new)), LAB)


def test_a_duplicate_choice_is_caught(tmp_path):
    q = _first_question(LAB)
    first, second = q["choices"][0], q["choices"][1]
    found = _broken(tmp_path, f'"{second}"', f'" {first.upper()} "')
    assert found == [f"{LAB} Q1: choice(s) offered twice: [{_fold(first)!r}]"]


def test_an_answer_outside_the_choices_is_caught(tmp_path):
    q = _first_question(LAB)
    tail = f',\n     "explanation": "{q["explanation"]}"'
    found = _broken(tmp_path, f'"answer": {q["answer"]}{tail}', f'"answer": {len(q["choices"])}{tail}')
    assert found == [f"{LAB} Q1: answer {len(q['choices'])} is not the index of one of "
                     f"{len(q['choices'])} choices"]


def test_a_blank_explanation_and_a_misspelt_key_are_caught(tmp_path):
    q = _first_question(LAB)
    assert _broken(tmp_path, f'"explanation": "{q["explanation"]}"', '"explanation": " "') == [
        f"{LAB} Q1: explanation is blank"]
    found = _broken(tmp_path, f'"explanation": "{q["explanation"]}"', '"explaination": "x"')
    assert found == [f"{LAB} Q1: keys the widget does not read: ['explaination']",
                     f"{LAB} Q1: missing ['explanation']"]


def test_a_single_choice_and_a_line_break_in_a_choice_are_caught(tmp_path):
    q = _first_question(LAB)
    # the cell source gets a backslash-n escape, which Python reads as a line break
    found = _broken(tmp_path, f'"{q["choices"][0]}",', f'"{q["choices"][0]}\\n(more)",')
    assert found == [f"{LAB} Q1: choice 0 holds a control character: "
                     f"{q['choices'][0] + chr(10) + '(more)'!r}"]
    q2 = quiz_questions(_lab(LAB).notebook)
    q2[0] = {**q2[0], "choices": q2[0]["choices"][:1], "answer": 0}
    assert problems(q2, LAB) == [f"{LAB} Q1: 1 choice(s), a question needs at least two"]


def test_a_repeated_prompt_is_caught():
    questions = quiz_questions(_lab(LAB).notebook)
    found = problems([*questions, dict(questions[0])], LAB)
    assert found == [f"{LAB} Q{len(questions) + 1}: same prompt as Q1"]
