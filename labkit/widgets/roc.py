"""ROC / threshold explorer for a spam filter's scores.

Move the threshold: the confusion matrix (spam caught, ham lost, ...) and the
point on the ROC curve follow. A message is called spam when its score is at or
above the threshold.

Introduced in lab 09 (Bayesian filtering).
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from labkit import _coerce
from labkit.errors import UsageError
from labkit.filters.evaluate import _LABELS_ARE, _label_list, _why_no_roc

from ._fallback import TextFallback

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


def _labels(labels: Any) -> tuple[bool, ...]:
    """``labels`` read once as bools: True/False or 1/0.  Labels that are no list (one
    value, a string, a dict) are a ``TypeError``; text labels are refused (``bool("ham")``
    is True, so every message would count as spam), and so is a fraction, which is what a
    score looks like: the arguments were swapped."""
    out = _coerce.sequence(labels, "labels", of=_LABELS_ARE)
    if any(isinstance(x, str) for x in out):
        # bool("ham") is True: text labels would all count as spam
        raise UsageError("labels are True for spam and False for ham, not text like 'spam'/'ham'")
    try:
        return tuple(_label_list(out, swapped="give the scores first, then the labels"))
    except TypeError as exc:
        raise UsageError(str(exc)) from None


def _scores(scores: Any) -> tuple[float, ...]:
    """``scores`` read once as floats.  Each must be a number (NumPy's too): text such as
    ``"0.9"`` is a ``TypeError``, not read as 0.9 (a score read from a file as text should
    be converted where it is read, and ``"0.9" >= 0.5`` fails everywhere else)."""
    out = _coerce.sequence(scores, "scores", of="numbers such as [0.9, 0.1]")
    for s in out:
        if isinstance(s, bool) or not isinstance(s, numbers.Real):
            hint = " (convert text with float() where it is read)" if isinstance(s, str) else ""
            raise TypeError(f"scores must be numbers, not {type(s).__name__} {s!r}{hint}")
    return tuple(float(s) for s in out)


def _threshold(threshold: Any) -> float:
    """A threshold: a number from 0 to 1 (text is a ``TypeError``: "0.5" >= 0.2 fails)."""
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a number from 0 to 1 such as 0.5, not {threshold!r}")
    if not 0.0 <= threshold <= 1.0:
        raise UsageError(f"threshold must be between 0 and 1, not {threshold!r}")
    return threshold


def _same_length(scores: Sequence[float], labels: Sequence[bool]) -> None:
    """One label per score; a different count is a :class:`UsageError` naming both."""
    if len(scores) != len(labels):
        raise UsageError(f"scores and labels differ in length: {len(scores)} scores, "
                         f"{len(labels)} labels (one label per score)")


def confusion(scores: Sequence[float], labels: Sequence[bool], threshold: float) -> Confusion:
    """Count outcomes when ``score >= threshold`` means spam (labels: True = spam).

    Introduced in lab 09 (Bayesian filtering).
    """
    labels = _labels(labels)  # first: swapped arguments are named as such
    scores = _scores(scores)
    _same_length(scores, labels)
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a number such as 0.5, not {threshold!r}")
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
    labels = _labels(labels)  # first: swapped arguments are named as such
    scores = _scores(scores)
    _same_length(scores, labels)
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


def _shown_threshold(threshold: float, scores: Sequence[float]) -> str:
    """``threshold`` with the fewest decimals (at least 2) that puts every score on the
    same side of it, so the counts shown beside it are the counts at the number shown.

    0.4173 among scores that include a ham at exactly 0.4173: "0.4173", not "0.42"
    (at 0.42 that ham would no longer count as a false positive).
    """
    for digits in range(2, 10):
        shown = round(threshold, digits)
        if all((s >= shown) == (s >= threshold) for s in scores):
            return f"{shown:.{digits}f}"
    return repr(threshold)


def auc(points: Sequence[tuple[float, float]]) -> float:
    """Area under a ROC curve given as (FPR, TPR) points (trapezoid rule)."""
    pts = sorted(points)
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False))


#: why no ROC curve (and no AUC) exists for these labels; None when one does (the same
#: words as :class:`labkit.filters.evaluate.Evaluation`'s ``undefined``)
_undefined = _why_no_roc


#: Okabe-Ito colours (told apart with every common colour-vision deficiency); the operating
#: point is also a ring with cross-hairs, so it never depends on colour alone
_CURVE, _POINT, _CHANCE, _GRID = "#0072B2", "#D55E00", "#777777", "#e4e4e4"
#: the zoomed panel shows false-positive rates up to this (the region where a spam filter's
#: threshold is chosen), on a log scale
_ZOOM_FPR = 0.05
#: (lowest TPR shown, tick step) for the zoomed panel's y axis, tightest first
_ZOOM_TPR = ((0.98, 0.005), (0.95, 0.01), (0.9, 0.02), (0.8, 0.05), (0.6, 0.1), (0.4, 0.1),
             (0.0, 0.25))


def _pct(v: float) -> str:
    """A rate as a short percentage for a tick label: 0.001 -> "0.1 %", 0.95 -> "95 %"."""
    return f"{round(v * 100, 6):g} %"


def _zoom_ranges(
    points: Sequence[tuple[float, float]], here: tuple[float, float]
) -> tuple[float, float, float, float]:
    """(lowest FPR decade, highest FPR, lowest TPR, TPR tick step) of the zoomed panel.

    The log axis starts at the decade holding the smallest false-positive rate the data
    can have (one ham of all); FPR 0 gets its own slot left of it.  With fewer than 100
    ham (one ham is over 1 %) the panel runs to 100 % instead of 5 %.
    """
    smallest = min((x for x, _ in points if x > 0), default=1.0)
    lo = 10.0 ** math.floor(math.log10(smallest))
    hi = _ZOOM_FPR if smallest <= 0.01 else 1.0
    lo = min(lo, 10.0 ** (math.ceil(math.log10(hi)) - 1))  # at least the decade below hi
    seen = [y for x, y in points if x == 0.0]
    low_tpr = max(seen) if seen else 0.0
    if here[0] <= hi:
        low_tpr = min(low_tpr, here[1])
    for bottom, step in _ZOOM_TPR:
        if bottom <= low_tpr - 0.04 * (1 - bottom):
            return lo, hi, bottom, step
    return lo, hi, 0.0, 0.25


def _svg(
    points: Sequence[tuple[float, float]],
    here: tuple[float, float],
    size: int = 200,
    *,
    threshold: float | str | None = None,
    area: float | None = None,
) -> str:
    """The ROC curve as SVG: the whole curve, and the low false-positive region enlarged.

    Left panel: linear axes 0-100 %, with the chance diagonal and a dotted box around
    the region the right panel enlarges.  Right panel: false-positive rates up to 5 % on
    a log axis (as TREC-style spam evaluations and :func:`labkit.filters.evaluate.plot_roc`
    show them; FPR 0 has its own slot left of the axis break), true-positive rates from a
    floor chosen from the data.  At AUC 0.999 the whole curve hugs the top-left corner;
    the enlarged panel is where filters and thresholds differ.  ``size`` is the side of
    one panel's plot area in pixels.  Every tick is a ``<g class='tick'>`` with its
    ``data-value``; the operating point is ``<circle class='here'>`` in each panel.
    """
    esc = html.escape
    area = auc(points) if area is None else area
    pts = sorted(points)
    s = float(size)
    left, gap, top, right = 56.0, 72.0, 52.0, 16.0
    width = left + 2 * s + gap + right
    legend_top = top + s + 44
    height = legend_top + 4 * 16 + 6
    lo, hi, bottom, step = _zoom_ranges(pts, here)
    m = 6.0  # inner margin: a curve along an edge stays off the frame
    inner = s - 2 * m
    zero_slot = 0.2 * inner  # width kept for FPR 0 left of the log axis
    fx0, zx0 = left, left + s + gap

    def full(p: tuple[float, float]) -> tuple[float, float]:
        return fx0 + m + p[0] * inner, top + m + (1 - p[1]) * inner

    def zoom_x(fpr: float) -> float:
        if fpr <= 0:
            return zx0 + m
        frac = (math.log10(max(fpr, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return zx0 + m + zero_slot + frac * (inner - zero_slot)

    def zoom(p: tuple[float, float]) -> tuple[float, float]:
        return zoom_x(p[0]), top + m + (1 - p[1]) / (1 - bottom) * inner

    def poly(xy: Sequence[tuple[float, float]]) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)

    def tick(axis: str, value: float, at: float, x0: float, label: bool = True) -> str:
        if axis == "x":
            grid = f"<line x1='{at:.1f}' y1='{top}' x2='{at:.1f}' y2='{top + s}' stroke='{_GRID}'/>"
            mark = f"<line x1='{at:.1f}' y1='{top + s}' x2='{at:.1f}' y2='{top + s + 4}' stroke='#333'/>"
            text = (f"<text x='{at:.1f}' y='{top + s + 15}' text-anchor='middle'>{esc(_pct(value))}"
                    "</text>") if label else ""
        else:
            grid = f"<line x1='{x0}' y1='{at:.1f}' x2='{x0 + s}' y2='{at:.1f}' stroke='{_GRID}'/>"
            mark = f"<line x1='{x0 - 4}' y1='{at:.1f}' x2='{x0}' y2='{at:.1f}' stroke='#333'/>"
            text = (f"<text x='{x0 - 6}' y='{at + 3.5:.1f}' text-anchor='end'>{esc(_pct(value))}"
                    "</text>") if label else ""
        return (f"<g class='tick' data-axis='{axis}' data-value='{value!r}'>"
                f"{grid}{mark}{text}</g>")

    def axis_labels(x0: float, x_text: str) -> str:
        cy = top + s / 2
        return (
            f"<text class='axis-label' x='{x0 + s / 2}' y='{top + s + 32}' text-anchor='middle'>"
            f"{esc(x_text)}</text>"
            f"<text class='axis-label' x='{x0 - 40}' y='{cy}' text-anchor='middle' "
            f"transform='rotate(-90 {x0 - 40} {cy})'>true-positive rate: spam caught (%)</text>"
        )

    def marker(x: float, y: float, x0: float) -> str:
        return (
            f"<line class='here-guide' x1='{x0}' y1='{y:.1f}' x2='{x:.1f}' y2='{y:.1f}' "
            f"stroke='{_POINT}' stroke-dasharray='2 2'/>"
            f"<line class='here-guide' x1='{x:.1f}' y1='{y:.1f}' x2='{x:.1f}' y2='{top + s}' "
            f"stroke='{_POINT}' stroke-dasharray='2 2'/>"
            f"<circle class='here' cx='{x:.1f}' cy='{y:.1f}' r='6' fill='white' "
            f"stroke='{_POINT}' stroke-width='3'/>"
        )

    clip = f"labkit-roc-zoom-{size}"  # the same id always means the same rectangle
    if isinstance(threshold, float):
        threshold = f"{threshold:.2f}"
    where = f"threshold {threshold}" if threshold is not None else "this threshold"
    point_text = f"{where}: ham lost {here[0]:.1%}, spam caught {here[1]:.1%}"
    scale_text = (f"false-positive rates up to {_pct(hi)} on a log scale"
                  if hi < 1 else "all false-positive rates on a log scale")
    zoom_title = (f"enlarged: ham lost \u2264 {_pct(hi)} (log scale)" if hi < 1
                  else "enlarged: ham lost on a log scale")
    title = f"ROC curve: AUC {area:.3f}, (1-AUC)% {100 * (1 - area):.3f}"
    desc = (
        "Two panels. Left: the whole ROC curve, false-positive rate (share of ham wrongly "
        "called spam) from 0 to 100 % across, true-positive rate (share of spam caught) from "
        "0 to 100 % up, with the diagonal of a coin toss. Right, enlarged: "
        f"{scale_text} (0 in its own slot at the left), true-positive rates from "
        f"{_pct(bottom)} to 100 %. The operating point at {point_text}."
    )
    out = [
        f"<svg class='roc' width='{width:.0f}' height='{height:.0f}' "
        f"viewBox='0 0 {width:.0f} {height:.0f}' role='img' xmlns='http://www.w3.org/2000/svg' "
        "font-family='sans-serif' font-size='10'>",
        f"<title>{esc(title)}</title><desc>{esc(desc)}</desc>",
        f"<defs><clipPath id='{clip}'><rect x='{zx0}' y='{top}' width='{s}' height='{s}'/>"
        "</clipPath></defs>",
        f"<text class='title' x='{width / 2}' y='16' text-anchor='middle' font-size='13' "
        f"font-weight='bold'>{esc(title)}</text>",
    ]

    # left: the whole curve, linear axes
    out.append("<g class='panel' data-view='full'>")
    out.append(f"<text class='subtitle' x='{fx0 + s / 2}' y='{top - 10}' text-anchor='middle' "
               "font-size='11'>whole curve</text>")
    for i in range(5):
        v = i / 4
        out.append(tick("x", v, full((v, 0))[0], fx0))
        out.append(tick("y", v, full((0, v))[1], fx0))
    out.append(f"<rect x='{fx0}' y='{top}' width='{s}' height='{s}' fill='none' stroke='#333'/>")
    (cx0, cy0), (cx1, cy1) = full((0, 0)), full((1, 1))
    out.append(f"<line class='chance' x1='{cx0}' y1='{cy0}' x2='{cx1}' y2='{cy1}' "
               f"stroke='{_CHANCE}' stroke-dasharray='6 4'/>")
    bx0, by0 = full((0, 1))
    bx1, by1 = full((hi, bottom))
    bx0, by0 = bx0 - 2, by0 - 2  # around the points, not on them
    out.append(f"<rect class='zoom-box' x='{bx0}' y='{by0}' width='{max(bx1 - bx0, 2):.1f}' "
               f"height='{max(by1 - by0, 2):.1f}' fill='none' stroke='#000' "
               "stroke-dasharray='1 2'/>")
    out.append(f"<polyline class='curve' points='{poly([full(p) for p in pts])}' fill='none' "
               f"stroke='{_CURVE}' stroke-width='2'/>")
    out.append(marker(*full(here), fx0))
    out.append(axis_labels(fx0, "false-positive rate: ham lost (%)"))
    out.append("</g>")

    # right: the low false-positive region, FPR on a log scale
    out.append("<g class='panel' data-view='zoom'>")
    out.append(f"<text class='subtitle' x='{zx0 + s / 2}' y='{top - 10}' text-anchor='middle' "
               f"font-size='11'>{esc(zoom_title)}</text>")
    out.append(tick("x", 0.0, zoom_x(0.0), zx0))
    few = math.log10(hi / lo) <= 1.2  # room to label 2 and 5 as well
    decade = lo
    while decade < hi * 1.0001:
        for k in (1, 2, 5):
            v = decade * k
            if v <= hi * 1.0001:
                out.append(tick("x", v, zoom_x(v), zx0, label=k == 1 or v >= hi * 0.9999 or few))
        decade *= 10
    if not any(math.isclose(hi, lo * 10**i) or math.isclose(hi, 5 * lo * 10**i) for i in range(9)):
        out.append(tick("x", hi, zoom_x(hi), zx0))
    n_steps = round((1 - bottom) / step)
    for i in range(n_steps + 1):
        v = round(bottom + i * step, 6)
        out.append(tick("y", v, zoom((0, v))[1], zx0))
    out.append(f"<rect x='{zx0}' y='{top}' width='{s}' height='{s}' fill='none' stroke='#333'/>")
    brk = zx0 + m + zero_slot / 2  # axis break between FPR 0 and the log axis
    out.append(f"<g class='axis-break' stroke='#333'><line x1='{brk - 4}' y1='{top + s + 4}' "
               f"x2='{brk}' y2='{top + s - 4}'/><line x1='{brk}' y1='{top + s + 4}' "
               f"x2='{brk + 4}' y2='{top + s - 4}'/></g>")
    shown = [p for p in pts if zoom_x(p[0]) <= zx0 + s]
    shown += [p for p in pts if zoom_x(p[0]) > zx0 + s][:1]  # runs on to the panel's edge
    out.append(f"<g clip-path='url(#{clip})'><polyline class='curve' "
               f"points='{poly([zoom(p) for p in shown])}' fill='none' stroke='{_CURVE}' "
               "stroke-width='2'/></g>")
    if here[0] <= hi and here[1] >= bottom:
        out.append(marker(*zoom(here), zx0))
    if not (here[0] <= hi and here[1] >= bottom):
        out.append(f"<text class='off-view' x='{zx0 + s - 4}' y='{top + 14}' text-anchor='end' "
                   f"fill='{_POINT}'>operating point outside this view &#8594;</text>")
    out.append(axis_labels(zx0, "false-positive rate: ham lost (%, log)"))
    out.append("</g>")

    # legend, under both panels
    entries = [
        (f"<line x1='0' y1='0' x2='22' y2='0' stroke='{_CURVE}' stroke-width='2'/>",
         f"ROC curve: one point per threshold (AUC {area:.3f})"),
        (f"<circle cx='11' cy='0' r='5' fill='white' stroke='{_POINT}' stroke-width='3'/>",
         f"operating point, {point_text}"),
        (f"<line x1='0' y1='0' x2='22' y2='0' stroke='{_CHANCE}' stroke-dasharray='6 4'/>",
         "chance: a coin toss (AUC 0.5)"),
        ("<rect x='1' y='-5' width='20' height='10' fill='none' stroke='#000' "
         "stroke-dasharray='1 2'/>", "region enlarged on the right"),
    ]
    out.append(f"<g class='legend' transform='translate({fx0},{legend_top})'>")
    for i, (swatch, text) in enumerate(entries):
        out.append(f"<g class='entry' transform='translate(0,{i * 16})'>{swatch}"
                   f"<text x='30' y='3.5'>{esc(text)}</text></g>")
    out.append("</g></svg>")
    return "".join(out)


class ROCExplorer(TextFallback, widgets.VBox):
    """Threshold slider, confusion matrix and ROC curve for scored messages.

    ``scores`` are filter scores in [0, 1]; ``labels`` are True for spam. Set
    ``.threshold.value`` and read ``.current`` (a :class:`Confusion`),
    ``.matrix.value`` (HTML) and ``.curve.value`` (SVG). With only one class (or no
    messages) the ROC curve and AUC are undefined: ``.area`` is None, ``.undefined``
    says why and the widget shows that message instead of a number.  Scores or a
    ``threshold`` outside [0, 1] are refused (:class:`~labkit.errors.UsageError`): the
    slider only reaches [0, 1], so log-odds (an Evaluation's ``ranks``) would show a
    confusion matrix for thresholds that mean something else.  Scores must be numbers
    (NumPy's too): text such as ``"0.9"`` is a ``TypeError``, not read as a number.

    Introduced in lab 09 (Bayesian filtering).
    """

    def __init__(
        self, scores: Sequence[float], labels: Sequence[bool], *, threshold: float = 0.5
    ) -> None:
        labels = _labels(labels)  # first: swapped arguments are named as such
        self.scores = _scores(scores)
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
        threshold = _threshold(threshold)
        self.labels = labels  # (read once: a generator has nothing left the second time)
        _same_length(self.scores, self.labels)
        self.points = roc_points(self.scores, self.labels)
        self.undefined = _undefined(self.labels)
        self.area: float | None = None if self.undefined else auc(self.points)
        # the readout shows as many decimals as the starting threshold needs (a score of
        # its own, such as 0.4173, must not read "0.42"); slider steps need two
        shown = _shown_threshold(threshold, self.scores)
        decimals = min(max(len(shown.partition(".")[2]), 2), 9) if "e" not in shown else 9
        self.threshold = widgets.FloatSlider(
            value=threshold, min=0.0, max=1.0, step=0.01, description="threshold",
            readout_format=f".{decimals}f", continuous_update=False,
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
            else _svg(self.points, (c.fpr, c.tpr), threshold=self._threshold_text(), area=self.area)
        )

    def _threshold_text(self) -> str:
        return _shown_threshold(self.current.threshold, self.scores)

    def _auc_text(self) -> str:
        if self.area is None:
            return f"ROC curve and AUC undefined ({self.undefined}): they need both spam and ham"
        return f"AUC {self.area:.3f}"

    @property
    def text(self) -> str:
        """Plain text of what the widget shows now (the whole of it, also where no widget
        can be drawn: ipywidgets would cut its repr at 110 characters)."""
        c = self.current
        return html.unescape(
            f"threshold {self._threshold_text()}: TP {c.tp} FP {c.fp} TN {c.tn} FN {c.fn}; "
            f"TPR {c.tpr:.3f} FPR {c.fpr:.3f}; {self._auc_text()}"
        )
