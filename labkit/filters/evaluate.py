"""Measuring spam filters: reproducible splits, TREC-style online runs, and the metrics.

Splits (all deterministic, no random generator involved):

* :func:`split_md5` — test set = messages whose MD5 (in the file name) starts with
  a hex digit of 8 or more: about half, the same for everyone;
* :func:`split_chronological` — train on the oldest messages, test on the newest
  (by Date header): how a filter ages;
* :func:`kfold` — k folds by MD5 modulo k.

A message whose name carries no MD5 (the lab's own ``ham-meeting.eml``...) is placed by
the MD5 of its bytes instead: corpus files are named after exactly that digest, so the
rule is the same, and it never depends on the name's extension.

Runs: :func:`run` (train on one set, score another) and :func:`online` (TREC spam
track: messages in date order, each scored *then* learned with its true label).

Metrics on an :class:`Evaluation` (percentages as in the TREC spam track):

* ``auc`` and ``one_minus_auc_pct`` = (1-ROCA)%: 100 x the chance that a random
  ham outscores a random spam (ties count half);
* ``hm_pct`` (ham misclassified as spam) and ``sm_pct`` (spam not caught) at the
  filter's spam cutoff (a score *equal* to the cutoff is spam, as in the filters'
  ``status``/``classify`` and the receiver); ``lam_pct``, their logistic average
  logit^-1((logit(hm) + logit(sm)) / 2) as the TREC spam track defines it, computed
  from the same hm and sm that are shown; only a rate of 0 or 100 %, whose logit is
  infinite, is replaced by a continuity-corrected one (see :func:`lam`);
* ``sm_at_hm(0.1)``: sm% at the best threshold that keeps hm% <= 0.1 % (read off
  the ROC step curve, no interpolation);
* ``unsure_rate``: share of messages between the ham and spam cutoffs;
* ``cost()``: $10 per false positive, $1 per false negative, $0.20 per unsure.

A rate whose class is missing from the test set (hm% without ham, the ROC curve and
AUC without both classes) is undefined: NaN in :meth:`Evaluation.to_dict`,
"undefined" in the printed summary, never a made-up 0.  Scores must be numbers in
[0, 1] (the filter contract); a NaN score or rank, or a score outside [0, 1], is
refused with a :class:`~labkit.errors.UsageError` naming the messages.

Introduced in lab 09 (Bayesian filtering).
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
import math
import numbers
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .. import _coerce
from ..errors import UsageError
from .batch import classify_many
from .corpus import Message, _progress, _progress_flag
from .tokens import tokenize

log = logging.getLogger(__name__)

#: dollars per false positive, false negative and unsure message
COSTS = {"fp": 10.0, "fn": 1.0, "unsure": 0.2}

#: the spam cutoff of a filter that names none (one with only ``learn`` and ``score``)
DEFAULT_CUTOFF = 0.5

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


_MD5 = re.compile(r"[0-9a-f]{32}")


def _md5(m: Message) -> str:
    """The MD5 in the message's file name; for names without one, the MD5 of its bytes."""
    named = m.md5.lower()
    return named if _MD5.fullmatch(named) else hashlib.md5(m.raw).hexdigest()


def _check_filter(filter: Any, what: str = "filter") -> None:
    """A ``TypeError`` in words when ``filter`` is a class (``Robinson`` for ``Robinson()``)
    or has no ``score()`` method."""
    if isinstance(filter, type):
        raise TypeError(f"{what} must be a filter object, not the class {filter.__name__}: "
                        f"call it, {filter.__name__}()")
    if not callable(getattr(filter, "score", None)):
        raise TypeError(f"{what} must be a filter with learn() and score() (such as "
                        f"lk.filters.Robinson()), not {type(filter).__name__}")


