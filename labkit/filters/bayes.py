"""The Bayes family of spam filters, each a small class over shared token counts.

=====================  =====================================================
:class:`Graham`        "A Plan for Spam" (2002): doubled ham counts, 15 most
                       interesting tokens, naive-Bayes product.
:class:`Robinson`      Gary Robinson's f(w) with a prior and the geometric-mean
                       combination S = (P - Q) / (P + Q).
:class:`Fisher`        Robinson's f(w) with Fisher's chi-square combining, as in
                       SpamBayes: ham and spam cutoffs and an *unsure* band.
:class:`Multinomial`   multinomial naive Bayes with Laplace smoothing over token
                       counts (the textbook model).
=====================  =====================================================

Every filter constructs without arguments and has ``learn(message, spam)``,
``unlearn(message, spam)``, ``score(message) -> float`` in [0, 1],
``classify(message) -> "ham" | "unsure" | "spam"``, ``save(path)`` and
``load(path)`` (JSON, optionally gzip-compressed: never pickle).  Training is
incremental: learn one message at a time, in any order, and unlearn a mistake.

For speed in experiments, ``learn_tokens`` / ``score_tokens`` take an already
tokenised message (see :func:`labkit.filters.tokens.tokenize`).

Introduced in lab 09 (Bayesian filtering).
"""

from __future__ import annotations

import difflib
import gzip
import heapq
import json
import math
import numbers
import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import add, itemgetter, mul, neg, sub
from pathlib import Path
from typing import Any, ClassVar

from .. import _coerce
from ..errors import UsageError
from ..paths import atomic_path
from . import compiled
from .tokens import tokenize

FORMAT = "labkit-filter"
VERSION = 1
#: scorings with unchanged counts after which f(w) is computed for every token at once
_FULL_AFTER = 16
#: the compiled clue look-up and sums (``labkit/filters/_c/clues.c``), or None: then
#: :meth:`_Robinsonian._py_clue_sums` does it all (see :mod:`labkit.filters.compiled`)
_cclues = compiled.load("_cclues")
#: token containers the compiled look-up reads as they are (anything else goes to Python)
_C_TOKENS = frozenset((list, tuple, set, frozenset))


@dataclass(frozen=True, kw_only=True)
class Explanation:
    """Why a filter scored a message as it did: the clues its score used and their f(w).

    ``clues`` holds only tokens the score was computed from (never one at 0.5, which
    says nothing); ``steps`` says how many there were and by which rule."""

    filter: str
    score: float
    status: str
    clues: tuple[tuple[str, float], ...]
    steps: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {
            "filter": self.filter,
            "score": self.score,
            "status": self.status,
            "clues": [list(c) for c in self.clues],
            "steps": list(self.steps),
        }

    def __str__(self) -> str:
        lines = [f"{self.filter}: {self.score:.4f} ({self.status})"]
        lines += [f"  {p:.3f}  {t}" for t, p in self.clues]
        if not self.clues:
            lines.append("  no clues: no token of this message moved the score")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td><code>{_esc(t)}</code></td><td>{p:.3f}</td></tr>" for t, p in self.clues
        )
        return (
            f"<b>{self.filter}</b>: score {self.score:.4f} (<i>{self.status}</i>)"
            f"<table><tr><th>token</th><th>p(spam)</th></tr>{rows}</table>"
        )


def _logit(score: float) -> float:
    p = min(max(score, 1e-300), 1.0 - 1e-16)
    return math.log(p) - math.log1p(-p)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: allowed values of the filters' numeric parameters: (lowest, highest, is the highest
#: itself allowed, whole numbers only); a value outside would give a constant or wrong
#: score, or an exception at score time, without a word at construction
_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "strength": (0.0, math.inf, True, False),
    "prior": (0.0, 1.0, True, False),
    "min_dev": (0.0, 0.5, False, False),  # 0.5 or more: no token is ever a clue
    "max_discriminators": (1, math.inf, True, True),
    "min_count": (0, math.inf, True, True),
    "unknown": (0.0, 1.0, True, False),
    "ham_bias": (0.0, math.inf, True, False),
    "alpha": (0.0, math.inf, True, False),  # 0 itself refused below: log(0) at score time
    "temperature": (0.0, math.inf, True, False),  # 0 itself refused below: division by 0
}
_POSITIVE = frozenset(("alpha", "temperature"))


def _check_range(name: str, key: str, value: float, default: float) -> None:
    """A ``UsageError`` (``TypeError`` for a fraction where a count goes) when ``value``
    is outside the range where parameter ``key`` means something."""
    if key not in _RANGES:
        return
    lo, hi, hi_ok, whole = _RANGES[key]
    if whole and not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: {key} is a whole number (default {default}), not {value!r}")
    above = lo < value if key in _POSITIVE else lo <= value
    below = value <= hi if hi_ok else value < hi
    if not (above and below):  # NaN fails both
        lower = f"above {lo:g}" if key in _POSITIVE else f"at least {lo:g}"
        upper = "" if hi == math.inf else f" and {'at most' if hi_ok else 'below'} {hi:g}"
        raise UsageError(f"{name}: {key} must be {lower}{upper} (default {default}), "
                         f"not {value!r}")


def _check_tokens(tokens: Any, call: str) -> None:
    """A ``TypeError`` in words when ``tokens`` is one message or one text, not its tokens
    (a str would be learned letter by letter, bytes as numbers)."""
    if isinstance(tokens, (str, bytes, bytearray)) or tokens is None or hasattr(tokens, "raw"):
        raise TypeError(f"{call} takes the message's tokens (a list from "
                        f"lk.filters.tokenize(message)), not {type(tokens).__name__}; "
                        f"for the message itself use {call.replace('_tokens', '')}(message, spam)")


