"""One base for every lab server (DNS, SMTP, POP3): start, stop, state, cleanup.

``start()`` blocks until the server is ready and re-raises whatever stopped it from
starting; ``stop()`` frees its ports and threads.  Both are safe to call twice, so a
re-run notebook cell never meets "address already in use".  Services still running
when the interpreter exits are stopped.

Introduced in lab 00 (set-up).
"""

from __future__ import annotations

import atexit
import enum
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)


class State(enum.Enum):
    """Life cycle of a :class:`Service`."""

    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"
    FAILED = "failed"


class Service:
    """Base class: subclasses implement ``_start()`` and ``_stop()``.

    ``_start()`` must return only when the service answers (or raise);
    ``_stop()`` must release every socket and thread.
    """

    name: str = "service"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.state = State.NEW
        self._atexit_registered = False

    # -- to implement -------------------------------------------------------------
    def _start(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _stop(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- public -------------------------------------------------------------------
    def start(self) -> Service:
        """Start the service (no-op if already running); return ``self``."""
        with self._lock:
            if self.state is State.RUNNING:
                return self
            try:
                self._start()
            except BaseException:
                self.state = State.FAILED
                try:
                    self._stop()
                except Exception:  # noqa: BLE001 - best-effort cleanup after failure
                    log.debug("cleanup after failed start of %s raised", self.name, exc_info=True)
                raise
            self.state = State.RUNNING
            if not self._atexit_registered:
                atexit.register(self.stop)
                self._atexit_registered = True
            log.info("%s started", self.name)
            return self

    def stop(self) -> None:
        """Stop the service and free its ports; safe to call twice."""
        with self._lock:
            if self.state is not State.RUNNING:
                return
            try:
                self._stop()
            finally:
                self.state = State.STOPPED
                if self._atexit_registered:
                    atexit.unregister(self.stop)
                    self._atexit_registered = False
                log.info("%s stopped", self.name)

    @property
    def running(self) -> bool:
        """True while the service is up."""
        return self.state is State.RUNNING

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["Service", "State"]
