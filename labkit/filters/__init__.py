"""Spam filters on real mail: the corpus, the tokenizer, the Bayes family, lists,
DNSBL and reverse DNS, evaluation, and the receiver's combined scorer.

- :mod:`labkit.filters.corpus` — the SpamAssassin public corpus (``load``, ``fetch``)
- :mod:`labkit.filters.tokens` — ``tokenize(message: bytes)``
- :class:`Graham`, :class:`Robinson`, :class:`Fisher`, :class:`Multinomial`,
  :class:`SenderRobinson` (Robinson + learned sender reputation, :mod:`labkit.filters.reputation`),
  :class:`GradedSenderRobinson` (the shift grows with the number of known senders,
  :mod:`labkit.filters.graded`),
  :class:`SklearnNB` — ``learn``/``unlearn``/``score``/``save``/``load``
- :class:`SVMSenderRobinson` — SenderRobinson's rank plus a linear SVM on character
  4-grams (:mod:`labkit.filters.ensemble`), optionally lowered by the origin relay's
  signals (:mod:`labkit.filters.origin`): the best filter of ``benchmarks/filters.py``
- :mod:`labkit.filters.evaluate` — splits, online (TREC) evaluation, ROC/AUC, lam%, cost
- :mod:`labkit.filters.batch` — ``classify_many``: score many messages on several cores
- :mod:`labkit.filters.tuning` — repeated cross-validation; parameters and thresholds from training data only
- :mod:`labkit.filters.uncertainty` — bootstrap intervals: how sure a (1-AUC)% or a comparison is
- :mod:`labkit.filters.dnsbl`, :mod:`labkit.filters.rdns`, :mod:`labkit.filters.lists`
- :class:`SpamScorer` — the receiver plug-in (``judge`` -> :class:`SpamJudgement`)
- :mod:`labkit.filters.poison` — good-word and poisoning experiments

Introduced in lab 08 (judging the client: lists, DNSBL and reverse DNS); the Bayes
filters come in lab 09 (Bayesian filtering).
"""

from __future__ import annotations

import importlib
from typing import Any

from .bayes import Fisher, Graham, Multinomial, Robinson, TokenFilter, make
from .bayes import load as load_filter
from .combined import SpamJudgement, SpamScorer
from .graded import GradedSenderRobinson
from .lists import AddressList
from .reputation import SenderRobinson
from .tokens import tokenize

#: names whose modules load only when used: scikit-learn and numpy (SVMSenderRobinson) cost
#: a Lab that never touches them about 15 MiB and 0.1 s of CPU per process
_LAZY = {"SklearnNB": ".sklearn_peer", "SVMSenderRobinson": ".ensemble"}
_MODULES = (
    "corpus",
    "tokens",
    "bayes",
    "evaluate",
    "dnsbl",
    "rdns",
    "lists",
    "combined",
    "poison",
    "sklearn_peer",
    "batch",
    "reputation",
    "tuning",
    "graded",
    "uncertainty",
    "compiled",
    "ensemble",
    "grams",
    "origin",
)


def __getattr__(name: str) -> Any:
    # scikit-learn, numpy and matplotlib load only when used
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    if name in _MODULES:
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'labkit.filters' has no attribute {name!r}")


__all__ = [
    "Graham",
    "Robinson",
    "Fisher",
    "Multinomial",
    "SenderRobinson",
    "GradedSenderRobinson",
    "SVMSenderRobinson",
    "SklearnNB",
    "TokenFilter",
    "make",
    "load_filter",
    "SpamScorer",
    "SpamJudgement",
    "AddressList",
    "tokenize",
    *_MODULES,
]
