"""Measuring spam filters: reproducible splits, TREC-style online runs, and the metrics.

Splits (all deterministic, no random generator involved):

* :func:`split_md5` — test set = messages whose MD5 (in the file name) starts with
  a hex digit of 8 or more: about half, the same for everyone;
* :func:`split_chronological` — train on the oldest messages, test on the newest
  (by Date header): how a filter ages;
* :func:`kfold` — k folds by MD5 modulo k.

Runs: :func:`run` (train on one set, score another) and :func:`online` (TREC spam
track: messages in date order, each scored *then* learned with its true label).

Metrics on an :class:`Evaluation` (percentages as in the TREC spam track):

* ``auc`` and ``one_minus_auc_pct`` = (1-ROCA)%: 100 x the chance that a random
  ham outscores a random spam (ties count half);
* ``hm_pct`` (ham misclassified as spam) and ``sm_pct`` (spam not caught) at the
  filter's spam cutoff; ``lam_pct``, their logistic average
  logit^-1((logit(hm) + logit(sm)) / 2), with 0.5 added to each count so that zero
  errors stay finite;
* ``sm_at_hm(0.1)``: sm% at the best threshold that keeps hm% <= 0.1 %;
* ``unsure_rate``: share of messages between the ham and spam cutoffs;
* ``cost()``: $10 per false positive, $1 per false negative, $0.20 per unsure.

Introduced in lab 09 (Bayesian filtering).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .batch import classify_many
from .corpus import Message, _progress
from .tokens import tokenize

log = logging.getLogger(__name__)

#: dollars per false positive, false negative and unsure message
COSTS = {"fp": 10.0, "fn": 1.0, "unsure": 0.2}

#: messages of work (each message trained or scored counts once) above which
#: ``progress=None`` shows a progress bar
AUTO_BAR_WORK = 1000
_STEP = 256  # messages scored between two updates of a progress bar


@dataclass(frozen=True, kw_only=True)
class Split:
    """A training set and a test set."""

    name: str
    train: tuple[Message, ...] = field(repr=False)
    test: tuple[Message, ...] = field(repr=False)

    def __repr__(self) -> str:
        return f"<Split {self.name}: train {len(self.train)}, test {len(self.test)}>"


def split_md5(messages: Iterable[Message]) -> Split:
    """Test = messages whose MD5's first hex digit is 8 or higher; train = the rest."""
    train, test = [], []
    for m in messages:
        (test if int(m.md5[0], 16) >= 8 else train).append(m)
    return Split(name="md5", train=tuple(train), test=tuple(test))


def by_date(messages: Iterable[Message]) -> list[Message]:
    """Messages sorted by date (undated ones at the end), then by name for ties."""
    dated = [
        (m.date or datetime.max.replace(tzinfo=timezone.utc), m.folder, m.name, m) for m in messages
    ]
    dated.sort(key=lambda t: t[:3])
    return [t[3] for t in dated]


def split_chronological(messages: Iterable[Message], test_fraction: float = 0.5) -> Split:
    """Train on the oldest ``1 - test_fraction`` of the messages, test on the newest."""
    ordered = by_date(messages)
    cut = int(round(len(ordered) * (1 - test_fraction)))
    return Split(name="chronological", train=tuple(ordered[:cut]), test=tuple(ordered[cut:]))


def kfold(messages: Iterable[Message], k: int = 10) -> list[Split]:
    """k splits: fold i tests the messages whose MD5 (as a number) is i modulo k."""
    items = list(messages)
    folds: list[list[Message]] = [[] for _ in range(k)]
    for m in items:
        folds[int(m.md5, 16) % k].append(m)
    out = []
    for i in range(k):
        test = tuple(folds[i])
        train = tuple(m for j in range(k) if j != i for m in folds[j])
        out.append(Split(name=f"fold {i + 1}/{k}", train=train, test=test))
    return out