class TokenFilter:
    """Shared machinery: per-token ham/spam counts, incremental learning, JSON save/load.

    Subclasses implement :meth:`score_tokens` or :meth:`rank_tokens`, and ``_f`` (f(w)).
    ``counts[token] = [ham_count, spam_count]`` counts *messages* containing the token
    (or occurrences, for :class:`Multinomial`, whose ``distinct`` is False).
    """

    kind: ClassVar[str] = "base"
    distinct: ClassVar[bool] = True
    #: score at or above which a message is spam, and below which it is ham (no unsure band
    #: unless ``ham_cutoff`` < ``spam_cutoff``)
    spam_cutoff: float = 0.9
    ham_cutoff: float = 0.9

    def __init__(self, **params: Any) -> None:
        self.counts: dict[str, list[int]] = {}
        self.nham = 0
        self.nspam = 0
        self._memo: dict = {}
        self._memo_key: tuple | None = None
        tunable = self.params()  # not any class attribute: score=0.5 would hide a method
        for key, value in params.items():
            if key not in tunable:
                known = ", ".join(sorted(tunable))
                raise UsageError(f"{type(self).__name__} has no parameter {key!r}; "
                                 f"its parameters: {known}")
            default = getattr(type(self), key)
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    raise TypeError(f"{type(self).__name__}: {key} must be a number "
                                    f"(default {default}), not {type(value).__name__}")
                if key.endswith("cutoff") and not 0 <= value <= 1:
                    raise UsageError(f"{type(self).__name__}: {key} is a score between 0 and "
                                     f"1 (default {default}), not {value}")
                _check_range(type(self).__name__, key, value, default)
            setattr(self, key, value)

    # -- parameters --------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """The tunable parameters (class attributes that are plain numbers)."""
        out = {}
        for klass in reversed(type(self).__mro__):
            for key, value in vars(klass).items():
                if (
                    not key.startswith("_")
                    and isinstance(value, (int, float))
                    and key != "distinct"
                ):
                    out[key] = getattr(self, key)
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__} trained on {self.nham} ham, {self.nspam} spam; {len(self.counts)} tokens>"

    @property
    def trained(self) -> bool:
        """True once at least one ham and one spam were learned."""
        return self.nham > 0 and self.nspam > 0

    # -- training ----------------------------------------------------------------------
    def _features(self, tokens: Iterable[str]) -> Iterable[str]:
        return set(tokens) if self.distinct else tokens

    def learn(self, message: bytes, spam: bool) -> None:
        """Learn one message as spam (True) or ham (False)."""
        spam = _coerce.spam_label(spam)
        self.learn_tokens(tokenize(message), spam)

    def unlearn(self, message: bytes, spam: bool) -> None:
        """Undo an earlier ``learn(message, spam)``.

        A message that was not learned with that label (never learned, or learned as the
        other class) is refused with a :class:`~labkit.errors.UsageError` and nothing
        changes: unlearning it would lower the counts of other messages' tokens.
        """
        spam = _coerce.spam_label(spam)
        self.unlearn_tokens(tokenize(message), spam)

    def learn_tokens(self, tokens: Iterable[str], spam: bool, _delta: int = 1) -> None:
        """Learn an already tokenised message."""
        _check_tokens(tokens, "learn_tokens")
        spam = _coerce.spam_label(spam)
        idx = 1 if spam else 0
        counts = self.counts
        if _delta == 1:  # the common case: nothing to clamp at 0, no count drops to zero
            get, first = counts.get, (0, 1) if spam else (1, 0)
            for tok in self._features(tokens):
                c = get(tok)
                if c is None:
                    counts[tok] = list(first)
                else:
                    c[idx] += 1
        else:
            for tok in self._features(tokens):
                c = counts.get(tok)
                if c is None:
                    if _delta < 0:
                        continue
                    c = counts[tok] = [0, 0]
                c[idx] = max(0, c[idx] + _delta)
                if c[0] == 0 and c[1] == 0:
                    del counts[tok]
        if spam:
            self.nspam = max(0, self.nspam + _delta)
        else:
            self.nham = max(0, self.nham + _delta)
        self._changed()

    def unlearn_tokens(self, tokens: Iterable[str], spam: bool) -> None:
        """Unlearn an already tokenised message (refused, changing nothing, when it was
        not learned with this label: see :meth:`unlearn`)."""
        _check_tokens(tokens, "unlearn_tokens")
        spam = _coerce.spam_label(spam)
        tokens = list(tokens)  # (a generator is read twice: checked, then unlearned)
        self._check_learned(tokens, spam)
        self.learn_tokens(tokens, spam, _delta=-1)

    def _needed(self, tokens: list[str]) -> Mapping[str, int]:
        """How much each token's count went up when these tokens were learned."""
        return dict.fromkeys(tokens, 1) if self.distinct else Counter(tokens)

    def _check_learned(self, tokens: list[str], spam: bool) -> None:
        """A ``UsageError`` when these tokens cannot have been learned with label ``spam``:
        no message of that class was learned, or one of the tokens is counted fewer times
        in that class than learning them would have added."""
        what, other = ("spam", "ham") if spam else ("ham", "spam")
        n = self.nspam if spam else self.nham
        if n == 0:
            raise UsageError(f"unlearn: no message has been learned as {what}, so there is "
                             "nothing to unlearn; nothing was changed")
        needed = self._needed(tokens)

        def fits(idx: int) -> bool:
            counts = self.counts
            return all((c := counts.get(t)) is not None and c[idx] >= k for t, k in needed.items())

        if fits(1 if spam else 0):
            return
        hint = (f" (it looks learned as {other}: unlearn(message, {not spam}))"
                if (self.nham if spam else self.nspam) and fits(0 if spam else 1) else "")
        raise UsageError(f"unlearn: this message was never learned as {what}{hint}; "
                         "nothing was changed (unlearning it would lower the counts of "
                         "other messages' tokens)")

    def train(
        self, messages: Iterable, labels: Iterable[bool] | None = None, *,
        progress: bool | None = None,
    ) -> TokenFilter:
        """Learn many messages: corpus Messages (label taken from them) or bytes with ``labels``.

        ``progress``: a tqdm bar over the messages (``None``: for more than 1,000)."""
        from .corpus import _progress

        items, labs = _training_set(messages, labels)
        for m, spam in _progress(
            zip(items, labs, strict=True), progress, f"training {self.kind}", len(items)
        ):
            self.learn(getattr(m, "raw", m), spam)
        return self

    def __getstate__(self) -> dict:
        # for worker processes (see labkit.filters.batch): the memo is rebuilt there
        state = self.__dict__.copy()
        state["_memo"], state["_memo_key"] = {}, None
        return state

    def _warm(self) -> None:
        """Precompute what scoring many messages needs (a hook: nothing by default)."""

    def _changed(self) -> None:
        """Called after every change of the counts: drops values cached from them.

        Subclasses that cache more extend it (and call ``super()._changed()``)."""
        self._memo_key = None

    # -- scoring -----------------------------------------------------------------------
    def score(self, message: bytes) -> float:
        """Spam probability-like score in [0, 1]; 0.5 when untrained. Never raises."""
        return self.score_tokens(tokenize(message))

    def score_tokens(self, tokens: Sequence[str]) -> float:
        """Score an already tokenised message (subclasses define this or :meth:`rank_tokens`)."""
        return self.score_from_rank(self.rank_tokens(tokens))

    def rank_tokens(self, tokens: Sequence[str]) -> float:
        """A value ordered like the score but not saturated at 0 or 1 (for ROC curves)."""
        return _logit(self.score_tokens(tokens))

    def score_and_rank_tokens(self, tokens: Sequence[str]) -> tuple[float, float]:
        """(``score_tokens``, ``rank_tokens``) of a message, exactly; scored once when one
        of the two is derived from the other by this base class (subclasses may override)."""
        cls = type(self)
        if cls.score_tokens is TokenFilter.score_tokens:  # the score is derived from the rank
            rank = self.rank_tokens(tokens)
            return self.score_from_rank(rank), rank
        if cls.rank_tokens is TokenFilter.rank_tokens:  # the rank is the score's logit
            score = self.score_tokens(tokens)
            return score, _logit(score)
        return self.score_tokens(tokens), self.rank_tokens(tokens)

    def score_from_rank(self, rank: float) -> float:
        """The score that goes with a :meth:`rank_tokens` value (the logistic function)."""
        return 1.0 / (1.0 + math.exp(-max(min(rank, 700.0), -700.0)))

    def status(self, score: float) -> str:
        """ "spam" at or above ``spam_cutoff``, "ham" below ``ham_cutoff``, else "unsure"."""
        if score >= self.spam_cutoff:
            return "spam"
        if score < min(self.ham_cutoff, self.spam_cutoff):
            return "ham"
        return "unsure"

    def classify(self, message: bytes) -> str:
        """ "ham", "unsure" or "spam"."""
        return self.status(self.score(message))

    def explain(self, message: bytes, n: int = 15) -> Explanation:
        """The clues that decided the score of ``message``, the ``n`` most decisive first.

        Only tokens the score was computed from are shown (for Fisher and Robinson
        those with |f(w) - 0.5| >= ``min_dev``, at most ``max_discriminators``; for
        Graham its ``max_discriminators`` most extreme tokens); a token at 0.5, or one
        the filter left out, said nothing and is not listed.
        """
        tokens = tokenize(message)
        s = self.score_tokens(tokens)
        used, rule = self._explain_clues(tokens)
        steps = [f"{len(tokens)} tokens, {len(set(tokens))} distinct",
                 f"{len(used)} clues decided the score ({rule})"]
        if len(used) > n:
            steps.append(f"showing the {n} most decisive")
        steps.append(f"score {s:.4f}")
        return Explanation(
            filter=type(self).__name__,
            score=s,
            status=self.status(s),
            clues=tuple((t, round(p, 4)) for t, p in used[:n]),
            steps=tuple(steps),
        )

    def _explain_clues(self, tokens: Sequence[str]) -> tuple[list[tuple[str, float]], str]:
        """(the (token, probability) pairs the score used, most decisive first; the rule).

        By default every token the filter has counts for, except those at exactly 0.5
        (their log-odds are 0); subclasses that pick clues say which they picked."""
        if not self.trained:
            return [], "untrained: no token has a probability yet"
        counts = self.counts
        probs = ((t, self.probability(t)) for t in set(tokens) if t in counts)
        # ties broken by the token text, so the clues do not depend on set order
        used = sorted(((t, p) for t, p in probs if p != 0.5),
                      key=lambda kv: (-abs(kv[1] - 0.5), kv[0]))
        return used, "known tokens whose probability is not 0.5"

    def probability(self, token: str) -> float:
        """This filter's per-token spam probability (its default for unknown tokens)."""
        c = self.counts.get(token)
        if c is None or not self.trained:
            return self._unknown_probability()
        return self._f(c[0], c[1])

    def _unknown_probability(self) -> float:
        return 0.5

    def _f(self, h: int, s: int) -> float:
        """Per-token probability from its ham and spam counts."""
        return 0.5

    # -- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Everything needed to rebuild the filter, as JSON-ready data."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "kind": self.kind,
            "params": self.params(),
            "nham": self.nham,
            "nspam": self.nspam,
            "counts": self.counts,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the filter as JSON (gzip-compressed when the name ends in ``.gz``)."""
        path = _save_path(path)
        data = json.dumps(self.to_dict(), separators=(",", ":")).encode("utf-8")
        _write_atomic(path, gzip.compress(data) if path.suffix == ".gz" else data)
        return path

    @classmethod
    def from_dict(cls, data: dict) -> TokenFilter:
        """Rebuild a filter from :meth:`to_dict` data (checks format and types)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise UsageError("not a labkit filter file")
        kind = data.get("kind")
        klass = KINDS.get(kind) if cls is TokenFilter else cls
        if klass is None or klass.kind != kind:
            raise UsageError(f"filter file holds a {kind!r} filter, not {cls.kind!r}")
        params = {}
        for k, v in (data.get("params") or {}).items():
            if not hasattr(klass, k):
                continue
            default = getattr(klass, k)
            if isinstance(default, int) and not isinstance(default, bool):
                # a whole-number parameter (max_discriminators, min_sender ...) stays whole;
                # files written before it did may hold 15.0
                params[k] = _whole_param(v, k)
            else:
                params[k] = _number_param(v, k)
        f = klass(**params)
        f.nham = _whole(data.get("nham", 0), "nham")
        f.nspam = _whole(data.get("nspam", 0), "nspam")
        counts = data.get("counts") or {}
        if not isinstance(counts, dict):
            raise UsageError("filter file: counts must be an object")
        f.counts = {str(t): _count_pair(c) for t, c in counts.items()}
        if min(f.nham, f.nspam) < 0 or any(h < 0 or s < 0 for h, s in f.counts.values()):
            raise UsageError("filter file: counts must not be negative")
        f._rebuild()
        return f

    def _rebuild(self) -> None:
        """Recompute derived totals after loading."""
        self._changed()

    @classmethod
    def load(cls, path: str | os.PathLike) -> TokenFilter:
        """Read a filter written by :meth:`save` (a damaged file: UsageError naming it)."""
        return _from_file(path, cls.from_dict)


