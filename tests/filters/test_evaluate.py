"""Splits, metrics on hand examples (and against scikit-learn), online evaluation, plots."""

from __future__ import annotations

import math

import pytest
from sklearn.metrics import roc_auc_score, roc_curve

import labkit.filters as F
from labkit.filters import evaluate as E


def test_md5_split_rule(full_corpus):
    sp = E.split_md5(full_corpus)
    assert len(sp.train) + len(sp.test) == len(full_corpus)
    assert all(m.md5[0] in "89abcdef" for m in sp.test)
    assert all(m.md5[0] in "01234567" for m in sp.train)


def test_kfold_partitions(subset):
    folds = E.kfold(subset, 5)
    tested = [m.name for s in folds for m in s.test]
    assert sorted(tested) == sorted(m.name for m in subset)
    for s in folds:
        assert not {m.name for m in s.train} & {m.name for m in s.test}
        assert len(s.train) + len(s.test) == len(subset)


def test_chronological_split_orders_by_date(subset):
    sp = E.split_chronological(subset, 0.25)
    assert len(sp.test) == round(len(subset) * 0.25)
    newest_train = max(m.date for m in sp.train if m.date)
    assert all(m.date >= newest_train for m in sp.test if m.date)


def test_auc_and_roc_match_scikit_learn():
    labels = [False, False, True, True, False, True, False, True, True, False]
    scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.0, 0.99, 0.7, 0.65]
    assert E.auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    fpr, tpr = E.roc_curve(labels, scores)
    sk_fpr, sk_tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    assert fpr == pytest.approx(list(sk_fpr)) and tpr == pytest.approx(list(sk_tpr))


def _ev(labels, scores, spam_cutoff=0.5, ham_cutoff=0.5):
    return E.Evaluation(
        filter="t",
        mode="hand",
        names=tuple(str(i) for i in range(len(labels))),
        labels=tuple(labels),
        scores=tuple(scores),
        ranks=tuple(scores),
        spam_cutoff=spam_cutoff,
        ham_cutoff=ham_cutoff,
    )


def test_threshold_metrics_by_hand():
    # 4 ham, 4 spam; cutoffs 0.2 / 0.9
    labels = [False, False, False, False, True, True, True, True]
    scores = [0.05, 0.1, 0.5, 0.95, 0.95, 0.99, 0.5, 0.1]
    ev = _ev(labels, scores, 0.9, 0.2)
    assert (ev.fp, ev.fn, ev.unsure) == (1, 2, 2)  # ham 0.95; spam 0.5 and 0.1; 0.5 twice unsure
    assert ev.hm_pct == 25.0 and ev.sm_pct == 50.0
    # cost: 1 FP x $10 + 1 spam judged ham x $1 + 2 unsure x $0.20
    assert ev.cost() == pytest.approx(11.4)
    hm, sm = 1 / 4, 2 / 4  # the TREC formula on the rates shown (no smoothing: none is 0)
    z = (math.log(hm / (1 - hm)) + math.log(sm / (1 - sm))) / 2
    assert ev.lam_pct == pytest.approx(100 / (1 + math.exp(-z)))
    assert ev.unsure_rate == 0.25


def test_sm_at_hm():
    # 1000 ham scored 0..0.999, 10 spam: 0.9995 x 8, 0.5, 0.9985
    labels = [False] * 1000 + [True] * 10
    scores = [i / 1000 for i in range(1000)] + [0.9995] * 8 + [0.5, 0.9985]
    ev = _ev(labels, scores)
    # hm% <= 0.1 % allows one ham above the threshold: threshold just above 0.998
    assert ev.sm_at_hm(0.1) == pytest.approx(10.0)  # only the 0.5 spam is missed
    assert ev.sm_at_hm(0.0) == pytest.approx(20.0)  # threshold above 0.999: 0.9985 missed too


def test_online_scores_before_learning(subset):
    msgs = subset[:150]
    ev = E.online(F.Fisher(), msgs, progress=False)
    ordered = E.by_date(msgs)
    assert list(ev.names) == [m.name for m in ordered]
    # replay by hand: score, then learn
    f = F.Fisher()
    expected = []
    for m in ordered:
        expected.append(f.score(m.raw))
        f.learn(m.raw, m.spam)
    assert list(ev.scores) == pytest.approx(expected)
    assert ev.scores[0] == 0.5  # untrained at the start
    assert 0.5 < ev.auc <= 1.0


def test_run_and_cross_validate(subset):
    sp = E.split_md5(subset)
    ev = E.run(F.Fisher(), sp.train, sp.test, progress=False)
    assert ev.n_ham + ev.n_spam == len(sp.test) and ev.auc > 0.9
    assert ev.train_rate > 0 and ev.classify_rate > 0
    d = ev.to_dict()
    assert d["fp"] == ev.fp and d["one_minus_auc_pct"] == pytest.approx(100 * (1 - ev.auc))
    cv = E.cross_validate(F.Graham, subset[:200], k=4, progress=False)
    assert len(cv.scores) == 200 and cv.mode == "4-fold"
    sk = E.run(F.SklearnNB(), sp.train, sp.test, progress=False)
    assert sk.auc == pytest.approx(roc_auc_score(sk.labels, sk.ranks))


def test_plots(subset, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    sp = E.split_md5(subset[::3])  # subset is in MD5 order: subset[:200] has no test half
    ev = E.run(F.Robinson(), sp.train, sp.test, progress=False)
    assert ev.n_ham and ev.n_spam
    ax = ev.plot_roc()
    assert ax.get_xscale() == "log" and ax.lines
    ax2 = ev.plot_histogram()
    ax2.figure.savefig(tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 1000
    assert len(E.table([ev, ev])) == 2