def _messages(items: Any, what: str) -> Sequence[Message]:
    """``items`` as a sequence of labelled corpus messages; a ``TypeError`` in words otherwise
    (one message, text, or a dict, whose keys would be read as the messages)."""
    items = _coerce.sequence(items, what, of="corpus messages (from lk.filters.corpus.load())")
    for m in items:
        if not (hasattr(m, "raw") and hasattr(m, "spam")):
            raise TypeError(f"{what} must hold corpus messages (from lk.filters.corpus.load()), "
                            f"which carry their label (.spam) and bytes (.raw); it holds "
                            f"{type(m).__name__}")
    return items


def _check_factory(factory: Any, what: str = "filter_factory") -> None:
    """A ``TypeError`` in words when ``factory`` is a filter object, not something that
    makes a new one (each fold must start from an untrained filter)."""
    if not callable(factory):
        name = type(factory).__name__
        raise TypeError(f"{what} must make a new filter each time: pass the class, {name} "
                        f"(or lambda: {name}(...) for other parameters), not a {name} object")


#: what a list of labels holds (said when something else is given)
_LABELS_ARE = "True (spam) / False (ham), one per message"


def _label_list(labels: Any, what: str = "labels",
                swapped: str = "the labels come first, then the scores") -> list[bool]:
    """``labels`` as a list of bools: True/False, 1/0 (also NumPy's).  Text is a
    ``TypeError`` (``bool("ham")`` is True: every message would count as spam), and so is
    a fraction, which is what a score looks like (the arguments swapped?)."""
    out = list(_coerce.sequence(labels, what, of=_LABELS_ARE))
    if all(y is True or y is False for y in out):
        return out
    for i, y in enumerate(out):
        as_bool = _coerce.truth(y)
        if as_bool is not None:
            out[i] = as_bool
        else:
            hint = (": text such as 'ham' would count as spam" if isinstance(y, str)
                    else f": that looks like a score; {swapped}"
                    if isinstance(y, numbers.Real) else "")
            raise TypeError(f"{what} must be True (spam) or False (ham) (or 1/0), not {y!r} "
                            f"({what[:-1] if what.endswith('s') else what} {i}){hint}")
    return out


def _score_list(scores: Any, n: int, what: str = "scores") -> list[float]:
    """``scores`` as a list of numbers, one per label: text is a ``TypeError`` (sorted as
    text, "10" < "9"), a different count a :class:`UsageError`."""
    out = list(_coerce.sequence(scores, what, of="numbers, one per message"))
    if not all(isinstance(v, float) for v in out):
        for v in out:
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"{what} must be numbers, not {type(v).__name__} ({v!r})")
    if len(out) != n:
        raise UsageError(f"{n} labels but {len(out)} {what}: give one score per label")
    return out


def split_md5(messages: Iterable[Message]) -> Split:
    """Test = messages whose MD5's first hex digit is 8 or higher; train = the rest.

    The MD5 is the one in the file name (``00123.<md5>``), or the MD5 of the message's
    bytes when the name has none (the lab's sample messages): deterministic either way.
    """
    train, test = [], []
    for m in _messages(messages, "messages"):
        (test if int(_md5(m)[0], 16) >= 8 else train).append(m)
    return Split(name="md5", train=tuple(train), test=tuple(test))


def by_date(messages: Iterable[Message]) -> list[Message]:
    """Messages sorted by date, then by folder and name for ties.

    A message without a usable date (no Date header and no mbox ``From`` line, or only
    ones that do not parse) sorts after every dated one, the undated among themselves
    by folder and name: the order never depends on the input order.
    """
    dated = [
        (m.date or datetime.max.replace(tzinfo=timezone.utc), m.folder, m.name, m)
        for m in _messages(messages, "messages")
    ]
    dated.sort(key=lambda t: t[:3])
    return [t[3] for t in dated]


