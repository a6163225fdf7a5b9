"""Two kinds of evidence in one rank: SenderRobinson's words and senders, plus a linear
SVM on the raw bytes.

:class:`~labkit.filters.reputation.SenderRobinson` reads *tokens*: words, header
fields, sender identities.  The TREC spam-track filters that did best on small
collections read something else as well: the message's first few thousand bytes as
overlapping **character 4-grams** (``"Subj"``, ``"ubje"``, ``"bjec"`` ...), each
present or absent (binary), the vector scaled to length 1, and a linear **support
vector machine** over them (Sculley & Wachman, "Relaxed online SVMs for spam
filtering", SIGIR 2007).  4-grams see what a tokenizer throws away: HTML tag soup,
encodings, punctuation runs, obfuscated words, header layout.

:class:`SVMSenderRobinson` adds the two:

    rank = SenderRobinson rank + weight * SVM margin

and its score is the logistic of the rank, as for the Bayes filters.  Alone, the SVM
is worse than SenderRobinson on this corpus: repeated 5-fold CV on the training half of
the MD5 split (``benchmarks/CV-filters.md``, round 6) gives mean (1-AUC)% 0.0349
against 0.0098.  Added with a small ``weight`` (0.3, chosen by that CV) it removes a
third of SenderRobinson's remaining ranking errors (0.0065, better on each of six fold
seeds): the two make different mistakes.  The price is some speed: the grams are
hashed with NumPy (:mod:`labkit.filters.grams`, the same features as scikit-learn's
``HashingVectorizer``, eight times faster), and on the 3,059 test messages of the MD5
split classifying took 1.98 s of CPU against SenderRobinson's 1.57 s; batch training,
the SVM fit included, 4.9 s against 2.4 s (the script is in the twelfth stop's notes of
``benchmarks/RESULTS-filters.md``).  When the optional compiled module
``labkit.filters._cgrams`` is built, the SVM margin is computed in C, message by
message, to the same last bit: on those 3,059 messages 26 us of CPU a message instead
of 69 us (all at once; 34 against 97 us one message at a time, as :meth:`score` does).
A caution: the gain is in the body of the ranking, not at its very top.
A threshold that must let no ham through is set by the few worst hams, and in the
held-out trials of the same write-up this filter needed a larger margin
(:data:`MARGIN`) than SenderRobinson to stay at zero false positives, so it caught no
more spam there.

Training is incremental in the interface (``learn`` one message at a time, in any
order) but not in the SVM: it is a batch model.  The filter keeps the first ``head``
bytes of every learned message with its label, and refits the SVM (scikit-learn's
:class:`~sklearn.svm.LinearSVC`, fixed ``random_state``, so a refit on the same
examples gives the same model) the next time it scores after a change; ``train``
(many messages at once) fits at its end, so a batch training pays for the fit and
the first score does not.  ``unlearn``
removes the kept example and refits too, so it is exact.  ``save`` writes the words'
counts and the kept examples (JSON, never pickle); ``load`` refits.  The kept bytes
make a saved filter large (about 4 kB per learned message), and a refit costs a few
seconds per 3,000 messages.  So online (TREC-style) evaluation, which learns after every
message and scores the next, refits once per message and grows quadratically: 300
messages (every 20th of the corpus in date order) took 22 s of CPU against
SenderRobinson's 0.4 s here (51 s before the grams were hashed with NumPy).  Evaluate this filter on
a split or by cross-validation instead.

Round 7 added two header signals of the message's **origin relay** (the first server
outside private networks that handed it on, :mod:`labkit.filters.origin`): *clean*
(that server's HELO and reverse-DNS names agree and the name is not a dynamic pool's)
and *aligned* (the From address is in the reverse-DNS name's organisation).  With
``clean_origin`` and ``aligned_origin`` above 0,

    rank = SenderRobinson rank + weight * SVM margin
           - (clean_origin * clean + aligned_origin * aligned)

(each signal 1 or 0).  Both weights are 0 by default, which gives the ranks of the
filter without them to the last bit.  They lower the rank of legitimate bulk mail,
which sent from a company's own, properly named server is the ham the words rank
worst; in repeated CV on the training half, 0.1 and 0.2 lowered the mean (1-AUC)% and
the threshold margin needed for zero false positives (``benchmarks/CV-filters.md``,
round 7).  They are weak evidence: a spammer with his own server and domain meets both.
They cost about 22 us of CPU a message (the trace fields are read again, not taken
from the tokenizer).

Not used in the labs (lab 09 teaches its first half, SenderRobinson): it is the best
filter of the benchmark (``benchmarks/filters.py``).
"""

