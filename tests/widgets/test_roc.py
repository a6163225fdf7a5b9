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
    with pytest.raises(lk.errors.UsageError, match="1 scores, 2 labels"):
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


# --- the SVG plot: readable labels, and a view where a good filter's operating point shows ---

_NS = {"s": "http://www.w3.org/2000/svg"}


def _svg_of(w):
    import xml.etree.ElementTree as ET

    return ET.fromstring(w.curve.value)


def _panel(root, view):
    panel = root.find(f".//s:g[@data-view='{view}']", _NS)
    assert panel is not None, f"no {view!r} panel in the SVG"
    return panel


def _ticks(panel, axis):
    """{value: (pixel position along the axis, label text)} read from the panel's ticks."""
    out = {}
    for g in panel.findall(f"s:g[@class='tick'][@data-axis='{axis}']", _NS):
        line = g.find("s:line", _NS)
        at = float(line.get("x1" if axis == "x" else "y1"))
        text = g.find("s:text", _NS)
        out[float(g.get("data-value"))] = (at, None if text is None else text.text)
    return out


def _pixel(ticks, value, *, log=False):
    """Where ``value`` falls on an axis, interpolated between two of the axis's own ticks."""
    import math

    f = math.log10 if log else float
    usable = sorted(v for v in ticks if v > 0 or not log)
    if log and value == 0:
        return ticks[0.0][0]
    a, b = usable[0], usable[-1]
    pa, pb = ticks[a][0], ticks[b][0]
    return pa + (f(value) - f(a)) / (f(b) - f(a)) * (pb - pa)


def _here(panel):
    dots = panel.findall(".//s:circle[@class='here']", _NS)
    assert len(dots) == 1, f"expected one operating point in the panel, found {len(dots)}"
    return float(dots[0].get("cx")), float(dots[0].get("cy"))


def test_svg_has_title_description_ticks_and_legend(scored):
    scores, labels = scored
    w = lk.widgets.ROCExplorer(scores, labels, threshold=0.5)
    root = _svg_of(w)
    title, desc = root.find("s:title", _NS), root.find("s:desc", _NS)
    assert title is not None and f"AUC {w.area:.3f}" in title.text
    c = w.current
    assert desc is not None and f"{c.fpr:.1%}" in desc.text and f"{c.tpr:.1%}" in desc.text
    assert any(f"AUC {w.area:.3f}" in (t.text or "") for t in root.iter(f"{{{_NS['s']}}}text"))
    for view in ("full", "zoom"):
        panel = _panel(root, view)
        for axis in ("x", "y"):
            labelled = [text for _, text in _ticks(panel, axis).values() if text]
            assert len(labelled) >= 3 and all(t.endswith("%") for t in labelled), (view, axis, labelled)
        axis_names = [t.text for t in panel.findall("s:text[@class='axis-label']", _NS)]
        assert any("false-positive rate" in t and "(%" in t for t in axis_names), axis_names
        assert any("true-positive rate" in t and "(%)" in t for t in axis_names), axis_names
    assert _ticks(_panel(root, "full"), "x")[0.25][1] == "25 %"
    assert _panel(root, "full").find("s:line[@class='chance']", _NS) is not None
    entries = root.findall(".//s:g[@class='legend']/s:g[@class='entry']", _NS)
    texts = [e.find("s:text", _NS).text for e in entries]
    assert any(t.startswith("ROC curve") for t in texts), texts
    assert any(t.startswith("operating point") and f"{c.threshold:.2f}" in t for t in texts), texts
    assert any(t.startswith("chance") for t in texts), texts
    # the operating point is told apart by shape too (a ring, a circle in the legend), not colour alone
    point_entry = next(e for e in entries if e.find("s:text", _NS).text.startswith("operating point"))
    assert point_entry.find("s:circle", _NS) is not None
    dot = root.find(".//s:circle[@class='here']", _NS)
    curve = root.find(".//s:polyline[@class='curve']", _NS)
    assert dot.get("fill") != dot.get("stroke") and dot.get("stroke") != curve.get("stroke")


def test_operating_point_sits_where_the_axes_say():
    """1000 ham, 50 spam: threshold 0.5 loses 2 ham (0.2 %) and catches 45 spam (90 %)."""
    scores = [0.8] * 2 + [0.1] * 998 + [0.9] * 45 + [0.05] * 5
    labels = [False] * 1000 + [True] * 50
    w = lk.widgets.ROCExplorer(scores, labels, threshold=0.5)
    assert (w.current.fpr, w.current.tpr) == (0.002, 0.9)
    root = _svg_of(w)
    zoom = _panel(root, "zoom")
    xt, yt = _ticks(zoom, "x"), _ticks(zoom, "y")
    assert 0.0 in xt and max(xt) <= 0.05 + 1e-12, "the zoomed view shows FPR 0 to 5 %"
    cx, cy = _here(zoom)
    assert cx == pytest.approx(_pixel(xt, 0.002, log=True), abs=0.2)
    assert cy == pytest.approx(_pixel(yt, 0.9), abs=0.2)
    full = _panel(root, "full")
    cx, cy = _here(full)
    assert cx == pytest.approx(_pixel(_ticks(full, "x"), 0.002), abs=0.2)
    assert cy == pytest.approx(_pixel(_ticks(full, "y"), 0.9), abs=0.2)
    # no ham lost: the point moves to the slot for FPR 0, left of the log axis
    w.threshold.value = 0.85
    assert (w.current.fpr, w.current.tpr) == (0.0, 0.9)
    zoom = _panel(_svg_of(w), "zoom")
    cx, cy = _here(zoom)
    assert cx == pytest.approx(_ticks(zoom, "x")[0.0][0], abs=0.2)
    assert cy == pytest.approx(_pixel(_ticks(zoom, "y"), 0.9), abs=0.2)


def test_auc_0999_operating_point_stands_clear_of_the_corner():
    """At AUC 0.999 the whole curve hugs the corner; the zoomed view pulls the point away from it."""
    scores = [0.97] * 2 + [0.6] * 2 + [0.1] * 996 + [0.99] * 100 + [0.9] * 96 + [0.5] * 4
    labels = [False] * 1000 + [True] * 200
    w = lk.widgets.ROCExplorer(scores, labels, threshold=0.8)
    assert w.area == pytest.approx(roc_auc_score(labels, scores)) and f"{w.area:.3f}" == "0.999"
    assert (w.current.fpr, w.current.tpr) == (0.002, 0.98)
    zoom = _panel(_svg_of(w), "zoom")
    xt, yt = _ticks(zoom, "x"), _ticks(zoom, "y")
    corner_x, corner_y = xt[0.0][0], _pixel(yt, 1.0)  # no ham lost, all spam caught
    cx, cy = _here(zoom)
    assert ((cx - corner_x) ** 2 + (cy - corner_y) ** 2) ** 0.5 >= 40


def test_operating_point_beyond_the_zoom_is_said_not_hidden(scored):
    scores, labels = scored
    w = lk.widgets.ROCExplorer(scores, labels, threshold=0.1)
    assert w.current.fpr > 0.05
    root = _svg_of(w)
    zoom = _panel(root, "zoom")
    assert zoom.find(".//s:circle[@class='here']", _NS) is None
    assert "outside this view" in zoom.find("s:text[@class='off-view']", _NS).text
    _here(_panel(root, "full"))
