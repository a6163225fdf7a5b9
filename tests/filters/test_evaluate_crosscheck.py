"""Every evaluation metric against an independent computation, and the edge cases a
learner meets in a notebook (one class, no messages, NaN, names without an MD5, ...)."""

from __future__ import annotations

import hashlib
import math
import random

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

import labkit.filters as F
from labkit.errors import UsageError
from labkit.filters import corpus as C
from labkit.filters import evaluate as E
from labkit.filters import uncertainty as U


def _ev(labels, scores, spam_cutoff=0.5, ham_cutoff=0.5, ranks=None):
    return E.Evaluation(
        filter="t",
        mode="hand",
        names=tuple(f"m{i}" for i in range(len(labels))),
        labels=tuple(labels),
        scores=tuple(scores),
        ranks=tuple(scores if ranks is None else ranks),
        spam_cutoff=spam_cutoff,
        ham_cutoff=ham_cutoff,
    )


def _trec_lam(hm: float, sm: float) -> float:
    """logit^-1((logit(hm) + logit(sm)) / 2), the TREC spam track's lam, as a fraction."""
    z = (math.log(hm / (1 - hm)) + math.log(sm / (1 - sm))) / 2
    return 1 / (1 + math.exp(-z))


def _rate(errors: int, n: int) -> float:
    """errors / n; 0.5 added to errors and total (CEAS 2007) only where that is 0."""
    return 0.5 / (n + 0.5) if errors == 0 else errors / n


def _best_sm(labels, ranks, hm_pct):
    """sm% at the best threshold with hm% <= hm_pct, trying every threshold (score >= t
    is spam): the brute-force reading of the ROC step curve."""
    y, r = np.asarray(labels), np.asarray(ranks)
    best = math.inf
    for t in sorted(set(r.tolist())) + [math.inf]:
        if 100 * np.sum(~y & (r >= t)) / np.sum(~y) <= hm_pct + 1e-12:
            best = min(best, 100 * np.sum(y & (r < t)) / np.sum(y))
    return best


# -- AUC and ROC points ------------------------------------------------------------------


def test_auc_and_roc_points_match_scikit_learn_with_many_ties():
    """Spam filters give many identical scores (0.0, 1.0): ties must move together."""
    rnd = random.Random(11)
    checked = 0
    for _ in range(200):
        n = rnd.randint(2, 40)
        labels = [rnd.random() < 0.4 for _ in range(n)]
        if all(labels) or not any(labels):
            continue
        scores = [rnd.choice([0.0, 0.0, 1.0, 1.0, 0.5, 0.999]) for _ in range(n)]
        assert E.auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
        fpr, tpr = E.roc_curve(labels, scores)
        sk_fpr, sk_tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
        assert fpr == pytest.approx(sk_fpr.tolist()) and tpr == pytest.approx(sk_tpr.tolist())
        checked += 1
    assert checked > 150


def test_metrics_of_a_filter_trained_on_the_real_corpus(subset):
    """A quickly trained filter on the real corpus: every figure recomputed independently."""
    sp = E.split_md5(subset)
    f = F.Fisher(ham_cutoff=0.2)  # an unsure band [0.2, 0.9)
    ev = E.run(f, sp.train, sp.test, progress=False)
    y, s, r = np.asarray(ev.labels), np.asarray(ev.scores), np.asarray(ev.ranks)
    assert ev.auc == pytest.approx(roc_auc_score(y, r), abs=1e-12)
    # the confusion at the spam cutoff: a score equal to it is spam, as sklearn's >=
    tn, fp, fn, tp = confusion_matrix(y, s >= ev.spam_cutoff, labels=[False, True]).ravel()
    assert (ev.fp, ev.fn) == (fp, fn)
    assert ev.hm_pct == pytest.approx(100 * fp / (fp + tn))
    assert ev.sm_pct == pytest.approx(100 * fn / (fn + tp))
    # ... and as the filter itself decides, message by message
    statuses = [f.classify(m.raw) for m in sp.test]
    assert statuses == [f.status(x) for x in ev.scores]
    assert ev.fp == sum(
        1 for st, spam in zip(statuses, y, strict=True) if st == "spam" and not spam
    )
    assert ev.unsure == statuses.count("unsure") > 0
    assert ev.unsure_rate == pytest.approx(statuses.count("unsure") / len(statuses))
    judged_ham_spam = sum(1 for st, spam in zip(statuses, y, strict=True) if st == "ham" and spam)
    assert ev.cost() == pytest.approx(10 * ev.fp + 1 * judged_ham_spam + 0.2 * ev.unsure)
    assert ev.lam_pct == pytest.approx(100 * _trec_lam(_rate(fp, fp + tn), _rate(fn, fn + tp)))
    for hm_pct in (0.0, 0.1, 0.5, 1.0, 5.0):
        assert ev.sm_at_hm(hm_pct) == pytest.approx(_best_sm(y, r, hm_pct))