# -- metrics -------------------------------------------------------------------------------


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    pairs = sorted(zip(scores, labels, strict=True), key=lambda t: t[0])
    n_pos = sum(1 for _, y in pairs if y)
    n_neg = len(pairs) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        avg = (i + j) / 2 + 1  # ranks are 1-based
        rank_sum += avg * sum(1 for t in pairs[i : j + 1] if t[1])
        i = j + 1
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def roc_curve(labels: Sequence[bool], scores: Sequence[float]) -> tuple[list[float], list[float]]:
    """(false-positive rates, true-positive rates) at every distinct threshold, from (0, 0)."""
    pairs = sorted(zip(scores, labels, strict=True), key=lambda t: -t[0])
    n_pos = sum(1 for _, y in pairs if y) or 1
    n_neg = (len(pairs) - sum(1 for _, y in pairs if y)) or 1
    fpr, tpr = [0.0], [0.0]
    tp = fp = 0
    for i, (s, y) in enumerate(pairs):
        tp += y
        fp += not y
        if i + 1 == len(pairs) or pairs[i + 1][0] != s:
            fpr.append(fp / n_neg)
            tpr.append(tp / n_pos)
    return fpr, tpr


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def lam(fp: int, n_ham: int, fn: int, n_spam: int) -> float:
    """Logistic average misclassification (fraction), with 0.5 added to error counts."""
    hm = (fp + 0.5) / (n_ham + 1.0)
    sm = (fn + 0.5) / (n_spam + 1.0)
    z = (_logit(hm) + _logit(sm)) / 2
    return 1 / (1 + math.exp(-z))


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """Scores of a filter on labelled messages, and every metric derived from them.

    ``scores`` are the filter's scores in [0, 1] (cutoffs apply to them); ``ranks``
    order messages like the scores without floating-point saturation (used for ROC).
    """

    filter: str
    mode: str
    names: tuple[str, ...] = field(repr=False)
    labels: tuple[bool, ...] = field(repr=False)
    scores: tuple[float, ...] = field(repr=False)
    ranks: tuple[float, ...] = field(repr=False)
    spam_cutoff: float = 0.5
    ham_cutoff: float = 0.5
    train_seconds: float = 0.0
    test_seconds: float = 0.0
    n_train: int = 0

    # counts
    @property
    def n_ham(self) -> int:
        """Ham messages scored."""
        return sum(1 for y in self.labels if not y)

    @property
    def n_spam(self) -> int:
        """Spam messages scored."""
        return sum(1 for y in self.labels if y)

    @property
    def fp(self) -> int:
        """Ham at or above the spam cutoff."""
        return sum(
            1
            for y, s in zip(self.labels, self.scores, strict=True)
            if not y and s >= self.spam_cutoff
        )

    @property
    def fn(self) -> int:
        """Spam below the spam cutoff (judged ham or unsure: it reached the inbox)."""
        return sum(
            1 for y, s in zip(self.labels, self.scores, strict=True) if y and s < self.spam_cutoff
        )

    @property
    def unsure(self) -> int:
        """Messages in the unsure band [ham_cutoff, spam_cutoff)."""
        lo = min(self.ham_cutoff, self.spam_cutoff)
        return sum(1 for s in self.scores if lo <= s < self.spam_cutoff)

    # metrics
    @property
    def auc(self) -> float:
        """ROC area."""
        return auc(self.labels, self.ranks)

    @property
    def one_minus_auc_pct(self) -> float:
        """(1-ROCA)%."""
        return 100.0 * (1.0 - self.auc)

    @property
    def hm_pct(self) -> float:
        """Ham misclassification % at the spam cutoff."""
        return 100.0 * self.fp / self.n_ham if self.n_ham else 0.0

    @property
    def sm_pct(self) -> float:
        """Spam misclassification % (spam not caught) at the spam cutoff."""
        return 100.0 * self.fn / self.n_spam if self.n_spam else 0.0

    @property
    def lam_pct(self) -> float:
        """Logistic average misclassification % at the spam cutoff."""
        return 100.0 * lam(self.fp, self.n_ham, self.fn, self.n_spam)

    def sm_at_hm(self, hm_pct: float = 0.1) -> float:
        """sm% at the lowest threshold whose hm% is at most ``hm_pct``."""
        hams = sorted(
            (r for r, y in zip(self.ranks, self.labels, strict=True) if not y), reverse=True
        )
        spams = [r for r, y in zip(self.ranks, self.labels, strict=True) if y]
        if not hams or not spams:
            return float("nan")
        allowed = int(math.floor(len(hams) * hm_pct / 100.0 + 1e-9))
        # threshold strictly above the (allowed+1)-th highest ham: spam must beat it
        bar = hams[allowed] if allowed < len(hams) else -math.inf
        return 100.0 * sum(1 for r in spams if r <= bar) / len(spams)

    @property
    def unsure_rate(self) -> float:
        """Fraction of messages in the unsure band."""
        return self.unsure / len(self.scores) if self.scores else 0.0

    def cost(self) -> float:
        """Dollars: $10 per FP, $1 per FN judged ham, $0.20 per unsure message."""
        lo = min(self.ham_cutoff, self.spam_cutoff)
        fn_ham = sum(1 for y, s in zip(self.labels, self.scores, strict=True) if y and s < lo)
        return COSTS["fp"] * self.fp + COSTS["fn"] * fn_ham + COSTS["unsure"] * self.unsure

    @property
    def train_rate(self) -> float:
        """Messages learned per second."""
        return self.n_train / self.train_seconds if self.train_seconds else float("nan")

    @property
    def classify_rate(self) -> float:
        """Messages scored per second."""
        return len(self.scores) / self.test_seconds if self.test_seconds else float("nan")

    def to_dict(self) -> dict:
        """Every metric as plain data (not the per-message scores)."""
        return {
            "filter": self.filter,
            "mode": self.mode,
            "n_ham": self.n_ham,
            "n_spam": self.n_spam,
            "spam_cutoff": self.spam_cutoff,
            "ham_cutoff": self.ham_cutoff,
            "auc": self.auc,
            "one_minus_auc_pct": self.one_minus_auc_pct,
            "fp": self.fp,
            "fn": self.fn,
            "unsure": self.unsure,
            "hm_pct": self.hm_pct,
            "sm_pct": self.sm_pct,
            "lam_pct": self.lam_pct,
            "sm_at_hm_0.1_pct": self.sm_at_hm(0.1),
            "unsure_rate": self.unsure_rate,
            "cost": self.cost(),
            "train_per_s": self.train_rate,
            "classify_per_s": self.classify_rate,
        }

    def __str__(self) -> str:
        return (
            f"{self.filter} ({self.mode}): (1-AUC)% {self.one_minus_auc_pct:.4f}, "
            f"FP {self.fp}/{self.n_ham} (hm% {self.hm_pct:.2f}), FN {self.fn}/{self.n_spam} "
            f"(sm% {self.sm_pct:.2f}), lam% {self.lam_pct:.3f}, sm%@hm0.1% {self.sm_at_hm(0.1):.2f}, "
            f"unsure {100 * self.unsure_rate:.1f}%, cost ${self.cost():.2f}"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{k}</td><td>{v:.4g}</td></tr>"
            if isinstance(v, float)
            else f"<tr><td>{k}</td><td>{v}</td></tr>"
            for k, v in self.to_dict().items()
        )
        return f"<table>{rows}</table>"

    # plots
    def plot_roc(self, ax: Any = None, *, log: bool = True) -> Any:
        """Plot the ROC curve (FP rate on a log axis by default); returns the Axes."""
        return plot_roc([self], ax=ax, log=log)

    def plot_histogram(self, ax: Any = None, *, bins: int = 50) -> Any:
        """Histogram of ham and spam scores with the cutoffs marked; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        ham = [s for s, y in zip(self.scores, self.labels, strict=True) if not y]
        spam = [s for s, y in zip(self.scores, self.labels, strict=True) if y]
        ax.hist([ham, spam], bins=bins, range=(0, 1), label=["ham", "spam"])
        ax.set_yscale("symlog", linthresh=1)
        for cut in sorted({self.ham_cutoff, self.spam_cutoff}):
            ax.axvline(cut, color="k", linestyle="--", linewidth=0.8)
        ax.set_xlabel("score")
        ax.set_ylabel("messages")
        ax.set_title(f"{self.filter}: score distribution")
        ax.legend()
        return ax


def plot_roc(evaluations: Sequence[Evaluation], ax: Any = None, *, log: bool = True) -> Any:
    """ROC curves of several evaluations on one Axes (FP rate log-scaled by default)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    for ev in evaluations:
        fpr, tpr = roc_curve(ev.labels, ev.ranks)
        if log:
            floor = 0.5 / max(ev.n_ham, 1)
            fpr = [max(x, floor) for x in fpr]
        ax.plot(fpr, tpr, label=f"{ev.filter} ((1-AUC)% {ev.one_minus_auc_pct:.3f})")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("false-positive rate (ham caught)")
    ax.set_ylabel("true-positive rate (spam caught)")
    ax.set_title("ROC")
    ax.legend(loc="lower right", fontsize="small")
    return ax


