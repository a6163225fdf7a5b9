"""Warming a filter before a batch: everything scoring needs is computed in the parent,
so worker processes forked after it share it instead of each computing its own."""

from __future__ import annotations

import pytest

from labkit.filters import bayes, ensemble, reputation

P = dict(strength=0.0178, prior=0.52, min_dev=0.45, max_discriminators=2000, reputation=0.2)


@pytest.fixture(scope="module")
def train(full_corpus):
    return sorted(full_corpus, key=lambda m: m.md5)[::10]


def test_svm_ensemble_warm_fills_the_words_memo_and_fits_the_svm(train):
    f = ensemble.SVMSenderRobinson(**P).train(train)
    f._svm = None  # as after a learn(): the next score would refit
    f.words._changed()
    f._warm()
    memo = f.words._current_memo()
    assert memo["full"] and memo["f"]
    assert f._svm is not None
    assert memo.get("senders") is not None  # the senders' standing too (reputation > 0)
    if bayes._cclues is not None:
        assert memo.get("index") is not None  # the compiled look-up's index, built once


def test_warm_does_not_change_a_score(train):
    f = reputation.SenderRobinson(**P).train(train)
    message = train[0].raw
    cold = f.score(message)
    f._changed()
    f._warm()
    assert f.score(message) == cold


def test_warming_an_untrained_ensemble_is_harmless():
    f = ensemble.SVMSenderRobinson(**P)
    f._warm()
    assert f.score(b"Subject: hi\n\nhello") == 0.5


def test_an_ensemble_reading_the_origin_relay_loads_the_suffix_list_when_warmed(train):
    from labkit.auth import orgdomain

    f = ensemble.SVMSenderRobinson(**P, clean_origin=0.1, aligned_origin=0.2).train(train)
    orgdomain._psl.cache_clear()
    f._warm()
    assert orgdomain._psl.cache_info().currsize == 1  # loaded in the parent, before a fork
    plain = ensemble.SVMSenderRobinson(**P).train(train)
    orgdomain._psl.cache_clear()
    plain._warm()
    assert orgdomain._psl.cache_info().currsize == 0  # without the weights: not needed
