"""ROCExplorer: threshold slider vs confusion matrix and ROC curve, checked against scikit-learn."""

from __future__ import annotations

import random

import pytest
from sklearn.metrics import confusion_matrix, roc_auc_score

import labkit as lk


@pytest.fixture()
def scored():
    rng = random.Random(7)
    labels = [rng.random() < 0.4 for _ in range(300)]
    scores = [min(1.0, max(0.0, rng.gauss(0.7 if s else 0.3, 0.2))) for s in labels]
    return scores, labels


def test_matrix_follows_the_slider(scored):
    scores, labels = scored
    w = lk.widgets.ROCExplorer(scores, labels)
    for t in (0.2, 0.5, 0.8):
        w.threshold.value = t
        tn, fp, fn, tp = confusion_matrix(labels, [s >= t for s in scores], labels=[False, True]).ravel()
        c = w.current
        assert (c.tp, c.fp, c.tn, c.fn) == (tp, fp, tn, fn)
        assert f"<td class='fp'>{fp}</td>" in w.matrix.value
        assert f"<td class='fn'>{fn}</td>" in w.matrix.value


def test_area_matches_sklearn(scored):
    scores, labels = scored
    w = lk.widgets.ROCExplorer(scores, labels)
    assert w.area == pytest.approx(roc_auc_score(labels, scores), abs=1e-9)


def test_point_on_curve_moves(scored):
    scores, labels = scored
    w = lk.widgets.ROCExplorer(scores, labels, threshold=0.9)
    strict = w.curve.value
    w.threshold.value = 0.1
    assert w.curve.value != strict
    assert w.current.tpr > 0.9 and w.current.fpr > 0.5  # lenient threshold calls most mail spam


def test_extremes():
    w = lk.widgets.ROCExplorer([0.2, 0.9], [False, True], threshold=0.0)
    assert (w.current.tp, w.current.fp) == (1, 1)
    w.threshold.value = 1.0
    assert (w.current.tp, w.current.fp, w.current.fn) == (0, 0, 1)


def test_length_mismatch_refused():
    with pytest.raises(ValueError):
        lk.widgets.ROCExplorer([0.1], [True, False])


def test_curve_points_match_the_slider_counts(scored):
    scores, labels = scored
    points = lk.widgets.roc.roc_points(scores, labels)
    for t in sorted(set(scores))[::37]:
        c = lk.widgets.roc.confusion(scores, labels, t)
        assert (c.fpr, c.tpr) in points


def test_scores_or_threshold_outside_0_1_are_refused():
    """Log-odds (an Evaluation's ranks) would put the slider's thresholds on another scale."""
    with pytest.raises(lk.errors.UsageError, match=r"2 of 3 scores lie outside \[0, 1\].*\.ranks"):
        lk.widgets.ROCExplorer([3.2, -1.0, 0.4], [True, False, True])
    with pytest.raises(lk.errors.UsageError, match="threshold must be between 0 and 1"):
        lk.widgets.ROCExplorer([0.2, 0.9], [False, True], threshold=1.5)


def test_ties_at_0_and_1_match_sklearn():
    """Filters give many identical scores: tied messages move together on the curve."""
    from sklearn.metrics import roc_curve

    rng = random.Random(3)
    labels = [rng.random() < 0.4 for _ in range(200)]
    scores = [rng.choice([0.0, 1.0, 0.5]) if rng.random() < 0.8 else rng.random() for _ in labels]
    w = lk.widgets.ROCExplorer(scores, labels)
    assert w.area == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    assert [x for x, _ in w.points[:-1]] == pytest.approx(fpr.tolist())
    assert [y for _, y in w.points[:-1]] == pytest.approx(tpr.tolist())