def test_sm_at_hm_with_ties_at_the_threshold():
    """A spam tied with the ham that sets the threshold is missed (no interpolation)."""
    labels = [False] * 10 + [True] * 4
    scores = [0.0] * 8 + [0.9, 1.0] + [1.0, 1.0, 0.9, 0.5]
    ev = _ev(labels, scores)
    for hm_pct in (0.0, 10.0, 20.0, 50.0, 100.0):
        assert ev.sm_at_hm(hm_pct) == pytest.approx(_best_sm(labels, scores, hm_pct))
    assert ev.sm_at_hm(10.0) == 50.0  # threshold above 0.9: the 0.9 and 0.5 spam missed


def test_a_score_equal_to_the_cutoff_is_spam_everywhere():
    """Evaluation, the filters' status and the ROC widget agree on the boundary."""
    from labkit.widgets.roc import confusion

    f = F.Robinson()
    ev = _ev([False, True], [f.spam_cutoff, f.spam_cutoff], f.spam_cutoff, f.ham_cutoff)
    assert (ev.fp, ev.fn) == (1, 0) and f.status(f.spam_cutoff) == "spam"
    c = confusion([f.spam_cutoff] * 2, [False, True], f.spam_cutoff)
    assert (c.fp, c.tp) == (1, 1)


# -- lam% ------------------------------------------------------------------------------------


def test_lam_is_the_trec_formula_of_the_rates_shown():
    """With errors on both sides lam% is logit^-1 of the mean logit of hm and sm, exactly
    the rates printed beside it (no smoothing of non-zero rates)."""
    labels = [False] * 4 + [True] * 4
    scores = [0.05, 0.1, 0.5, 0.95, 0.95, 0.99, 0.5, 0.1]  # 1 FP of 4, 2 FN of 4 at 0.9
    ev = _ev(labels, scores, 0.9, 0.9)
    assert (ev.hm_pct, ev.sm_pct) == (25.0, 50.0)
    assert ev.lam_pct == pytest.approx(100 * _trec_lam(0.25, 0.5))  # 36.60 %
    assert E.lam(3, 1400, 20, 600) == pytest.approx(_trec_lam(3 / 1400, 20 / 600))


def test_lam_with_no_errors_is_finite_and_orders_filters():
    n_ham, n_spam = 1000, 500
    zero = E.lam(0, n_ham, 10, n_spam)
    one = E.lam(1, n_ham, 10, n_spam)
    assert 0 < zero < one < 1
    assert zero == pytest.approx(_trec_lam(0.5 / (n_ham + 0.5), 10 / n_spam))
    assert E.lam(0, n_ham, 0, n_spam) < zero
    assert E.lam(n_ham - 1, n_ham, 10, n_spam) < E.lam(n_ham, n_ham, 10, n_spam) < 1
    assert math.isnan(E.lam(0, 0, 3, 10)) and math.isnan(E.lam(0, 10, 0, 0))


# -- one class, no messages, bad scores ------------------------------------------------------


def test_one_class_says_undefined_instead_of_a_number():
    ev = _ev([True] * 5, [0.9, 0.1, 1.0, 1.0, 0.0])
    assert ev.undefined == "no ham, only spam"
    assert math.isnan(ev.auc) and math.isnan(ev.hm_pct) and math.isnan(ev.lam_pct)
    assert ev.sm_pct == 40.0 and math.isnan(ev.sm_at_hm(0.1))
    text = str(ev)
    assert "hm% undefined" in text and "lam% undefined" in text
    assert "ROC undefined: no ham, only spam" in text and "nan" not in text
    with pytest.raises(UsageError, match="no ham, only spam"):
        E.roc_curve(ev.labels, ev.ranks)


