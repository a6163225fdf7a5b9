"""The policy base every lab mail host shares: hooks, session context, event log.

aiosmtpd speaks SMTP; a :class:`Policy` decides.  Subclasses override the plain,
synchronous methods ``on_connect``, ``on_mail``, ``on_rcpt`` and ``on_data``; each
gets a :class:`Context` (the client address, HELO name, authenticated user ...)
and returns an SMTP reply string.  They run in the server's worker threads, so they
may do DNS look-ups and send mail without blocking other sessions.

Introduced in lab 01 (anatomy of a mail and forgery).
"""

from __future__ import annotations

import dataclasses
import email.utils
import itertools
import logging
import threading
from typing import Any

from aiosmtpd.smtp import AuthResult, LoginPassword

from .smtpserver import has_bare_newline

log = logging.getLogger(__name__)

_queue_ids = itertools.count(1)
_queue_lock = threading.Lock()


def queue_id() -> str:
    """A short unique id for one accepted message (as in Received ``id``)."""
    with _queue_lock:
        n = next(_queue_ids)
    return f"L{n:07X}"


@dataclasses.dataclass
class Context:
    """What a policy knows about one SMTP connection (survives STARTTLS)."""

    session: str
    client_ip: str
    helo: str = ""
    user: str | None = None
    tls: bool = False
    notes: dict[str, Any] = dataclasses.field(default_factory=dict)