# -- running filters ------------------------------------------------------------------------


def _name(f: Any) -> str:
    return getattr(f, "kind", type(f).__name__.lower())


def _is_token_filter(f: Any) -> bool:
    return all(hasattr(f, a) for a in ("learn_tokens", "rank_tokens", "score_from_rank"))


def run(
    filter: Any,
    train: Sequence[Message],
    test: Sequence[Message],
    *,
    progress: bool | None = None,
    mode: str = "batch",
    workers: int | None = 1,
) -> Evaluation:
    """Train ``filter`` on ``train`` (in order), then score ``test``; timings included.

    ``workers`` > 1 scores the test messages in that many processes
    (:func:`labkit.filters.batch.classify_many`; ``None``: one per core); the
    scores are the same as with one.  ``progress``: one bar over the messages trained
    and scored (``None``: when they are more than :data:`AUTO_BAR_WORK`).

    Introduced in lab 09 (Bayesian filtering).
    """
    with _work_bar(len(train) + len(test), progress, f"{mode} {_name(filter)}") as bar:
        return _run(filter, train, test, mode, workers, bar)


@contextlib.contextmanager
def _work_bar(total: int, progress: bool | None, desc: str) -> Iterator[Any]:
    """A tqdm bar over ``total`` messages of work, or None when no bar is wanted.

    ``progress=None`` shows it when ``total`` exceeds :data:`AUTO_BAR_WORK`: the
    amount of work decides, not the number of outer steps (folds, filters, attack
    strengths), so a 5-fold run over 3,000 messages shows a bar.  Callers add work
    done with :func:`_advance`.  The bar is closed on leaving the block.
    """
    if progress is None:
        progress = total > AUTO_BAR_WORK
    if not progress or total <= 0:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="msg")
    try:
        yield bar
    finally:
        bar.close()


