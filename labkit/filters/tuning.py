"""Choosing a filter's parameters and its operating threshold from training mail only.

A filter has knobs (Robinson's strength ``s``, prior ``x``, ``min_dev`` ...) and an
operating threshold: the score at or above which a message goes to the Junk folder.
Both must be chosen *without* the test messages, or the test stops measuring how the
filter does on mail it has never seen.  This module chooses them by cross-validation
on the training messages alone:

1. **Repeated k-fold.**  The training messages are dealt into ``k`` folds by a hash
   of ``(seed, name)``; each fold is scored by a filter trained on the other ``k - 1``.
   Every training message thus gets an out-of-fold *rank* (a score the filter gave it
   without having learned it).  With a handful of hard ham deciding (1-AUC) at these
   error levels, one dealing is noisy, so it is repeated with several seeds and the
   (1-AUC)% averaged: :func:`cv_ranks`, :func:`cross_validate`.
2. **Parameters**: the grid entry with the lowest mean out-of-fold (1-AUC)%.
3. **Threshold**: above the highest out-of-fold ham rank of *any* seed, plus a margin:
   ``margin`` of the way (in rank units, the filter's logit scale) from that top ham to
   the median spam (:func:`margin_rank`).  The margin buys protection against a new ham
   slightly worse than every training ham, and costs caught spam.

:func:`choose_robinson` and :func:`choose_sender_robinson` return ``(params, cutoff)``
ready for ``Robinson(**params, spam_cutoff=cutoff, ham_cutoff=cutoff)`` (or
``SenderRobinson(...)``); :func:`choose` returns a
:class:`Choice` that also explains itself (``steps``, a table per grid entry).

Not named in the labs: :func:`labkit.filters.graded.choose` and the benchmarks call it.
"""

from __future__ import annotations

import hashlib
import logging
import numbers
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import _coerce
from . import evaluate
from .bayes import Robinson, TokenFilter
from .corpus import Message
from .reputation import SenderRobinson

log = logging.getLogger(__name__)

#: Robinson/Fisher parameter grid: SpamBayes's defaults, then strong-clue settings
GRID: tuple[dict[str, Any], ...] = (
    {},
    {"strength": 0.1, "min_dev": 0.2},
    {"strength": 0.0178, "prior": 0.52, "min_dev": 0.375, "max_discriminators": 2000},
    {"strength": 0.0178, "prior": 0.52, "min_dev": 0.45, "max_discriminators": 2000},
    {"strength": 0.0178, "prior": 0.52, "min_dev": 0.47, "max_discriminators": 2000},
)
#: sender reputation shifts tried on top of the chosen Robinson parameters
REPUTATIONS: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3)
#: seeds of the repeated k-fold
SEEDS: tuple[int, ...] = (0, 1, 2)
#: share of the way from the top cross-validated ham to the median spam (rank units)
MARGIN = 0.3

Tokens = Mapping[str, Sequence[str]]


def seeded_folds(
    messages: Sequence[Message], k: int = 5, seed: int | str = 0
) -> list[evaluate.Split]:
    """``k`` train/test splits; a message's fold is MD5(``"seed:name"``) modulo ``k``.

    Unlike :func:`labkit.filters.evaluate.kfold` (fold = the message's own MD5 modulo
    k, one fixed dealing), each seed deals the messages differently, so repeated CV
    sees different fold mates.  Deterministic: no random generator involved.
    """
    k, seed = _coerce.count(k, "k", least=2), _seed(seed)
    folds: list[list[Message]] = [[] for _ in range(k)]
    for m in messages:
        h = int(hashlib.md5(f"{seed}:{m.name}".encode()).hexdigest(), 16)
        folds[h % k].append(m)
    return [
        evaluate.Split(
            name=f"seed {seed} fold {i + 1}/{k}",
            train=tuple(m for j in range(k) if j != i for m in folds[j]),
            test=tuple(folds[i]),
        )
        for i in range(k)
    ]


def _seed(seed: Any, what: str = "seed") -> int | str:
    """A seed is a whole number or text; ``True`` or ``1.0`` would deal the folds
    differently from ``1`` without a word, so they are refused."""
    if isinstance(seed, str):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{what} must be a whole number such as 0 (or text), not "
                        f"{type(seed).__name__} {seed!r}")
    return int(seed)


def _seeds(seeds: Any) -> tuple[int | str, ...]:
    return tuple(_seed(s, "each seed in seeds") for s in
                 _coerce.items(seeds, "seeds", example="(0, 1, 2)"))


def _margin(margin: Any) -> float:
    return _coerce.number(margin, "margin", least=0.0, example="0.3")


