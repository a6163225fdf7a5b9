"""Counts, seeds, margins and attack strengths of lab 09's tuning and poisoning calls,
and kfold's k and run's workers, given the wrong kind of value.

Before these checks a negative count sliced from the end (``hammy_words(..., -5)`` gave
every word but five, ``good_word_attack(counts=(-1,))`` appended all but one word and
reported strength -1), ``True`` counted as 1 (``seeded_folds(k=True)`` made one fold with
nothing to train on), a negative margin put the threshold below the top ham, a fraction
above 1 or below 0 poisoned all (or all but a few) training spam, ``workers=-1`` ran in
one process without a word, and text or a single number where a list goes failed deep
inside with "'int' object is not iterable".  A wrong type is a ``TypeError``, a wrong
value a :class:`labkit.errors.UsageError`, each naming the argument.
"""

from __future__ import annotations

import numpy as np
import pytest

import labkit as lk
from labkit.errors import UsageError

E, T, P = lk.filters.evaluate, lk.filters.tuning, lk.filters.poison


@pytest.fixture(scope="module")
def samples():
    return lk.filters.corpus.sample()  # the lab's own messages: no corpus needed


@pytest.fixture(scope="module")
def tokens(samples):
    return {m.name: list(lk.filters.tokenize(m.raw)) for m in samples}


@pytest.fixture(scope="module")
def words(samples):
    return P.hammy_words([m for m in samples if not m.spam], [m for m in samples if m.spam],
                         50, min_count=1)


# ------------------------------------------------------------------ whole numbers
WHOLE_BAD_TYPES = [("3", "str '3'"), (True, "bool True"), (2.5, "float 2.5")]


@pytest.mark.parametrize(("value", "shown"), WHOLE_BAD_TYPES)
def test_counts_of_the_wrong_type_are_type_errors(samples, tokens, value, shown):
    ham = [m for m in samples if not m.spam]
    spam = [m for m in samples if m.spam]
    calls = {
        "k \\(the number of folds\\)": lambda: E.kfold(samples, value),
        "workers": lambda: E.run(lk.filters.Robinson(), samples, samples, workers=value),
        "k": lambda: T.seeded_folds(samples, value),
        "n": lambda: P.hammy_words(ham, spam, value),
        "min_count": lambda: P.hammy_words(ham, spam, 5, min_count=value),
    }
    for name, call in calls.items():
        with pytest.raises(TypeError, match=f"^{name} must be a whole number .*not {shown}"):
            call()
    with pytest.raises(TypeError, match=f"k must be a whole number .*not {shown}"):
        T.choose(lk.filters.Robinson, samples, tokens, grid=[{}], k=value)


def test_a_negative_count_is_refused_not_sliced_from_the_end(samples, words):
    ham = [m for m in samples if not m.spam]
    spam = [m for m in samples if m.spam]
    with pytest.raises(UsageError, match="n must be 0 or more, not -1"):
        P.hammy_words(ham, spam, -1, min_count=1)  # gave every word but the last
    split = E.split_md5(samples)
    with pytest.raises(UsageError, match="each count in counts must be 0 or more, not -1"):
        P.good_word_attack({"rob": lk.filters.Robinson}, split, words, (0, -1))
    with pytest.raises(UsageError, match="n_words must be 0 or more, not -5"):
        P.poisoned_training({"rob": lk.filters.Robinson}, split, words, (1.0,), n_words=-5)


def test_k_true_or_below_two_makes_no_fold_without_training(samples):
    # seeded_folds(k=True) used to deal one fold whose filter trained on nothing
    with pytest.raises(TypeError, match="k must be a whole number"):
        T.seeded_folds(samples, True)
    for k in (1, 0, -1):
        with pytest.raises(UsageError, match=f"k must be 2 or more, not {k}"):
            T.seeded_folds(samples, k)  # -1 used to fail with an IndexError


@pytest.mark.parametrize("value", [0, -1])
def test_workers_below_one_is_refused(samples, value):
    # workers=-1 (joblib's 'all cores') ran in one process without a word
    with pytest.raises(UsageError, match=r"workers must be 1 or more \(or None: one process"):
        E.evaluate_split(lk.filters.Robinson, E.split_md5(samples), workers=value)