def _advance(bar: Any, n: int = 1) -> None:
    """Add ``n`` messages of work done to a :func:`_work_bar` bar (None: nothing)."""
    if bar is not None and n:
        bar.update(n)


def _run(
    filter: Any,
    train: Sequence[Message],
    test: Sequence[Message],
    mode: str,
    workers: int | None,
    bar: Any,
) -> Evaluation:
    """:func:`run` reporting its work to ``bar`` (a :func:`_work_bar`, or None)."""
    t0 = time.perf_counter()
    if _is_token_filter(filter):
        for m in train:
            filter.learn_tokens(tokenize(m.raw), m.spam)
            _advance(bar)
    elif train:
        filter.train(train)
        _advance(bar, len(train))
    t1 = time.perf_counter()
    scores, ranks = _score_all(filter, test, workers, bar)
    t2 = time.perf_counter()
    return _evaluation(filter, mode, test, scores, ranks, t1 - t0, t2 - t1, len(train))


def _evaluation(
    filter: Any,
    mode: str,
    items: Sequence[Message],
    scores: Sequence[float],
    ranks: Sequence[float],
    train_s: float,
    test_s: float,
    n_train: int,
) -> Evaluation:
    return Evaluation(
        filter=_name(filter),
        mode=mode,
        names=tuple(m.name for m in items),
        labels=tuple(m.spam for m in items),
        scores=tuple(scores),
        ranks=tuple(ranks),
        spam_cutoff=filter.spam_cutoff,
        ham_cutoff=filter.ham_cutoff,
        train_seconds=train_s,
        test_seconds=test_s,
        n_train=n_train,
    )