def _training_set(messages: Any, labels: Any) -> tuple[list, list[bool]]:
    """(messages, labels as bools) for ``train``, every label checked before anything is
    learned; labels as text ("spam"/"ham") are a ``TypeError`` (``bool("ham")`` is True),
    a count that differs a ``UsageError``."""
    if isinstance(messages, (bytes, bytearray, str)) or hasattr(messages, "raw"):
        raise TypeError(f"train takes a list of messages, not one {type(messages).__name__}: "
                        "for one message use learn(message, spam)")
    items = list(messages)
    if labels is None:
        unlabelled = [m for m in items if not hasattr(m, "spam")]
        if unlabelled:
            raise TypeError(f"train(messages) without labels needs corpus messages (from "
                            f"lk.filters.corpus.load()), which carry their label; "
                            f"{len(unlabelled)} of {len(items)} are "
                            f"{type(unlabelled[0]).__name__}: pass labels=[True, False, ...] "
                            "(True for spam)")
        labs = [m.spam for m in items]
    else:
        if isinstance(labels, (str, bytes, bool)):
            raise TypeError(f"labels must be a list with one True (spam) or False (ham) per "
                            f"message, not {type(labels).__name__}")
        labs = list(labels)
    if len(labs) != len(items):
        raise UsageError(f"train: {len(items)} messages but {len(labs)} labels; give one "
                         "label per message")
    out = []
    for i, x in enumerate(labs):
        try:
            out.append(_coerce.spam_label(x))
        except TypeError:
            raise TypeError(f"labels must be True (spam) or False (ham), not {x!r} (label "
                            f"{i}): text such as 'ham' would count as True, so as spam") from None
    return items, out


