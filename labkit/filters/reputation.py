"""Robinson's filter plus a learned sender reputation (an automatic allow/block list).

Bayesian filters judge mostly by words, so a newsletter the user *subscribed to* can
look exactly like spam.  Mail systems also remember who usually writes: SpamAssassin's
auto-whitelist / TxRep, or a webmail's "known sender".  :class:`SenderRobinson` does
this with the counts the filter already keeps:

* a message's **sender identities** are its tokens from the ``From``, ``Sender``,
  ``Return-Path`` and ``List-Id`` fields that name a domain or address (they contain a
  dot), and from the ``Received`` chain the relays and networks the mail came through:
  host names, IP addresses, and the client network the tokenizer gives as
  ``received:ip:...``: ``from:cse.ucsc.edu``, ``from:ejw@cse.ucsc.edu``,
  ``list-id:fork.xent.com``, ``received:mailings.foxsports.com``,
  ``received:ip:64.25.33``.  Not the e-mail addresses in ``Received`` (mostly the
  *recipient* of a ``for <...>`` clause: in the SpamAssassin corpus, the collector's
  spam traps, which would teach the filter a recipient, not a sender) and not
  version numbers (``received:v2.1.3``);
* an identity seen in at least ``min_sender`` learned ham and in no learned spam is
  *known good*; one seen in at least ``min_sender`` spam and in no ham is *known bad*;
* the message's rank (Robinson's logit, see :class:`labkit.filters.Robinson`) moves
  down by ``reputation`` if any identity is known good, and up by ``reputation`` if
  any is known bad (both can apply, and then cancel).

The counts are the filter's own message counts (``counts[token] = [ham, spam]``), so
learning, unlearning, save and load need nothing extra.  The shift is small (0.1 on
the logit scale by default, chosen by repeated CV on the training half): the words
still decide, the sender tips close calls.  A spammer can forge ``From``; that is why
the shift is small and why a single spam from an identity removes its good standing.

Introduced in lab 09 (Bayesian filtering).
"""

from __future__ import annotations

import email.message
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from .. import _coerce
from . import bayes
from .bayes import KINDS, Robinson, _check_tokens, _logit
from .tokens import tokenize

#: token prefixes of the fields that name the sender
SENDER_FIELDS = ("from:", "sender:", "return-path:", "list-id:", "received:")


_RECEIVED = "received:"
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _is_identity(token: str) -> bool:
    if "." not in token or not token.startswith(SENDER_FIELDS):
        return False
    if not token.startswith(_RECEIVED):
        return True
    value = token[len(_RECEIVED):]
    if value.startswith("ip:"):
        return True
    if "@" in value:  # an address in Received: mostly the recipient of "for <...>"
        return False
    # a host name ends in a label with a letter; otherwise only an IPv4 address counts
    return not value.rsplit(".", 1)[1].isdigit() or _DOTTED_QUAD.fullmatch(value) is not None


def sender_identities(tokens: Iterable[str]) -> set[str]:
    """The sender identity tokens among ``tokens`` (see the module): sender-field
    tokens naming a domain or address, and the relays and networks of ``Received``.

    >>> sorted(sender_identities(["from:ejw@cse.ucsc.edu", "from:jim", "money",
    ...     "received:mx.cse.ucsc.edu", "received:128.114.48.2", "received:ip:128.114.48",
    ...     "received:zzzz@jmason.org", "received:v2.1.3"]))
    ['from:ejw@cse.ucsc.edu', 'received:128.114.48.2', 'received:ip:128.114.48', 'received:mx.cse.ucsc.edu']

    Introduced in lab 09 (Bayesian filtering).
    """
    return set(filter(_is_identity, tokens))