# ------------------------------------------------------------------ seeds and lists
@pytest.mark.parametrize("value", [True, 2.5])
def test_a_seed_that_is_neither_whole_nor_text_is_refused(samples, value):
    # True dealt as the text 'True', 1.0 as '1.0': another dealing than 1, silently
    with pytest.raises(TypeError, match="seed must be a whole number such as 0 \\(or text\\)"):
        T.seeded_folds(samples, 2, value)


@pytest.mark.parametrize(("value", "shown"), [("3", "str '3'"), (3, "int 3"), (True, "bool True")])
def test_one_value_where_a_list_goes_is_a_type_error(samples, tokens, words, value, shown):
    split = E.split_md5(samples)
    calls = {
        "seeds": lambda: T.cross_validate(lk.filters.Robinson, {}, samples, tokens, k=2,
                                          seeds=value),
        "reputations": lambda: T.choose_sender_robinson(samples, tokens, base={}, k=2,
                                                        reputations=value),
        "counts": lambda: P.good_word_attack({"rob": lk.filters.Robinson}, split, words, value),
        "fractions": lambda: P.poisoned_training({"rob": lk.filters.Robinson}, split, words,
                                                 value),
    }
    for name, call in calls.items():
        with pytest.raises(TypeError, match=f"^{name} must be a list of values .*not {shown}"):
            call()


def test_no_seeds_or_reputations_at_all_is_a_usage_error(samples, tokens):
    # both used to fail deep inside (statistics on nothing, min() of an empty list)
    with pytest.raises(UsageError, match="seeds is empty"):
        T.choose(lk.filters.Robinson, samples, tokens, grid=[{}], k=2, seeds=())
    with pytest.raises(UsageError, match="reputations is empty"):
        T.choose_sender_robinson(samples, tokens, base={}, k=2, reputations=[])


# ------------------------------------------------------------------ margins and fractions
def test_margin_must_be_a_number_of_zero_or_more(samples, tokens):
    labels, ranks = [True, False, True], [1.0, 0.0, 2.0]
    with pytest.raises(TypeError, match="margin must be a number such as 0.3, not str '0.3': "
                                        "a number, not text"):
        T.margin_rank(labels, ranks, "0.3")  # failed with "can't multiply sequence"
    with pytest.raises(TypeError, match="margin must be a number"):
        T.margin_rank(labels, ranks, True)  # read as 1
    with pytest.raises(UsageError, match="margin must be a number of 0 or more"):
        T.margin_rank(labels, ranks, -1)  # put the threshold below the top ham
    with pytest.raises(UsageError, match="margin must be a number of 0 or more"):
        T.choose(lk.filters.Robinson, samples, tokens, grid=[{}], k=2, margin=-0.5)


@pytest.mark.parametrize("value", [1.5, -0.1])
def test_a_fraction_outside_0_to_1_is_refused(samples, words, value):
    # 1.5 poisoned every training spam and reported 1.5; -0.1 sliced from the end
    with pytest.raises(UsageError, match=f"each fraction in fractions must be a number from 0 "
                                         f"to 1, such as 0.5, not {value}"):
        P.poisoned_training({"rob": lk.filters.Robinson}, E.split_md5(samples), words,
                            (0.0, value))


# ------------------------------------------------------------------ valid input as before
def test_valid_values_behave_as_before(samples, tokens, words):
    split = E.split_md5(samples)
    def dealing(seed):
        return [sorted(m.name for m in s.test) for s in T.seeded_folds(samples, 2, seed)]

    assert dealing("3") == dealing(3) == dealing(np.int64(3)) != dealing(4)  # text still a seed
    assert T.margin_rank([True, False, True], [1.0, 0.0, 2.0], 0) == 0.0
    assert T.margin_rank([True, False, True], [1.0, 0.0, 2.0], 2.5) == 2.5
    gw = P.good_word_attack({"rob": lk.filters.Robinson}, split, words, [0, 10])
    assert [r["strength"] for r in gw.rows] == [0, 10]
    pt = P.poisoned_training({"rob": lk.filters.Robinson}, split, words, (x for x in (0, 1)))
    assert [r["strength"] for r in pt.rows] == [0, 1]  # kept as given; a generator works
    assert len(E.kfold(samples, 3)) == 3
    assert E.run(lk.filters.Robinson(), samples, samples, workers=None).n_train == len(samples)