def _score_all(
    filter: Any, test: Sequence[Message], workers: int | None, bar: Any
) -> tuple[list, list]:
    """Scores and ranks of ``test``; with a bar and one process, in steps that move it."""
    step = _STEP if bar is not None and workers == 1 else max(len(test), 1)
    scores: list[float] = []
    ranks: list[float] = []
    for i in range(0, len(test), step):
        part = test[i : i + step]
        batch = classify_many(filter, part, workers=workers, progress=False)
        scores += batch.scores
        ranks += batch.ranks
        _advance(bar, len(part))
    return scores, ranks


def evaluate_split(
    filter_factory: Any, split: Split, *, progress: bool | None = None, workers: int | None = 1
) -> Evaluation:
    """``run(filter_factory(), split.train, split.test)`` with the split's name as mode."""
    return run(
        filter_factory(),
        split.train,
        split.test,
        progress=progress,
        mode=split.name,
        workers=workers,
    )


def cross_validate(
    filter_factory: Any, messages: Sequence[Message], k: int = 10, *, progress: bool | None = None
) -> Evaluation:
    """k-fold cross-validation; the folds' test scores pooled into one Evaluation.

    ``progress``: one bar over every message trained and scored in all folds
    (``None``: when that is more than :data:`AUTO_BAR_WORK`).
    """
    splits = kfold(messages, k)
    work = sum(len(s.train) + len(s.test) for s in splits)
    with _work_bar(work, progress, f"{k}-fold cross-validation") as bar:
        parts = [_run(filter_factory(), s.train, s.test, s.name, 1, bar) for s in splits]
    first = parts[0]
    return Evaluation(
        filter=first.filter,
        mode=f"{k}-fold",
        names=sum((p.names for p in parts), ()),
        labels=sum((p.labels for p in parts), ()),
        scores=sum((p.scores for p in parts), ()),
        ranks=sum((p.ranks for p in parts), ()),
        spam_cutoff=first.spam_cutoff,
        ham_cutoff=first.ham_cutoff,
        train_seconds=sum(p.train_seconds for p in parts),
        test_seconds=sum(p.test_seconds for p in parts),
        n_train=sum(p.n_train for p in parts),
    )


def online(
    filter: Any, messages: Iterable[Message], *, progress: bool | None = None, order: str = "date"
) -> Evaluation:
    """TREC-style online evaluation: in date order, score each message, then learn it
    with its true label (immediate feedback).  ``order="given"`` keeps the input order.

    Introduced in lab 09 (Bayesian filtering).
    """
    items = by_date(messages) if order == "date" else list(messages)
    scores: list[float] = []
    ranks: list[float] = []
    tok = _is_token_filter(filter)
    t0 = time.perf_counter()
    for m in _progress(items, progress, f"online {_name(filter)}", len(items), "msg"):
        if tok:
            tokens = tokenize(m.raw)
            r = filter.rank_tokens(tokens)
            ranks.append(r)
            scores.append(filter.score_from_rank(r))
            filter.learn_tokens(tokens, m.spam)
        else:
            s = float(filter.score(m.raw))
            scores.append(s)
            ranks.append(filter.rank(m.raw) if hasattr(filter, "rank") else s)
            filter.learn(m.raw, m.spam)
    t1 = time.perf_counter()
    return _evaluation(filter, "online", items, scores, ranks, 0.0, t1 - t0, len(items))


def table(evaluations: Iterable[Evaluation]) -> Any:
    """A pandas DataFrame with one row of metrics per evaluation."""
    import pandas as pd

    return pd.DataFrame([e.to_dict() for e in evaluations]).set_index("filter")


__all__ = [
    "Split",
    "split_md5",
    "split_chronological",
    "kfold",
    "by_date",
    "auc",
    "roc_curve",
    "lam",
    "Evaluation",
    "plot_roc",
    "run",
    "evaluate_split",
    "cross_validate",
    "online",
    "table",
    "COSTS",
]
