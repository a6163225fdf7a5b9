"""An asyncio server in its own thread and event loop (shared by the SMTP and POP3 hosts).

``start()`` returns once the socket is bound (re-raising a bind failure); ``stop()``
closes the listening socket, lets the work already handed to the worker threads
(:meth:`LoopThread.run_blocking`: an end-of-DATA check, a delivery) finish and its
reply reach the client, then closes every open connection, cancels the remaining
tasks and joins the thread.  Without that wait a message could be stored while its
sender saw the connection drop instead of the 250, and sent again: stored twice.
The wait is bounded by :data:`STOP_GRACE` seconds (a policy step that hangs is
left behind, with a warning).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import ServiceError

log = logging.getLogger(__name__)

#: Seconds ``stop()`` waits for policy steps already running to finish and answer.
STOP_GRACE = 5.0


class LoopThread:
    """Run ``make_server(loop)`` (a coroutine returning an asyncio Server) in a thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server: asyncio.AbstractServer | None = None
        self.port: int | None = None
        self._thread: threading.Thread | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._busy = 0  # run_blocking jobs not answered yet (touched in the loop only)
        self._running: set[concurrent.futures.Future] = set()  # jobs not finished yet
        self.connections: set[Any] = set()  # objects with a .transport (protocols, writers)

    def start(self, make_server: Callable[[asyncio.AbstractEventLoop], Awaitable[Any]]) -> int:
        """Bind and serve; return the bound port."""
        self.loop = asyncio.new_event_loop()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            thread_name_prefix=f"{self.name} worker")
        self.loop.set_default_executor(self._executor)
        self._busy = 0
        ready = threading.Event()
        box: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(make_server, ready, box), name=self.name, daemon=True
        )
        self._thread.start()
        if not ready.wait(10):
            raise ServiceError(f"{self.name} did not start within 10 s")
        if box:
            raise ServiceError(f"{self.name} could not start: {box[0]}") from box[0]
        assert self.port is not None
        return self.port

    def _close_transports(self) -> None:
        for conn in list(self.connections):
            try:
                if conn.transport is not None:
                    conn.transport.close()
            except Exception:  # noqa: BLE001 - best effort at shutdown
                pass

    def _run(self, make_server: Any, ready: threading.Event, box: list[BaseException]) -> None:
        loop = self.loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            self.server = loop.run_until_complete(make_server(loop))
            self.port = self.server.sockets[0].getsockname()[1]
        except BaseException as exc:  # noqa: BLE001 - re-raised by start()
            box.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            try:
                self._close_transports()
                tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for t in tasks:
                    t.cancel()
                if tasks:
                    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                if self._executor is not None:
                    # a step still running after the grace time is left to finish alone:
                    # waiting for it here would make stop() wait as long as it hangs
                    hung = any(not f.done() for f in list(self._running))
                    self._executor.shutdown(wait=not hung, cancel_futures=True)
            finally:
                loop.close()

    def stop(self) -> None:
        """Close everything and join the thread (safe to call twice)."""
        loop, thread = self.loop, self._thread
        if loop is None or thread is None:
            return

        async def _close() -> None:
            if self.server is not None:
                self.server.close()  # no new connections; open ones go on for now
            await self._settle(time.monotonic() + STOP_GRACE)
            self._close_transports()
            loop.stop()

        if not loop.is_closed():
            try:
                asyncio.run_coroutine_threadsafe(_close(), loop)
            except RuntimeError:
                pass
        thread.join(10)
        self.server = None
        self._thread = None
        self.loop = None

    async def _settle(self, deadline: float) -> None:
        """Wait until no worker-thread job is running and the replies they led to are sent.

        A few loop turns first (a client whose last command was already read gets it
        handled), and a few after the last job ended (its awaiting coroutine writes the
        reply on the next turn); at most until ``deadline``.
        """
        quiet = 0
        while quiet < 3:
            await asyncio.sleep(0)
            if self._busy:
                quiet = 0
                if time.monotonic() >= deadline:
                    log.warning("%s: stopping with %d policy step(s) still running after "
                                "%.1f s", self.name, self._busy, STOP_GRACE)
                    return
                await asyncio.sleep(0.01)
            else:
                quiet += 1

    def _done(self, _future: Any) -> None:
        self._busy -= 1

    def run_blocking(self, func: Callable[..., Any], *args: Any) -> asyncio.Future:
        """Run ``func(*args)`` in this loop's worker threads (``stop()`` waits for it)."""
        assert self.loop is not None and self._executor is not None
        job = self._executor.submit(func, *args)
        self._running.add(job)
        job.add_done_callback(self._running.discard)
        future = asyncio.wrap_future(job, loop=self.loop)
        self._busy += 1
        future.add_done_callback(self._done)
        return future