def test_plot_roc_of_one_class_writes_why_instead_of_a_line(subset):
    import matplotlib

    matplotlib.use("Agg")
    only_ham = _ev([False] * 3, [0.1, 0.2, 0.95])
    ax = only_ham.plot_roc()
    assert not ax.lines
    assert any("no ROC curve (no spam, only ham)" in t.get_text() for t in ax.texts)
    sp = E.split_md5(subset[::3])  # (subset is in MD5 order: its head has no test half)
    good = E.run(F.Robinson(), sp.train, sp.test, progress=False)
    assert good.undefined is None
    ax = E.plot_roc([good, only_ham])
    assert len(ax.lines) == 1 and ax.get_xscale() == "log"
    assert any("no spam, only ham" in t.get_text() for t in ax.texts)


def test_no_messages_says_so():
    ev = E.run(F.Fisher(), C.sample(), [], progress=False)
    assert str(ev) == "fisher (batch): no messages scored, nothing to measure"
    assert ev.undefined == "no messages" and math.isnan(ev.lam_pct)


def test_nan_scores_are_refused_with_the_message_names():
    nan = float("nan")
    with pytest.raises(UsageError, match=r"2 of 4 t scores are NaN.*m0, m3"):
        _ev([True, False, True, False], [nan, 0.2, 0.9, nan])
    with pytest.raises(UsageError, match="NaN"):
        E.auc([True, False, True, False], [nan, 0.2, 0.9, nan])
    with pytest.raises(UsageError, match="NaN"):
        U.one_minus_auc_pct([True, False, True], [nan, 0.3, 0.9], resamples=20)


def test_scores_outside_0_1_are_refused():
    """A learner's score() returning log-odds would be compared with a 0.9 cutoff."""
    with pytest.raises(UsageError, match=r"outside \[0, 1\].*m0: 5\.0"):
        _ev([True, False], [5.0, -3.0])
    ev = _ev([True, False], [1.0, 0.0], ranks=[40.0, -40.0])  # ranks may be any number
    assert ev.auc == 1.0


class _LogOdds:
    """A learner's filter whose score() forgot the logistic function."""

    spam_cutoff = ham_cutoff = 0.5

    def learn(self, message: bytes, spam: bool) -> None:
        pass

    def score(self, message: bytes) -> float:
        return 3.0 if b"viagra" in message.lower() else -3.0


def test_a_filter_with_out_of_range_scores_is_named_in_the_error():
    with pytest.raises(UsageError, match="_logodds scores lie outside"):
        E.online(_LogOdds(), C.sample(), progress=False)


# -- splits ----------------------------------------------------------------------------------


def test_md5_split_and_kfold_on_the_lab_sample_messages():
    """Names like ham-meeting.eml carry no MD5: the MD5 of the bytes decides."""
    samples = C.sample()
    sp = E.split_md5(samples)
    digest = {m.name: hashlib.md5(m.raw).hexdigest() for m in samples}
    assert {m.name for m in sp.test} == {n for n, d in digest.items() if d[0] in "89abcdef"}
    assert {m.name for m in sp.train} == {n for n, d in digest.items() if d[0] in "01234567"}
    folds = E.kfold(samples, 3)
    assert sorted(m.name for s in folds for m in s.test) == sorted(digest)
    for s in folds:
        assert all(int(digest[m.name], 16) % 3 == int(s.name[5]) - 1 for m in s.test)


def test_md5_from_the_name_for_corpus_messages(subset):
    # the corpus names are the MD5 of the bytes, so both rules agree there
    for m in subset[:50]:
        assert E._md5(m) == m.md5