def split_chronological(messages: Iterable[Message], test_fraction: float = 0.5) -> Split:
    """Train on the oldest ``1 - test_fraction`` of the messages, test on the newest.

    Order as :func:`by_date`: messages without a usable date count as the newest, so
    they land in the test set (after every dated one).  ``test_fraction`` must lie
    between 0 and 1; the test set gets ``round(n * test_fraction)`` messages.
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a number from 0 to 1 such as 0.5, not "
                        f"{test_fraction!r}")
    if not 0.0 <= test_fraction <= 1.0:  # also refuses NaN
        raise UsageError(f"test_fraction must be between 0 and 1, not {test_fraction!r}")
    ordered = by_date(messages)
    cut = int(round(len(ordered) * (1 - test_fraction)))
    return Split(name="chronological", train=tuple(ordered[:cut]), test=tuple(ordered[cut:]))


def kfold(messages: Iterable[Message], k: int = 10) -> list[Split]:
    """k splits: fold i tests the messages whose MD5 (as a number) is i modulo k.

    The MD5 is taken as in :func:`split_md5`.  ``k`` must be at least 2.  With more
    folds than messages (or by chance) a fold can be empty: its split has no test
    messages, and :func:`cross_validate` simply pools nothing from it.
    """
    try:  # a wrong type (text, True, 2.5) is a TypeError from the shared check
        k = _coerce.count(k, "k (the number of folds)", least=2)
    except UsageError:
        raise UsageError(f"k-fold needs at least 2 folds, not {k}") from None
    items = list(_messages(messages, "messages"))
    folds: list[list[Message]] = [[] for _ in range(k)]
    for m in items:
        folds[int(_md5(m), 16) % k].append(m)
    out = []
    for i in range(k):
        test = tuple(folds[i])
        train = tuple(m for j in range(k) if j != i for m in folds[j])
        out.append(Split(name=f"fold {i + 1}/{k}", train=train, test=test))
    return out


# -- metrics -------------------------------------------------------------------------------


def _why_no_roc(labels: Sequence[bool]) -> str | None:
    """Why no ROC curve (nor AUC) exists for these labels; None when one does.

    The curve's x axis divides by the number of ham, its y axis by the number of spam.
    """
    n_spam = sum(1 for y in labels if y)
    if len(labels) == 0:  # (not ``not labels``: a NumPy array has no truth value)
        return "no messages"
    if n_spam == len(labels):
        return "no ham, only spam"
    if n_spam == 0:
        return "no spam, only ham"
    return None


def _check_numbers(values: Sequence[float], what: str, names: Sequence[str] = ()) -> None:
    """Refuse NaN among ``values``: it is neither above nor below any threshold, and
    sorting with it gives an arbitrary order (so an arbitrary AUC)."""
    bad = [i for i, v in enumerate(values) if v != v]  # NaN is the only value unequal to itself
    if bad:
        which = ", ".join(names[i] for i in bad[:3]) if names else ""
        more = f" (messages {which}{', ...' if len(bad) > 3 else ''})" if which else ""
        raise UsageError(
            f"{len(bad)} of {len(values)} {what} are NaN (not a number){more}: a NaN is "
            "neither above nor below any threshold; fix the filter or drop those messages"
        )


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties).

    A ham and a spam with the same score count half, as in scikit-learn's
    ``roc_auc_score``.  NaN when the labels lack ham or spam (the curve is undefined);
    a NaN score raises :class:`~labkit.errors.UsageError`.
    """
    labels = _label_list(labels)
    scores = _score_list(scores, len(labels))
    _check_numbers(scores, "scores")
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
    """(false-positive rates, true-positive rates) at every distinct threshold, from (0, 0).

    A threshold calls a message spam when its score is at or above it; tied scores move
    together (one point per distinct score), as scikit-learn's ``roc_curve`` with
    ``drop_intermediate=False``.  Raises :class:`~labkit.errors.UsageError` when the
    labels lack ham or spam (the curve is undefined) or a score is NaN.
    """
    labels = _label_list(labels)
    scores = _score_list(scores, len(labels))
    why = _why_no_roc(labels)
    if why:
        raise UsageError(f"no ROC curve ({why}): it needs both ham and spam")
    _check_numbers(scores, "scores")
    pairs = sorted(zip(scores, labels, strict=True), key=lambda t: -t[0])
    n_pos = sum(1 for _, y in pairs if y)
    n_neg = len(pairs) - n_pos
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


