"""A resolver cache that never shows stale lab data.

A caching resolver normally keeps an answer until its TTL runs out, so a record
changed with ``LabDNS.add`` would stay invisible for minutes.  :class:`LabCache`
watches the server's :attr:`~labkit.dns.LabDNS.generation` instead (a counter
bumped on every ``add``, ``remove``, ``set_fault`` and ``clear_faults``): when it
has moved, the whole cache is dropped before the next look-up, so the next check
sees the change at once.  Between changes, repeated questions (the DMARC record of
a busy sender, its DKIM key, its SPF record) are answered from memory::

    res = lab_dns.resolver(cache=True)
    res.resolve("brand.example", "TXT")      # asks the server
    res.resolve("brand.example", "TXT")      # from the cache
    lab_dns.add("brand.example", "TXT", '"v=spf1 -all"')
    res.resolve("brand.example", "TXT")      # asks again: the data changed

Cached answers do not appear again in ``LabDNS.queries`` (the server was not asked).

Introduced in lab 02 (DNS).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import dns.resolver


class LabCache(dns.resolver.Cache):
    """A dnspython cache flushed whenever ``generation()`` changes.

    ``generation`` returns the data version of the server behind the resolver
    (``LabDNS.generation``).  ``max_ttl`` (seconds, optional) caps how long any
    answer is kept, whatever its TTL.  An answer fetched while the data changed
    is not stored (the look-up may have seen the old data).

    Introduced in lab 02 (DNS).
    """

    def __init__(self, generation: Callable[[], int], *, max_ttl: float | None = None) -> None:
        super().__init__(cleaning_interval=300.0)
        # re-entrant: the generation check and dnspython's own get/put happen under one
        # hold, so no answer can be stored between a flush and the next look-up
        self.lock = threading.RLock()
        self._generation = generation
        self._seen = generation()
        self._asked = threading.local()
        self.max_ttl = max_ttl
        self.flushes = 0

    def _sync(self) -> int:
        """Drop everything if the data changed since the last look; return the version."""
        now = self._generation()
        if now != self._seen:
            self.data.clear()
            self._seen = now
            self.flushes += 1
        return now

    def get(self, key: Any) -> Any:
        # dnspython asks the cache before each query and stores the answer after it, in
        # the same thread: remember which data version this thread's look-up started on.
        with self.lock:
            self._asked.generation = self._sync()
            return super().get(key)

    def put(self, key: Any, value: Any) -> None:
        with self.lock:
            started = getattr(self._asked, "generation", None)
            if started is None or self._sync() != started:
                return  # the data changed during the look-up: the answer may be old
            if self.max_ttl is not None:
                value.expiration = min(value.expiration, time.time() + self.max_ttl)
            super().put(key, value)


__all__ = ["LabCache"]
