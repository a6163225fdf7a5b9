"""Widgets used as a learner would misuse them: bad input, odd text, plain-text frontends."""

from __future__ import annotations

import base64

import pytest

pytest.importorskip("ipywidgets")

import labkit as lk  # noqa: E402
from labkit.errors import UsageError  # noqa: E402

LONG = 110  # ipywidgets cuts a widget's own text/plain to this many characters


def _plain(widget) -> str:
    return widget._repr_mimebundle_()["text/plain"]


# --- MessageInspector --------------------------------------------------------------


def test_inspector_shows_raw_japanese_headers_as_written():
    raw = "From: 山田 <yamada@corp.example>\nSubject: 会議の件\n\n本文".encode()
    w = lk.widgets.MessageInspector(raw)
    assert "山田 &lt;yamada@corp.example&gt;" in w.identity.value
    assert "\ufffd" not in w.identity.value


def test_inspector_survives_text_that_is_not_utf8_or_not_mail():
    for junk in ("Received: from \udcff by mx.corp.example; x\n\nb", b"\x00\xff\xfe\x80 garbage"):
        w = lk.widgets.MessageInspector(junk)
        assert "Received line(s)" in w.detail.value
    for wrong in (None, 123, ["a message"]):  # a wrong type is a TypeError, as everywhere in labkit
        with pytest.raises(TypeError, match="bytes, str or email.message.Message"):
            lk.widgets.MessageInspector(wrong)


def test_inspector_text_fallback_is_whole_and_names_the_trusted_hop():
    raw = (b"Received: from pc.brand.example (unknown [203.0.113.66]) by mx.corp.example; x\r\n"
           b"Received: from a (b [192.0.2.10]) by mail.brand.example; y\r\n"
           b"From: ceo@brand.example\r\n\r\nhi\r\n")
    text = _plain(lk.widgets.MessageInspector(raw))
    assert len(text) > LONG and "…" not in text
    assert "0. from pc.brand.example [203.0.113.66] by mx.corp.example: ours: trust" in text
    assert "1. from a [192.0.2.10] by mail.brand.example: claim" in text


def test_inspector_says_when_our_line_has_no_address():
    w = lk.widgets.MessageInspector(b"Received: from x by mx.corp.example; x\r\n\r\nb")
    assert "None" not in w.text and "(no address" in w.text


# --- KeyTerms ----------------------------------------------------------------------


@pytest.mark.parametrize("term", [("spam",), ("spam", None), "spam"])
def test_keyterms_term_missing_its_japanese_says_so(term):
    kt = lk.widgets.KeyTerms([term, ("reverse lookup", "逆引き")])
    assert "<td>spam</td><td><i>(no Japanese term given)</i>" in kt.table.value
    assert "spam / (no Japanese term given)" in kt.text
    kt.search.value = "逆引き"
    assert [t.en for t in kt.visible] == ["reverse lookup"]


# --- plain-text fallback of the other widgets ---------------------------------------


def test_plain_text_fallback_is_not_cut_short():
    terms = lk.widgets.KeyTerms([("open relay", "第三者中継", "relays anyone's mail")] * 5)
    quiz = lk.widgets.Quiz([{"prompt": "Which port is submission?",
                             "choices": ["25", "587", "110"], "answer": 1}] * 3)
    dmap = lk.widgets.DefenceMap()
    for widget, tail in ((terms, "relays anyone's mail"), (quiz, "(c) 110"),
                         (dmap, "inbox: URL filtering / virus scanning")):
        text = _plain(widget)
        assert len(text) > LONG and text.endswith(tail), text


def test_choice_controls_have_labels():
    assert lk.widgets.DefenceMap().hop.description
    quiz = lk.widgets.Quiz([{"prompt": "p", "choices": ["a", "b"], "answer": 0}])
    assert quiz.items[0].choices.description == "Q1 answer"


# --- AlignmentExplorer -------------------------------------------------------------


def test_alignment_bad_setting_is_refused_clearly_and_changes_nothing():
    w = lk.widgets.AlignmentExplorer("a@brand.example", "b@brand.example", "brand.example")
    before, shown = dict(w.value), w.text
    with pytest.raises(UsageError, match=r"aspf must be 'r' or 's', not 'x'"):
        w.value = {"aspf": "x", "mail_from": "b@attacker.test"}
    assert w.value == before and w.text == shown
    with pytest.raises(UsageError, match="tree walk needs dns="):
        lk.widgets.AlignmentExplorer(method="treewalk")


def test_alignment_empty_from_is_named():
    w = lk.widgets.AlignmentExplorer("", "b@brand.example", "")
    assert "vs From (empty): not aligned" in w.text


# --- SPFStepper and ROCExplorer: wrong kind of input --------------------------------


@pytest.mark.parametrize("wrong", [None, "v=spf1 -all"])
def test_spf_stepper_given_a_record_not_a_result_says_what_to_pass(wrong):
    with pytest.raises(UsageError, match=r"result of lk\.auth\.spf\.check"):
        lk.widgets.SPFStepper(wrong)


def test_roc_refuses_text_labels_that_would_all_count_as_spam():
    with pytest.raises(UsageError, match="True for spam"):
        lk.widgets.ROCExplorer([0.2, 0.9], ["ham", "spam"])


# --- Quiz: choices that do not exist, feedback that went stale ----------------------

