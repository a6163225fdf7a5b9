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

Not named in the labs: ``LabDNS.resolver()`` and the lab hosts (from lab 00) cache with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import dns.resolver

MAX_DERIVED = 4096  # remembered derived values (SPF results ...) before starting afresh


class LabCache(dns.resolver.Cache):
    """A dnspython cache flushed whenever ``generation()`` changes.

    ``generation`` returns the data version of the server behind the resolver
    (``LabDNS.generation``).  ``max_ttl`` (seconds, optional) caps how long any
    answer is kept, whatever its TTL.  An answer fetched while the data changed
    is not stored (the look-up may have seen the old data).

    Not named in the labs: ``LabDNS.resolver()`` (from lab 00) returns one.
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
        self._derived: dict[Any, Any] = {}

    def _sync(self) -> int:
        """Drop everything if the data changed since the last look; return the version."""
        now = self._generation()
        if now != self._seen:
            self.data.clear()
            self._derived.clear()
            self._seen = now
            self.flushes += 1
        return now

    def get(self, key: Any) -> Any:
        """dnspython's cache look-up: the stored answer for ``key``, or None."""
        # dnspython asks the cache before each query and stores the answer after it, in
        # the same thread: remember which data version this thread's look-up started on.
        with self.lock:
            self._asked.generation = self._sync()
            return super().get(key)

    def put(self, key: Any, value: Any) -> None:
        """dnspython's cache store: keep ``value`` unless the zones changed during the look-up."""
        with self.lock:
            started = getattr(self._asked, "generation", None)
            if started is None or self._sync() != started:
                return  # the data changed during the look-up: the answer may be old
            if self.max_ttl is not None:
                value.expiration = min(value.expiration, time.time() + self.max_ttl)
            super().put(key, value)

    def flush(self, key: Any = None) -> None:
        """Forget one entry (``key``) or everything."""
        with self.lock:
            if key is None:
                self._derived.clear()
            super().flush(key)

    def derived(self, key: Any, compute: Callable[[], Any],
                keep: Callable[[Any], bool] = lambda value: True) -> Any:
        """``compute()``, remembered under ``key`` until the DNS data changes.

        For values that follow from DNS answers alone (an SPF result for given
        inputs): while the data version is the same, the same inputs give the same
        value, so it is computed once.  ``keep(value)`` False (a time-out, say)
        leaves it unremembered; so does a change of the data while computing.
        """
        with self.lock:
            started = self._sync()
            if key in self._derived:
                return self._derived[key]
        value = compute()
        if keep(value):
            with self.lock:
                if self._sync() == started:
                    if len(self._derived) >= MAX_DERIVED:
                        self._derived.clear()
                    self._derived[key] = value
        return value


__all__ = ["LabCache"]
