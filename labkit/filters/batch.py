"""Scoring many messages at once, on several cores.

:func:`classify_many` tokenizes and scores a list of messages with a trained filter
and returns every score, rank and verdict in input order.  With ``workers=1`` (the
default) it runs in this process; with more, the messages are cut into chunks and
scored by a pool of worker processes that each receive the trained filter once,
when they start (never once per message).

Start methods: ``fork`` when this process runs no other thread (Linux: the workers
then share the parent's memory, filter and f(w) table included, without copying);
otherwise ``forkserver`` where the platform has it, else ``spawn`` (macOS, Windows;
the filter is then pickled once per worker).  Scores are the same whatever the
number of workers or the start method.

Not named in the labs: :func:`labkit.filters.evaluate.run` (lab 09) scores with it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from .tokens import tokenize

log = logging.getLogger(__name__)

#: default messages per chunk sent to a worker (fewer when that would leave a worker idle)
CHUNK = 128


@dataclass(frozen=True, kw_only=True)
class BatchScores:
    """Scores of many messages (in input order) and how they were computed."""

    filter: str
    scores: tuple[float, ...] = field(repr=False)
    ranks: tuple[float, ...] = field(repr=False)
    statuses: tuple[str, ...] = field(repr=False)
    workers: int
    start_method: str
    seconds: float
    steps: tuple[str, ...] = field(default=(), repr=False)

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def rate(self) -> float:
        """Messages per second (wall clock, worker start-up included)."""
        return len(self.scores) / self.seconds if self.seconds else float("nan")

    def counts(self) -> dict[str, int]:
        """How many messages got each verdict."""
        out = {"ham": 0, "unsure": 0, "spam": 0}
        for s in self.statuses:
            out[s] = out.get(s, 0) + 1
        return out

    def to_dict(self) -> dict:
        """Plain data for JSON (with the per-message scores)."""
        return {
            "filter": self.filter,
            "messages": len(self),
            "workers": self.workers,
            "start_method": self.start_method,
            "seconds": self.seconds,
            "rate": self.rate,
            "counts": self.counts(),
            "scores": list(self.scores),
            "ranks": list(self.ranks),
            "statuses": list(self.statuses),
            "steps": list(self.steps),
        }

    def __str__(self) -> str:
        c = self.counts()
        return (
            f"{self.filter}: {len(self)} messages in {self.seconds:.2f} s ({self.rate:.0f}/s, "
            f"{self.workers} worker{'s' if self.workers != 1 else ''}, {self.start_method}); "
            f"ham {c['ham']}, unsure {c['unsure']}, spam {c['spam']}"
        )

    def _repr_html_(self) -> str:
        return f"<pre>{str(self).replace('&', '&amp;').replace('<', '&lt;')}</pre>"


def score_raws(filter: Any, raws: Sequence[bytes]) -> tuple[list[float], list[float]]:
    """(scores, ranks) of raw messages with ``filter``, in this process.

    Token filters: ``score_and_rank_tokens`` (the score ``score`` gives, and the rank:
    ordered like the score, never saturated, for ROC curves).  Filters with vectorised
    ``log_odds_many`` (the ensemble, the scikit-learn peer) give the ranks in one call,
    and the scores from them with ``score_from_rank`` where they have it (one pass
    over the messages), else with ``score_many``; any other filter: ``score`` for both.
    """
    if not raws:
        return [], []
    if hasattr(filter, "score_and_rank_tokens"):
        pairs = [filter.score_and_rank_tokens(tokenize(raw)) for raw in raws]
        return [s for s, _ in pairs], [r for _, r in pairs]
    if all(hasattr(filter, a) for a in ("learn_tokens", "rank_tokens", "score_from_rank")):
        ranks = [filter.rank_tokens(tokenize(raw)) for raw in raws]
        return list(map(filter.score_from_rank, ranks)), ranks
    if hasattr(filter, "log_odds_many"):
        if not filter.trained:
            scores = [float(s) for s in filter.score_many(raws)]
            return scores, scores[:]
        ranks = [float(r) for r in filter.log_odds_many(raws)]
        if hasattr(filter, "score_from_rank"):
            return [filter.score_from_rank(r) for r in ranks], ranks
        return [float(s) for s in filter.score_many(raws)], ranks
    scores = [float(filter.score(raw)) for raw in raws]
    return scores, scores[:]


def start_method(preferred: str | None = None) -> str:
    """The start method :func:`classify_many` uses: ``preferred`` if given, else ``fork``
    when this process has no other thread and the platform forks, else ``forkserver``
    or ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    if preferred:
        return preferred
    if "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


_WORKER_FILTER: Any = None


