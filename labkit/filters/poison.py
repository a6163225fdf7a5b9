"""Attacks on Bayesian filters: the good-word attack and training-set poisoning.

* **Good-word attack** (Lowd & Meek 2005; Graham-Cumming's experiments): the
  spammer appends words that are common in ham to each spam, hoping the filter's
  evidence tips towards ham.  :func:`good_word_attack` measures how each filter's
  sm% moves as the number of appended words grows.
* **Poisoning** (Nelson et al. 2008): the attacker gets spam *containing ham words*
  into the training set, so those words turn spammy and legitimate mail starts to
  be caught.  :func:`poisoned_training` measures hm%, sm% and the share of ham no
  longer judged ham (unsure or spam) as the share of poisoned training spam grows.

Poisoning moves ham scores up, but hm% at the spam cutoff is a count of a few
messages and often does not move from one fraction to the next: Graham's filter
keeps only the 15 strongest clues (a ham with 15 strongly hammy tokens cannot be
moved by words that became merely spammy), Robinson/Fisher ignore clues near 0.5,
and much of a ham's evidence is in its headers, which appended body words do not
touch.  ``ham_flagged_pct`` (Nelson et al.'s measure: ham judged unsure or spam)
and ``ham_mean_score`` show the shift that hm% hides.

The attacker's ham words come from :func:`hammy_words`: words frequent in a ham
sample and rare in spam (an attacker with access to some of the victim's mail).

Introduced in lab 09 (Bayesian filtering: attacking the filter).
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .. import _coerce
from .corpus import Message
from .evaluate import Split, _advance, _run, _work_bar
from .tokens import _split, parse_headers, tokenize

_PLAIN = re.compile(r"^[a-z][a-z'-]{2,19}$")


def hammy_words(
    ham: Iterable[Message | bytes],
    spam: Iterable[Message | bytes],
    n: int = 200,
    *,
    min_count: int = 5,
    progress: bool | None = None,
) -> tuple[str, ...]:
    """The ``n`` plain body words most over-represented in ``ham`` relative to ``spam``.

    Ranked by (ham document frequency + 1) / (spam document frequency + 1), each side
    normalised by its message count; words seen in fewer than ``min_count`` ham are skipped.
    ``progress``: a bar over the messages read (``None``: for more than 1,000).
    """
    n, min_count = _coerce.count(n, "n", least=0), _coerce.count(min_count, "min_count", least=0)
    ham, spam = list(ham), list(spam)

    def doc_freq(msgs: list[Message | bytes], bar: Any) -> tuple[Counter, int]:
        c: Counter = Counter()
        for m in msgs:
            c.update({t for t in tokenize(getattr(m, "raw", m)) if _PLAIN.match(t)})
            _advance(bar)
        return c, len(msgs)

    with _work_bar(len(ham) + len(spam), progress, "finding ham words") as bar:
        hc, nh = doc_freq(ham, bar)
        sc, ns = doc_freq(spam, bar)
    cands = [w for w, k in hc.items() if k >= min_count]
    cands.sort(key=lambda w: (-(hc[w] + 1) / (nh + 1) / ((sc[w] + 1) / (ns + 1)), w))
    return tuple(cands[:n])


def _word_list(words: Any) -> list[str]:
    """``words`` as a list of str; one string gives its words, not its letters."""
    if isinstance(words, str):
        return words.split()  # "cheap pills" would be added as "c h e a p   p i l l s"
    words = list(_coerce.sequence(words, "words", of="words such as ['meeting', 'agenda']"))
    for w in words:
        if not isinstance(w, str):
            raise TypeError(f"words must be text, not {type(w).__name__} ({w!r})")
    return words


def add_words(message: bytes, words: Sequence[str]) -> bytes:
    """Return ``message`` with ``words`` added as readable text in its body.

    Single-part messages get the words appended (re-encoded when the body is base64);
    multipart messages get a new ``text/plain`` part before the closing boundary.
    ``message`` may also be text, an email message or a corpus message (the result is
    bytes); ``words`` given as one string are its words, not its letters.
    """
    message = _coerce.message_bytes(message)
    words = _word_list(words)
    if not words:
        return message
    text = (" ".join(words)).encode("ascii", "replace")
    head, body = _split(message)
    nl = b"\r\n" if b"\r\n" in head else b"\n"
    fields = dict(parse_headers(head))
    ctype = fields.get("content-type", "text/plain")
    m = re.search(r'boundary\s*=\s*"?([^";\s]+)"?', ctype, re.IGNORECASE)
    if ctype.lower().startswith("multipart/") and m:
        close = b"--" + m.group(1).encode("latin-1") + b"--"
        at = body.rfind(close)
        part = (
            b"--"
            + m.group(1).encode("latin-1")
            + nl
            + b"Content-Type: text/plain"
            + nl
            + nl
            + text
            + nl
        )
        if at >= 0:
            return head + nl + nl + body[:at] + part + body[at:]
        return head + nl + nl + body + nl + part + close + nl
    if fields.get("content-transfer-encoding", "").strip().lower() == "base64":
        try:
            decoded = base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", body), validate=False)
        except ValueError:
            decoded = b""
        encoded = base64.encodebytes(decoded + nl + text + nl).replace(b"\n", nl)
        return head + nl + nl + encoded
    return message.rstrip(b"\r\n") + nl + nl + text + nl


@dataclass(frozen=True, kw_only=True)
class PoisonResult:
    """Rows of (filter, attack strength) -> metrics; ``table()`` gives a DataFrame."""

    attack: str
    rows: tuple[dict, ...] = field(default=())

    def to_dict(self) -> dict:
        """Plain data."""
        return {"attack": self.attack, "rows": [dict(r) for r in self.rows]}

    def table(self) -> Any:
        """pandas DataFrame: one row per (filter, strength)."""
        import pandas as pd

        return pd.DataFrame(list(self.rows))

    def __str__(self) -> str:
        lines = [self.attack]
        for r in self.rows:
            lines.append(
                "  "
                + ", ".join(
                    f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()
                )
            )
        return "\n".join(lines)

    def plot(self, metric: str = "sm_pct", ax: Any = None) -> Any:
        """One line per filter: ``metric`` against the attack strength; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        by_filter: dict[str, list[tuple[float, float]]] = {}
        for r in self.rows:
            by_filter.setdefault(r["filter"], []).append((r["strength"], r[metric]))
        for name, pts in by_filter.items():
            xs, ys = zip(*sorted(pts), strict=True)
            ax.plot(xs, ys, marker="o", label=name)
        ax.set_xlabel("attack strength")
        ax.set_ylabel(metric)
        ax.set_title(self.attack)
        ax.legend(fontsize="small")
        return ax