def _whole(value: Any, what: str) -> int:
    """A count read from a filter file: a JSON whole number, else a ``UsageError``
    (``int("12")`` or ``int(1.7)`` would quietly read a damaged file)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"filter file: {what} must be a whole number, not {value!r}")
    return value


def _whole_param(value: Any, name: str) -> int:
    """A whole-number parameter read from a filter file: ``15`` or ``15.0`` (files written
    before such parameters stayed whole hold floats) is 15; ``2.5`` is a damaged file."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _whole(value, name)


def _number_param(value: Any, name: str) -> float:
    """A number parameter read from a filter file: a JSON number (``2`` or ``0.3``) as a
    float; text, ``true`` or ``null`` is a damaged file (``float("0.3")`` and
    ``float(True)`` would quietly read it).  Its range is the filter's own check."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"filter file: {name} must be a number, not {value!r}")
    return float(value)


def _count_pair(value: Any) -> list[int]:
    """A token's [ham count, spam count] read from a filter file, checked."""
    if not isinstance(value, list) or len(value) != 2:
        raise UsageError(f"filter file: a token's counts are [ham, spam], not {value!r}")
    return [_whole(value[0], "a count"), _whole(value[1], "a count")]


class _PairMemo(dict):
    """(ham count, spam count) -> f(w), each pair computed once, on its first look-up."""

    def __init__(self, f: Callable[[Sequence[int]], float]) -> None:
        super().__init__()
        self._f = f

    def __missing__(self, hs: tuple[int, int]) -> float:
        value = self[hs] = self._f(hs)
        return value


