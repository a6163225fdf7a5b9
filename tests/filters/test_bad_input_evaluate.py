"""Evaluation and bootstrap calls fed a learner's mistakes: labels as text, scores and
labels swapped, lists of different lengths, a filter object where a factory goes, raw
bytes where corpus messages go.  A silent NaN or a made-up figure is the worst outcome."""

from __future__ import annotations

import math

import pytest

import labkit as lk
from labkit.errors import UsageError

E = lk.filters.evaluate
U = lk.filters.uncertainty
LABELS = [True, False, False, True, False]
SCORES = [0.9, 0.1, 0.4, 0.7, 0.2]


@pytest.fixture(scope="module")
def samples():
    return lk.filters.corpus.sample()  # the lab's own messages: no corpus needed


@pytest.mark.parametrize("call", [E.auc, E.roc_curve, U.one_minus_auc_pct, U.bootstrap_auc],
                         ids=["auc", "roc_curve", "one_minus_auc_pct", "bootstrap_auc"])
def test_text_labels_are_refused_not_read_as_all_spam(call):
    # bool("ham") is True: auc gave NaN ("no ham"), the bootstrap "needs at least one ham"
    with pytest.raises(TypeError, match="not 'spam' .*text such as 'ham' would count as spam"):
        call(["spam", "ham", "ham", "spam", "ham"], SCORES)


@pytest.mark.parametrize("call", [E.auc, E.roc_curve, U.one_minus_auc_pct],
                         ids=["auc", "roc_curve", "one_minus_auc_pct"])
def test_swapped_scores_and_labels_say_which_comes_first(call):
    with pytest.raises(TypeError, match="looks like a score; the labels come first"):
        call(SCORES, LABELS)


def test_auc_with_one_score_missing_names_both_counts():
    with pytest.raises(UsageError, match="5 labels but 4 scores"):
        E.auc(LABELS, SCORES[:4])


def test_auc_of_scores_as_text_is_refused():
    # sorted as text, "10" < "9": the AUC came out of the letters
    with pytest.raises(TypeError, match="scores must be numbers, not str"):
        E.auc([True, False], ["10", "9"])


def test_labels_as_1_0_and_generators_give_the_same_figures():
    want = E.auc(LABELS, SCORES)
    assert E.auc([int(y) for y in LABELS], SCORES) == want
    assert E.auc((y for y in LABELS), (s for s in SCORES)) == want
    # one_minus_auc_pct reads its labels twice: a generator must not be empty the second time
    got = U.one_minus_auc_pct((y for y in LABELS), SCORES, resamples=50)
    assert got.estimate == U.one_minus_auc_pct(LABELS, SCORES, resamples=50).estimate


def test_evaluation_with_text_labels_is_refused():
    with pytest.raises(TypeError, match="not 'spam'"):
        E.Evaluation(filter="x", mode="m", names=("a", "b"), labels=("spam", "ham"),
                     scores=(0.9, 0.1), ranks=(0.9, 0.1))


@pytest.mark.parametrize("hm_pct", [-5, "0.1", 200, None])
def test_sm_at_hm_outside_0_to_100_is_refused(samples, hm_pct):
    ev = E.run(lk.filters.Robinson(), samples, samples, progress=False)
    with pytest.raises(UsageError, match="hm_pct is a percentage from 0 to 100"):
        ev.sm_at_hm(hm_pct)  # -5 gave 0.0 % (a perfect filter) before
    assert not math.isnan(ev.sm_at_hm(0.1))


@pytest.mark.parametrize("call", [
    lambda s: E.cross_validate(lk.filters.Robinson(), s, k=2),
    lambda s: E.evaluate_split(lk.filters.Robinson(), E.split_md5(s)),
], ids=["cross_validate", "evaluate_split"])
def test_a_filter_object_where_a_factory_goes_says_pass_the_class(samples, call):
    with pytest.raises(TypeError, match="pass the class, Robinson"):
        call(samples)


def test_online_with_the_class_or_raw_bytes_says_what_to_pass(samples):
    with pytest.raises(TypeError, match=r"call it, Robinson\(\)"):
        E.online(lk.filters.Robinson, samples)
    with pytest.raises(TypeError, match="must hold corpus messages"):
        E.online(lk.filters.Robinson(), [m.raw for m in samples])


@pytest.mark.parametrize("call", [
    lambda raws: E.kfold(raws, 2),
    lambda raws: E.by_date(raws),
    lambda raws: E.split_chronological(raws),
], ids=["kfold", "by_date", "split_chronological"])
def test_splits_of_raw_bytes_say_they_need_corpus_messages(samples, call):
    with pytest.raises(TypeError, match="must hold corpus messages"):
        call([m.raw for m in samples])


def test_split_chronological_fraction_as_text_is_a_type_error(samples):
    with pytest.raises(TypeError, match="test_fraction must be a number"):
        E.split_chronological(samples, "0.5")


@pytest.mark.parametrize("bad", [True, 2.5, "3", None], ids=["True", "2.5", "text", "None"])
def test_lam_refuses_a_count_of_the_wrong_type(bad):
    # True counted as 1 and 2.5 errors gave a lam% for a run that cannot happen
    with pytest.raises(TypeError, match="lam: fp must be a whole number"):
        E.lam(bad, 100, 5, 100)


def test_lam_refuses_negative_counts_and_more_errors_than_messages():
    with pytest.raises(UsageError, match="lam: fn must be 0 or more, not -1"):
        E.lam(1, 100, -1, 100)
    with pytest.raises(UsageError, match="lam: n_spam must be 0 or more"):
        E.lam(1, 100, 0, -5)
    with pytest.raises(UsageError, match=r"lam: fp \(101\) cannot exceed n_ham \(100\)"):
        E.lam(101, 100, 5, 100)


def test_lam_takes_numpy_counts_and_whole_floats_as_pandas_gives_them():
    np = pytest.importorskip("numpy")
    want = E.lam(3, 1400, 20, 600)
    assert E.lam(np.int64(3), np.int64(1400), 20.0, np.float64(600)) == want
    assert math.isnan(E.lam(0, 0, 3, 10))