class Policy:
    """aiosmtpd handler base: turns hooks into ``on_*`` calls and logs each decision."""

    kind = "policy"

    def __init__(self, *, lab: Any, hostname: str) -> None:
        self.lab = lab
        self.hostname = hostname

    # -- helpers ------------------------------------------------------------------
    def event(self, ctx: Context | None, event: str, **fields: Any) -> None:
        """Record one decision in the lab's event log."""
        self.lab.events.record(
            self.hostname, ctx.session if ctx else None, event,
            client=ctx.client_ip if ctx else None, **fields,
        )

    @staticmethod
    def ctx(server: Any) -> Context:
        return server.lab_ctx

    def received_header(self, ctx: Context, rcpt: str | None, qid: str, ptr: str | None) -> bytes:
        """The Received line this host writes: the one header a reader can trust."""
        proto = "ESMTP" + ("S" if ctx.tls else "") + ("A" if ctx.user else "")
        rdns = ptr or "unknown"
        auth = f"\r\n\t(Authenticated sender: {ctx.user})" if ctx.user else ""
        for_ = f"\r\n\tfor <{rcpt}>" if rcpt else ""
        date = email.utils.formatdate(self.lab.clock.now(), localtime=False)
        return (
            f"Received: from {ctx.helo or 'unknown'} ({rdns} [{ctx.client_ip}]){auth}\r\n"
            f"\tby {self.hostname} (labkit) with {proto} id {qid}{for_};\r\n\t{date}\r\n"
        ).encode("utf-8", "replace")

    def relay(self, ctx: Context, qid: str, message: bytes, mail_from: str,
              rcpts: list[str], event: str = "relay") -> None:
        """Send ``message`` on from this host, one SMTP transaction per recipient domain."""
        from . import sender

        by_domain: dict[str, list[str]] = {}
        for r in rcpts:
            by_domain.setdefault(r.rpartition("@")[2].lower(), []).append(r)
        for group in by_domain.values():
            res = sender.send(message, lab=self.lab, from_host=self.hostname,
                              mail_from=mail_from, rcpt_to=group)
            self.event(ctx, event, qid=qid, rcpts=group, mail_from=mail_from,
                       decision=res.status, reason=f"{res.code} {res.reply}".strip(),
                       server=res.server)

    # -- overridable policy -------------------------------------------------------
    def on_connect(self, ctx: Context) -> str:
        return "220 ok"

    def on_mail(self, ctx: Context, address: str) -> str:
        return "250 OK"

    def on_rcpt(self, ctx: Context, address: str, accepted: list[str]) -> str:
        return "250 OK"

    def on_data(self, ctx: Context, mail_from: str, rcpts: list[str], data: bytes) -> str:
        return "250 OK"

    def runs_inline(self, step: str) -> bool:
        """May ``step`` run on the event loop itself? (Only quick steps that never block.)

        The default is no: every step goes to the server's worker threads.
        """
        return False

    async def _call(self, server: Any, step: str, func: Any, *args: Any) -> Any:
        """Run a policy step in the worker threads; a crash becomes a 451, never a 250."""
        try:
            if self.runs_inline(step):
                return func(*args)
            return await server.lab_server.run_blocking(func, *args)
        except Exception as exc:  # noqa: BLE001 - reported to the client and the log
            log.exception("%s: policy step %s failed", self.hostname, step)
            ctx = getattr(server, "lab_ctx", None)
            self.event(ctx, "error", step=step, decision="defer",
                       reason=f"{type(exc).__name__}: {exc}")
            return "451 4.3.0 Local error in processing; try again later"

    # -- aiosmtpd hooks -------------------------------------------------------------
    async def handle_CONNECT(self, server: Any, session: Any, client_ip: str) -> str:
        sid = self.lab.events.new_session(self.hostname)
        self.lab.events.hold(sid)  # its lines reach the file together (see handle_DATA/QUIT)
        server.lab_ctx = Context(session=sid, client_ip=client_ip)
        self.event(server.lab_ctx, "connect", peer=str(session.peer[0]))
        return await self._call(server, "connect", self.on_connect, server.lab_ctx)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        ctx = self.ctx(server)
        ctx.helo = hostname
        ctx.tls = session.ssl is not None
        return responses

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:
        session.host_name = hostname
        self.ctx(server).helo = hostname
        return f"250 {server.hostname}"

    def _sync_auth(self, server: Any, session: Any) -> Context:
        ctx = self.ctx(server)
        ctx.tls = session.ssl is not None
        if session.authenticated and ctx.user is None:
            ctx.user = str(session.auth_data)
        return ctx

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        ctx = self._sync_auth(server, session)
        reply = await self._call(server, "mail", self.on_mail, ctx, address)
        if reply.startswith("250"):
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
        return reply

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        ctx = self._sync_auth(server, session)
        limit = server.lab_server.limits.recipients
        if len(envelope.rcpt_tos) >= limit:
            self.event(ctx, "rcpt", rcpt=address, decision="defer",
                       reason=f"more than {limit} recipients")
            return "452 4.5.3 Too many recipients"
        reply = await self._call(server, "rcpt", self.on_rcpt, ctx, address,
                                 list(envelope.rcpt_tos))
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        ctx = self._sync_auth(server, session)
        data = envelope.original_content or b""
        if has_bare_newline(data):
            self.event(ctx, "data", decision="reject",
                       reason="bare LF, bare CR or NUL in DATA (SMTP smuggling defence)")
            reply = "550 5.6.11 Bare LF, bare CR or NUL in message; use CRLF line endings"
        else:
            reply = await self._call(server, "data", self.on_data, ctx,
                                     envelope.mail_from or "", list(envelope.rcpt_tos), data)
        self.lab.events.flush()  # the transaction's lines are in the file before the reply
        return reply

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.handle_DISCONNECT(server)
        return "221 Bye"

    def handle_DISCONNECT(self, server: Any) -> None:
        """The session ended (QUIT or a dropped connection): write its pending log lines."""
        ctx = getattr(server, "lab_ctx", None)
        if ctx is not None:
            self.lab.events.release(ctx.session)


class Authenticator:
    """aiosmtpd authenticator over lab :class:`~labkit.mta.accounts.Accounts`.

    Logs the user name and the outcome, never the password.
    """

    def __init__(self, accounts: Any, policy: Policy) -> None:
        self.accounts = accounts
        self.policy = policy

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        ctx = getattr(server, "lab_ctx", None)
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        ok = self.accounts.check(user, auth_data.password.decode("utf-8", "replace"))
        self.policy.event(ctx, "auth", mechanism=mechanism, user=user,
                          decision="accept" if ok else "reject",
                          reason="password matches" if ok else "wrong user or password")
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)


__all__ = ["Policy", "Context", "Authenticator", "queue_id"]
