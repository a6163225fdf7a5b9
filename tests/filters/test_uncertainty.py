"""Bootstrap intervals for (1-AUC)%: checked against the sample AUC and DeLong's variance."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from labkit.filters import uncertainty as U
from labkit.filters.evaluate import auc


def _sample(n_ham: int = 150, n_spam: int = 100, shift: float = 1.5, seed: int = 3):
    """Scores rounded to one decimal, so many ham/spam pairs tie."""
    rnd = random.Random(seed)
    labels = [False] * n_ham + [True] * n_spam
    scores = [round(rnd.gauss(0.0, 1.0), 1) for _ in range(n_ham)]
    scores += [round(rnd.gauss(shift, 1.0), 1) for _ in range(n_spam)]
    return labels, scores


def _psi(s: float, h: float) -> float:
    return 1.0 if s > h else 0.5 if s == h else 0.0


def _delong_sd(labels, scores) -> float:
    """DeLong et al. (1988): the AUC's standard error from its placement values."""
    spam = [s for s, y in zip(scores, labels, strict=True) if y]
    ham = [s for s, y in zip(scores, labels, strict=True) if not y]
    v10 = [statistics.fmean(_psi(s, h) for h in ham) for s in spam]
    v01 = [statistics.fmean(_psi(s, h) for s in spam) for h in ham]
    return math.sqrt(statistics.variance(v10) / len(spam) + statistics.variance(v01) / len(ham))


@pytest.mark.parametrize("block_cells", [U._CHUNK_CELLS, 150])  # one block; blocks of 2 rows
def test_each_resample_is_the_auc_of_the_mail_it_drew(monkeypatch, block_cells):
    """Spell each resample out as a list of messages and score it with evaluate.auc."""
    monkeypatch.setattr(U, "_CHUNK_CELLS", block_cells)
    labels, scores = _sample(n_ham=40, n_spam=30)
    other = [-s for s in scores]  # a second filter, paired on the same draws
    boot = U.bootstrap_auc(labels, scores, other, resamples=5, seed=4)
    w_ham, w_spam = U.resample_weights(labels, 5, seed=4)
    assert w_ham.shape == (5, 40) and w_spam.shape == (5, 30)
    assert (w_ham.sum(axis=1) == 40).all() and (w_spam.sum(axis=1) == 30).all()
    hams = [i for i, y in enumerate(labels) if not y]
    spams = [i for i, y in enumerate(labels) if y]
    for r in range(5):
        drawn = [i for i, w in zip(hams, w_ham[r], strict=True) for _ in range(int(w))]
        drawn += [i for i, w in zip(spams, w_spam[r], strict=True) for _ in range(int(w))]
        assert len(drawn) == len(labels)
        y = [labels[i] for i in drawn]
        assert boot[0][r] == pytest.approx(auc(y, [scores[i] for i in drawn]))
        assert boot[1][r] == pytest.approx(auc(y, [other[i] for i in drawn]))


def test_bootstrap_mean_is_the_sample_auc():
    """Each ham and spam is drawn once per resample on average, so the mean of the
    resampled AUCs is the test set's own AUC (ties counted half, as in evaluate.auc)."""
    labels, scores = _sample()
    boot = U.bootstrap_auc(labels, scores, resamples=4000, seed=1)[0]
    assert boot.shape == (4000,)
    assert statistics.fmean(boot) == pytest.approx(auc(labels, scores), abs=0.002)


def test_bootstrap_spread_matches_delong():
    labels, scores = _sample()
    boot = U.bootstrap_auc(labels, scores, resamples=4000, seed=2)[0]
    assert statistics.pstdev(boot) == pytest.approx(_delong_sd(labels, scores), rel=0.12)


def test_interval_holds_the_estimate_and_narrows_with_more_mail():
    labels, scores = _sample()
    small = U.one_minus_auc_pct(labels, scores, resamples=1000)
    assert small.estimate == pytest.approx(100 * (1 - auc(labels, scores)))
    assert small.low < small.estimate < small.high
    # the same mail four times over: the same (1-AUC)%, a narrower interval
    big = U.one_minus_auc_pct(labels * 4, scores * 4, resamples=1000)
    assert big.estimate == pytest.approx(small.estimate)
    assert big.high - big.low < 0.7 * (small.high - small.low)
    assert "95 % interval" in str(small) and small.to_dict()["resamples"] == 1000


def test_perfect_separation_has_no_uncertainty():
    labels = [False] * 5 + [True] * 4
    scores = [0.1, 0.2, 0.2, 0.3, 0.4, 0.6, 0.7, 0.9, 0.9]
    i = U.one_minus_auc_pct(labels, scores, resamples=200)
    assert (i.estimate, i.low, i.high) == (0.0, 0.0, 0.0)


def test_a_filter_against_itself_has_ratio_one():
    labels, scores = _sample()
    r = U.ratio(labels, scores, scores, resamples=500)
    assert (r.estimate, r.low, r.high) == (1.0, 1.0, 1.0)


def test_ratio_is_paired_and_ordered():
    labels, scores = _sample()
    pairs = enumerate(zip(scores, labels, strict=True))
    worse = [s + (0.6 if not y and i % 3 == 0 else 0.0) for i, (s, y) in pairs]
    r = U.ratio(labels, scores, worse, resamples=1000)
    err = 1 - auc(labels, scores)
    assert r.estimate == pytest.approx(err / (1 - auc(labels, worse)))
    # every resample has the same hams lifted, so A is better in (almost) all of them
    assert r.low < r.estimate < r.high < 1.0


def test_same_seed_same_draws():
    labels, scores = _sample()
    a = U.bootstrap_auc(labels, scores, resamples=50, seed=7)
    assert (a == U.bootstrap_auc(labels, scores, resamples=50, seed=7)).all()
    assert not (a == U.bootstrap_auc(labels, scores, resamples=50, seed=8)).all()


@pytest.mark.parametrize(
    "labels, scores",
    [([True, True], [0.1, 0.2]), ([False], [0.1]), ([True, False], [0.1])],
)
def test_bad_input_is_a_clear_error(labels, scores):
    with pytest.raises(ValueError):
        U.bootstrap_auc(labels, scores)


def test_ratio_when_neither_filter_errs_is_undefined_not_infinite():
    labels = [False] * 5 + [True] * 4
    perfect = [0.1, 0.2, 0.2, 0.3, 0.4, 0.6, 0.7, 0.9, 0.9]
    r = U.ratio(labels, perfect, perfect, resamples=100)
    assert math.isnan(r.estimate)
    assert "undefined" in str(r)


def test_ratio_interval_has_no_nan_when_some_resamples_divide_by_zero():
    # B's only error is one ham above one spam, A's another ham: resamples without B's
    # pair give an infinite ratio, the others a finite one; the bounds must be real values
    labels = [False] * 6 + [True] * 6
    b = [0.1, 0.2, 0.2, 0.3, 0.4, 0.75, 0.7, 0.8, 0.85, 0.9, 0.9, 0.95]
    a = [0.1, 0.2, 0.2, 0.3, 0.82, 0.5, 0.7, 0.8, 0.85, 0.9, 0.9, 0.95]  # another ham errs
    boot = 1.0 - U.bootstrap_auc(labels, a, b, resamples=400, seed=1)
    assert (boot[1] == 0).any() and (boot[1] > 0).any()  # the case this test is about
    r = U.ratio(labels, a, b, resamples=400, seed=1)
    assert not math.isnan(r.low) and not math.isnan(r.high)
    assert r.high == math.inf and r.low <= r.estimate
