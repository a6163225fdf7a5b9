"""Cues a test-wise learner could answer the self-check quizzes by, without the lab.

The Quiz widget shows the choices in the order the notebook gives them and never shuffles
them, so two habits of question writers turn into cues:

- the right answer is the longest choice (the true statement gets its qualifications, the
  wrong ones are dashed off): an audit found it strictly longest in 42 of 57 questions;
- one lab puts most of its right answers at the same letter (lab 00 had b, b, c, b and
  lab 09 c, b, b, b, c).

The bounds come from what chance would give. If length told nothing, the right answer would
be the strictly longest of k choices at most 1/k of the time (less when lengths tie): 25 %
for the four-choice questions the course uses. Across the course the share may be at most a
third. For 57 questions that is 19, about one and a half standard deviations above the
chance mean of 14; quizzes whose lengths were chance would exceed it about one time in
seventeen (binomial tail), so a larger share means the length gives the answer away. Within
one lab of at least four questions, no letter may hold more than half of the right answers
(with four questions: at most two at one letter).
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

from tests.widgets.test_quiz_content import course_quizzes

MAX_LONGEST_SHARE = Fraction(1, 3)
MAX_SHARE_AT_ONE_POSITION = Fraction(1, 2)
MIN_QUESTIONS_FOR_POSITION_CHECK = 4


def answer_is_strictly_longest(question: dict) -> bool:
    """True when the right choice has more characters than every other choice."""
    choices, answer = question["choices"], question["answer"]
    others = [len(c) for i, c in enumerate(choices) if i != answer]
    return len(choices[answer]) > max(others)


def longest_answers(quizzes: dict[str, list]) -> list[str]:
    """'lab Qn' for every question whose right answer is its strictly longest choice."""
    return [f"{lab} Q{n}" for lab, questions in quizzes.items()
            for n, q in enumerate(questions, 1) if answer_is_strictly_longest(q)]


def length_cue(quizzes: dict[str, list]) -> str | None:
    """A sentence naming the questions when too many right answers are the longest choice."""
    total = sum(len(questions) for questions in quizzes.values())
    found = longest_answers(quizzes)
    if total and Fraction(len(found), total) > MAX_LONGEST_SHARE:
        return (f"the right answer is the strictly longest choice in {len(found)} of {total} "
                f"questions (at most {MAX_LONGEST_SHARE} allowed): {', '.join(found)}")
    return None


def position_cues(quizzes: dict[str, list]) -> list[str]:
    """Labs (of enough questions) that put more than half their right answers at one letter."""
    found = []
    for lab, questions in quizzes.items():
        if len(questions) < MIN_QUESTIONS_FOR_POSITION_CHECK:
            continue
        letters = "".join(chr(97 + q["answer"]) for q in questions)
        letter, count = Counter(letters).most_common(1)[0]
        if Fraction(count, len(questions)) > MAX_SHARE_AT_ONE_POSITION:
            found.append(f"{lab}: {count} of {len(questions)} answers are choice {letter} ({letters})")
    return found


def test_the_right_answer_is_not_usually_the_longest_choice():
    assert length_cue(course_quizzes()) is None


def test_no_lab_puts_most_answers_at_one_position():
    assert position_cues(course_quizzes()) == []


# --- the checks see the cues when they are there ------------------------------------------


def _question(choices: list[str], answer: int) -> dict:
    return {"prompt": "p", "choices": choices, "answer": answer, "explanation": "e"}


def test_a_tie_for_longest_is_not_a_cue():
    assert answer_is_strictly_longest(_question(["long one", "short", "long two"], 0)) is False
    assert answer_is_strictly_longest(_question(["longest one", "short", "long two"], 0)) is True


def test_the_length_check_counts_across_the_course():
    long_right = _question(["a right answer with detail", "wrong", "also wrong"], 0)
    short_right = _question(["right", "a wrong answer with detail", "wrong"], 0)
    # one in three is allowed, one more is not
    assert length_cue({"lab-a": [long_right, short_right], "lab-b": [short_right]}) is None
    cue = length_cue({"lab-a": [long_right, short_right], "lab-b": [long_right]})
    assert cue == ("the right answer is the strictly longest choice in 2 of 3 questions "
                   "(at most 1/3 allowed): lab-a Q1, lab-b Q1")


def test_the_position_check_finds_a_favourite_letter():
    def lab(*answers: int) -> list[dict]:
        return [_question(["w", "x", "y", "z"], a) for a in answers]

    quizzes = {"lab-00": lab(1, 1, 2, 1), "lab-01": lab(0, 1, 1, 2),
               "lab-02": lab(1, 1, 1), "lab-03": lab(2, 1, 1, 3, 2)}
    # half at one letter is allowed; three questions are too few to tell
    assert position_cues(quizzes) == ["lab-00: 3 of 4 answers are choice b (bbcb)"]