def test_kfold_with_more_folds_than_messages_and_bad_k():
    samples = C.sample()
    folds = E.kfold(samples, 50)
    assert len(folds) == 50 and sum(len(s.test) for s in folds) == len(samples)
    assert all(len(s.train) + len(s.test) == len(samples) for s in folds)
    cv = E.cross_validate(F.Fisher, samples, k=50, progress=False)
    assert sorted(cv.names) == sorted(m.name for m in samples)
    for k in (0, 1, -3):
        with pytest.raises(UsageError, match="at least 2"):
            E.kfold(samples, k)
    with pytest.raises(TypeError, match="whole number"):  # a wrong type (was UsageError)
        E.kfold(samples, 2.5)


def _msg(name: str, date_header: str | None, spam: bool = False) -> C.Message:
    head = f"Date: {date_header}\n" if date_header is not None else ""
    raw = f"{head}From: a@example.com\nSubject: {name}\n\nhello {name}\n".encode()
    return C.Message(name=name, folder="lab", label="spam" if spam else "ham", raw=raw)


def test_chronological_split_puts_undated_mail_last_whatever_the_input_order():
    msgs = [
        _msg("d1", "Mon, 01 Sep 2003 10:00:00 +0000"),
        _msg("x-bad", "yesterday, around noon"),  # unparseable
        _msg("d3", "Wed, 03 Sep 2003 10:00:00 +0000"),
        _msg("a-none", None),  # no Date header at all
        _msg("d2", "Tue, 02 Sep 2003 10:00:00 +0000"),
        _msg("m-bad", "32 Foo 2003 99:99:99"),
    ]
    sp = E.split_chronological(msgs, 0.5)
    assert [m.name for m in sp.train] == ["d1", "d2", "d3"]
    assert [m.name for m in sp.test] == ["a-none", "m-bad", "x-bad"]  # undated, by name
    again = E.split_chronological(list(reversed(msgs)), 0.5)
    assert [m.name for m in again.test] == [m.name for m in sp.test]
    for bad in (1.5, -0.1, float("nan")):
        with pytest.raises(UsageError, match="between 0 and 1"):
            E.split_chronological(msgs, bad)


# -- online (TREC immediate feedback) --------------------------------------------------------


class _Recorder:
    """A filter that logs what the evaluator asks, and scores by what it has learned."""

    spam_cutoff = ham_cutoff = 0.5

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.seen_spam = 0
        self.seen = 0

    def score(self, message: bytes) -> float:
        self.calls.append(("score", message.split(b"Subject: ")[1].split(b"\n")[0].decode()))
        return (self.seen_spam + 1) / (self.seen + 2)

    def learn(self, message: bytes, spam: bool) -> None:
        self.calls.append(("learn", message.split(b"Subject: ")[1].split(b"\n")[0].decode()))
        self.seen += 1
        self.seen_spam += spam


def test_online_scores_then_learns_each_message_in_date_order():
    msgs = [
        _msg("c", "Wed, 03 Sep 2003 10:00:00 +0000", spam=True),
        _msg("a", "Mon, 01 Sep 2003 10:00:00 +0000", spam=True),
        _msg("z", None),
        _msg("b", "Tue, 02 Sep 2003 10:00:00 +0000"),
    ]
    f = _Recorder()
    ev = E.online(f, msgs, progress=False)
    assert ev.names == ("a", "b", "c", "z")
    assert f.calls == [(op, n) for n in "abcz" for op in ("score", "learn")]
    # each score already reflects every earlier label (immediate feedback)
    assert ev.scores == (1 / 2, 2 / 3, 2 / 4, 3 / 5)


@pytest.mark.parametrize("cls", [F.Robinson, F.Multinomial, F.Fisher, F.Graham])
def test_online_records_exactly_the_filters_own_score(subset, cls):
    msgs = subset[:120]
    ev = E.online(cls(), msgs, progress=False)
    f, expected = cls(), []
    for m in E.by_date(msgs):
        expected.append(f.score(m.raw))
        f.learn(m.raw, m.spam)
    assert list(ev.scores) == expected  # bit for bit, not approximately
    again = E.online(cls(), list(reversed(msgs)), progress=False)
    assert again.scores == ev.scores and again.ranks == ev.ranks


def test_online_refuses_an_unknown_order():
    with pytest.raises(UsageError, match="order"):
        E.online(F.Fisher(), C.sample(), order="random", progress=False)