class _Robinsonian(TokenFilter):
    """f(w) = (s*x + n*p(w)) / (s + n), with p(w) from ham and spam ratios."""

    strength: float = 0.45  # s
    prior: float = 0.5  # x
    min_dev: float = 0.1
    max_discriminators: int = 150

    def _unknown_probability(self) -> float:
        return self.prior

    def _f(self, h: int, s: int) -> float:
        """Robinson's f(w)."""
        hr = h / self.nham
        sr = s / self.nspam
        p = sr / (hr + sr) if hr + sr else self.prior
        n = h + s
        return (self.strength * self.prior + n * p) / (self.strength + n)

    def _clues(self, tokens: Iterable[str]) -> list[float]:
        """f(w) of the tokens with |f - 0.5| >= min_dev, at most max_discriminators of them."""
        if not self.trained:
            return []
        table, chosen = self._pick(tokens)
        return [math.exp(math.log(table[t])) for t in chosen]

    def _explain_clues(self, tokens: Sequence[str]) -> tuple[list[tuple[str, float]], str]:
        """The clue tokens the score combines (:meth:`_pick`), most extreme f(w) first."""
        rule = (f"|f(w) - 0.5| >= min_dev {self.min_dev:g}, at most "
                f"max_discriminators {self.max_discriminators}")
        if not self.trained:
            return [], "untrained: no token has a probability yet"
        table, chosen = self._pick(tokens)
        used = sorted(((t, table[t]) for t in chosen), key=lambda kv: (-abs(kv[1] - 0.5), kv[0]))
        return used, rule

    def _clue_sums(self, tokens: Iterable[str]) -> tuple[int, float, float] | None:
        """(number of clues, sum ln f, sum ln(1 - f)); None when untrained or clueless.

        The compiled module does it when it can (:meth:`_c_clue_sums`), with the same
        result to the last bit; :meth:`_py_clue_sums` otherwise.
        """
        if not self.trained:
            return None
        sums = self._c_clue_sums(tokens)
        if sums is None:
            return self._py_clue_sums(tokens)
        n, ln_f, ln_1f, _ = sums
        return (n, ln_f, ln_1f) if n else None

    def _c_clue_sums(
        self, tokens: Iterable[str], senders: dict[str, int] | None = None,
        senders_index: Any = None,
    ) -> tuple[int, float, float, int] | None:
        """(n, sum ln f, sum ln(1 - f), senders met) from the compiled module, over the
        distinct tokens found in the complete f(w) table (``senders``: token -> 1 for a
        known-good, 2 for a known-bad sender, ``senders_index`` the module's index of
        it or None; "met" ORs those of the tokens).  The table is read through the
        module's index of it (:meth:`_index`), kept in the memo (so it goes when the
        counts or parameters change).

        None when it cannot answer: not built, untrained, the memo still being filled
        (:meth:`_pick` keeps that logic), ``tokens`` not a list, tuple, set or frozenset,
        or more than ``max_discriminators`` clues (:meth:`_pick` chooses among them).
        """
        if _cclues is None or type(tokens) not in _C_TOKENS or not self.trained:
            return None
        memo = self._current_memo()
        if not memo["full"]:
            return None
        return _cclues.clue_sums(
            memo["f"], tokens, int(self.max_discriminators), senders, self._index(memo),
            senders_index,
        )

    @staticmethod
    def _index(memo: dict) -> Any:
        """The compiled module's index of the complete table ``memo["f"]``: the one
        :meth:`_fill` built with the table, else (after :meth:`_py_fill`) built on first
        use and kept in the memo (None when a key is not a str)."""
        index = memo.get("index", False)
        if index is False:
            index = memo["index"] = _cclues.index(memo["f"])
        return index

    def _py_clue_sums(self, tokens: Iterable[str]) -> tuple[int, float, float] | None:
        """:meth:`_clue_sums` in Python (the reference for the compiled module).

        The sums are exactly rounded (``math.fsum``), so they do not depend on the order
        in which a set yields the clues (which changes with ``PYTHONHASHSEED``): the same
        message gets the same score in every process.
        """
        if not self.trained:
            return None
        f = self._clue_values(tokens)
        if not f:
            return None
        return len(f), math.fsum(map(math.log, f)), math.fsum(map(math.log1p, map(neg, f)))

    def _clue_values(self, tokens: Iterable[str]) -> list[float]:
        """f(w) of the clue tokens of ``tokens`` (in no particular order).

        With the complete table (see :meth:`_pick`) this is one look-up per distinct
        token, the values straight from the table; :meth:`_pick` decides when the memo
        is still being filled, or when more than ``max_discriminators`` tokens are clues.
        """
        memo = self._current_memo()
        if memo["full"]:
            toks = tokens if isinstance(tokens, (set, frozenset)) else set(tokens)
            f = list(filter(None, map(memo["f"].get, toks)))  # non-clues are not in the table
            if len(f) <= self.max_discriminators:
                return f
            tokens = toks
        table, chosen = self._pick(tokens)
        return list(map(table.__getitem__, chosen))

    def _pick(self, tokens: Iterable[str]) -> tuple[dict[str, float], Iterable[str]]:
        """(f(w) of clue tokens, the clue tokens of ``tokens``): the scoring hot path.

        f(w) depends only on the token's (ham, spam) counts, the totals and the
        parameters, so it is memoised until one of them changes (:meth:`_changed`).
        The first few messages after a change fill the memo lazily (only their own
        tokens: one score after each learned message, as in online evaluation, stays
        cheap); from the ``_FULL_AFTER``-th on, every token's f(w) is computed at once,
        once per distinct count pair.  A message's clues are then one set intersection.
        """
        memo = self._current_memo()
        table = memo["f"]
        if not memo["full"]:
            memo["uses"] += 1
            if memo["uses"] > _FULL_AFTER:
                table = self._fill(memo)
            else:
                # only tokens with counts can be clues; most of a message's word pairs have none
                toks = self.counts.keys() & (
                    tokens if isinstance(tokens, (set, frozenset)) else set(tokens)
                )
                missing = list(toks - memo["seen"])
                if missing:
                    memo["seen"].update(missing)
                    found = map(self._clue_f(), map(self.counts.__getitem__, missing))
                    table.update(filter(itemgetter(1), zip(missing, found, strict=True)))
                tokens = toks
        chosen = table.keys() & tokens
        if len(chosen) > self.max_discriminators:
            # the most extreme f(w) first: |ln f - ln(1 - f)| grows with |f - 0.5|;
            # ties broken by the token text, so the pick does not depend on set order
            log, log1p = math.log, math.log1p
            chosen = heapq.nlargest(
                self.max_discriminators,
                chosen,
                key=lambda t: (abs(log(table[t]) - log1p(-table[t])), t),
            )
        return table, chosen

    def _current_memo(self) -> dict:
        """The f(w) memo for the current counts and parameters (a new, empty one after a change)."""
        key = (id(self.counts), self.nham, self.nspam, self.strength, self.prior, self.min_dev)
        if self._memo_key != key:
            self._memo = {"seen": set(), "f": {}, "uses": 0, "full": False}
            self._memo_key = key
        return self._memo

    def _warm(self) -> None:
        """Compute every token's f(w) now (and the compiled look-up's index of them):
        before scoring a batch, or forking workers that share it."""
        if self.trained:
            memo = self._current_memo()
            if not memo["full"]:
                self._fill(memo)
            if _cclues is not None:
                self._index(memo)

    def _fill(self, memo: dict) -> dict[str, float]:
        """f(w) of every counted token that is a clue, computed once per distinct count pair.

        The compiled module builds the table when it can (``_cclues.indexed_clue_table``:
        the same tokens in the same order, the same floats to the last bit, and the
        compiled look-up's index of them as ``memo["index"]``); :meth:`_py_fill`
        otherwise.  The C code computes in double, so it takes only float parameters
        (a whole-number one such as ``strength=1`` keeps Python's exact int arithmetic)
        and leaves to Python any count beyond 2**53 or counts that are not two ints.
        """
        # (None: not built, or built before it)
        make = getattr(_cclues, "indexed_clue_table", None)
        params = (self.strength, self.prior, self.min_dev)
        made = None
        if (
            make is not None
            and type(self.counts) is dict
            and all(type(v) is float for v in params)
            and type(self.nham) is int
            and type(self.nspam) is int
        ):
            made = make(self.counts, self.nham, self.nspam, *params)
        if made is None:
            return self._py_fill(memo)
        # the compiled look-up's index comes with the table, built in the same pass
        # (cheaper than _index reading the table again: each key is still in cache)
        memo["f"], memo["index"] = made
        memo["seen"] = set()
        memo["full"] = True
        return memo["f"]

    def _py_fill(self, memo: dict) -> dict[str, float]:
        """:meth:`_fill` in Python (the reference for the compiled module)."""
        counts = self.counts
        by_pair = _PairMemo(self._clue_f())
        # one pass; f(w) computed on the first sight of each (ham, spam) pair
        table = memo["f"] = dict(
            filter(
                itemgetter(1),
                zip(counts, map(by_pair.__getitem__, map(tuple, counts.values())), strict=True),
            )
        )
        memo["seen"] = set()
        memo["full"] = True
        memo.pop("index", None)  # the compiled look-up's index of the old table, if any
        return table

    def _clue_f(self) -> Callable[[Sequence[int]], float]:
        """A function of (ham count, spam count) giving Robinson's f(w) when it is a clue
        (|f - 0.5| >= min_dev and 0 < f < 1), else 0.0; the same arithmetic as :meth:`_f`
        but with the totals' reciprocals taken once."""
        s, x = self.strength, self.prior
        sx, inv_h, inv_s = s * x, 1.0 / self.nham, 1.0 / self.nspam
        lo, hi = 0.5 - self.min_dev, 0.5 + self.min_dev

        def f(hs: Sequence[int]) -> float:
            h, n_s = hs
            hr, sr = h * inv_h, n_s * inv_s
            n = h + n_s
            p = (sx + n * (sr / (hr + sr) if hr + sr else x)) / (s + n)
            return p if (p <= lo or p >= hi) and 0.0 < p < 1.0 else 0.0

        return f