PORTS = {"prompt": "Which port is submission?", "choices": ["25", "587", "110"], "answer": 1}


@pytest.mark.parametrize("wrong", ["465", 3, -1])
def test_quiz_answer_with_a_missing_choice_names_the_valid_ones(wrong):
    quiz = lk.widgets.Quiz([PORTS, PORTS])
    with pytest.raises(UsageError, match=r"Q2 has no choice .*'25', '587', '110'.*0 to 2"):
        quiz.answer(["587", wrong])
    assert [item.choices.value for item in quiz.items] == [None, None]  # nothing half-done
    with pytest.raises(UsageError, match="2 question"):
        quiz.answer(["587"])


def test_quiz_feedback_is_cleared_when_the_learner_changes_the_choice():
    quiz = lk.widgets.Quiz([PORTS])
    assert quiz.answer(["587"]) == 1
    box = quiz.items[0]
    box.choices.value = "25"  # no Check pressed
    assert "Correct" not in box.feedback.value
    assert box.correct is None and quiz.score == 0
    assert "0 of 1 right (0 checked)" in quiz.summary.value
    box.button.click()
    assert "Not quite" in box.feedback.value


# --- DefenceMap and ROCExplorer: empty or one-sided data ----------------------------


@pytest.mark.parametrize("hops", [(), []])
def test_defence_map_without_hops_says_what_to_call(hops):
    with pytest.raises(UsageError, match=r"at least one hop.*DefenceMap\(\)"):
        lk.widgets.DefenceMap(hops)


@pytest.mark.parametrize(("scores", "labels", "why"), [
    ([], [], "no messages"),
    ([0.2, 0.9], [True, True], "no ham"),
    ([0.2, 0.9], [False, False], "no spam"),
])
def test_roc_with_one_class_or_no_data_says_undefined_not_a_number(scores, labels, why):
    w = lk.widgets.ROCExplorer(scores, labels)
    assert w.area is None
    for shown in (w.matrix.value, w.curve.value, repr(w)):
        assert "AUC undefined" in shown and why in shown
        assert "AUC 1.000" not in shown and "AUC 0.500" not in shown
    assert "<svg" not in w.curve.value


def test_roc_refuses_nan_scores_and_says_how_many():
    nan = float("nan")
    with pytest.raises(UsageError, match="2 of 3 scores are NaN"):
        lk.widgets.ROCExplorer([nan, 0.4, nan], [True, False, True])


# --- MessageInspector: RFC 2047 encoded words ----------------------------------------


def _b64(text: str, charset: str = "utf-8") -> str:
    return base64.b64encode(text.encode(charset)).decode()


def test_inspector_decodes_encoded_words_and_keeps_the_header_as_sent():
    sent = f"=?UTF-8?B?{_b64('山田')}?= <yamada@corp.example>"
    to = f"=?ISO-2022-JP?B?{_b64('鈴木', 'iso-2022-jp')}?=\r\n =?ISO-2022-JP?B?{_b64('様', 'iso-2022-jp')}?= <s@corp.example>"
    w = lk.widgets.MessageInspector(f"From: {sent}\r\nTo: {to}\r\n\r\nb".encode())
    assert "山田 &lt;yamada@corp.example&gt;<br>" in w.identity.value
    assert f"as sent: <code>{sent.replace('<', '&lt;').replace('>', '&gt;')}</code>" in w.identity.value
    assert "鈴木様 &lt;s@corp.example&gt;" in w.identity.value
    assert f"header 山田 <yamada@corp.example> (as sent: {sent})" in w.text


def test_inspector_shows_the_address_hidden_in_an_encoded_display_name():
    sent = f"=?UTF-8?B?{_b64('ceo@brand.example')}?= <x@attacker.test>"
    w = lk.widgets.MessageInspector(f"From: {sent}\r\n\r\nb".encode())
    assert "ceo@brand.example &lt;x@attacker.test&gt;" in w.identity.value  # what a reader sees
    assert sent.replace("<", "&lt;").replace(">", "&gt;") in w.identity.value  # what was sent


@pytest.mark.parametrize("word", [
    "=?UTF-8?B?!!!?=", "=?UTF-8?B?5bGx5?=",             # bad base64: left as written
    "=?x-bogus?B?5bGx55Sw?=", "=?base64?B?5bGx55Sw?=",   # unknown or non-text charset
    "=?idna?Q?=E5=B1=B1?=", "=?UTF-8?B?/w==?=",          # codec that refuses, bytes not UTF-8
])
def test_inspector_never_raises_on_broken_encoded_words(word):
    w = lk.widgets.MessageInspector(f"From: {word} <a@b.example>\r\n\r\nb".encode())
    assert "From header" in w.text and "a@b.example" in w.identity.value


def test_inspector_escapes_decoded_text_and_shows_decoded_newlines():
    script = f"=?UTF-8?B?{_b64('<script>alert(1)</script>')}?="
    fake = f"=?UTF-8?B?{_b64('x' + chr(10) + '  0. from mx [203.0.113.1] by mx.corp.example: ours: trust')}?="
    w = lk.widgets.MessageInspector(f"From: {script}\r\nReply-To: {fake}\r\n\r\nb".encode())
    assert "<script>" not in w.identity.value and "&lt;script&gt;alert(1)" in w.identity.value
    assert "\n  0. from mx" not in w.text and "x\\x0a  0. from mx" in w.text
