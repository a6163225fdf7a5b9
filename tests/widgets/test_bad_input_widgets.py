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
    with pytest.raises(UsageError, match="4 scores, 3 labels"):  # (was a plain ValueError)
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
    with pytest.raises(TypeError, match=r"choices must be a list of answers .*not str 'abc' "
                                        r"\(one string"):  # a wrong type (was UsageError)
        lk.widgets.Quiz([{**PORTS, "choices": "abc"}])
    with pytest.raises(UsageError, match="has no 'answer'"):
        lk.widgets.Quiz([{"prompt": "p", "choices": ["a", "b"]}])
    with pytest.raises(TypeError, match="answer must be the index"):  # a wrong type (was UsageError)
        lk.widgets.Quiz([{**PORTS, "answer": 1.0}])


# ------------------------------------------------------------------ constructor arguments
# Spot-checked with text, True, a float and a negative number. Before: title=True failed
# in html.escape ('bool' object has no attribute 'replace'), Question(answer=True) marked
# the choice at index 1, Question(answer="3") failed comparing str with int, a number where
# a list of questions or terms goes was "not iterable" and KeyTerms("SPF") made one term
# per letter, MessageInspector(receiver=True) failed in traitlets and envelope="x" in
# dict(), AlignmentExplorer(header_from=True) checked the domain 'true', aspf=True was a
# traitlets TraitError, DKIMCanonViewer(True) failed in traitlets.

Q = {"prompt": "p", "choices": ["a", "b"], "answer": 1}


@pytest.mark.parametrize("value", [True, 2.5, -1])
def test_a_title_that_is_not_text_is_a_type_error(value):
    with pytest.raises(TypeError, match="title must be a str such as 'Self-check'"):
        lk.widgets.Quiz([Q], title=value)
    with pytest.raises(TypeError, match="title must be a str such as 'Key terms'"):
        lk.widgets.KeyTerms([("SPF", "SPF")], title=value)


@pytest.mark.parametrize(("value", "shown"), [(True, "bool True"), ("1", "str '1'"),
                                              (1.0, "float 1.0")])
def test_question_answer_must_be_a_whole_index(value, shown):
    with pytest.raises(TypeError, match=f"answer must be the index of the right choice "
                                        f"\\(0 for the first\\), not {shown}"):
        lk.widgets.Question(prompt="p", choices=("a", "b"), answer=value)
    assert lk.widgets.Question(prompt="p", choices=("a", "b"), answer=1).answer == 1


@pytest.mark.parametrize("value", ["SPF", 3, True])
def test_one_value_where_a_list_of_questions_or_terms_goes(value):
    with pytest.raises(TypeError, match="questions must be a list of questions"):
        lk.widgets.Quiz(value)
    with pytest.raises(TypeError, match="terms must be a list of terms"):
        lk.widgets.KeyTerms(value)


def test_message_inspector_receiver_and_envelope_of_the_wrong_type():
    raw = b"From: a@brand.example\r\n\r\nhi\r\n"
    with pytest.raises(TypeError, match="receiver must be a str such as 'mx.corp.example'"):
        lk.widgets.MessageInspector(raw, receiver=True)
    with pytest.raises(TypeError, match="envelope must be a dict .* or None, not str"):
        lk.widgets.MessageInspector(raw, envelope="news@brand.example")
    shown = lk.widgets.MessageInspector(raw, envelope={"mail_from": "x@attacker.test"})
    assert "x@attacker.test" in repr(shown)


@pytest.mark.parametrize("name", ["header_from", "mail_from", "dkim_domain", "aspf", "p"])
def test_alignment_explorer_arguments_of_the_wrong_type(name):
    with pytest.raises(TypeError, match=f"^{name} must be a str"):
        lk.widgets.AlignmentExplorer(**{name: True})


def test_alignment_explorer_modes_and_policy_are_choices():
    with pytest.raises(UsageError, match="aspf must be 'r' or 's', not 'x'"):
        lk.widgets.AlignmentExplorer(aspf="x")
    with pytest.raises(UsageError, match="p must be 'none' or 'quarantine' or 'reject', not "
                                         "'rejct' \\(did you mean 'reject'\\?\\)"):
        lk.widgets.AlignmentExplorer(p="rejct")
    assert lk.widgets.AlignmentExplorer(adkim="s", p="none").value["adkim"] == "s"


def test_dkim_canon_viewer_message_of_the_wrong_type(lab_dns):
    with pytest.raises(TypeError, match="message must be the raw mail as bytes"):
        lk.widgets.DKIMCanonViewer(True, dns=lab_dns)


# --- DefenceMap and text scores -----------------------------------------------------------


@pytest.mark.parametrize(("value", "phrase"), [("3", "a list of Hop objects .*not str '3'"),
                                               (3, "a list of Hop objects .*not int 3"),
                                               (["x"], "Hop objects .*not str 'x'")])
def test_defence_map_hops_of_the_wrong_type(value, phrase):
    # DefenceMap("3") failed with "'str' object has no attribute 'name'"
    with pytest.raises(TypeError, match=f"hops must be {phrase}"):
        lk.widgets.DefenceMap(value)


def test_defence_map_with_some_of_the_course_hops_still_works():
    hops = lk.widgets.defence_map.HOPS[:2]
    w = lk.widgets.DefenceMap(hops)
    assert w.hop.options == tuple(h.name for h in hops) and w.hop.value == hops[0].name


@pytest.mark.parametrize("call", [
    lambda s: lk.widgets.ROCExplorer(s, LABELS),
    lambda s: roc.confusion(s, LABELS, 0.5),
    lambda s: roc.roc_points(s, LABELS),
], ids=["ROCExplorer", "confusion", "roc_points"])
def test_scores_as_text_are_a_type_error(call):
    # ROCExplorer read "0.9" as 0.9; confusion and roc_points failed comparing str with float
    with pytest.raises(TypeError, match="scores must be numbers, not str '0.9'"):
        call(["0.9", "0.2", "0.7", "0.4"])


def test_numpy_scores_give_the_same_curve_as_floats():
    np = pytest.importorskip("numpy")
    assert lk.widgets.ROCExplorer(np.array(SCORES), LABELS).points == \
        lk.widgets.ROCExplorer(SCORES, LABELS).points
