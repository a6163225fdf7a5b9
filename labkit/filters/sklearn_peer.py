"""The textbook peer: scikit-learn's MultinomialNB over hashed word counts.

What a machine-learning course would write first: the raw message decoded as
text, scikit-learn's default word pattern, a :class:`~sklearn.feature_extraction.text.HashingVectorizer`
(fixed size, so training can be incremental) and :class:`~sklearn.naive_bayes.MultinomialNB`.
It has the same interface as the labkit filters, so it runs in the same experiments.

Not used in the labs: a peer for the benchmarks (``benchmarks/filters.py``) and the tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import _coerce
from ..errors import UsageError
from .bayes import FORMAT, VERSION, _from_file, _number_param, _whole, _whole_param


class SklearnNB:
    """MultinomialNB (Laplace ``alpha``) on ``2**n_bits`` hashed word counts."""

    kind = "sklearn"
    spam_cutoff = 0.5
    ham_cutoff = 0.5

    def __init__(self, *, alpha: float = 1.0, n_bits: int = 20) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer
        from sklearn.naive_bayes import MultinomialNB

        # a wrong type is a TypeError, a wrong value a UsageError (as for every filter)
        self.alpha = _coerce.number(alpha, "SklearnNB: alpha", least=0.0, example="1.0")
        self.n_bits = _coerce.count(n_bits, "SklearnNB: n_bits", least=1)
        if self.n_bits > 24:  # 2**24 features: two 128 MB count rows already
            raise UsageError(f"SklearnNB: n_bits must be a whole number from 1 to 24, not {n_bits!r}")
        self.vectorizer = HashingVectorizer(
            n_features=2**n_bits,
            alternate_sign=False,
            norm=None,
            encoding="latin-1",
            decode_error="replace",
        )
        self.model = MultinomialNB(alpha=alpha)
        self.nham = 0
        self.nspam = 0

    def __repr__(self) -> str:
        return f"<SklearnNB trained on {self.nham} ham, {self.nspam} spam>"

    @property
    def trained(self) -> bool:
        """True once at least one ham and one spam were learned."""
        return self.nham > 0 and self.nspam > 0

    def _fit(self, messages: Sequence[bytes], labels: Sequence[bool], weight: float) -> None:
        X = self.vectorizer.transform(list(messages))
        y = np.asarray([1 if s else 0 for s in labels])
        self.model.partial_fit(X, y, classes=[0, 1], sample_weight=np.full(len(y), weight))
        n_spam = int(y.sum())
        self.nspam += int(weight) * n_spam
        self.nham += int(weight) * (len(y) - n_spam)

    def learn(self, message: bytes, spam: bool) -> None:
        """Learn one message (``partial_fit``) as spam (True) or ham (False)."""
        self._fit([_coerce.message_bytes(message)], [_coerce.spam_label(spam)], 1.0)

    def unlearn(self, message: bytes, spam: bool) -> None:
        """Undo a ``learn``: a fit with weight -1 subtracts the same counts."""
        self._fit([_coerce.message_bytes(message)], [_coerce.spam_label(spam)], -1.0)

    def train(
        self, messages: Iterable, labels: Iterable[bool] | None = None, *, progress: bool = False
    ) -> SklearnNB:
        """Learn many messages in one vectorised call (corpus Messages or bytes + labels).

        ``progress`` is taken for the same signature as labkit's filters and draws no bar:
        one scikit-learn call has no steps to count (about 2 s for the whole corpus)."""
        items = list(messages)
        labs = list(labels) if labels is not None else [m.spam for m in items]
        if len(labs) != len(items):
            raise UsageError(f"train() got {len(items)} messages but {len(labs)} labels")
        self._fit([_coerce.message_bytes(m) for m in items], [_coerce.spam_label(x) for x in labs],
                  1.0)
        return self

    def log_odds_many(self, messages: Sequence[bytes]) -> np.ndarray:
        """log P(spam|d) - log P(ham|d) for each message."""
        jll = self.model.predict_joint_log_proba(self.vectorizer.transform(list(messages)))
        return jll[:, 1] - jll[:, 0]

    def score_many(self, messages: Sequence[bytes]) -> np.ndarray:
        """Scores of many messages in one vectorised call."""
        if not self.trained:
            return np.full(len(messages), 0.5)
        z = np.clip(self.log_odds_many(messages), -700, 700)
        return 1.0 / (1.0 + np.exp(-z))

    def score(self, message: bytes) -> float:
        """P(spam | message) in [0, 1]; 0.5 when untrained."""
        return float(self.score_many([_coerce.message_bytes(message)])[0])

    def rank(self, message: bytes) -> float:
        """The log-odds (for ROC curves without saturation)."""
        return float(self.log_odds_many([message])[0]) if self.trained else 0.0

    def status(self, score: float) -> str:
        """ "spam" at or above 0.5, else "ham"."""
        return "spam" if score >= self.spam_cutoff else "ham"

    def classify(self, message: bytes) -> str:
        """ "ham" or "spam"."""
        return self.status(self.score(message))

    def to_dict(self) -> dict:
        """The fitted counts as JSON-ready data (non-zero features only)."""
        out: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "kind": self.kind,
            "params": {"alpha": self.alpha, "n_bits": self.n_bits},
            "nham": self.nham,
            "nspam": self.nspam,
        }
        if self.trained:
            fc = self.model.feature_count_
            idx = np.nonzero(fc.sum(axis=0))[0]
            out["class_count"] = self.model.class_count_.tolist()
            out["features"] = idx.tolist()
            out["counts"] = fc[:, idx].tolist()
        return out

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON (gzip when the name ends in ``.gz``)."""
        import gzip
        import json

        from .bayes import _save_path, _write_atomic

        path = _save_path(path)
        data = json.dumps(self.to_dict(), separators=(",", ":")).encode()
        _write_atomic(path, gzip.compress(data) if path.suffix == ".gz" else data)
        return path

    @classmethod
    def from_dict(cls, data: dict) -> SklearnNB:
        """Rebuild from :meth:`to_dict` data."""
        if data.get("format") != FORMAT or data.get("kind") != cls.kind:
            raise UsageError("not a labkit sklearn filter file")
        params = data.get("params") or {}
        f = cls(alpha=_number_param(params.get("alpha", 1.0), "alpha"),
                n_bits=_whole_param(params.get("n_bits", 20), "n_bits"))
        f.nham, f.nspam = _whole(data.get("nham", 0), "nham"), _whole(data.get("nspam", 0), "nspam")
        if "class_count" in data:
            n = 2**f.n_bits
            fc = np.zeros((2, n))
            idx = np.asarray(data["features"], dtype=np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise UsageError("sklearn filter file: feature index out of range")
            fc[:, idx] = np.asarray(data["counts"], dtype=float)
            m = f.model
            m.classes_ = np.array([0, 1])
            m.class_count_ = np.asarray(data["class_count"], dtype=float)
            m.feature_count_ = fc
            m.n_features_in_ = n
            m._update_feature_log_prob(f.alpha)
            m._update_class_log_prior()
        return f

    @classmethod
    def load(cls, path: str | os.PathLike) -> SklearnNB:
        """Read a file written by :meth:`save` (a damaged file: UsageError naming it)."""
        return _from_file(path, cls.from_dict)


__all__ = ["SklearnNB"]
