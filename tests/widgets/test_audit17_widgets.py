"""Widget audit 17: what a learner in JupyterLab, or at a front end that cannot draw
widgets (nbconvert, GitHub, a terminal), met when using the explainers."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

import labkit as lk  # noqa: E402
from labkit.errors import UsageError  # noqa: E402


def _plain(widget) -> str:
    """What a front end without widgets shows for ``widget``."""
    return widget._repr_mimebundle_()["text/plain"]


# --- AlignmentExplorer: a From the checker cannot read -----------------------------------


@pytest.fixture
def explorer():
    return lk.widgets.AlignmentExplorer(
        "security@brand.example", "bounce@attacker.test", "attacker.test", method="psl")


def test_a_from_typed_with_a_comment_shows_the_error_not_the_old_verdict(explorer):
    # typed in the box (as the browser does): the verdict for the previous From stayed on
    # show, with no error in the cell; every later edit then failed the same way unseen
    explorer._controls["header_from"].value = "news@brand.example (Brand)"
    shown = explorer._view.value + explorer.text
    assert "brand.example (brand)" in shown and "without spaces" in shown
    # named as the box the learner typed in, not by labkit.auth.dmarc's argument names
    assert "header From" in explorer.error and "from_domain" not in explorer.error, explorer.error
    assert "not aligned" not in explorer.text and "disposition" not in explorer.text
    assert explorer.verdict == {}
    # another edit while the From is still unreadable: the error stays, nothing stale
    explorer._controls["mail_from"].value = "news.brand.example"
    assert "without spaces" in explorer.text and "not aligned" not in explorer.text
    # the learner fixes the From: evaluated with everything typed so far
    explorer._controls["header_from"].value = "news@brand.example"
    assert "without spaces" not in explorer.text
    assert "MAIL FROM news.brand.example vs From brand.example: aligned" in explorer.text
    assert explorer.value["mail_from"] == "news.brand.example"
    assert explorer.verdict["dmarc"] == "pass"


def test_an_unreadable_dkim_domain_is_named_as_its_box(explorer):
    explorer._controls["dkim_domain"].value = "brand example"
    assert "DKIM d=" in explorer.error and "auth_domain" not in explorer.error, explorer.error


def test_typing_back_the_last_good_from_clears_the_error(explorer):
    explorer._controls["header_from"].value = "security@brand.example (Security)"
    assert explorer.error and "not aligned" not in explorer.text
    explorer._controls["header_from"].value = "security@brand.example"  # the value held
    assert explorer.error is None
    assert "MAIL FROM attacker.test vs From brand.example: not aligned" in explorer.text


def test_setting_an_unreadable_domain_in_code_is_refused_and_changes_nothing(explorer):
    before, verdict = dict(explorer.value), dict(explorer.verdict)
    with pytest.raises(UsageError, match="without spaces"):
        explorer.value = {"dkim_domain": "brand .example"}
    assert explorer.value == before and explorer.verdict == verdict
    assert explorer._controls["dkim_domain"].value == "attacker.test"
    assert "d=attacker.test vs From brand.example: not aligned" in explorer.text


# --- Quiz ---------------------------------------------------------------------------------


def test_quiz_choices_that_are_numbers_are_refused_not_misjudged():
    # RFC 7208 4.6.4 allows two void look-ups. With [1, 2, 10] and answer 1 (the 2), the
    # radio value 2 was compared with the index 1 (wrong) and the choice 1 with it (right)
    question = {"prompt": "How many void look-ups may an SPF check make?",
                "choices": [1, 2, 10], "answer": 1}
    with pytest.raises(TypeError, match=r"choices must be text such as '1', not int 1"):
        lk.widgets.Quiz([question])
    with pytest.raises(TypeError, match="choices must be text"):
        lk.widgets.Question(prompt="x", choices=("a", 2), answer=0)


def test_quiz_prompt_that_is_no_text_is_named():
    with pytest.raises(TypeError, match="prompt must be a str"):
        lk.widgets.Quiz([{"prompt": None, "choices": ["a", "b"], "answer": 1}])


def test_quiz_without_explanation_still_gives_feedback():
    quiz = lk.widgets.Quiz([{"prompt": "x", "choices": ["a", "b"], "answer": 1,
                             "explanation": None}])
    assert quiz.answer([1]) == 1
    assert "Correct" in quiz.items[0].feedback.value


QUESTIONS = [
    {"prompt": "Which port is for mail submission?", "choices": ["25", "587", "110"],
     "answer": 1, "explanation": "RFC 6409 submission"},
    {"prompt": "Which record type holds SPF?", "choices": ["MX", "TXT"], "answer": 1,
     "explanation": "a TXT record starting v=spf1"},
]


def test_quiz_text_shows_each_check_as_the_widget_does_never_the_answer_when_wrong():
    # in a terminal quiz.answer() returned a number and the text never changed: the
    # feedback and explanation the widget shows after a check were nowhere to be read
    quiz = lk.widgets.Quiz(QUESTIONS)
    assert quiz.answer(["587", "MX"]) == 1
    text = _plain(quiz)
    assert "Quiz: 2 questions" in text
    assert "checked (b) 587: correct. RFC 6409 submission" in text
    assert "checked (a) MX: not quite, try again" in text
    assert "TXT record starting" not in text  # the right answer of Q2 stays hidden
    assert "1 of 2 right (2 checked)" in text
    quiz.items[0].choices.value = "25"  # a new choice: the old check no longer counts
    text = _plain(quiz)
    assert "RFC 6409" not in text and "0 of 2 right (1 checked)" in text


def test_quiz_with_one_question_says_one_question():
    assert _plain(lk.widgets.Quiz(QUESTIONS[:1])).startswith("Quiz: 1 question\n")


# --- MessageInspector ----------------------------------------------------------------------

RELAYED = (b"Received: from a (a [192.0.2.1]) by mx.corp.example; d\r\n"
           b"Received: from b (b [192.0.2.2]) by relay.corp.example; d\r\n"
           b"Received: from c (c [198.51.100.9]) by x.example; d\r\n\r\n")


def test_a_line_our_own_server_wrote_above_the_entry_is_not_called_a_claim():
    w = lk.widgets.MessageInspector(RELAYED, receiver="mx.corp.example, relay.corp.example")
    text = _plain(w)
    assert "0. from a [192.0.2.1] by mx.corp.example: ours, inside our network" in text
    assert "1. from b [192.0.2.2] by relay.corp.example: ours: trust" in text
    assert "2. from c [198.51.100.9] by x.example: claim" in text
    first_row = w.chain.value.split("<tr>")[2]
    assert "mx.corp.example" in first_row and "claim" not in first_row
    assert "inside our network" in first_row


def test_a_received_line_without_by_is_not_called_by_none():
    raw = b"Received: junk\r\nFrom: a@b.example\r\n\r\n"
    w = lk.widgets.MessageInspector(raw)
    assert "None" not in _plain(w)
    assert all("None" not in label for label, _ in w.hop.options)


def test_no_line_of_ours_does_not_point_below_a_line_that_is_not_there():
    raw = (b"Received: from x (y [192.0.2.1]) by relay.example; d\r\n"
           b"Received: from z (z [192.0.2.9]) by other.example; d\r\n\r\n")
    steps = lk.widgets.inspector.inspect(raw).steps
    assert "nothing here is verified" in steps[-1]
    assert not any("below it" in s for s in steps)


# --- DefenceMap ----------------------------------------------------------------------------


def test_defence_map_text_says_what_each_defence_checks_and_where_it_is_taught():
    # lab 00: "click through the hops ... to see the same defences, with what each one
    # checks"; without widgets only the names were left
    text = _plain(lk.widgets.DefenceMap())
    for hop in lk.widgets.defence_map.HOPS:
        assert hop.role in text
        for d in hop.defences:
            assert f"{d.name} ({d.ja}), lab {d.lab}: {d.checks}" in text
    assert text.endswith("inbox: URL filtering / virus scanning")


# --- KeyTerms ------------------------------------------------------------------------------


def test_key_terms_read_dicts_like_term_to_dict_gives():
    term = lk.widgets.terms.Term(en="SPF", ja="SPF (送信ドメイン認証)", meaning="who may send")
    kt = lk.widgets.KeyTerms([term.to_dict()])  # was read as its keys: "en / ja: "
    assert kt.terms == (term,)


@pytest.mark.parametrize("item", [None, 5])
def test_key_terms_item_that_is_no_term_is_named(item):
    with pytest.raises(TypeError, match="each term is"):
        lk.widgets.KeyTerms([item])


def test_key_terms_with_a_fourth_field_is_refused_not_cut():
    with pytest.raises(UsageError, match="at most three fields"):
        lk.widgets.KeyTerms([("SPF", "SPF", "who may send", "lab 03")])
