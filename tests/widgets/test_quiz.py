"""Quiz widget: built without a browser, answered by setting .value and clicking."""

from __future__ import annotations

import pytest

import labkit as lk
from labkit.errors import UsageError

QUESTIONS = [
    {"prompt": "Which port is for mail submission?", "choices": ["25", "587", "110"],
     "answer": 1, "explanation": "RFC 6409 submission"},
    {"prompt": "Which record holds SPF?", "choices": ["MX", "TXT"], "answer": 1},
]


def test_right_answer_shows_correct_and_explanation():
    quiz = lk.widgets.Quiz(QUESTIONS)
    box = quiz.items[0]
    box.choices.value = "587"
    box.button.click()
    assert "Correct" in box.feedback.value
    assert "RFC 6409 submission" in box.feedback.value
    assert quiz.score == 1
    assert "1 of 2 right" in quiz.summary.value


def test_wrong_answer_does_not_reveal_the_explanation():
    quiz = lk.widgets.Quiz(QUESTIONS)
    box = quiz.items[0]
    box.choices.value = "25"
    box.button.click()
    assert "Not quite" in box.feedback.value
    assert "RFC 6409" not in box.feedback.value
    assert box.correct is False
    assert quiz.score == 0


def test_check_without_a_choice_asks_for_one():
    quiz = lk.widgets.Quiz(QUESTIONS)
    quiz.items[1].button.click()
    assert "Pick an answer" in quiz.items[1].feedback.value
    assert quiz.items[1].correct is None


def test_answer_all_and_change_mind():
    quiz = lk.widgets.Quiz(QUESTIONS)
    assert quiz.answer(["587", 1]) == 2
    assert quiz.answer([0, "MX"]) == 0
    assert "0 of 2 right (2 checked)" in quiz.summary.value


def test_bad_questions_are_refused():
    # a ValueError before: the CLI and the labs treat UsageError as the learner's mistake
    with pytest.raises(UsageError, match="a quiz needs at least one question"):
        lk.widgets.Quiz([])
    with pytest.raises(UsageError, match="answer index 2 is not one of the choices: .*0 to 1"):
        lk.widgets.Quiz([{"prompt": "x", "choices": ["a", "b"], "answer": 2}])
    with pytest.raises(UsageError, match="answer index -1 is not one of the choices"):
        lk.widgets.Question(prompt="x", choices=("a", "b"), answer=-1)
    with pytest.raises(UsageError, match="at least two choices, not 1"):
        lk.widgets.Question(prompt="x", choices=("a",), answer=0)


def test_text_repr_lists_questions_without_answers():
    text = repr(lk.widgets.Quiz(QUESTIONS))
    assert "Which record holds SPF?" in text and "(b) TXT" in text
    assert "RFC 6409" not in text
