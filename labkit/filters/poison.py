"""Attacks on Bayesian filters: the good-word attack and training-set poisoning.

* **Good-word attack** (Lowd & Meek 2005; Graham-Cumming's experiments): the
  spammer appends words that are common in ham to each spam, hoping the filter's
  evidence tips towards ham.  :func:`good_word_attack` measures how each filter's
  sm% moves as the number of appended words grows.
* **Poisoning** (Nelson et al. 2008): the attacker gets spam *containing ham words*
  into the training set, so those words turn spammy and legitimate mail starts to
  be caught.  :func:`poisoned_training` measures hm% and sm% as the share of
  poisoned training spam grows.

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

from .corpus import Message, _progress
from .evaluate import Split, run
from .tokens import _split, parse_headers, tokenize

_PLAIN = re.compile(r"^[a-z][a-z'-]{2,19}$")


def hammy_words(
    ham: Iterable[Message | bytes],
    spam: Iterable[Message | bytes],
    n: int = 200,
    *,
    min_count: int = 5,
) -> tuple[str, ...]:
    """The ``n`` plain body words most over-represented in ``ham`` relative to ``spam``.

    Ranked by (ham document frequency + 1) / (spam document frequency + 1), each side
    normalised by its message count; words seen in fewer than ``min_count`` ham are skipped.
    """

    def doc_freq(msgs: Iterable[Message | bytes]) -> tuple[Counter, int]:
        c: Counter = Counter()
        total = 0
        for m in msgs:
            total += 1
            c.update({t for t in tokenize(getattr(m, "raw", m)) if _PLAIN.match(t)})
        return c, total

    hc, nh = doc_freq(ham)
    sc, ns = doc_freq(spam)
    cands = [w for w, k in hc.items() if k >= min_count]
    cands.sort(key=lambda w: (-(hc[w] + 1) / (nh + 1) / ((sc[w] + 1) / (ns + 1)), w))
    return tuple(cands[:n])


def add_words(message: bytes, words: Sequence[str]) -> bytes:
    """Return ``message`` with ``words`` added as readable text in its body.

    Single-part messages get the words appended (re-encoded when the body is base64);
    multipart messages get a new ``text/plain`` part before the closing boundary.
    """
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


def _row(name: str, strength: float, ev: Any) -> dict:
    return {
        "filter": name,
        "strength": strength,
        "sm_pct": ev.sm_pct,
        "hm_pct": ev.hm_pct,
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

    Introduced in lab 09 (Bayesian filtering: attacking the filter).
    """
    rows = []
    ham = [m for m in split.test if not m.spam]
    spam = [m for m in split.test if m.spam]
    for name, factory in _progress(list(filters.items()), progress, "good-word attack"):
        f = factory()
        base = run(f, split.train, (), progress=False)  # trains f
        del base
        for n in counts:
            attacked = [replace(m, raw=add_words(m.raw, words[:n])) for m in spam]
            ev = run(f, (), ham + attacked, progress=False, mode=f"good-word {n}")
            rows.append(_row(name, n, ev))
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
    measure hm% and sm% on the clean test set.

    Introduced in lab 09 (Bayesian filtering: attacking the filter).
    """
    rows = []
    spam_train = [m for m in split.train if m.spam]
    for name, factory in _progress(list(filters.items()), progress, "poisoned training"):
        for frac in fractions:
            k = int(round(len(spam_train) * frac))
            poisoned = {m.name for m in sorted(spam_train, key=lambda m: m.md5)[:k]}
            train = [
                replace(m, raw=add_words(m.raw, words[:n_words])) if m.name in poisoned else m
                for m in split.train
            ]
            ev = run(factory(), train, split.test, progress=False, mode=f"poisoned {frac}")
            rows.append(_row(name, frac, ev))
    return PoisonResult(
        attack=f"poisoned training ({n_words} ham words in training spam)", rows=tuple(rows)
    )


__all__ = ["hammy_words", "add_words", "good_word_attack", "poisoned_training", "PoisonResult"]
