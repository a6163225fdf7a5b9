"""POP3 (RFC 1939 subset) over the lab mailboxes, and POP before SMTP.

Commands: USER, PASS, STAT, LIST, RETR, DELE, RSET, NOOP, QUIT.  Deletions take
effect at QUIT (the UPDATE state); a dropped connection deletes nothing.  One session
per mailbox at a time (the maildrop lock of RFC 1939 section 8).  A session that has
used up its error budget (failed logins count) is closed, like an SMTP host's.

A successful login opens a relay window for the client address in
:class:`RelayWindow` (on the lab clock), which the ISP's SMTP server consults: that
is POP before SMTP.

Introduced in lab 07 (POP before SMTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import poplib
import socket
import threading
from typing import Any

from aiosmtpd.proxy_protocol import get_proxy

from .. import net
from ..service import Service
from ._loopthread import LoopThread

log = logging.getLogger(__name__)

#: the longest command line read (RFC 2449 section 4 allows 255 octets; this leaves
#: room): longer lines are answered "-ERR line too long" and the session ends.  With
#: asyncio's 64 KiB default, each failed login logged a 64 KiB user name: ten per
#: session, about 600 kB of event log (in memory and on disk) per connection.
MAX_LINE = 1024


class RelayWindow:
    """Client addresses allowed to relay until a lab-clock deadline (POP before SMTP)."""

    def __init__(self, clock: Any, seconds: float = 600.0) -> None:
        self.clock = clock
        self.seconds = seconds
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def open(self, ip: str) -> float:
        """Open (or extend) the window for ``ip``; return when it closes (lab time)."""
        until = self.clock.now() + self.seconds
        with self._lock:
            self._until[ip] = until
        return until

    def is_open(self, ip: str) -> bool:
        """True while ``ip`` may relay."""
        with self._lock:
            until = self._until.get(ip)
        return until is not None and self.clock.now() < until

    def remaining(self, ip: str) -> float:
        """Seconds of lab time left for ``ip`` (0 when closed)."""
        with self._lock:
            until = self._until.get(ip, 0.0)
        return max(0.0, until - self.clock.now())

    def __repr__(self) -> str:
        return f"<RelayWindow {self.seconds:.0f}s, {len(self._until)} addresses>"


class POP3Server(Service):
    """A POP3 server for the users of one lab host, on loopback.

    Limits, as on the lab's SMTP servers: ``idle_timeout`` seconds per command,
    ``max_errors`` ``-ERR`` replies per session, ``connections_per_client`` open sessions
    per client address (the next one gets ``-ERR [SYS/TEMP]`` and is closed).
    """

    def __init__(
        self,
        *,
        lab: Any,
        hostname: str,
        domains: tuple[str, ...],
        window: RelayWindow | None = None,
        proxy: bool = False,
        idle_timeout: float = 60.0,
        max_errors: int = 10,
        connections_per_client: int = 20,
    ) -> None:
        super().__init__()
        self.lab = lab
        self.hostname = hostname
        self.domains = tuple(d.lower() for d in domains)
        self.window = window
        self.proxy = proxy
        self.idle_timeout = idle_timeout
        self.max_errors = max_errors
        self.connections_per_client = connections_per_client
        self._locked: set[str] = set()  # mailboxes with a session (touched in the loop only)
        self._conns: dict[str, int] = {}  # open sessions per client address (loop only)
        self.name = f"pop3 {hostname}"
        self.bind = net.LOOPBACK
        self.port = 0
        self._runner = LoopThread(self.name)

    def _start(self) -> None:
        self._runner = LoopThread(self.name)
        self.port = self._runner.start(
            lambda loop: asyncio.start_server(self._client, host=self.bind, port=0,
                                              limit=MAX_LINE)
        )

    def _stop(self) -> None:
        self._runner.stop()
        self.port = 0

    @property
    def address(self) -> tuple[str, int]:
        """The (address, port) the server listens on."""
        return (self.bind, self.port)

    # -- one session ------------------------------------------------------------------
    def _event(self, sid: str, ip: str, event: str, **fields: Any) -> None:
        self.lab.events.record(self.hostname, sid, event, client=ip, **fields)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._runner.connections.add(writer)
        held: list[str] = []  # the mailbox this session locked, if any
        try:
            await self._session(reader, writer, held)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass
        except (asyncio.LimitOverrunError, ValueError):  # a line longer than the reader's limit
            writer.write(b"-ERR line too long, goodbye\r\n")
        except asyncio.CancelledError:  # the server is stopping: end quietly (Python 3.11's
            pass  # stream callback would log a cancelled task as an error)
        finally:
            self._locked.difference_update(held)
            self._runner.connections.discard(writer)
            writer.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       held: list[str]) -> None:
        peer = writer.get_extra_info("peername")[0]
        if self.proxy:
            data = await asyncio.wait_for(get_proxy(reader), 5)
            if not data or not data.valid:
                return
            ip = str(ipaddress.ip_address(str(data.src_addr)))
        else:
            ip = net.from_loopback(peer)
        sid = self.lab.events.new_session(self.hostname)
        if self._conns.get(ip, 0) >= self.connections_per_client:  # as the SMTP servers do
            self._event(sid, ip, "connect", decision="reject",
                        reason=f"already {self.connections_per_client} connections from {ip}")
            # RFC 2449 / 3206: a response code a client can act on (try again later)
            writer.write(f"-ERR [SYS/TEMP] too many connections from {ip}, try later\r\n".encode())
            await writer.drain()
            return
        self._event(sid, ip, "connect")
        self._conns[ip] = self._conns.get(ip, 0) + 1
        try:
            await self._dialogue(reader, writer, held, sid, ip)
        finally:
            self._conns[ip] -= 1
            if not self._conns[ip]:
                del self._conns[ip]

    async def _dialogue(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        held: list[str], sid: str, ip: str) -> None:
        user: str | None = None
        errors = 0

        async def send(line: str) -> None:
            nonlocal errors
            writer.write(line.encode("utf-8") + b"\r\n")
            if line.startswith("-ERR"):
                errors += 1
                if errors >= self.max_errors:
                    self._event(sid, ip, "errors", user=user, decision="disconnect",
                                reason=f"{errors} errors in this session")
                    writer.write(b"-ERR too many errors in this session, goodbye\r\n")
                    await writer.drain()
                    raise ConnectionAbortedError("error budget used up")
            await writer.drain()

        await send(f"+OK {self.hostname} labkit POP3 ready")
        box = None
        keys: list[str] = []
        deleted: set[int] = set()
        while True:
            raw = await asyncio.wait_for(reader.readline(), self.idle_timeout)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            cmd, _, arg = line.partition(" ")
            cmd = cmd.upper()
            if cmd == "QUIT":
                if box is not None:
                    for i in sorted(deleted):
                        with contextlib.suppress(KeyError, OSError):  # gone already: fine
                            box.remove(keys[i])
                    self._event(sid, ip, "quit", user=user, deleted=len(deleted))
                await send("+OK bye")
                return
            if box is None:
                if cmd == "USER" and arg:
                    user = arg.strip()
                    await send("+OK send PASS")
                elif cmd == "PASS" and user is not None:
                    ok = (user.rpartition("@")[2].lower() in self.domains
                          and self.lab.accounts.check(user, arg))
                    if not ok:
                        self._event(sid, ip, "auth", user=user, decision="reject",
                                    reason="wrong user or password")
                        user = None
                        await send("-ERR authentication failed")
                        continue
                    box = self.lab.mailstore.mailbox(user)
                    mailbox = str(box.path)
                    if mailbox in self._locked:
                        self._event(sid, ip, "auth", user=user, decision="reject",
                                    reason="maildrop locked by another session")
                        user = None
                        box = None
                        await send("-ERR maildrop already locked by another session")
                        continue
                    self._locked.add(mailbox)
                    held.append(mailbox)
                    keys = box.keys()
                    reason = "password matches"
                    if self.window is not None:
                        self.window.open(ip)
                        reason += f"; relay window open for {ip} ({self.window.seconds:.0f} s)"
                    self._event(sid, ip, "auth", user=user, decision="accept", reason=reason)
                    await send(f"+OK {len(keys)} messages")
                elif cmd == "NOOP":
                    await send("+OK")
                else:
                    await send("-ERR log in first (USER, PASS)")
                continue
            live = [i for i in range(len(keys)) if i not in deleted]
            if cmd == "STAT":
                there = [b for b in (_read(box, keys[i]) for i in live) if b is not None]
                await send(f"+OK {len(there)} {sum(map(len, there))}")
            elif cmd == "LIST":
                if arg:
                    i = _index(arg, keys, deleted)
                    body = None if i is None else _read(box, keys[i])
                    if body is None:
                        await send("-ERR no such message")
                    else:
                        await send(f"+OK {i + 1} {len(body)}")
                else:
                    sizes = [(i, _read(box, keys[i])) for i in live]
                    sizes = [(i, len(b)) for i, b in sizes if b is not None]
                    await send(f"+OK {len(sizes)} messages")
                    for i, size in sizes:
                        await send(f"{i + 1} {size}")
                    await send(".")
            elif cmd == "RETR":
                i = _index(arg, keys, deleted)
                body = None if i is None else _read(box, keys[i])
                if body is None:
                    await send("-ERR no such message")
                    continue
                writer.write(f"+OK {len(body)} octets\r\n".encode())
                for ln in body.split(b"\r\n")[:-1] if body.endswith(b"\r\n") else body.split(b"\r\n"):
                    writer.write((b"." + ln if ln.startswith(b".") else ln) + b"\r\n")
                writer.write(b".\r\n")
                await writer.drain()
            elif cmd == "DELE":
                i = _index(arg, keys, deleted)
                if i is None:
                    await send("-ERR no such message")
                else:
                    deleted.add(i)
                    await send(f"+OK message {i + 1} deleted")
            elif cmd == "RSET":
                deleted.clear()
                await send("+OK")
            elif cmd == "NOOP":
                await send("+OK")
            else:
                await send("-ERR unknown command")


def _read(box: Any, key: str) -> bytes | None:
    """The message ``key``, or None when it left the mailbox during the session (the lab's
    own code, or a learner's cell, may remove mail while a POP3 client is connected)."""
    try:
        return box.get(key)
    except (KeyError, OSError):
        return None


def _index(arg: str, keys: list[str], deleted: set[int]) -> int | None:
    try:
        i = int(arg.strip()) - 1
    except ValueError:
        return None
    if 0 <= i < len(keys) and i not in deleted:
        return i
    return None


class LabPOP3(poplib.POP3):
    """poplib client that connects as a lab host (loopback alias or PROXY header)."""

    def __init__(self, host: str, port: int, *, client: str, proxy: bool,
                 timeout: float = 10.0) -> None:
        self._lab_client = client
        self._lab_proxy = proxy
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float) -> socket.socket:
        if self._lab_proxy:
            sock = socket.create_connection((self.host, self.port), timeout)
            sport = sock.getsockname()[1]
            sock.sendall(
                f"PROXY TCP4 {self._lab_client} 127.0.0.1 {sport} {self.port}\r\n".encode()
            )
            return sock
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(net.to_loopback(self._lab_client), 0)
        )


__all__ = ["POP3Server", "RelayWindow", "LabPOP3"]