class SenderRobinson(Robinson):
    """Robinson's geometric-mean filter with a learned sender reputation (see the module).

    ``rank = Robinson rank - reputation * [a sender identity is known good]
    + reputation * [a sender identity is known bad]``; the score is the logistic of the
    rank, as for every rank-based filter.  Parameters: Robinson's, plus ``reputation``
    and ``min_sender``.
    """

    kind = "sender-robinson"
    reputation: float = 0.1
    min_sender: int = 2

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)  # checks the types (a number each) and Robinson's ranges
        name = type(self).__name__
        if "reputation" in params:  # below 0 would push known-good senders towards spam
            _coerce.number(self.reputation, f"{name}: reputation", least=0.0, example="0.1")
        if "min_sender" in params:  # a whole number of messages, 1 or more
            self.min_sender = _coerce.count(self.min_sender, f"{name}: min_sender")
        self._identities: set[str] = set()

    def learn_tokens(self, tokens: Iterable[str], spam: bool, _delta: int = 1) -> None:
        """Learn an already tokenised message (words and sender identities)."""
        _check_tokens(tokens, "learn_tokens")
        tokens = set(tokens)
        super().learn_tokens(tokens, spam, _delta)
        if _delta > 0:
            self._identities |= sender_identities(tokens)

    def _rebuild(self) -> None:
        super()._rebuild()
        self._identities = sender_identities(self.counts)

    def sender_standing(self, tokens: Iterable[str]) -> tuple[list[str], list[str]]:
        """(known-good identities, known-bad identities) of a tokenised message, sorted.

        The message itself (raw bytes, text, an email message or a corpus message) is
        tokenised first: its bytes are not tokens (a set of byte values meets no identity,
        which would read as "no known sender").
        """
        if isinstance(tokens, (bytes, bytearray, str, email.message.Message)) or hasattr(tokens, "raw"):
            tokens = tokenize(tokens)
        good, bad = self._standing_sets()
        return sorted(good.intersection(tokens)), sorted(bad.intersection(tokens))

    def _standing_sets(self) -> tuple[frozenset[str], frozenset[str]]:
        """(every known-good identity, every known-bad identity) for the current counts.

        Kept with the f(w) memo, so it is rebuilt after any learn, unlearn or load
        (and when ``min_sender`` changes); a message's standing is then two set tests.
        """
        return self._standing()[:2]

    def _standing(self) -> tuple[frozenset[str], frozenset[str], dict[str, int], Any]:
        """:meth:`_standing_sets`, the two as one dict for the compiled look-up
        (identity -> 1 when known good, 2 when known bad; never both: see the module),
        and the compiled module's index of that dict (None without the module)."""
        memo = self._current_memo()
        need = self.min_sender
        cached = memo.get("senders")
        if cached is not None and cached[0] == need:
            return cached[1:]
        counts = self.counts
        good, bad = set(), set()
        for t in self._identities:
            c = counts.get(t)
            if c is None:
                continue
            if c[0] >= need and c[1] == 0:
                good.add(t)
            elif c[1] >= need and c[0] == 0:
                bad.add(t)
        either = dict.fromkeys(good, 1)
        either.update(dict.fromkeys(bad, 2))
        index = bayes._cclues.index(either) if bayes._cclues is not None else None
        memo["senders"] = (need, frozenset(good), frozenset(bad), either, index)
        return memo["senders"][1:]

    def _warm(self) -> None:
        """Robinson's warm-up, and the senders' standing (before a batch or a fork)."""
        super()._warm()
        if self.trained and self.reputation:
            self._standing()

    def rank_tokens(self, tokens: Sequence[str]) -> float:
        """Robinson's rank, moved by ``reputation`` for a known good or bad sender.

        One compiled pass over the tokens when it can (the clue sums and the sender
        test at once, no set of the tokens built), else :meth:`_py_rank_tokens`; the
        two give the same rank to the last bit."""
        if self.trained:
            senders = self._standing()[2:] if self.reputation else (None, None)
            sums = self._c_clue_sums(tokens, *senders)
            if sums is not None:
                n, ln_f, ln_1f, met = sums
                rank = _logit(self._combine((n, ln_f, ln_1f) if n else None))
                if not self.reputation:
                    return rank
                return (
                    rank
                    - self.reputation * bool(met & 1)
                    + self.reputation * bool(met & 2)
                )
        return self._py_rank_tokens(tokens)

    def _py_rank_tokens(self, tokens: Sequence[str]) -> float:
        """:meth:`rank_tokens` in Python (the reference for the compiled path)."""
        toks = tokens if isinstance(tokens, (set, frozenset)) else set(tokens)
        # Robinson's rank: the logit of its score (as TokenFilter.rank_tokens computes it)
        p = min(max(Robinson._combine(self._py_clue_sums(toks)), 1e-300), 1.0 - 1e-16)
        rank = math.log(p) - math.log1p(-p)
        if not self.reputation or not self.trained:
            return rank
        good, bad = self._standing_sets()
        return (
            rank
            - self.reputation * (not good.isdisjoint(toks))
            + self.reputation * (not bad.isdisjoint(toks))
        )

    def score_tokens(self, tokens: Sequence[str]) -> float:
        """The logistic of :meth:`rank_tokens` (0.5 when untrained)."""
        return self.score_from_rank(self.rank_tokens(tokens))

    def score_and_rank_tokens(self, tokens: Sequence[str]) -> tuple[float, float]:
        """(score, rank) from one Robinson pass (the score is derived from the rank)."""
        rank = self.rank_tokens(tokens)
        return self.score_from_rank(rank), rank


# make(), load() and from_dict() know it by its kind name
KINDS[SenderRobinson.kind] = SenderRobinson

__all__ = ["SenderRobinson", "sender_identities", "SENDER_FIELDS"]
