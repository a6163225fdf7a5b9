"""A graded sender reputation: the more known senders vouch for a message, the more it counts.

:class:`~labkit.filters.reputation.SenderRobinson` asks one yes/no question: is *any*
of the message's sender identities known good (or known bad)?  But one message carries
several identities at once: the ``From`` address and its domain, the ``Return-Path``,
the ``List-Id``, every relay host of the ``Received`` chain and the client address with
its /24 and /16.  A newsletter from its usual sender, through its usual relays, from its
usual network, matches many of them; a spam that forged a familiar ``From`` matches one.

:class:`GradedSenderRobinson` counts the witnesses:

* ``good`` = the number of the message's identities seen in at least ``min_sender``
  learned ham and in no spam; ``bad`` = the reverse (same rule as ``SenderRobinson``);
* ``rank = Robinson rank - reputation * min(good, witnesses) / witnesses
  + reputation * min(bad, witnesses) / witnesses``.

So ``reputation`` is the largest shift (reached with ``witnesses`` agreeing identities)
and each witness adds ``reputation / witnesses`` of it.  With ``witnesses=1`` this *is*
``SenderRobinson``.  Learning, unlearning, save and load need nothing beyond the
filter's own counts.

Why graded: repeated 5-fold cross-validation on the training half of the MD5 split
(``benchmarks/CV-filters.md``, round 5, with the current tokenizer) gives mean
(1-AUC)% 0.0104 for SenderRobinson (reputation 0.1) and 0.0085 for the graded form
(reputation 0.5, 4 witnesses, min_sender 3: the defaults), better on each of the
three fold seeds.  (Round 2's
0.0078 came from an identity rule that also took e-mail addresses from ``Received``:
in the corpus, mostly the collector's spam traps.)  :func:`choose` picks the setting
by the same CV.

A caution for the lab: the *bad* side can hurt a ham whose relay was so far seen
only in spam (its hosts and network count as several bad witnesses at once); see the
threshold trials in ``benchmarks/CV-filters.md``.

Introduced in lab 09 (Bayesian filtering).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from .. import _coerce
from . import tuning
from .bayes import KINDS, Robinson, _logit
from .corpus import Message
from .reputation import SenderRobinson

log = logging.getLogger(__name__)

#: (reputation, witnesses, min_sender) settings tried by :func:`choose`; (0.1, 1, 2)
#: is the plain SenderRobinson of round 1
GRID: tuple[tuple[float, int, int], ...] = (
    (0.1, 1, 2),
    (0.2, 2, 2),
    (0.3, 3, 3),
    (0.4, 3, 3),
    (0.5, 4, 3),
    (0.6, 4, 4),
)
#: threshold margin for this filter (see :func:`labkit.filters.tuning.margin_rank`): the
#: smallest with zero false positives in all 20 held-out half-split trials of the
#: training half for every CV-tied setting, 0.5/4/3, 0.4/3/3 and 0.6/4/4
#: (``benchmarks/CV-filters.md``, round 5, with the current tokenizer; 0.6/4/4 needs 0.3)
MARGIN = 0.3


class GradedSenderRobinson(SenderRobinson):
    """Robinson's filter with a sender reputation that grows with the number of known
    identities (see the module): ``witnesses`` agreeing identities give the full
    ``reputation`` shift of the rank, fewer give a share of it.

    >>> f = GradedSenderRobinson(reputation=0.3, witnesses=3)
    >>> round(f.reputation_shift(good=2, bad=0), 6)
    -0.2
    """

    kind = "graded-sender-robinson"
    reputation: float = 0.5
    witnesses: int = 4
    min_sender: int = 3

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)  # SenderRobinson's checks (reputation, min_sender ...)
        if "witnesses" in params:  # identities for the full shift: a whole number, 1 or more
            self.witnesses = _coerce.count(self.witnesses, f"{type(self).__name__}: witnesses")

    def reputation_shift(self, good: int, bad: int) -> float:
        """The rank shift for ``good`` known-good and ``bad`` known-bad identities."""
        w = max(int(self.witnesses), 1)
        return self.reputation * (min(bad, w) - min(good, w)) / w

    def rank_tokens(self, tokens: Sequence[str]) -> float:
        """Robinson's rank moved by :meth:`reputation_shift` of the message's identities."""
        toks = tokens if isinstance(tokens, (set, frozenset)) else set(tokens)
        rank = _logit(Robinson.score_tokens(self, toks))  # Robinson's rank
        if not self.reputation or not self.trained:
            return rank
        good, bad = self._standing_sets()  # counted here; sender_standing sorts them for show
        return rank + self.reputation_shift(len(good.intersection(toks)), len(bad.intersection(toks)))


# make(), load() and from_dict() know it by its kind name
KINDS[GradedSenderRobinson.kind] = GradedSenderRobinson


def choose(
    train: Sequence[Message],
    tokens: Mapping[str, Sequence[str]],
    *,
    base: Mapping[str, Any] | None = None,
    grid: Sequence[tuple[float, int, int]] = GRID,
    margin: float = MARGIN,
    **options: Any,
) -> tuning.Choice:
    """Reputation, witnesses and min_sender for :class:`GradedSenderRobinson`, and a
    spam cutoff, by :func:`labkit.filters.tuning.choose` (repeated CV, training mail only).

    Robinson's parameters come from ``base`` or, without it, from the Robinson grid of
    :func:`labkit.filters.tuning.choose`.  The cutoff is ``margin`` of the way from the
    top cross-validated ham to the median spam (:data:`MARGIN`); ``options`` go to
    ``tuning.choose`` (``seeds``, ``k``).

    Introduced in lab 09 (Bayesian filtering).
    """
    if base is None:
        base = tuning.choose(Robinson, train, tokens, **options).params
    settings = [{**base, "reputation": r, "witnesses": w, "min_sender": m} for r, w, m in grid]
    return tuning.choose(
        GradedSenderRobinson, train, tokens, grid=settings, margin=margin, **options
    )


__all__ = ["GradedSenderRobinson", "GRID", "MARGIN", "choose"]