def cv_ranks(
    factory: Callable[[], TokenFilter],
    messages: Sequence[Message],
    tokens: Tokens,
    *,
    k: int = 5,
    seed: int | str = 0,
) -> dict[str, float]:
    """Out-of-fold rank of every message (name -> ``rank_tokens`` of a filter that never
    learned it), from one seeded k-fold dealing.  ``tokens`` maps names to token lists."""
    out: dict[str, float] = {}
    for split in seeded_folds(messages, k, seed):
        f = factory()
        for m in split.train:
            f.learn_tokens(tokens[m.name], m.spam)
        for m in split.test:
            out[m.name] = f.rank_tokens(tokens[m.name])
    return out


def margin_rank(labels: Sequence[bool], ranks: Sequence[float], margin: float = MARGIN) -> float:
    """The rank ``margin`` of the way from the highest ham to the median spam.

    ``margin=0`` puts the threshold on the top ham itself (ranks at or above it are
    spam, so that ham is the one false positive it allows); a median spam below the top
    ham gives the top ham's rank.
    """
    return _between(*_top_ham_median_spam(labels, ranks), _margin(margin))


def _top_ham_median_spam(labels: Sequence[bool], ranks: Sequence[float]) -> tuple[float, float]:
    """(highest ham rank, median spam rank)."""
    top_ham = max(r for r, y in zip(ranks, labels, strict=True) if not y)
    median_spam = statistics.median_low(r for r, y in zip(ranks, labels, strict=True) if y)
    return top_ham, median_spam


def _between(top_ham: float, median_spam: float, margin: float) -> float:
    """``margin`` of the way from ``top_ham`` up to ``median_spam`` (never below the top ham)."""
    return top_ham + margin * max(median_spam - top_ham, 0.0)


@dataclass(frozen=True, kw_only=True)
class CVRow:
    """Repeated-CV figures of one parameter setting."""

    params: dict[str, Any]
    one_minus_auc_pct: tuple[float, ...]  # per seed
    top_ham: tuple[float, ...]  # highest out-of-fold ham rank, per seed
    median_spam: tuple[float, ...]  # per seed
    sm_at_zero_fp: tuple[float, ...]  # % of spam at or below the top ham, per seed

    @property
    def mean_pct(self) -> float:
        """(1-AUC)% averaged over the seeds."""
        return statistics.fmean(self.one_minus_auc_pct)

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {
            "params": dict(self.params),
            "one_minus_auc_pct": list(self.one_minus_auc_pct),
            "mean_one_minus_auc_pct": self.mean_pct,
            "top_ham": list(self.top_ham),
            "median_spam": list(self.median_spam),
            "sm_at_zero_fp": list(self.sm_at_zero_fp),
        }


def cross_validate(
    klass: type[TokenFilter],
    params: Mapping[str, Any],
    messages: Sequence[Message],
    tokens: Tokens,
    *,
    k: int = 5,
    seeds: Sequence[int | str] = SEEDS,
) -> CVRow:
    """Repeated k-fold CV of ``klass(**params)`` on ``messages`` (one dealing per seed)."""
    k, seeds = _coerce.count(k, "k", least=2), _seeds(seeds)
    labels = [m.spam for m in messages]
    aucs, tops, meds, sms = [], [], [], []
    for seed in seeds:
        by_name = cv_ranks(lambda: klass(**params), messages, tokens, k=k, seed=seed)
        ranks = [by_name[m.name] for m in messages]
        aucs.append(100.0 * (1.0 - evaluate.auc(labels, ranks)))
        top, median = _top_ham_median_spam(labels, ranks)
        spam = [r for r, y in zip(ranks, labels, strict=True) if y]
        tops.append(top)
        meds.append(median)
        sms.append(100.0 * sum(1 for r in spam if r <= top) / len(spam))
    return CVRow(
        params=dict(params),
        one_minus_auc_pct=tuple(aucs),
        top_ham=tuple(tops),
        median_spam=tuple(meds),
        sm_at_zero_fp=tuple(sms),
    )


@dataclass(frozen=True, kw_only=True)
class Choice:
    """Parameters and operating threshold chosen by repeated CV on training mail only."""

    filter: str
    params: dict[str, Any]
    cutoff: float  # the spam cutoff, on the filter's score scale
    cutoff_rank: float  # the same threshold on the rank scale
    margin: float
    rows: tuple[CVRow, ...] = field(repr=False)
    steps: tuple[str, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {
            "filter": self.filter,
            "params": dict(self.params),
            "cutoff": self.cutoff,
            "cutoff_rank": self.cutoff_rank,
            "margin": self.margin,
            "rows": [r.to_dict() for r in self.rows],
            "steps": list(self.steps),
        }

    def __str__(self) -> str:
        return "\n".join(self.steps)

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td><code>{r.params or 'defaults'}</code></td>"
            + "".join(f"<td>{v:.4f}</td>" for v in r.one_minus_auc_pct)
            + f"<td><b>{r.mean_pct:.4f}</b></td></tr>"
            for r in self.rows
        )
        return (
            f"<b>{self.filter}</b>: {self.params or 'defaults'}, cutoff {self.cutoff:.6g}"
            f"<table><tr><th>params</th><th colspan={len(self.rows[0].one_minus_auc_pct)}>"
            f"(1-AUC)% per seed</th><th>mean</th></tr>{cells}</table>"
        )


