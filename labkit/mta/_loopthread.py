"""An asyncio server in its own thread and event loop (shared by the SMTP and POP3 hosts).

``start()`` returns once the socket is bound (re-raising a bind failure); ``stop()``
closes the listening socket and every open connection, cancels the remaining tasks
and joins the thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import ServiceError


class LoopThread:
    """Run ``make_server(loop)`` (a coroutine returning an asyncio Server) in a thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server: asyncio.AbstractServer | None = None
        self.port: int | None = None
        self._thread: threading.Thread | None = None
        self.connections: set[Any] = set()  # objects with a .transport (protocols, writers)

    def start(self, make_server: Callable[[asyncio.AbstractEventLoop], Awaitable[Any]]) -> int:
        """Bind and serve; return the bound port."""
        self.loop = asyncio.new_event_loop()
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
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()

    def stop(self) -> None:
        """Close everything and join the thread (safe to call twice)."""
        loop, thread = self.loop, self._thread
        if loop is None or thread is None:
            return

        async def _close() -> None:
            if self.server is not None:
                self.server.close()
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

    def run_blocking(self, func: Callable[..., Any], *args: Any) -> asyncio.Future:
        """Run ``func(*args)`` in this loop's worker threads."""
        assert self.loop is not None
        return self.loop.run_in_executor(None, func, *args)