def _lam_rate(errors: int, n: int) -> float:
    """errors / n, except 0 and 1 (infinite logit): 0.5 / (n + 0.5) and n / (n + 0.5)."""
    if errors <= 0:
        return 0.5 / (n + 0.5)  # the CEAS 2007 correction: 0.5 added to errors and total
    if errors >= n:
        return n / (n + 0.5)  # the same, mirrored: 0.5 added to the correct ones and total
    return errors / n


def _lam_count(value: Any, what: str) -> int:
    """A count for :func:`lam`: a whole number of 0 or more.  NumPy's integers and whole
    floats (``3.0``, as pandas sums may give) are taken; ``True``, text and ``2.5`` are a
    ``TypeError``, a count below 0 a :class:`UsageError`."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)):
        if not math.isfinite(value):
            raise UsageError(f"lam: {what} must be a whole number of 0 or more, not {value!r}")
        if float(value).is_integer():
            value = int(value)
    return _coerce.count(value, f"lam: {what}", least=0)


def lam(fp: int, n_ham: int, fn: int, n_spam: int) -> float:
    """Logistic average misclassification (a fraction; x 100 for lam%).

    logit^-1((logit(hm) + logit(sm)) / 2), the TREC spam track's definition, with
    hm = fp / n_ham and sm = fn / n_spam: the geometric mean of the two error odds,
    turned back into a rate.  A rate of 0 (or 1) has an infinite logit; it alone is
    replaced by 0.5 / (n + 0.5) (or n / (n + 0.5)): the CEAS 2007 lab evaluation's
    correction (it added 0.5 to every error count and total; here only where the logit
    would be infinite, so that otherwise lam% agrees with the hm% and sm% shown beside
    it).  A filter with no false positive thus gets a finite lam% that still grows with
    its other error rate, and stays below a filter with one false positive.  NaN when
    ``n_ham`` or ``n_spam`` is 0 (a rate is undefined).

    Each argument is a whole number (NumPy's and whole floats such as ``3.0`` too):
    ``True``, text or ``2.5`` is a ``TypeError``; a count below 0, or more errors than
    messages (``fp > n_ham``, ``fn > n_spam``), a :class:`~labkit.errors.UsageError`.
    """
    fp, n_ham = _lam_count(fp, "fp"), _lam_count(n_ham, "n_ham")
    fn, n_spam = _lam_count(fn, "fn"), _lam_count(n_spam, "n_spam")
    for errors, e_name, total, t_name in ((fp, "fp", n_ham, "n_ham"), (fn, "fn", n_spam, "n_spam")):
        if errors > total:
            raise UsageError(f"lam: {e_name} ({errors}) cannot exceed {t_name} ({total}): "
                             f"the arguments are fp, n_ham, fn, n_spam")
    if n_ham <= 0 or n_spam <= 0:
        return math.nan
    hm, sm = _lam_rate(fp, n_ham), _lam_rate(fn, n_spam)
    z = (_logit(hm) + _logit(sm)) / 2
    return 1 / (1 + math.exp(-z))


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """Scores of a filter on labelled messages, and every metric derived from them.

    ``scores`` are the filter's scores in [0, 1] (cutoffs apply to them; a score equal
    to ``spam_cutoff`` is spam, like the filters' ``status``); ``ranks`` order messages
    like the scores without floating-point saturation (used for ROC, AUC and
    :meth:`sm_at_hm`).  Construction refuses NaN scores or ranks, scores outside [0, 1]
    and lists of different lengths (:class:`~labkit.errors.UsageError`).  Figures that
    need a class the messages lack are NaN (printed "undefined").
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

    def __post_init__(self) -> None:
        if not all(y is True or y is False for y in self.labels):
            object.__setattr__(self, "labels", tuple(_label_list(self.labels)))
        n = len(self.labels)
        if not len(self.names) == len(self.scores) == len(self.ranks) == n:
            raise UsageError(
                f"an Evaluation needs one name, score and rank per label: {len(self.names)} "
                f"names, {len(self.scores)} scores, {len(self.ranks)} ranks, {n} labels"
            )
        _check_numbers(self.scores, f"{self.filter} scores", self.names)
        _check_numbers(self.ranks, f"{self.filter} ranks", self.names)
        out = [i for i, s in enumerate(self.scores) if not 0.0 <= s <= 1.0]
        if out:
            shown = ", ".join(f"{self.names[i]}: {self.scores[i]!r}" for i in out[:3])
            raise UsageError(
                f"{len(out)} of {n} {self.filter} scores lie outside [0, 1] ({shown}"
                f"{', ...' if len(out) > 3 else ''}): a filter's score() must return a "
                "number from 0 (ham) to 1 (spam), which the cutoffs are compared with"
            )

    @property
    def undefined(self) -> str | None:
        """Why the ROC curve and AUC are undefined here ("no ham, only spam", ...), or None."""
        return _why_no_roc(self.labels)

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
        """Ham misclassification % at the spam cutoff (NaN without ham)."""
        return 100.0 * self.fp / self.n_ham if self.n_ham else math.nan

    @property
    def sm_pct(self) -> float:
        """Spam misclassification % (spam not caught) at the spam cutoff (NaN without spam)."""
        return 100.0 * self.fn / self.n_spam if self.n_spam else math.nan

    @property
    def lam_pct(self) -> float:
        """Logistic average misclassification % at the spam cutoff (see :func:`lam`)."""
        return 100.0 * lam(self.fp, self.n_ham, self.fn, self.n_spam)

    def sm_at_hm(self, hm_pct: float = 0.1) -> float:
        """sm% at the lowest threshold whose hm% is at most ``hm_pct`` (TREC's "sm% at
        hm% = 0.1 %").

        Read off the ROC step curve without interpolation: with ``n`` ham, at most
        ``floor(n * hm_pct / 100)`` ham may score at or above the threshold, so the
        threshold sits just above the next-highest ham, and a spam tied with that ham is
        missed.  Uses the ranks, like the ROC curve.  NaN without ham or without spam.
        """
        if isinstance(hm_pct, bool) or not isinstance(hm_pct, numbers.Real) or not 0 <= hm_pct <= 100:
            raise UsageError(f"sm_at_hm: hm_pct is a percentage from 0 to 100 (0.1 for TREC's "
                             f"0.1 %), not {hm_pct!r}")
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

    def hams_in_the_way(self, sm_pct: float = 3.0) -> list[str]:
        """Names of the ham that any threshold missing at most ``sm_pct`` % of the spam
        would flag, highest-ranked first: the messages that stand between this filter
        and "sm% <= ``sm_pct`` with zero false positives".

        With ``n`` spam, at most ``floor(n * sm_pct / 100)`` may score below the
        threshold, so the threshold can be no higher than the next spam's rank; every
        ham ranked at or above that spam is a false positive there.  An empty list
        means some threshold reaches the target.  Uses the ranks, like the ROC curve.
        """
        if isinstance(sm_pct, bool) or not isinstance(sm_pct, (int, float)) or not 0 <= sm_pct < 100:
            raise UsageError(f"hams_in_the_way: sm_pct is a percentage from 0 to below 100, not {sm_pct!r}")
        spams = sorted(r for r, y in zip(self.ranks, self.labels, strict=True) if y)
        if not spams:
            return []
        bar = spams[int(math.floor(len(spams) * sm_pct / 100.0 + 1e-9))]
        hams = [(r, n) for n, r, y in zip(self.names, self.ranks, self.labels, strict=True)
                if not y and r >= bar]
        return [n for r, n in sorted(hams, key=lambda t: (-t[0], t[1]))]

    @property
    def unsure_rate(self) -> float:
        """Fraction of messages in the unsure band."""
        return self.unsure / len(self.scores) if self.scores else 0.0

    @property
    def fn_judged_ham(self) -> int:
        """Spam below the ham cutoff: judged ham (FN counts the unsure spam too)."""
        lo = min(self.ham_cutoff, self.spam_cutoff)
        return sum(1 for y, s in zip(self.labels, self.scores, strict=True) if y and s < lo)

    def cost(self) -> float:
        """Dollars: $10 per FP, $1 per spam judged ham, $0.20 per unsure message."""
        return (COSTS["fp"] * self.fp + COSTS["fn"] * self.fn_judged_ham
                + COSTS["unsure"] * self.unsure)

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
        if not self.labels:
            return f"{self.filter} ({self.mode}): no messages scored, nothing to measure"

        def fig(x: float, spec: str) -> str:
            return "undefined" if math.isnan(x) else format(x, spec)

        why = f" [ROC undefined: {self.undefined}]" if self.undefined else ""
        # with an unsure band the cost charges only the spam judged ham, not every FN
        charged = (f" ({self.fn_judged_ham} spam judged ham, {self.unsure} unsure)"
                   if self.fn_judged_ham != self.fn else "")
        return (
            f"{self.filter} ({self.mode}): (1-AUC)% {fig(self.one_minus_auc_pct, '.4f')}, "
            f"FP {self.fp}/{self.n_ham} (hm% {fig(self.hm_pct, '.2f')}), "
            f"FN {self.fn}/{self.n_spam} (sm% {fig(self.sm_pct, '.2f')}), "
            f"lam% {fig(self.lam_pct, '.3f')}, sm%@hm0.1% {fig(self.sm_at_hm(0.1), '.2f')}, "
            f"unsure {100 * self.unsure_rate:.1f}%, cost ${self.cost():.2f}{charged}{why}"
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
    """ROC curves of several evaluations on one Axes (FP rate log-scaled by default).

    An evaluation whose messages lack ham or spam has no curve: instead of a line, the
    plot says so in text (e.g. "fisher (online): no ROC curve (no ham, only spam)").
    """
    log = _coerce.flag(log, "log")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    notes = []
    for ev in evaluations:
        if ev.undefined:
            notes.append(f"{ev.filter} ({ev.mode}): no ROC curve ({ev.undefined})")
            continue
        fpr, tpr = roc_curve(ev.labels, ev.ranks)
        if log:
            floor = 0.5 / max(ev.n_ham, 1)
            fpr = [max(x, floor) for x in fpr]
        ax.plot(fpr, tpr, label=f"{ev.filter} ((1-AUC)% {ev.one_minus_auc_pct:.3f})")
    if log and ax.lines:
        ax.set_xscale("log")
    ax.set_xlabel("false-positive rate (ham caught)")
    ax.set_ylabel("true-positive rate (spam caught)")
    ax.set_title("ROC")
    if notes:
        ax.text(0.5, 0.5, "\n".join(notes), transform=ax.transAxes, ha="center", va="center")
    if ax.lines:
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

    ``filter`` needs only ``learn(message, spam)`` and ``score(message)`` (its ``train``
    is used when it has one); a filter without ``spam_cutoff`` is judged at
    :data:`DEFAULT_CUTOFF`, one without ``ham_cutoff`` has no unsure band.

    ``workers`` > 1 scores the test messages in that many processes
    (:func:`labkit.filters.batch.classify_many`; ``None``: one per core); the
    scores are the same as with one.  ``progress``: one bar over the messages trained
    and scored (``None``: when they are more than :data:`AUTO_BAR_WORK`).

    Introduced in lab 09 (Bayesian filtering).
    """
    _check_filter(filter)
    workers = _workers(workers)
    train, test = _messages(train, "train"), _messages(test, "test")
    with _work_bar(len(train) + len(test), progress, f"{mode} {_name(filter)}") as bar:
        return _run(filter, train, test, mode, workers, bar)


def _workers(workers: Any) -> int | None:
    """``workers`` of :func:`run`: a whole number from 1, or None for one per core.

    0 and -1 (joblib's "all cores") used to run in one process without a word."""
    if workers is None:
        return None
    if not isinstance(workers, bool) and isinstance(workers, numbers.Integral) and workers < 1:
        raise UsageError(f"workers must be 1 or more (or None: one process per core), "
                         f"not {workers!r}")
    return _coerce.count(workers, "workers")


@contextlib.contextmanager
def _work_bar(total: int, progress: bool | None, desc: str) -> Iterator[Any]:
    """A tqdm bar over ``total`` messages of work, or None when no bar is wanted.

    ``progress=None`` shows it when ``total`` exceeds :data:`AUTO_BAR_WORK`: the
    amount of work decides, not the number of outer steps (folds, filters, attack
    strengths), so a 5-fold run over 3,000 messages shows a bar.  Callers add work
    done with :func:`_advance`.  The bar is closed on leaving the block.
    """
    progress = _progress_flag(progress)
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
    elif train and callable(getattr(filter, "train", None)):
        if _takes_progress(filter.train):
            filter.train(train, progress=False)  # the work is on this call's own bar
        else:
            filter.train(train)
        _advance(bar, len(train))
    else:  # a filter with only learn() and score(), as the filter contract asks
        for m in train:
            filter.learn(m.raw, m.spam)
            _advance(bar)
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
    spam_cutoff, ham_cutoff = _cutoffs(filter)
    return Evaluation(
        filter=_name(filter),
        mode=mode,
        names=tuple(m.name for m in items),
        labels=tuple(m.spam for m in items),
        scores=tuple(scores),
        ranks=tuple(ranks),
        spam_cutoff=spam_cutoff,
        ham_cutoff=ham_cutoff,
        train_seconds=train_s,
        test_seconds=test_s,
        n_train=n_train,
    )


def _takes_progress(method: Any) -> bool:
    """Whether ``method`` has a ``progress`` argument (labkit's ``train`` methods do)."""
    try:
        return "progress" in inspect.signature(method).parameters
    except (TypeError, ValueError):  # no signature to read
        return False


def _cutoffs(filter: Any) -> tuple[float, float]:
    """(spam cutoff, ham cutoff) of ``filter``: its own, or :data:`DEFAULT_CUTOFF` for a
    filter that has only ``learn`` and ``score``; without a ham cutoff there is no
    unsure band (the ham cutoff is the spam cutoff)."""
    spam_cutoff = getattr(filter, "spam_cutoff", DEFAULT_CUTOFF)
    return spam_cutoff, getattr(filter, "ham_cutoff", spam_cutoff)


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
    _check_factory(filter_factory)
    if not isinstance(split, Split):
        raise TypeError(f"split must be a Split (from split_md5 or split_chronological), "
                        f"not {type(split).__name__}")
    workers = _workers(workers)
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
    _check_factory(filter_factory)
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

    Date order is :func:`by_date`'s: ties and undated messages (which come last) by
    folder and name, so the run is the same whatever order ``messages`` come in.  Each
    recorded score is exactly what ``filter.score`` returns at that moment.

    Introduced in lab 09 (Bayesian filtering).
    """
    _check_filter(filter)
    if order not in ("date", "given"):
        raise UsageError(f"order must be 'date' or 'given', not {order!r}")
    messages = _messages(messages, "messages")
    items = by_date(messages) if order == "date" else list(messages)
    scores: list[float] = []
    ranks: list[float] = []
    tok = _is_token_filter(filter)
    both = getattr(filter, "score_and_rank_tokens", None)
    t0 = time.perf_counter()
    for m in _progress(items, progress, f"online {_name(filter)}", len(items), "msg"):
        if tok:
            tokens = tokenize(m.raw)
            if both is not None:  # the score ``score`` gives, not one re-derived from the rank
                s, r = both(tokens)
            else:
                r = filter.rank_tokens(tokens)
                s = filter.score_from_rank(r)
            scores.append(s)
            ranks.append(r)
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
    "DEFAULT_CUTOFF",
]