class Graham(TokenFilter):
    """Paul Graham's "A Plan for Spam" (2002).

    p(w) = min(1, b/nspam) / (min(1, 2g/nham) + min(1, b/nspam)), clamped to
    [0.01, 0.99]; tokens seen fewer than ``min_count`` times (g counted twice) are
    ignored and unknown tokens get 0.4; the 15 tokens farthest from 0.5 are combined
    with prod(p) / (prod(p) + prod(1 - p)).  Spam at 0.9.
    """

    kind = "graham"
    spam_cutoff = 0.9
    ham_cutoff = 0.9
    unknown: float = 0.4
    min_count: int = 5
    max_discriminators: int = 15
    ham_bias: float = 2.0

    def _unknown_probability(self) -> float:
        return self.unknown

    def _f(self, h: int, s: int) -> float:
        """Graham's p(w) (``unknown`` for rare tokens)."""
        g = self.ham_bias * h
        if g + s < self.min_count:
            return self.unknown
        hr = min(1.0, g / self.nham)
        sr = min(1.0, s / self.nspam)
        return max(0.01, min(0.99, sr / (hr + sr)))

    def _top(self, tokens: Sequence[str]) -> list[tuple[float, str, float]]:
        """(|p - 0.5|, token, p) of the ``max_discriminators`` most interesting distinct
        tokens, most interesting first: what :meth:`rank_tokens` combines."""
        counts = self.counts
        clues = []
        for tok in set(tokens):
            c = counts.get(tok)
            p = self.unknown if c is None else self._f(c[0], c[1])
            clues.append((abs(p - 0.5), tok, p))
        # ties (many tokens sit at 0.01 or 0.99) are broken by the token text, so the
        # result does not depend on set order (which changes with PYTHONHASHSEED)
        return heapq.nlargest(self.max_discriminators, clues)

    def _explain_clues(self, tokens: Sequence[str]) -> tuple[list[tuple[str, float]], str]:
        """The tokens :meth:`rank_tokens` combines (the same pick), less any at 0.5."""
        if not self.trained:
            return [], "untrained: no token has a probability yet"
        used = [(tok, p) for _, tok, p in self._top(tokens) if p != 0.5]
        return used, (f"the {self.max_discriminators} tokens farthest from 0.5, "
                      f"unknown ones at {self.unknown:g}")

    def rank_tokens(self, tokens: Sequence[str]) -> float:
        """ln prod(p) - ln prod(1 - p) over the most interesting tokens (the logit of the score)."""
        if not self.trained:
            return 0.0
        top = [p for _, _, p in self._top(tokens)]
        # product in log space to avoid underflow
        log_s = sum(math.log(p) for p in top)
        log_h = sum(math.log(1.0 - p) for p in top)
        return log_s - log_h


class Robinson(_Robinsonian):
    """Gary Robinson's geometric-mean method (2002).

    P = 1 - (prod(1 - f))^(1/n), Q = 1 - (prod f)^(1/n), S = (P - Q) / (P + Q),
    score = (1 + S) / 2, over the tokens with |f - 0.5| >= ``min_dev``.
    """

    kind = "robinson"
    spam_cutoff = 0.6
    ham_cutoff = 0.6

    def score_tokens(self, tokens: Sequence[str]) -> float:
        """Geometric-mean combination (0.5 when untrained or without clues)."""
        return self._combine(self._clue_sums(tokens))

    @staticmethod
    def _combine(sums: tuple[int, float, float] | None) -> float:
        """The score for :meth:`_clue_sums`' (n, sum ln f, sum ln(1 - f)) (None: 0.5)."""
        if sums is None:
            return 0.5
        n, ln_f, ln_1f = sums
        P = 1.0 - math.exp(ln_1f / n)
        Q = 1.0 - math.exp(ln_f / n)
        if P + Q == 0:
            return 0.5
        return (1.0 + (P - Q) / (P + Q)) / 2.0