from __future__ import annotations

import base64
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import _coerce
from ..auth.orgdomain import psl_org_domain
from ..errors import UsageError
from .bayes import FORMAT, VERSION, TokenFilter, _from_file, _number_param, _whole_param
from .corpus import Message
from .grams import gram_margins, gram_matrix
from .origin import origin_signals
from .reputation import SenderRobinson
from .tokens import tokenize

#: SVM weights tried by :func:`choose` (the rank is SenderRobinson's plus weight x margin)
WEIGHTS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)
#: threshold margin (see :func:`labkit.filters.tuning.margin_rank`): the smallest with
#: zero false positives in all 20 held-out half-split trials of the training half for
#: the CV-tied weights 0.3 and 0.2 (``benchmarks/CV-filters.md``, round 6; 0.3 gave 19/20)
MARGIN = 0.35


def origin_shift(message: bytes, clean_origin: float, aligned_origin: float) -> float:
    """What the origin relay's signals take off a message's rank:
    ``clean_origin * clean + aligned_origin * aligned`` (:func:`labkit.filters.origin.origin_signals`)."""
    clean, aligned = origin_signals(message)
    return clean_origin * clean + aligned_origin * aligned


def _logistic(rank: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(rank, 700.0), -700.0)))


class SVMSenderRobinson:
    """SenderRobinson's rank plus ``weight`` times a linear SVM's margin on binary,
    length-normalised character 4-grams of the first ``head`` bytes (see the module).

    ``words`` takes SenderRobinson's parameters (``strength``, ``min_dev``,
    ``reputation`` ...); ``C`` is the SVM's regularisation (large: few training errors
    allowed), ``n_bits`` the size of the hashed feature space; ``clean_origin`` and
    ``aligned_origin`` (0 or more, default 0: not read) what the origin relay's two
    signals take off the rank (:func:`origin_shift`).
    """

    kind = "svm-sender-robinson"
    spam_cutoff: float = 0.6
    ham_cutoff: float = 0.6

    def __init__(
        self,
        *,
        weight: float = 0.3,
        clean_origin: float = 0.0,
        aligned_origin: float = 0.0,
        C: float = 100.0,
        head: int = 3000,
        n_bits: int = 20,
        spam_cutoff: float | None = None,
        ham_cutoff: float | None = None,
        **words: Any,
    ) -> None:
        # a wrong type is a TypeError, a wrong value (nan and inf included) a UsageError
        name = f"{type(self).__name__}: "
        self.weight = _coerce.number(weight, name + "weight", least=0.0, example="0.3")
        self.clean_origin = _coerce.number(clean_origin, name + "clean_origin", least=0.0,
                                           example="0.1")
        self.aligned_origin = _coerce.number(aligned_origin, name + "aligned_origin",
                                             least=0.0, example="0.2")
        self.C = _coerce.number(C, name + "C", example="100")
        if self.C <= 0:
            raise UsageError(f"{name}C must be a number above 0, such as 100, not {C!r}")
        self.head = _coerce.count(head, name + "head", least=4)
        self.n_bits = _coerce.count(n_bits, name + "n_bits", least=8)
        if self.n_bits > 24:
            raise UsageError(f"{name}n_bits must be a whole number from 8 to 24, not {n_bits!r}")
        for key, value in (("spam_cutoff", spam_cutoff), ("ham_cutoff", ham_cutoff)):
            if value is not None:
                setattr(self, key, _coerce.number(value, name + key, least=0.0, most=1.0,
                                                  example="0.6"))
        words_known = SenderRobinson().params()
        unknown = sorted(k for k in words if k not in words_known)
        if unknown:  # named here, with this filter's own parameters among those listed
            known = ", ".join(sorted({*words_known, *self._own_params()}))
            raise UsageError(f"{type(self).__name__} has no parameter {unknown[0]!r}; "
                             f"its parameters: {known}")
        self.words = SenderRobinson(**words)
        self._heads: list[bytes] = []
        self._labels: list[bool] = []
        self._svm: Any = None  # fitted lazily; None after any change

    def __repr__(self) -> str:
        origin = (f", clean_origin {self.clean_origin:g}, aligned_origin {self.aligned_origin:g}"
                  if self._reads_origin else "")
        return (
            f"<SVMSenderRobinson trained on {self.nham} ham, {self.nspam} spam; "
            f"weight {self.weight:g}{origin}, C {self.C:g}>"
        )

    @property
    def _reads_origin(self) -> bool:
        return bool(self.clean_origin or self.aligned_origin)

    # -- parameters and state ---------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """Every parameter: the words' (SenderRobinson's), then this filter's own."""
        return {**self.words.params(), **self._own_params()}

    def _own_params(self) -> dict[str, Any]:
        return {
            "weight": self.weight,
            "clean_origin": self.clean_origin,
            "aligned_origin": self.aligned_origin,
            "C": self.C,
            "head": self.head,
            "n_bits": self.n_bits,
            "spam_cutoff": self.spam_cutoff,
            "ham_cutoff": self.ham_cutoff,
        }

    @property
    def nham(self) -> int:
        """Ham messages learned."""
        return self.words.nham

    @property
    def nspam(self) -> int:
        """Spam messages learned."""
        return self.words.nspam

    @property
    def trained(self) -> bool:
        """True once at least one ham and one spam are learned (kept)."""
        return self.words.trained and any(self._labels) and not all(self._labels)

    def _features(self, raws: Sequence[bytes]) -> Any:
        """The messages' hashed 4-gram rows (:func:`labkit.filters.grams.gram_matrix`)."""
        return gram_matrix(raws, head=self.head, n_bits=self.n_bits)

    def _model(self) -> Any:
        """The SVM fitted on the kept examples (refitted after any change)."""
        if self._svm is None:
            from sklearn.svm import LinearSVC

            y = np.fromiter(self._labels, dtype=np.int8, count=len(self._labels))
            self._svm = LinearSVC(C=self.C, dual=True, max_iter=20000, random_state=0).fit(
                self._features(self._heads), y
            )
        return self._svm

    # -- training -----------------------------------------------------------------------
    def learn(self, message: bytes, spam: bool) -> None:
        """Learn one message as spam (True) or ham (False); the SVM refits when next used."""
        raw = _coerce.message_bytes(message)
        spam = _coerce.spam_label(spam)
        self.words.learn_tokens(tokenize(raw), spam)
        self._heads.append(raw[: self.head])
        self._labels.append(spam)
        self._svm = None

    def unlearn(self, message: bytes, spam: bool) -> None:
        """Undo an earlier ``learn(message, spam)``: the words' counts go down and the
        kept example is dropped, so the next refit is as if it had never been learned."""
        raw = _coerce.message_bytes(message)
        spam = _coerce.spam_label(spam)
        self.words.unlearn_tokens(tokenize(raw), spam)
        head = raw[: self.head]
        for i in range(len(self._heads) - 1, -1, -1):
            if self._labels[i] == spam and self._heads[i] == head:
                del self._heads[i], self._labels[i]
                self._svm = None
                break

    def train(
        self, messages: Any, labels: Any = None, *, progress: bool | None = None
    ) -> SVMSenderRobinson:
        """Learn many messages (corpus Messages, or bytes with ``labels``), then fit the
        SVM once, so a batch training's cost is paid here and not by the first score.
        ``progress``: a tqdm bar over the messages learned (``None``: for more than 1,000)."""
        TokenFilter.train(self, messages, labels, progress=progress)
        if self.trained:
            self._model()
        return self

    def _warm(self) -> None:
        """Everything scoring needs, computed now: the words' f(w) table (and the compiled
        look-up's index) and the fitted SVM, so that :func:`labkit.filters.batch.classify_many`
        pays for them once, before it forks its workers, and not once in every worker.
        With the origin relay's weights above 0, the Public Suffix List too."""
        self.words._warm()
        if self.trained:
            self._model()
        if self._reads_origin:
            psl_org_domain("example.com")  # loads the bundled list (about 30 ms) once

    # -- scoring ------------------------------------------------------------------------
    def svm_margins(self, messages: Sequence[bytes]) -> np.ndarray:
        """The SVM's signed distances (spam > 0) of raw messages; zeros when untrained."""
        raws = [_coerce.message_bytes(m) for m in messages]
        if not self.trained or not raws:
            return np.zeros(len(raws))
        # LinearSVC.decision_function is features @ coef + intercept, the scipy
        # sparse-dense dot; gram_margins gives the same floats to the last bit (in C,
        # message by message, when labkit.filters._cgrams is built) without
        # decision_function's input checks (~90 us per call, paid by every score())
        svm = self._model()
        return gram_margins(raws, svm.coef_[0], svm.intercept_[0], head=self.head,
                            n_bits=self.n_bits)

    def log_odds_many(self, messages: Sequence[bytes]) -> np.ndarray:
        """The rank of each raw message: SenderRobinson's rank + ``weight`` x SVM margin,
        minus the origin relay's weighted signals (:func:`origin_shift`) when
        ``clean_origin`` or ``aligned_origin`` is above 0."""
        raws = [_coerce.message_bytes(m) for m in messages]
        if not self.trained:
            return np.zeros(len(raws))
        ranks = np.array([self.words.rank_tokens(tokenize(r)) for r in raws], dtype=float)
        if self.weight:
            ranks = ranks + self.weight * self.svm_margins(raws)
        if self._reads_origin:  # (both 0: not read at all, the ranks as without them)
            ranks = ranks - np.array(
                [origin_shift(r, self.clean_origin, self.aligned_origin) for r in raws],
                dtype=float)
        return ranks

    def score_many(self, messages: Sequence[bytes]) -> np.ndarray:
        """Scores (logistic of the ranks) of many raw messages in one vectorised call."""
        ranks = np.clip(self.log_odds_many(messages), -700.0, 700.0)
        return 1.0 / (1.0 + np.exp(-ranks))

    def rank(self, message: bytes) -> float:
        """The rank (ordered like the score, never saturated; 0 when untrained)."""
        return float(self.log_odds_many([message])[0])

    def score(self, message: bytes) -> float:
        """Spam score in [0, 1]: the logistic of :meth:`rank`; 0.5 when untrained."""
        return _logistic(self.rank(message))

    def score_from_rank(self, rank: float) -> float:
        """The score that goes with a rank (the logistic function)."""
        return _logistic(rank)

    #: "spam" at or above ``spam_cutoff``, "ham" below ``ham_cutoff``, else "unsure"
    status = TokenFilter.status
    #: "ham", "unsure" or "spam"
    classify = TokenFilter.classify

    def __getstate__(self) -> dict:
        # for worker processes (labkit.filters.batch): fit once here, not in every worker
        if self.trained:
            self._model()
        return self.__dict__.copy()

    # -- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The words' counts and the kept examples, as JSON-ready data."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "kind": self.kind,
            "params": self._own_params(),
            "words": self.words.to_dict(),
            "examples": [
                [int(y), base64.b64encode(h).decode("ascii")]
                for h, y in zip(self._heads, self._labels, strict=True)
            ],
        }

    #: write JSON (gzip-compressed when the name ends in ``.gz``)
    save = TokenFilter.save

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SVMSenderRobinson:
        """Rebuild from :meth:`to_dict` data (the SVM refits when first used)."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT or data.get("kind") != cls.kind:
            raise UsageError(f"not a labkit {cls.kind} filter file")
        p = data.get("params") or {}
        f = cls(
            weight=_number_param(p.get("weight", 0.3), "weight"),
            clean_origin=_number_param(p.get("clean_origin", 0.0), "clean_origin"),
            aligned_origin=_number_param(p.get("aligned_origin", 0.0), "aligned_origin"),
            C=_number_param(p.get("C", 100.0), "C"),
            head=_whole_param(p.get("head", 3000), "head"),
            n_bits=_whole_param(p.get("n_bits", 20), "n_bits"),
            spam_cutoff=_number_param(p.get("spam_cutoff", cls.spam_cutoff), "spam_cutoff"),
            ham_cutoff=_number_param(p.get("ham_cutoff", cls.ham_cutoff), "ham_cutoff"),
        )
        words = SenderRobinson.from_dict(data.get("words"))
        if not isinstance(words, SenderRobinson):
            raise UsageError(f"{cls.kind} filter file: its words are not a sender-robinson filter")
        f.words = words
        for y, h in data.get("examples") or []:
            label = _coerce.truth(y)  # bool("false") would be spam
            if label is None:
                raise UsageError(f"filter file: an example's label must be 1 (spam) or 0 (ham), "
                                 f"not {y!r}")
            f._labels.append(label)
            f._heads.append(base64.b64decode(h, validate=True))
        return f

    @classmethod
    def load(cls, path: str | os.PathLike) -> SVMSenderRobinson:
        """Read a file written by :meth:`save` (a damaged file: UsageError naming it)."""
        return _from_file(path, cls.from_dict)


def cv_ranks(
    factory: Any,
    messages: Sequence[Message],
    *,
    k: int = 5,
    seed: int | str = 0,
    tokens: Mapping[str, Sequence[str]] | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Out-of-fold (SenderRobinson rank, SVM margin) of every message, from one seeded
    k-fold dealing (:func:`labkit.filters.tuning.seeded_folds`); ``factory()`` gives an
    untrained :class:`SVMSenderRobinson`.  Two dicts name -> value, so any ``weight`` can
    be tried without refitting.  ``tokens`` (name -> tokens) saves re-tokenizing."""
    from . import tuning

    words: dict[str, float] = {}
    margins: dict[str, float] = {}
    for split in tuning.seeded_folds(messages, k, seed):
        f = factory()
        for m in split.train:
            if tokens is None:
                f.learn(m.raw, m.spam)
            else:  # the same as learn(), without tokenizing again
                f.words.learn_tokens(tokens[m.name], m.spam)
                f._heads.append(m.raw[: f.head])
                f._labels.append(m.spam)
        f._svm = None
        svm = f.svm_margins([m.raw for m in split.test])
        for m, v in zip(split.test, svm, strict=True):
            toks = tokens[m.name] if tokens is not None else tokenize(m.raw)
            words[m.name] = f.words.rank_tokens(toks)
            margins[m.name] = float(v)
    return words, margins