def _init_worker(filter: Any) -> None:
    global _WORKER_FILTER
    if isinstance(filter, bytes):  # pickled once by the parent, not once per worker
        filter = pickle.loads(filter)
    _WORKER_FILTER = filter
    warm = getattr(filter, "_warm", None)
    if warm is not None:
        warm()  # a no-op after fork: the parent warmed it


def _score_chunk(raws: Sequence[bytes]) -> tuple[list[float], list[float]]:
    return score_raws(_WORKER_FILTER, raws)


def classify_many(
    filter: Any,
    messages: Sequence[Any],
    *,
    workers: int | None = 1,
    chunksize: int | None = None,
    progress: bool | None = None,
    method: str | None = None,
) -> BatchScores:
    """Score ``messages`` (raw bytes or corpus Messages) with a trained ``filter``.

    ``workers``: processes to use (``None``: one per core; 1: this process only).
    ``chunksize``: messages per task (default :data:`CHUNK`, smaller for short
    lists).  ``progress``: a tqdm bar (``None``: only for more than 1,000 messages).
    ``method``: force a start method (see :func:`start_method`).  Results come back in
    input order and equal ``[filter.score(m) for m in messages]`` exactly.

    >>> import labkit as lk
    >>> f = lk.filters.Robinson()
    >>> f.learn(b"Subject: cheap pills\\n\\nbuy cheap pills now", True)
    >>> f.learn(b"Subject: lunch\\n\\nlunch at noon tomorrow", False)
    >>> classify_many(f, [b"\\n\\ncheap pills", b"\\n\\nlunch tomorrow"]).statuses
    ('spam', 'ham')

    Not named in the labs: :func:`labkit.filters.evaluate.run` (lab 09) calls it.
    """
    from .corpus import _progress

    raws = [getattr(m, "raw", m) for m in messages]
    n = len(raws)
    workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    if chunksize is None:
        chunksize = max(1, min(CHUNK, -(-n // (4 * workers))))
    chunks = [raws[i : i + chunksize] for i in range(0, n, chunksize)]
    name = getattr(filter, "kind", type(filter).__name__.lower())
    use_pool = workers > 1 and len(chunks) > 1
    # chosen before the progress bar exists (tqdm runs a monitor thread)
    how = start_method(method) if use_pool else "in-process"
    bar = _progress(None, progress, f"score {name}", n, "msg") if n else None
    steps = [f"{n} messages in {len(chunks)} chunks of up to {chunksize}"]
    t0 = time.perf_counter()
    warm = getattr(filter, "_warm", None)
    if warm is not None and n > 16:
        warm()
    results = None
    if use_pool:
        try:
            results = _pool_scores(filter, chunks, workers, how, bar)
            steps.append(f"{workers} worker processes ({how}), the filter sent once to each")
        except (BrokenProcessPool, OSError) as exc:
            log.warning("worker processes failed (%s); scoring in this process", exc)
            steps.append(f"worker processes failed ({exc}); scored in this process")
            how, workers = "in-process", 1
    if results is None:
        results = []
        for chunk in chunks:
            results.append(score_raws(filter, chunk))
            _advance(bar, len(chunk))
    seconds = time.perf_counter() - t0
    _close(bar)
    scores = tuple(s for sc, _ in results for s in sc)
    ranks = tuple(r for _, rk in results for r in rk)
    status = getattr(filter, "status", None)
    statuses = tuple(map(status, scores)) if status is not None else ()
    steps.append(f"{seconds:.2f} s, {n / seconds if seconds else float('nan'):.0f} messages/s")
    return BatchScores(
        filter=name,
        scores=scores,
        ranks=ranks,
        statuses=statuses,
        workers=workers if use_pool else 1,
        start_method=how,
        seconds=seconds,
        steps=tuple(steps),
    )


def _pool_scores(
    filter: Any, chunks: list[list[bytes]], workers: int, how: str, bar: Any
) -> list[tuple[list[float], list[float]]]:
    ctx = multiprocessing.get_context(how)
    if how == "forkserver":
        ctx.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(
        max_workers=min(workers, len(chunks)),
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(filter if how == "fork" else pickle.dumps(filter, pickle.HIGHEST_PROTOCOL),),
    ) as pool:
        futures = [pool.submit(_score_chunk, c) for c in chunks]
        results = []
        for fut, chunk in zip(futures, chunks, strict=True):
            results.append(fut.result())
            _advance(bar, len(chunk))
    return results


def _advance(bar: Any, k: int) -> None:
    if bar is not None and hasattr(bar, "update"):
        bar.update(k)


def _close(bar: Any) -> None:
    if hasattr(bar, "close"):
        bar.close()


__all__ = ["classify_many", "BatchScores", "score_raws", "start_method", "CHUNK"]
