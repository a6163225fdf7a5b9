"""The receiver's scorer, the poisoning helper, the tokenizer and the DNSBL name fed a
learner's mistakes: settings that would quietly change nothing (or everything), labels as
text, words as one string, an address as a number."""

from __future__ import annotations

import email.message
import email.policy

import pytest

import labkit as lk
from labkit.errors import UsageError

F = lk.filters
C = lk.filters.combined
SPAM = b"From: a@b.example\r\nSubject: cheap pills\r\n\r\nbuy cheap pills now\r\n"
HAM = b"From: c@d.example\r\nSubject: agenda\r\n\r\nthe meeting agenda\r\n"


# --- SpamScorer ------------------------------------------------------------------------


@pytest.mark.parametrize("cutoff", [90, -0.1, float("nan")])
def test_scorer_cutoff_outside_0_1_is_refused(cutoff):
    # spam_cutoff=90 (a percentage) junked nothing, ever
    with pytest.raises(UsageError, match="spam_cutoff is a score between 0 and 1"):
        F.SpamScorer(spam_cutoff=cutoff)


def test_scorer_cutoff_as_text_fails_at_construction_not_in_judge():
    # judge() promises never to raise; "0.9" made it raise for every message
    with pytest.raises(TypeError, match="ham_cutoff must be a number"):
        F.SpamScorer(ham_cutoff="0.2")


def test_scorer_misspelt_weight_is_named_not_ignored():
    with pytest.raises(UsageError, match="no signal named 'dnsb' .*did you mean 'dnsbl'"):
        F.SpamScorer(weights={"dnsb": 9.0})


def test_scorer_weight_as_text_is_refused():
    with pytest.raises(TypeError, match="weight 'dnsbl' must be a number"):
        F.SpamScorer(weights={"dnsbl": "9"})


def test_scorer_valid_weights_and_no_zones_still_work():
    s = F.SpamScorer(weights={"dnsbl": 6, "spf_pass": -1.0}, dnsbl_zones=None)
    assert s.weights["dnsbl"] == 6 and s.dnsbl_zones == ()
    assert s.judge(SPAM).status == "ham"


def test_labelled_spam_as_text_is_refused_and_measure_names_a_wrong_stream():
    # Labelled(spam="ham") was counted as spam by measure()
    with pytest.raises(TypeError, match="Labelled: spam must be True .* not 'ham'"):
        C.Labelled(message=HAM, spam="ham")
    assert C.Labelled(message=HAM, spam=0).spam is False
    with pytest.raises(TypeError, match=r"Labelled\(message=..., spam=...\)"):
        C.measure(F.SpamScorer(), [HAM])


# --- poison.add_words -----------------------------------------------------------------


def test_add_words_given_one_string_adds_its_words_not_its_letters():
    got = F.poison.add_words(SPAM, "meeting agenda")
    assert got == F.poison.add_words(SPAM, ["meeting", "agenda"])
    assert b"m e e t" not in got


def test_add_words_takes_text_an_email_message_and_a_corpus_message():
    want = F.poison.add_words(SPAM, ["agenda"])
    assert F.poison.add_words(SPAM.decode(), ["agenda"]) == want
    msg = email.message_from_bytes(SPAM, policy=email.policy.default)
    assert b"agenda" in F.poison.add_words(msg, ["agenda"])
    sample = F.corpus.sample()[0]
    assert F.poison.add_words(sample, ["agenda"]) == F.poison.add_words(sample.raw, ["agenda"])


@pytest.mark.parametrize("message, words, phrase", [
    (None, ["x"], "the variable holds no message"),
    (SPAM, [1, 2], "words must be text, not int"),
    (SPAM, 5, "words must be a list of words"),
])
def test_add_words_wrong_kinds_fail_in_words(message, words, phrase):
    with pytest.raises(TypeError, match=phrase):
        F.poison.add_words(message, words)


# --- tokenize and DNSBL names ------------------------------------------------------------


def test_tokenize_max_bytes_as_text_is_refused_not_a_tokenizer_error_token():
    with pytest.raises(TypeError, match="max_bytes must be a whole number"):
        F.tokenize(SPAM, max_bytes="100")
    with pytest.raises(UsageError, match="max_bytes must be 0 or more"):
        F.tokenize(SPAM, max_bytes=-1)
    assert "tokenizer:error" not in F.tokenize(SPAM, max_bytes=100)


@pytest.mark.parametrize("call", [
    lambda: F.dnsbl.query_name(5),
    lambda: F.dnsbl.lookup(3232235777, dns=None),
], ids=["query_name", "lookup"])
def test_dnsbl_address_as_a_number_is_refused(call):
    # ipaddress reads 5 as 0.0.0.5: the query went to 5.0.0.0.bl.dnsbl.example
    with pytest.raises(TypeError, match="ip must be an IP address such as"):
        call()


def test_dnsbl_zone_none_is_a_type_error():
    with pytest.raises(TypeError, match="zone must be a DNSBL zone name"):
        F.dnsbl.query_name("192.0.2.1", None)
