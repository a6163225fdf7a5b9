"""Arguments that take several values (a list) checked by the one shared check,
``labkit._coerce.sequence``, instead of hand-written copies that each let something
different through.

Before: a dict was read as its keys wherever the copies only asked "iterable and not
text" - ``dkim.sign(headers={"From": 1})`` signed From, ``auc({True: 0, False: 1}, ...)``
took the keys as labels, ``trusted_arc_sealers={...}`` trusted the keys; a quiz's
``choices`` given as one string was a UsageError (a wrong type is a TypeError) and
``Question(choices="ab")`` made one choice per letter; ROCExplorer turned labels that
are no list into a UsageError and two lists of different lengths into a plain
ValueError (not labkit's UsageError); the shared check printed the whole value, so one
100 KB string where a list goes made a 100 KB error message.
"""

from __future__ import annotations

import pytest

import labkit as lk
from labkit.auth import dkim, dmarc, results
from labkit.errors import UsageError

E = lk.filters.evaluate
FROM, TO = "news@brand.example", "alice@corp.example"


@pytest.fixture(scope="module")
def msg() -> bytes:
    return lk.mta.make_message(from_=FROM, to=TO, subject="lists", body="hello")


def _sign(msg: bytes, **changes) -> bytes:
    return dkim.sign(msg, domain="brand.example", selector="s2026",
                     private_key=dkim.lab_key("brand.example", "s2026"), **changes)


# ------------------------------------------------------------------ auth


def test_dkim_sign_refuses_a_dict_of_header_names(msg):
    with pytest.raises(TypeError, match=r"^headers must be a list of field names .*not dict"):
        _sign(msg, headers={"From": True, "To": True})
    signed = _sign(msg, headers=(n for n in ("From", "To")))  # a generator: still read once
    assert b"h=from : to;" in signed


def test_dkim_sign_one_string_of_headers_says_letter_by_letter_in_a_short_message(msg):
    with pytest.raises(TypeError) as err:
        _sign(msg, headers="From:" * 20_000)
    text = str(err.value)
    assert text.startswith("headers must be a list of field names") and "letter by letter" in text
    assert len(text) < 400, len(text)  # was the whole 100,000-character string


def test_a_dict_of_dkim_results_is_refused_as_a_whole(lab_dns, msg):
    (sig,) = dkim.verify(_sign(msg), dns=lab_dns)
    by_domain = {"brand.example": sig}  # was read as its keys: "each of dkim ... not str"
    with pytest.raises(TypeError, match=r"^dkim must be a list of result objects .*not dict"):
        results.authentication_results("mx.corp.example", dkim=by_domain)
    with pytest.raises(TypeError, match=r"^dkim must be a list of result objects .*not dict"):
        dmarc.check("brand.example", dkim=by_domain, dns=lab_dns)
    assert "dkim=pass" in results.authentication_results("mx.corp.example", dkim=[sig])


def test_trusted_arc_sealers_as_a_dict_is_refused(lab_dns, msg):
    kwargs = dict(ip="192.0.2.10", mail_from=FROM, helo="mail.brand.example", dns=lab_dns)
    with pytest.raises(TypeError, match=r"^trusted_arc_sealers must be a list of domain names "
                                        r".*not dict"):
        lk.auth.evaluate(msg, trusted_arc_sealers={"lists.example.org": True}, **kwargs)
    # one name alone is still one name, and a set of names still works
    assert lk.auth.evaluate(msg, trusted_arc_sealers={"lists.example.org"}, **kwargs)
    assert lk.auth.evaluate(msg, trusted_arc_sealers="lists.example.org", **kwargs)


# ------------------------------------------------------------------ filters.evaluate


def test_auc_refuses_labels_or_scores_given_as_a_dict():
    with pytest.raises(TypeError, match=r"^labels must be a list of True \(spam\) / False \(ham\)"
                                        r".*not dict"):
        E.auc({True: "m1", False: "m2"}, [0.9, 0.1])  # was read as the labels (True, False)
    with pytest.raises(TypeError, match=r"^scores must be a list of numbers.*not dict"):
        E.auc([True, False], {0.9: "m1", 0.1: "m2"})  # was read as the scores (0.9, 0.1)
    assert E.auc([True, False], [0.9, 0.1]) == 1.0


def test_a_dict_of_corpus_messages_is_refused_as_a_whole():
    by_name = {m.name: m for m in lk.filters.corpus.sample()}
    # was read as its keys: "must hold corpus messages ... it holds str"
    with pytest.raises(TypeError, match=r"^messages must be a list of corpus messages .*not dict"):
        E.split_md5(by_name)
    assert E.split_md5(by_name.values()).train or E.split_md5(by_name.values()).test


# ------------------------------------------------------------------ widgets


def test_quiz_choices_as_one_string_or_a_dict_are_a_type_error():
    pytest.importorskip("ipywidgets")
    q = {"prompt": "Which port is submission?", "answer": 1}
    with pytest.raises(TypeError, match=r"^choices must be a list of answers .*not str 'abc' "
                                        r"\(one string"):
        lk.widgets.Quiz([{**q, "choices": "abc"}])
    with pytest.raises(TypeError, match=r"^choices must be a list of answers .*not dict"):
        lk.widgets.Quiz([{**q, "choices": {"25": 0, "587": 1}}])  # was read as its keys
    with pytest.raises(TypeError, match=r"^choices must be a list of answers .*not int 5"):
        lk.widgets.Quiz([{**q, "choices": 5}])  # was "'int' object is not iterable"


def test_question_made_directly_refuses_choices_as_one_string():
    pytest.importorskip("ipywidgets")
    with pytest.raises(TypeError, match=r"^choices must be a list of answers"):
        lk.widgets.Question(prompt="p", choices="ab", answer=0)  # was the choices 'a', 'b'
    assert lk.widgets.Question(prompt="p", choices=["a", "b"], answer=0).choices == ("a", "b")


@pytest.mark.parametrize("labels", [5, {True: "m1", False: "m2"}], ids=["int", "dict"])
def test_roc_labels_that_are_no_list_are_a_type_error(labels):
    pytest.importorskip("ipywidgets")
    with pytest.raises(TypeError, match=r"^labels must be a list of True \(spam\) / False \(ham\)"):
        lk.widgets.ROCExplorer([0.9, 0.1], labels)


def test_roc_length_mismatch_is_a_usage_error_naming_both_lengths():
    pytest.importorskip("ipywidgets")
    from labkit.widgets import roc

    for call in (lambda: lk.widgets.ROCExplorer([0.9, 0.2, 0.7], [True, False]),
                 lambda: roc.confusion([0.9, 0.2, 0.7], [True, False], 0.5),
                 lambda: roc.roc_points([0.9, 0.2, 0.7], [True, False])):
        with pytest.raises(UsageError, match="3 scores, 2 labels"):
            call()


def test_a_question_that_is_no_dict_is_a_type_error():
    from labkit.widgets.quiz import Question
    # a wrong type, like every other argument of the wrong type in labkit (was UsageError)
    with pytest.raises(TypeError, match=r"a question is a dict with 'prompt'.* not str"):
        Question.coerce("Which port is submission?")