def choose(
    klass: type[TokenFilter],
    train: Sequence[Message],
    tokens: Tokens,
    *,
    grid: Sequence[Mapping[str, Any]] = GRID,
    seeds: Sequence[int | str] = SEEDS,
    k: int = 5,
    margin: float = MARGIN,
) -> Choice:
    """Parameters (lowest mean repeated-CV (1-AUC)%) and a spam cutoff for ``klass``.

    Only ``train`` and its ``tokens`` are used.  The cutoff is :func:`margin_rank` of
    the chosen setting's out-of-fold ranks, taking the *highest* top-ham rank over the
    seeds and the median of the per-seed median spam ranks.

    Not named in the labs: :func:`labkit.filters.graded.choose` and the benchmarks call it.
    """
    k, seeds, margin = _coerce.count(k, "k", least=2), _seeds(seeds), _margin(margin)
    rows = []
    steps = [f"{klass.kind}: {len(seeds)} x {k}-fold CV on {len(train)} training messages"]
    for params in grid:
        row = cross_validate(klass, params, train, tokens, k=k, seeds=seeds)
        rows.append(row)
        line = (
            f"  {dict(params) or 'defaults'}: (1-AUC)% "
            + " ".join(f"{v:.4f}" for v in row.one_minus_auc_pct)
            + f" (mean {row.mean_pct:.4f})"
        )
        steps.append(line)
        log.info("%s", line)
    return best_of(klass.kind, rows, steps, margin,
                   lambda params, rank: klass(**params).score_from_rank(rank))


def best_of(
    kind: str,
    rows: Sequence[CVRow],
    steps: list[str],
    margin: float,
    score_from_rank: Callable[[Mapping[str, Any], float], float],
    describe: Callable[[Mapping[str, Any]], str] = lambda params: str(dict(params) or "defaults"),
) -> Choice:
    """The :class:`Choice` of the row with the lowest mean (1-AUC)%, its cutoff
    ``margin`` of the way from the highest top-ham rank over the seeds to the median of
    the per-seed median spam ranks.  ``score_from_rank(params, rank)`` turns that rank
    into the filter's score; the last line of ``steps`` says what was chosen
    (``describe(params)``).  Shared by every ``choose`` of the package."""
    best = min(rows, key=lambda r: r.mean_pct)
    top = max(best.top_ham)
    med = statistics.median(best.median_spam)
    rank = _between(top, med, margin)
    cutoff = score_from_rank(best.params, rank)
    steps.append(
        f"chosen {describe(best.params)}; threshold {margin:g} of the way from the top "
        f"CV ham (rank {top:.4g}) to the median CV spam ({med:.4g}): rank {rank:.4g}, "
        f"score {cutoff:.6g}"
    )
    return Choice(
        filter=kind,
        params=dict(best.params),
        cutoff=cutoff,
        cutoff_rank=rank,
        margin=margin,
        rows=tuple(rows),
        steps=tuple(steps),
    )


def choose_robinson(
    train: Sequence[Message], tokens: Tokens, **options: Any
) -> tuple[dict[str, Any], float]:
    """``(params, cutoff)`` for :class:`~labkit.filters.Robinson` by :func:`choose`.

    Not used in the labs: the benchmarks call it.
    """
    c = choose(Robinson, train, tokens, **options)
    return c.params, c.cutoff


def choose_sender_robinson(
    train: Sequence[Message],
    tokens: Tokens,
    *,
    base: Mapping[str, Any] | None = None,
    reputations: Sequence[float] = REPUTATIONS,
    **options: Any,
) -> tuple[dict[str, Any], float]:
    """``(params, cutoff)`` for :class:`~labkit.filters.reputation.SenderRobinson`.

    Robinson's parameters come from ``base`` or, without it, from
    :func:`choose_robinson`'s grid; the sender ``reputation`` shift is then chosen from
    ``reputations`` by the same repeated CV, and the cutoff set as in :func:`choose`.

    Not used in the labs: the benchmarks call it.
    """
    reputations = _coerce.items(reputations, "reputations", example="(0.0, 0.1, 0.2)")
    if base is None:
        base = choose(Robinson, train, tokens, **options).params
    grid = [{**base, "reputation": r} for r in reputations]
    c = choose(SenderRobinson, train, tokens, **{**options, "grid": grid})
    return c.params, c.cutoff


__all__ = [
    "GRID",
    "SEEDS",
    "MARGIN",
    "seeded_folds",
    "cv_ranks",
    "margin_rank",
    "CVRow",
    "cross_validate",
    "Choice",
    "choose",
    "choose_robinson",
    "choose_sender_robinson",
    "REPUTATIONS",
]
