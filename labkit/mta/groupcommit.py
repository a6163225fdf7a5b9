"""Group commit: deliveries that finish together share one sync of their directory.

Every accepted message is still written to ``tmp/``, ``fsync``-ed and renamed into
``new/`` by its own thread (so the kernel can merge the journal commits of concurrent
``fsync`` calls, as ext4 does); what deliveries share is the final ``fsync`` of the
``new/`` directory that makes their renames durable.  There is no committer thread
and no timer: a thread that needs ``new/`` synced takes a ticket; if no sync of that
directory is running it starts one (covering every ticket taken so far), otherwise it
waits for the running one to end and then checks whether a later sync covered it or
starts the next one itself.  A lone message is synced at once; under load one sync
serves every rename that happened while the previous sync ran.  A failed sync
fails its own caller; the others it would have covered try again themselves.

(Tried and dropped: one leader thread writing and ``fsync``-ing a whole batch of
messages in turn halved the receiver's rate here: the fsyncs ran one after the
other instead of together.)

Not named in the labs: the lab's Maildirs (``lab.mailbox``, from lab 00) deliver through it.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass
class _Directory:
    taken: int = 0  # tickets handed out
    covered: int = 0  # every ticket up to this one is durable
    running: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class SyncStats:
    """How much sharing happened: directory sync requests and the syncs actually run."""

    requests: int
    syncs: int

    @property
    def shared(self) -> float:
        """Requests per sync (1.0: no sharing)."""
        return self.requests / self.syncs if self.syncs else 0.0

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {**dataclasses.asdict(self), "shared": round(self.shared, 2)}


class SharedDirSync:
    """``sync(path)`` returns once a directory sync that began after the call has succeeded.

    ``fsync_dir`` is the function that syncs one directory (raising ``OSError``).
    """

    def __init__(self, fsync_dir: Callable[[str], None]) -> None:
        self._fsync_dir = fsync_dir
        self._cond = threading.Condition()
        self._dirs: dict[str, _Directory] = {}
        self._requests = 0
        self._syncs = 0

    def sync(self, path: str) -> None:
        """Make every rename into ``path`` done before this call durable (shared with others)."""
        with self._cond:
            d = self._dirs.setdefault(path, _Directory())
            d.taken += 1
            ticket = d.taken
            self._requests += 1
            while d.covered < ticket:
                if not d.running:
                    break
                self._cond.wait()
            else:
                return  # a sync that began after our ticket was taken covered it
            d.running = True
            upto = d.taken
            self._syncs += 1
        try:
            self._fsync_dir(path)
        except BaseException:
            with self._cond:
                d.running = False
                self._cond.notify_all()
            raise
        with self._cond:
            d.running = False
            d.covered = max(d.covered, upto)
            self._cond.notify_all()

    def stats(self) -> SyncStats:
        """Requests and syncs so far."""
        with self._cond:
            return SyncStats(requests=self._requests, syncs=self._syncs)

    def __repr__(self) -> str:
        s = self.stats()
        return f"<SharedDirSync {s.requests} requests, {s.syncs} syncs>"


__all__ = ["SharedDirSync", "SyncStats"]
