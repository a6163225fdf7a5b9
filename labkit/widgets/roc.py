"""ROC / threshold explorer for a spam filter's scores.

Move the threshold: the confusion matrix (spam caught, ham lost, ...) and the
point on the ROC curve follow. A message is called spam when its score is at or
above the threshold.

Introduced in lab 09 (Bayesian filtering).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from labkit.errors import UsageError
from labkit.filters.evaluate import _why_no_roc

__all__ = ["Confusion", "confusion", "roc_points", "auc", "ROCExplorer"]


@dataclass(frozen=True, kw_only=True)
class Confusion:
    """Counts at one threshold; "positive" means spam."""

    threshold: float
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def fpr(self) -> float:
        """False-positive rate: share of ham wrongly called spam."""
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0

    @property
    def tpr(self) -> float:
        """True-positive rate (recall): share of spam caught."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def precision(self) -> float:
        """Share of messages called spam that really are spam."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def accuracy(self) -> float:
        """Share of messages judged right (0 when there are none)."""
        total = self.tp + self.fp + self.tn + self.fn
        return (self.tp + self.tn) / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {
            "threshold": self.threshold, "tp": self.tp, "fp": self.fp, "tn": self.tn,
            "fn": self.fn, "fpr": self.fpr, "tpr": self.tpr, "precision": self.precision,
            "accuracy": self.accuracy,
        }


def confusion(scores: Sequence[float], labels: Sequence[bool], threshold: float) -> Confusion:
    """Count outcomes when ``score >= threshold`` means spam (labels: True = spam).

    Introduced in lab 09 (Bayesian filtering).
    """
    if len(scores) != len(labels):
        raise ValueError("scores and labels differ in length")
    tp = fp = tn = fn = 0
    for s, spam in zip(scores, labels, strict=True):
        called = s >= threshold
        if spam and called:
            tp += 1
        elif spam:
            fn += 1
        elif called:
            fp += 1
        else:
            tn += 1
    return Confusion(threshold=threshold, tp=tp, fp=fp, tn=tn, fn=fn)


def roc_points(scores: Sequence[float], labels: Sequence[bool]) -> tuple[tuple[float, float], ...]:
    """(FPR, TPR) for every distinct threshold, from (0, 0) to (1, 1).

    One pass over the messages sorted by score, highest first: lowering the
    threshold past a score turns every message with that score into "spam".
    """
    if len(scores) != len(labels):
        raise ValueError("scores and labels differ in length")
    n_spam = sum(1 for x in labels if x)
    n_ham = len(labels) - n_spam
    pairs = sorted(zip(scores, labels, strict=True), key=lambda p: -p[0])
    pts = [(0.0, 0.0)]
    tp = fp = 0
    for i, (score, spam) in enumerate(pairs):
        if spam:
            tp += 1
        else:
            fp += 1
        if i + 1 == len(pairs) or pairs[i + 1][0] != score:
            pts.append((fp / n_ham if n_ham else 0.0, tp / n_spam if n_spam else 0.0))
    pts.append((1.0, 1.0))
    return tuple(pts)


def auc(points: Sequence[tuple[float, float]]) -> float:
    """Area under a ROC curve given as (FPR, TPR) points (trapezoid rule)."""
    pts = sorted(points)
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False))


#: why no ROC curve (and no AUC) exists for these labels; None when one does (the same
#: words as :class:`labkit.filters.evaluate.Evaluation`'s ``undefined``)
_undefined = _why_no_roc


def _svg(points: Sequence[tuple[float, float]], here: tuple[float, float], size: int = 220) -> str:
    pad = 20
    span = size - 2 * pad

    def xy(p: tuple[float, float]) -> str:
        return f"{pad + p[0] * span:.1f},{pad + (1 - p[1]) * span:.1f}"

    line = " ".join(xy(p) for p in sorted(points))
    hx, hy = xy(here).split(",")
    return (
        f"<svg width='{size}' height='{size}' xmlns='http://www.w3.org/2000/svg'>"
        f"<rect x='{pad}' y='{pad}' width='{span}' height='{span}' fill='none' stroke='#999'/>"
        f"<line x1='{pad}' y1='{pad + span}' x2='{pad + span}' y2='{pad}' stroke='#ccc' "
        "stroke-dasharray='4'/>"
        f"<polyline points='{line}' fill='none' stroke='#06c' stroke-width='2'/>"
        f"<circle class='here' cx='{hx}' cy='{hy}' r='5' fill='#c00'/>"
        f"<text x='{pad}' y='{size - 4}' font-size='10'>false-positive rate</text>"
        f"<text x='2' y='{pad - 6}' font-size='10'>true-positive rate</text></svg>"
    )


class ROCExplorer(widgets.VBox):
    """Threshold slider, confusion matrix and ROC curve for scored messages.

    ``scores`` are filter scores in [0, 1]; ``labels`` are True for spam. Set
    ``.threshold.value`` and read ``.current`` (a :class:`Confusion`),
    ``.matrix.value`` (HTML) and ``.curve.value`` (SVG). With only one class (or no
    messages) the ROC curve and AUC are undefined: ``.area`` is None, ``.undefined``
    says why and the widget shows that message instead of a number.  Scores or a
    ``threshold`` outside [0, 1] are refused (:class:`~labkit.errors.UsageError`): the
    slider only reaches [0, 1], so log-odds (an Evaluation's ``ranks``) would show a
    confusion matrix for thresholds that mean something else.

    Introduced in lab 09 (Bayesian filtering).
    """

    def __init__(
        self, scores: Sequence[float], labels: Sequence[bool], *, threshold: float = 0.5
    ) -> None:
        self.scores = tuple(float(s) for s in scores)
        nan = sum(1 for s in self.scores if math.isnan(s))
        if nan:
            raise UsageError(
                f"{nan} of {len(self.scores)} scores are NaN (not a number); "
                "a NaN is neither above nor below any threshold: fix or drop those messages"
            )
        out = sum(1 for s in self.scores if not 0.0 <= s <= 1.0)
        if out:
            raise UsageError(
                f"{out} of {len(self.scores)} scores lie outside [0, 1]; the threshold slider "
                "runs from 0 to 1: pass the filter's scores (an Evaluation's .scores, not its "
                ".ranks)"
            )
        if not 0.0 <= threshold <= 1.0:
            raise UsageError(f"threshold must be between 0 and 1, not {threshold!r}")
        if any(isinstance(x, str) for x in labels):
            # bool("ham") is True: text labels would all count as spam
            raise UsageError("labels are True for spam and False for ham, not text like 'spam'/'ham'")
        self.labels = tuple(bool(x) for x in labels)
        if len(self.scores) != len(self.labels):
            raise ValueError("scores and labels differ in length")
        self.points = roc_points(self.scores, self.labels)
        self.undefined = _undefined(self.labels)
        self.area: float | None = None if self.undefined else auc(self.points)
        self.threshold = widgets.FloatSlider(
            value=threshold, min=0.0, max=1.0, step=0.01, description="threshold",
            readout_format=".2f", continuous_update=False,
        )
        self.matrix = widgets.HTML()
        self.curve = widgets.HTML()
        self.threshold.observe(self._update, names="value")
        self.current: Confusion
        self._update()
        super().__init__([self.threshold, widgets.HBox([self.matrix, self.curve])])

    def _update(self, _change: Any = None) -> None:
        c = confusion(self.scores, self.labels, self.threshold.value)
        self.current = c
        self.matrix.value = (
            f"<table><tr><th></th><th>called spam</th><th>called ham</th></tr>"
            f"<tr><th>really spam</th><td class='tp'>{c.tp}</td><td class='fn'>{c.fn}</td></tr>"
            f"<tr><th>really ham</th><td class='fp'>{c.fp}</td><td class='tn'>{c.tn}</td></tr>"
            f"</table><p>spam caught (TPR) {c.tpr:.1%}<br>ham lost (FPR) {c.fpr:.1%}<br>"
            f"precision {c.precision:.1%}<br>{html.escape(self._auc_text())}</p>"
        )
        self.curve.value = (
            f"<p><i>{html.escape(self._auc_text())}</i></p>" if self.undefined
            else _svg(self.points, (c.fpr, c.tpr))
        )

    def _auc_text(self) -> str:
        if self.area is None:
            return f"ROC curve and AUC undefined ({self.undefined}): they need both spam and ham"
        return f"AUC {self.area:.3f}"

    def __repr__(self) -> str:
        c = self.current
        return html.unescape(
            f"threshold {c.threshold:.2f}: TP {c.tp} FP {c.fp} TN {c.tn} FN {c.fn}; "
            f"TPR {c.tpr:.3f} FPR {c.fpr:.3f}; {self._auc_text()}"
        )