def _fewest_fp_hams(labels, ranks, names, sm_pct):
    """Brute force: among all thresholds (every rank and +inf) that miss at most
    ``sm_pct`` % of the spam, the highest one; the ham at or above it."""
    n_spam = sum(labels)
    ok = [t for t in [*set(ranks), math.inf]
          if 100 * sum(1 for r, y in zip(ranks, labels, strict=True) if y and r < t) <= sm_pct * n_spam + 1e-9]
    t = max(ok)
    return {n for n, r, y in zip(names, ranks, labels, strict=True) if not y and r >= t}


def test_hams_in_the_way_by_hand():
    # 4 ham, 10 spam: spam ranks 0.1 (one, missed first) then 0.6 .. 0.95
    labels = [False] * 4 + [True] * 10
    ranks = [0.05, 0.5, 0.7, 0.97] + [0.1, 0.6, 0.65, 0.75, 0.8, 0.85, 0.9, 0.92, 0.95, 0.99]
    ev = _ev(labels, ranks)
    # 10 % may be missed (one spam): threshold at most 0.6, so ham 0.7 and 0.97 are flagged
    assert ev.hams_in_the_way(10.0) == ["m3", "m2"]  # highest first
    # 20 %: threshold 0.65, still below both
    assert ev.hams_in_the_way(20.0) == ["m3", "m2"]
    # 30 %: threshold 0.75 clears the 0.7 ham; 0 % (threshold 0.1) flags the 0.5 ham too
    assert ev.hams_in_the_way(30.0) == ["m3"]
    assert ev.hams_in_the_way(0.0) == ["m3", "m2", "m1"]
    assert ev.hams_in_the_way(95.0) == []  # nine spam may be missed: threshold 0.99 clears all ham
    with pytest.raises(UsageError, match="percentage"):
        ev.hams_in_the_way(100)
    with pytest.raises(UsageError, match="percentage"):
        ev.hams_in_the_way(-1)


def test_hams_in_the_way_against_brute_force_and_the_oracle():
    """On random rankings (with ties): the same ham as a search over every threshold, and
    empty exactly when the zero-FP oracle (the sm% at the top ham) meets the target."""
    rng = random.Random(5)
    for _ in range(200):
        n = rng.randint(2, 40)
        labels = [rng.random() < 0.4 for _ in range(n)]
        if not any(labels) or all(labels):
            continue
        ranks = [rng.choice([0.1, 0.2, 0.5, 0.8, 0.9]) if rng.random() < 0.3 else rng.random()
                 for _ in range(n)]
        ev = _ev(labels, ranks)
        top_ham = max(r for r, y in zip(ranks, labels, strict=True) if not y)
        oracle = 100 * sum(1 for r, y in zip(ranks, labels, strict=True) if y and r <= top_ham) / sum(labels)
        for sm_pct in (0.0, 3.0, 10.0, 25.0, 50.0, 99.0):
            got = ev.hams_in_the_way(sm_pct)
            assert set(got) == _fewest_fp_hams(labels, ranks, ev.names, sm_pct)
            assert len(got) == len(set(got))
            assert (got == []) == (oracle <= sm_pct + 1e-9)


def test_summary_says_which_spam_the_cost_charges_when_there_is_an_unsure_band():
    """FN counts every spam below the spam cutoff (unsure ones included), while the cost
    charges $1 only for spam judged ham (SpamBayes' rule): with an unsure band the printed
    FN alone cannot rebuild the cost, so the line says how many spam it charged."""
    # 2 ham (one unsure), 4 spam: one judged ham, two unsure, one caught
    ev = _ev([False, False, True, True, True, True], [0.1, 0.5, 0.1, 0.5, 0.6, 0.95],
             spam_cutoff=0.9, ham_cutoff=0.2)
    assert (ev.fp, ev.fn, ev.unsure, ev.fn_judged_ham) == (0, 3, 3, 1)
    assert ev.cost() == pytest.approx(10 * 0 + 1 * 1 + 0.2 * 3)
    assert "cost $1.60 (1 spam judged ham, 3 unsure)" in str(ev), str(ev)
    no_band = _ev([False, True, True], [0.1, 0.3, 0.9])
    assert str(no_band).endswith(f"cost ${no_band.cost():.2f}"), str(no_band)
