"""POP3 (RFC 1939, with the CAPA of RFC 2449) over the lab mailboxes, and POP before SMTP.

Commands: USER, PASS, STAT, LIST, RETR, DELE, RSET, NOOP, QUIT, and the optional
UIDL and TOP of RFC 1939 section 7; CAPA (RFC 2449) lists USER, TOP, UIDL,
PIPELINING, RESP-CODES and AUTH-RESP-CODE, before and after login.  A message's UIDL unique-id is
derived from its Maildir key, so it stays the same from one session to the next.
Every message is sent with CRLF line ends, and its LIST size is the octets RETR sends
(RFC 1939 section 11), also for a file put in the Maildir with LF line ends.

Deletions take effect at QUIT (the UPDATE state); a dropped connection deletes
nothing, and a QUIT that could not remove every marked message says ``-ERR`` (RFC 1939
section 6).  One session per mailbox at a time (the maildrop lock of RFC 1939 section 8;
a second login is refused with ``[IN-USE]``); a maildrop that cannot be opened is
refused with RFC 3206's ``[SYS/TEMP]``, a wrong user or password with its ``[AUTH]``
(and CAPA lists AUTH-RESP-CODE).  A session that has used up its error
budget (failed logins count) is closed, like an SMTP host's.

A successful login opens a relay window for the client address in
:class:`RelayWindow` (on the lab clock), which the ISP's SMTP server consults: that
is POP before SMTP.

Introduced in lab 07 (sending side: POP before SMTP).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import poplib
import re
import socket
import threading
from collections.abc import Iterable
from typing import Any

from aiosmtpd.proxy_protocol import get_proxy

from .. import _coerce, net
from ..service import Service
from ._loopthread import LoopThread

log = logging.getLogger(__name__)

#: the longest command line read (RFC 2449 section 4 allows 255 octets; this leaves
#: room): longer lines are answered "-ERR line too long" and the session ends.  With
#: asyncio's 64 KiB default, each failed login logged a 64 KiB user name: ten per
#: session, about 600 kB of event log (in memory and on disk) per connection.
MAX_LINE = 1024

#: the CAPA answer (RFC 2449 section 5), the same in both states (section 5: what the
#: AUTHORIZATION state offers MUST be announced in both).  Each line is true here:
#: PIPELINING because commands are read one line at a time from the stream's buffer
#: and answered in order, never dropping what is buffered; RESP-CODES because every
#: reply text that starts with "[" is a response code ([SYS/TEMP], [IN-USE], [AUTH]);
#: AUTH-RESP-CODE (RFC 3206 section 6) because a PASS refused for the credentials
#: always carries [AUTH].
CAPABILITIES = ("USER", "TOP", "UIDL", "PIPELINING", "RESP-CODES", "AUTH-RESP-CODE",
                "IMPLEMENTATION labkit")


class RelayWindow:
    """Client addresses allowed to relay until a lab-clock deadline (POP before SMTP)."""

    def __init__(self, clock: Any, seconds: float = 600.0) -> None:
        self.clock = clock
        self.seconds = _coerce.seconds(seconds, "seconds")
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

    Limits, as on the lab's SMTP servers: ``idle_timeout`` seconds per command (10
    minutes by default, the least RFC 1939 section 3 allows an autologout timer),
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
        idle_timeout: float = 600.0,
        max_errors: int = 10,
        connections_per_client: int = 20,
    ) -> None:
        super().__init__()
        self.lab = lab
        self.hostname = hostname
        self.domains = tuple(d.lower() for d in domains)
        self.window = window
        self.proxy = _coerce.flag(proxy, "proxy")
        self.idle_timeout = _coerce.seconds(idle_timeout, "idle_timeout")
        self.max_errors = _coerce.count(max_errors, "max_errors")
        self.connections_per_client = _coerce.count(connections_per_client, "connections_per_client")
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

        async def send_lines(first: str, lines: Iterable[bytes]) -> None:
            writer.write(_multiline(first, lines))
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
            if cmd == "CAPA":
                await send_lines("+OK capability list follows",
                                 [c.encode() for c in CAPABILITIES])
                continue
            if cmd == "QUIT":
                kept = 0
                if box is not None:
                    for i in sorted(deleted):
                        try:
                            box.remove(keys[i])
                        except (KeyError, FileNotFoundError):  # gone already: fine
                            pass
                        except OSError:
                            kept += 1
                    self._event(sid, ip, "quit", user=user, deleted=len(deleted) - kept,
                                not_removed=kept or None)
                # RFC 1939 section 6: the UPDATE state says when marked messages stay
                await send(f"-ERR {_messages(kept)} marked deleted could not be removed" if kept else "+OK bye")
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
                        # RFC 3206 section 5: the credentials are wrong (ask the user again)
                        await send("-ERR [AUTH] authentication failed")
                        continue
                    box = self.lab.mailstore.mailbox(user)
                    mailbox = str(box.path)
                    if mailbox in self._locked:
                        self._event(sid, ip, "auth", user=user, decision="reject",
                                    reason="maildrop locked by another session")
                        user = None
                        box = None
                        # RFC 2449 section 8.1.1: the password was right, the maildrop is busy
                        await send("-ERR [IN-USE] maildrop already locked by another session")
                        continue
                    try:
                        keys = box.keys()
                    except OSError as exc:  # the maildrop's folders cannot be read or made
                        self._event(sid, ip, "auth", user=user, decision="reject",
                                    reason=f"maildrop cannot be opened: {exc.strerror or exc}")
                        user = None
                        box = None
                        # RFC 3206 section 4: the server's fault, not the credentials'
                        await send("-ERR [SYS/TEMP] cannot open the maildrop now, try again later")
                        continue
                    self._locked.add(mailbox)
                    held.append(mailbox)
                    reason = "password matches"
                    if self.window is not None:
                        self.window.open(ip)
                        reason += f"; relay window open for {ip} ({self.window.seconds:.0f} s)"
                    self._event(sid, ip, "auth", user=user, decision="accept", reason=reason)
                    await send(f"+OK {_messages(len(keys))}")
                elif cmd == "NOOP":
                    await send("+OK")
                else:
                    await send("-ERR log in first (USER, PASS)")
                continue
            live = [i for i in range(len(keys)) if i not in deleted]
            if cmd == "STAT":
                there = _present(box, keys, live)
                await send(f"+OK {len(there)} {sum(len(b) for _, b in there)}")
            elif cmd in ("LIST", "UIDL"):  # UIDL: RFC 1939 section 7, an id where LIST has a size
                if arg:
                    found = _message(box, keys, deleted, arg)
                    if found is None:
                        await send("-ERR no such message")
                    else:
                        await send(f"+OK {_scan_line(cmd, keys, *found)}")
                else:
                    there = _present(box, keys, live)
                    await send_lines(f"+OK {_messages(len(there))}",
                                     [_scan_line(cmd, keys, i, b).encode() for i, b in there])
            elif cmd == "TOP" and _top_args(arg) is None:
                await send("-ERR usage: TOP message lines")
            elif cmd in ("RETR", "TOP"):
                number, count = _top_args(arg) if cmd == "TOP" else (arg, None)
                found = _message(box, keys, deleted, number)
                if found is None:
                    await send("-ERR no such message")
                    continue
                body = found[1]
                lines = _lines(body)
                if count is None:
                    await send_lines(f"+OK {len(body)} octets", lines)
                else:  # TOP (RFC 1939 section 7): the header, the blank line, ``count`` body lines
                    end = lines.index(b"") + 1 + count if b"" in lines else len(lines)
                    await send_lines("+OK top of message follows", lines[:end])
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


def _messages(n: int) -> str:
    """``"1 message"``, ``"2 messages"``: the count the replies give."""
    return f"{n} message" if n == 1 else f"{n} messages"


def _read(box: Any, key: str) -> bytes | None:
    """The message ``key`` as POP3 sends it (:func:`_crlf`), or None when it left the
    mailbox during the session (the lab's own code, or a learner's cell, may remove mail
    while a POP3 client is connected)."""
    try:
        return _crlf(box.get(key))
    except (KeyError, OSError):
        return None


_LINE_END = re.compile(rb"\r?\n")


def _crlf(message: bytes) -> bytes:
    """``message`` with every line ended by CRLF, the last one too.

    RFC 1939 section 3: each line of a multi-line response ends in CRLF; section 11: a
    size counts each line end as two octets.  Mail that came in by SMTP is stored so
    already; a file put in the Maildir by other means (``box.deliver(...)`` with LF line
    ends, a corpus message) is converted here, so its LIST size is what RETR sends and a
    "." line in it is byte-stuffed like any other.
    """
    if message.count(b"\n") == message.count(b"\r\n") and message.endswith(b"\r\n"):
        return message  # the usual case, at memchr speed
    if not message:
        return message
    lines = _LINE_END.split(message)
    if lines[-1] == b"":
        lines.pop()
    return b"\r\n".join(lines) + b"\r\n"


def _index(arg: str, keys: list[str], deleted: set[int]) -> int | None:
    try:
        i = int(arg.strip()) - 1
    except ValueError:
        return None
    if 0 <= i < len(keys) and i not in deleted:
        return i
    return None


def _present(box: Any, keys: list[str], indexes: list[int]) -> list[tuple[int, bytes]]:
    """(index, message) for each of ``indexes`` whose message is still in the mailbox."""
    found = [(i, _read(box, keys[i])) for i in indexes]
    return [(i, b) for i, b in found if b is not None]


def _message(box: Any, keys: list[str], deleted: set[int], arg: str) -> tuple[int, bytes] | None:
    """(index, message) for the message number ``arg``, or None: not a number, out of
    range, deleted in this session, or gone from the mailbox."""
    i = _index(arg, keys, deleted)
    body = None if i is None else _read(box, keys[i])
    return None if body is None else (i, body)


def _top_args(arg: str) -> tuple[str, int] | None:
    """``TOP msg n``'s message number (as given) and ``n`` (a non-negative number), or None."""
    parts = arg.split()
    if len(parts) != 2 or not (parts[1].isascii() and parts[1].isdigit()):
        return None
    return parts[0], int(parts[1])


