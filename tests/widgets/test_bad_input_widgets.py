"""ROCExplorer and Quiz fed a learner's (or an author's) mistakes: arguments swapped,
a generator, a threshold as text, one question where a list goes, choices as one string,
the answer as the right choice's text."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

import labkit as lk  # noqa: E402
from labkit.errors import UsageError  # noqa: E402
from labkit.widgets import roc  # noqa: E402

SCORES = [0.9, 0.2, 0.7, 0.4]
LABELS = [True, False, True, False]


# --- ROCExplorer ------------------------------------------------------------------------


def test_roc_with_scores_and_labels_swapped_says_scores_first():
    # the labels became the scores (1.0/0.0, inside [0, 1]) and every score a "spam" label
    with pytest.raises(UsageError, match="looks like a score; give the scores first"):
        lk.widgets.ROCExplorer(LABELS, SCORES)


def test_roc_reads_generators_once():
    # the text-label check used to empty a generator: "scores and labels differ in length"
    w = lk.widgets.ROCExplorer((s for s in SCORES), (y for y in LABELS))
    assert w.area == lk.widgets.ROCExplorer(SCORES, LABELS).area == 1.0


def test_roc_labels_as_1_0_work_like_bools():
    w = lk.widgets.ROCExplorer(SCORES, [1, 0, 1, 0], threshold=0.5)
    assert (w.current.tp, w.current.fp, w.current.tn, w.current.fn) == (2, 0, 2, 0)


@pytest.mark.parametrize("threshold", ["0.5", None])
def test_roc_threshold_not_a_number_is_a_type_error(threshold):
    with pytest.raises(TypeError, match="threshold must be a number from 0 to 1"):
        lk.widgets.ROCExplorer(SCORES, LABELS, threshold=threshold)


def test_roc_length_mismatch_gives_both_counts():
    with pytest.raises(ValueError, match="4 scores, 3 labels"):
        lk.widgets.ROCExplorer(SCORES, LABELS[:3])


def test_confusion_and_roc_points_refuse_text_labels():
    with pytest.raises(UsageError, match="not text like 'spam'/'ham'"):
        roc.confusion(SCORES, ["spam", "ham", "spam", "ham"], 0.5)
    with pytest.raises(UsageError, match="not text like 'spam'/'ham'"):
        roc.roc_points(SCORES, ["spam", "ham", "spam", "ham"])
    with pytest.raises(TypeError, match="threshold must be a number"):
        roc.confusion(SCORES, LABELS, "0.5")


# --- Quiz ----------------------------------------------------------------------------------

PORTS = {"prompt": "Which port is submission?", "choices": ["25", "587", "110"], "answer": 1}


def test_quiz_of_one_question_not_in_a_list_is_that_question():
    assert [q.prompt for q in lk.widgets.Quiz(PORTS).questions] == [PORTS["prompt"]]


def test_quiz_answer_given_as_the_right_choices_text_marks_that_choice():
    # int("2") would have marked the choice at index 2 ("3") as right
    quiz = lk.widgets.Quiz([{"prompt": "1 + 1?", "choices": ["1", "2", "3"], "answer": "2"}])
    assert quiz.questions[0].answer == 1
    assert quiz.answer(["2"]) == 1


def test_quiz_answer_text_that_is_no_choice_is_named():
    with pytest.raises(UsageError, match="answer '465' is not one of the choices"):
        lk.widgets.Quiz([{**PORTS, "answer": "465"}])


def test_quiz_choices_as_one_string_and_missing_keys_are_named():
    with pytest.raises(UsageError, match="choices must be a list of answers, not one string"):
        lk.widgets.Quiz([{**PORTS, "choices": "abc"}])
    with pytest.raises(UsageError, match="has no 'answer'"):
        lk.widgets.Quiz([{"prompt": "p", "choices": ["a", "b"]}])
    with pytest.raises(UsageError, match="answer must be the index"):
        lk.widgets.Quiz([{**PORTS, "answer": 1.0}])