def choose(
    train: Sequence[Message],
    tokens: Mapping[str, Sequence[str]] | None = None,
    *,
    base: Mapping[str, Any] | None = None,
    weights: Sequence[float] = WEIGHTS,
    seeds: Sequence[int | str] = (0, 1, 2),
    k: int = 5,
    margin: float | None = None,
    clean_origin: float = 0.0,
    aligned_origin: float = 0.0,
    cv: Sequence[tuple[Mapping[str, float], Mapping[str, float]]] | None = None,
) -> Any:
    """``weight`` (lowest mean repeated-CV (1-AUC)%) and a spam cutoff, from ``train`` only.

    ``base``: SenderRobinson's parameters (e.g. :func:`labkit.filters.tuning.choose_sender_robinson`'s);
    the cutoff is ``margin`` (default :data:`MARGIN`) of the way
    from the top out-of-fold ham of any seed to the median out-of-fold spam, as
    :func:`labkit.filters.tuning.choose` sets it.  ``clean_origin`` and
    ``aligned_origin`` are fixed, not searched: every weight's ranks take the origin
    relay's signals off (:func:`origin_shift`), and the chosen parameters carry them
    (when above 0).  ``cv``: the :func:`cv_ranks` of each of ``seeds`` (same ``base``,
    ``k``), already computed, so that a second setting costs no refit.  Returns a
    :class:`labkit.filters.tuning.Choice`.
    """

    from . import evaluate, tuning

    margin = MARGIN if margin is None else margin
    clean_origin = _coerce.number(clean_origin, "choose: clean_origin", least=0.0, example="0.1")
    aligned_origin = _coerce.number(aligned_origin, "choose: aligned_origin", least=0.0,
                                    example="0.2")
    base = dict(base or {})
    labels = [m.spam for m in train]
    if cv is None:
        per_seed = [
            cv_ranks(lambda: SVMSenderRobinson(**base), train, k=k, seed=s, tokens=tokens)
            for s in seeds
        ]
    else:
        per_seed = list(_coerce.sequence(cv, "choose: cv", of="(words, margins) pairs"))
        if len(per_seed) != len(seeds):
            raise UsageError(f"choose: cv must hold one cv_ranks result per seed "
                             f"({len(seeds)}), not {len(per_seed)}")
    origin = {"clean_origin": clean_origin, "aligned_origin": aligned_origin}
    origin = {key: v for key, v in origin.items() if v}
    # what the signals take off each message (fixed per message: nothing is learned)
    shift = {m.name: origin_shift(m.raw, clean_origin, aligned_origin) for m in train} if origin else None
    rows = []
    steps = [f"{SVMSenderRobinson.kind}: {len(seeds)} x {k}-fold CV on {len(train)} training messages"
             + (f", origin relay {origin}" if origin else "")]
    for w in weights:
        aucs, tops, meds, sms = [], [], [], []
        for words, svm in per_seed:
            ranks = [words[m.name] + w * svm[m.name] for m in train]
            if shift is not None:  # as log_odds_many: (words + weight x margin) - shift
                ranks = [r - shift[m.name] for r, m in zip(ranks, train, strict=True)]
            aucs.append(100.0 * (1.0 - evaluate.auc(labels, ranks)))
            top, med = tuning._top_ham_median_spam(labels, ranks)
            spam = [r for r, y in zip(ranks, labels, strict=True) if y]
            tops.append(top)
            meds.append(med)
            sms.append(100.0 * sum(1 for r in spam if r <= top) / len(spam))
        row = tuning.CVRow(
            params={**base, "weight": w, **origin},
            one_minus_auc_pct=tuple(aucs),
            top_ham=tuple(tops),
            median_spam=tuple(meds),
            sm_at_zero_fp=tuple(sms),
        )
        rows.append(row)
        steps.append(
            f"  weight {w:g}: (1-AUC)% " + " ".join(f"{v:.4f}" for v in aucs)
            + f" (mean {row.mean_pct:.4f}); sm% at 0 CV FP "
            + " / ".join(f"{v:.1f}" for v in sms)
        )
    return tuning.best_of(SVMSenderRobinson.kind, rows, steps, margin,
                          lambda params, rank: _logistic(rank),
                          describe=lambda params: f"weight {params['weight']:g}")


__all__ = ["SVMSenderRobinson", "WEIGHTS", "MARGIN", "cv_ranks", "choose", "origin_shift"]