def _scan_line(cmd: str, keys: list[str], i: int, body: bytes) -> str:
    """One message's line in a LIST (number and size) or UIDL (number and unique-id)."""
    return f"{i + 1} {len(body) if cmd == 'LIST' else _unique_id(keys[i])}"


def _lines(message: bytes) -> list[bytes]:
    """The CRLF-separated lines of ``message`` (from :func:`_crlf`; a final CRLF ends the
    last line)."""
    lines = message.split(b"\r\n")
    return lines[:-1] if message.endswith(b"\r\n") else lines


def _multiline(first: str, lines: Iterable[bytes]) -> bytes:
    """A multi-line response (RFC 1939 section 3): ``first``, each line byte-stuffed (a
    leading "." doubled), then the line "." that ends it.  RETR, TOP, LIST, UIDL and CAPA
    all answer this way."""
    out = [first.encode("utf-8")]
    out += [b"." + ln if ln.startswith(b".") else ln for ln in lines]
    out.append(b".")
    return b"\r\n".join(out) + b"\r\n"


def _unique_id(key: str) -> str:
    """The UIDL unique-id of the message stored under the Maildir ``key``.

    RFC 1939 section 7: 1 to 70 characters from 0x21 to 0x7E, the same in every
    session for the same message.  A Maildir key is unique and never changes, but it
    ends with the host name (of any length, with backslash escapes), so the id is the
    first 32 hex digits of its SHA-256 instead of the key itself.
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


class LabPOP3(poplib.POP3):
    """poplib client that connects as a lab host (loopback alias or PROXY header)."""

    def __init__(self, host: str, port: int, *, client: str, proxy: bool,
                 timeout: float = 10.0) -> None:
        self._lab_client = client
        self._lab_proxy = proxy
        super().__init__(host, port, _coerce.seconds(timeout))

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