def chi2q(x2: float, v: int) -> float:
    """P(chi-square with ``v`` (even) degrees of freedom >= ``x2``).

    The series sum_{i<v/2} e^(-m) m^i / i!, with m = x2/2.
    """
    if v % 2:
        raise ValueError("chi2q needs an even number of degrees of freedom")
    m = x2 / 2.0
    term = math.exp(-m)
    total = term
    for i in range(1, v // 2):
        term *= m / i
        total += term
    return min(total, 1.0)


def log_chi2_tails(x2: float, v: int) -> tuple[float, float]:
    """(ln Q, ln P): logs of the upper and lower tails of chi-square with even ``v``.

    Computed from the Poisson series in log space, so neither tail underflows to 0
    (which would tie the best-ranked messages in a ROC curve).
    """
    if v % 2:
        raise ValueError("chi2 tails need an even number of degrees of freedom")
    m = max(x2 / 2.0, 1e-300)
    k = v // 2
    log_m = math.log(m)
    exp = math.exp
    lnfact = _log_factorials(k + 1)
    # upper tail Q = sum_{i<k} e^-m m^i / i!  (term i: -m + i ln m - ln i!)
    logs = list(map(sub, map(add, repeat(-m, k), map(mul, range(k), repeat(log_m))), lnfact))
    top = max(logs)
    log_q = top + math.log(sum(map(exp, map(sub, logs, repeat(top)))))
    log_q = min(log_q, 0.0)
    if log_q < -0.7:
        return log_q, math.log1p(-math.exp(log_q))
    # lower tail P = sum_{i>=k} e^-m m^i / i!: terms shrink once i > m
    logs = []
    i = k
    while True:
        if i >= len(lnfact):
            lnfact = _log_factorials(2 * i + 2)
        t = -m + i * log_m - lnfact[i]
        logs.append(t)
        if i > m and t < logs[0] - 40:
            break
        i += 1
    top = max(logs)
    log_p = min(top + math.log(sum(map(exp, map(sub, logs, repeat(top))))), 0.0)
    return log_q, log_p


#: ln i! for i = 0, 1, ... (``math.lgamma(i + 1)``), grown on demand by _log_factorials
_LN_FACTORIALS: list[float] = [0.0]


def _log_factorials(n: int) -> list[float]:
    """A list holding ln i! = ``math.lgamma(i + 1)`` for at least i < ``n``.

    The shared table is replaced, never extended in place, so a thread always reads a
    complete list."""
    global _LN_FACTORIALS
    table = _LN_FACTORIALS
    if len(table) < n:
        table = table + list(map(math.lgamma, range(len(table) + 1, max(n, 2 * len(table)) + 1)))
        _LN_FACTORIALS = table
    return table


def _logaddexp(a: float, b: float) -> float:
    hi, lo = (a, b) if a > b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


class Fisher(_Robinsonian):
    """Robinson's f(w) with Fisher's chi-square combining (the SpamBayes classifier).

    H = chi2Q(-2 sum ln f, 2n), S = chi2Q(-2 sum ln(1 - f), 2n);
    score = (1 + H - S) / 2.  Below ``ham_cutoff`` ham, at or above ``spam_cutoff``
    spam, in between *unsure*.  :meth:`rank_tokens` gives logit(score) without
    floating-point saturation, for ROC curves.
    """

    kind = "fisher"
    ham_cutoff = 0.2
    spam_cutoff = 0.9

    def rank_tokens(self, tokens: Sequence[str]) -> float:
        """logit of the score: ln(H + (1 - S)) - ln((1 - H) + S), exact in log space."""
        sums = self._clue_sums(tokens)
        if sums is None:
            return 0.0
        n, ln_h, ln_s = sums
        h_up, h_low = log_chi2_tails(-2.0 * ln_h, 2 * n)
        s_up, s_low = log_chi2_tails(-2.0 * ln_s, 2 * n)
        return _logaddexp(h_up, s_low) - _logaddexp(h_low, s_up)


class Multinomial(TokenFilter):
    """Multinomial naive Bayes over token occurrences, Laplace (add-``alpha``) smoothing.

    log P(spam|d) - log P(ham|d) = log(nspam/nham)
    + sum_w c(w,d) [log P(w|spam) - log P(w|ham)], with
    P(w|c) = (count(w,c) + alpha) / (total(c) + alpha |V|); score = the logistic of that
    difference, scaled by ``temperature`` (1 gives the exact posterior).
    """

    kind = "multinomial"
    distinct = False
    spam_cutoff = 0.5
    ham_cutoff = 0.5
    alpha: float = 1.0
    temperature: float = 1.0

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.total = [0, 0]

    def learn_tokens(self, tokens: Iterable[str], spam: bool, _delta: int = 1) -> None:
        """Learn token occurrences (duplicates count)."""
        _check_tokens(tokens, "learn_tokens")
        spam = _coerce.spam_label(spam)
        tokens = list(tokens)
        idx = 1 if spam else 0
        counts = self.counts
        for tok in tokens:
            c = counts.get(tok)
            if c is None:
                if _delta < 0:
                    continue
                c = counts[tok] = [0, 0]
            if c[idx] + _delta >= 0:
                c[idx] += _delta
                self.total[idx] += _delta
            if c[0] == 0 and c[1] == 0:
                del counts[tok]
        if spam:
            self.nspam = max(0, self.nspam + _delta)
        else:
            self.nham = max(0, self.nham + _delta)

    def _rebuild(self) -> None:
        self.total = [
            sum(c[0] for c in self.counts.values()),
            sum(c[1] for c in self.counts.values()),
        ]

    def log_odds(self, tokens: Iterable[str]) -> float:
        """log P(spam|tokens) - log P(ham|tokens)."""
        a = self.alpha
        v = len(self.counts) or 1
        dh = self.total[0] + a * v
        ds = self.total[1] + a * v
        lo = math.log(self.nspam / self.nham)
        base = math.log(dh / ds)
        counts = self.counts
        for tok in tokens:
            c = counts.get(tok)
            if c is not None:
                lo += math.log((c[1] + a) / (c[0] + a)) + base
        return lo

    def rank_tokens(self, tokens: Sequence[str]) -> float:
        """The log-odds (0 when untrained)."""
        return self.log_odds(tokens) if self.trained else 0.0

    def score_from_rank(self, rank: float) -> float:
        """The posterior for a log-odds value, scaled by ``temperature``."""
        return super().score_from_rank(rank / self.temperature)

    def score_tokens(self, tokens: Sequence[str]) -> float:
        """Posterior P(spam | tokens) (0.5 when untrained)."""
        return self.score_and_rank_tokens(tokens)[0]

    def score_and_rank_tokens(self, tokens: Sequence[str]) -> tuple[float, float]:
        """(posterior, log-odds), from one pass over the tokens."""
        if not self.trained:
            return 0.5, 0.0
        rank = self.log_odds(tokens)
        z = rank / self.temperature
        if z < -700:
            return 0.0, rank
        if z > 700:
            return 1.0, rank
        return 1.0 / (1.0 + math.exp(-z)), rank

    def _f(self, h: int, s: int) -> float:
        """P(spam | token) from the smoothed per-class token probabilities."""
        a, v = self.alpha, len(self.counts)
        ps = (s + a) / (self.total[1] + a * v)
        ph = (h + a) / (self.total[0] + a * v)
        return ps / (ps + ph)


KINDS: dict[str, type[TokenFilter]] = {k.kind: k for k in (Graham, Robinson, Fisher, Multinomial)}


def _save_path(path: Any) -> Path:
    """``path`` as a Path; a ``TypeError`` in words for anything that is not a file name."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name such as 'bayes.json' (or a pathlib.Path), "
                        f"not {type(path).__name__}")
    return Path(path)


class _WriteError(UsageError, OSError):
    """A filter file that could not be written: a :class:`UsageError` in words that is
    still an ``OSError`` (what ``save`` raised before), with the system's ``strerror``."""

    def __init__(self, errno: int | None, message: str, strerror: str | None) -> None:
        super().__init__(message)
        self.errno, self.strerror = errno, strerror

    __str__ = Exception.__str__


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` all at once (:func:`labkit.paths.atomic_path`), so a
    failed save (no such folder, read-only, disk full) leaves any earlier file at
    ``path`` whole.  A failure is a :class:`UsageError` naming the file."""
    if path.exists() and not path.is_symlink() and not path.is_file():
        raise UsageError(f"{path}: not a regular file (a folder or a device); give the "
                         "name of a file to write the filter to")
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        raise _WriteError(exc.errno, f"{path}: cannot write the filter file "
                          f"({exc.strerror or exc}); nothing was written there",
                          exc.strerror) from exc


def _read_json(path: str | os.PathLike) -> Any:
    """The JSON in ``path`` (gunzipped when compressed); UsageError naming the file if not."""
    try:
        raw = _save_path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the filter file ({exc.strerror or exc})") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupted archive
            raise UsageError(f"{path}: damaged gzip filter file ({exc})") from exc
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"{path}: not a JSON filter file ({exc})") from exc


def _from_file(path: str | os.PathLike, build: Callable[[Any], Any]) -> Any:
    """``build(data)`` for the JSON in ``path``; any problem is a UsageError naming the file."""
    data = _read_json(path)
    try:
        return build(data)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from exc
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        # JSON of the right shape at the top but wrong inside (a string where counts go ...)
        raise UsageError(f"{path}: damaged filter file ({type(exc).__name__}: {exc})") from exc


def make(kind: str, **params: Any) -> TokenFilter:
    """A new filter by name: ``graham``, ``robinson``, ``fisher``, ``multinomial``,
    ``sender-robinson`` (:mod:`labkit.filters.reputation`), ``graded-sender-robinson``
    (:mod:`labkit.filters.graded`), ``svm-sender-robinson``
    (:mod:`labkit.filters.ensemble`), or ``sklearn`` for the scikit-learn peer."""
    kind = _coerce.text(kind, "kind", example="robinson").strip().lower()
    if kind == "sklearn":
        from .sklearn_peer import SklearnNB

        return SklearnNB(**params)  # type: ignore[return-value]
    if kind == _ENSEMBLE:
        from .ensemble import SVMSenderRobinson

        return SVMSenderRobinson(**params)  # type: ignore[return-value]
    if kind not in KINDS:
        known = [*KINDS, _ENSEMBLE, "sklearn"]
        near = difflib.get_close_matches(kind, known, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise UsageError(f"unknown filter {kind!r}{hint}; choose from {', '.join(known)}")
    return KINDS[kind](**params)


#: the kind of :class:`labkit.filters.ensemble.SVMSenderRobinson` (not a TokenFilter)
_ENSEMBLE = "svm-sender-robinson"


def load(path: str | os.PathLike) -> TokenFilter:
    """Load any filter saved with ``save`` (its kind is read from the file).

    A missing, truncated or damaged file, or JSON that is not a labkit filter, raises
    :class:`~labkit.errors.UsageError` naming the file.
    """

    def build(data: Any) -> TokenFilter:
        if isinstance(data, dict) and data.get("kind") == "sklearn":
            from .sklearn_peer import SklearnNB

            f = SklearnNB.from_dict(data)
            if f.trained and "class_count" not in data:
                raise UsageError("sklearn filter file: trained, but its counts are missing")
            return f  # type: ignore[return-value]
        if isinstance(data, dict) and data.get("kind") == _ENSEMBLE:
            from .ensemble import SVMSenderRobinson

            return SVMSenderRobinson.from_dict(data)  # type: ignore[return-value]
        return TokenFilter.from_dict(data)

    return _from_file(path, build)


__all__ = [
    "TokenFilter",
    "Graham",
    "Robinson",
    "Fisher",
    "Multinomial",
    "Explanation",
    "chi2q",
    "log_chi2_tails",
    "make",
    "load",
    "KINDS",
]