def _row(name: str, strength: float, ev: Any, **extra: Any) -> dict:
    """One result row: sm%, hm%, (1-AUC)% and where the test ham landed."""
    ham = [s for s, y in zip(ev.scores, ev.labels, strict=True) if not y]
    lo = min(ev.ham_cutoff, ev.spam_cutoff)
    return {
        "filter": name,
        "strength": strength,
        **extra,
        "sm_pct": ev.sm_pct,
        "hm_pct": ev.hm_pct,
        "ham_flagged_pct": 100.0 * sum(1 for s in ham if s >= lo) / len(ham) if ham else 0.0,
        "ham_mean_score": sum(ham) / len(ham) if ham else 0.0,
        "one_minus_auc_pct": ev.one_minus_auc_pct,
    }


def good_word_attack(
    filters: Mapping[str, Callable[[], Any]],
    split: Split,
    words: Sequence[str],
    counts: Sequence[int] = (0, 10, 50, 100, 200),
    *,
    progress: bool | None = None,
) -> PoisonResult:
    """Train each filter on ``split.train``; append the first n ``words`` to every test
    spam (n in ``counts``) and measure sm%, hm% and (1-AUC)% each time.

    A row's ``strength`` is the number of words actually appended: a count larger than
    the word list appends the whole list, and its row says how many that was (so the
    default counts still run on a small corpus, without claiming 200 words).

    ``progress``: one bar over every message trained and scored (``None``: for more
    than 1,000).

    Introduced in lab 09 (Bayesian filtering: attacking the filter).
    """
    counts = _coerce.items(counts, "counts", example="(0, 10, 50)")
    for n in counts:  # checked, kept as given (the rows show them)
        _coerce.count(n, "each count in counts", least=0)
    words = _word_list(words)
    rows = []
    ham = [m for m in split.test if not m.spam]
    spam = [m for m in split.test if m.spam]
    work = len(filters) * (len(split.train) + len(counts) * len(split.test))
    with _work_bar(work, progress, "good-word attack") as bar:
        for name, factory in filters.items():
            f = factory()
            _run(f, split.train, (), "train", 1, bar)  # trains f
            for n in counts:
                attacked = [replace(m, raw=add_words(m.raw, words[:n])) for m in spam]
                ev = _run(f, (), ham + attacked, f"good-word {n}", 1, bar)
                rows.append(_row(name, n if n <= len(words) else len(words), ev))
    return PoisonResult(attack="good-word attack (words appended to test spam)", rows=tuple(rows))


def poisoned_training(
    filters: Mapping[str, Callable[[], Any]],
    split: Split,
    words: Sequence[str],
    fractions: Sequence[float] = (0.0, 0.1, 0.5, 1.0),
    *,
    n_words: int = 100,
    progress: bool | None = None,
) -> PoisonResult:
    """Append ``n_words`` ham words to a fraction of the *training* spam, train, and
    measure hm%, sm% and where the test ham lands on the clean test set.  With fewer
    than ``n_words`` words the whole list is added, and the title gives that number.

    The poisoned messages are the first ``round(fraction x training spam)`` in MD5
    order, so a larger fraction poisons a superset of a smaller one; each row's
    ``poisoned`` says how many.  ``progress``: one bar over every message trained and
    scored (``None``: for more than 1,000).

    Introduced in lab 09 (Bayesian filtering: attacking the filter).
    """
    fractions = _coerce.items(fractions, "fractions", example="(0.0, 0.1, 0.5)")
    for frac in fractions:  # checked, kept as given (the rows show them)
        _coerce.number(frac, "each fraction in fractions", least=0.0, most=1.0)
    n_words = _coerce.count(n_words, "n_words", least=0)
    words = _word_list(words)
    n_words = min(n_words, len(words))  # the title says how many were really added
    rows = []
    spam_train = sorted((m for m in split.train if m.spam), key=lambda m: m.md5)
    work = len(filters) * len(fractions) * (len(split.train) + len(split.test))
    with _work_bar(work, progress, "poisoned training") as bar:
        for name, factory in filters.items():
            for frac in fractions:
                k = int(round(len(spam_train) * frac))
                poisoned = {m.name for m in spam_train[:k]}
                train = [
                    replace(m, raw=add_words(m.raw, words[:n_words])) if m.name in poisoned else m
                    for m in split.train
                ]
                ev = _run(factory(), train, split.test, f"poisoned {frac}", 1, bar)
                rows.append(_row(name, frac, ev, poisoned=k))
    return PoisonResult(
        attack=f"poisoned training ({n_words} ham words in training spam)", rows=tuple(rows)
    )


__all__ = ["hammy_words", "add_words", "good_word_attack", "poisoned_training", "PoisonResult"]
