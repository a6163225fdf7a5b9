"""The policy base every lab mail host shares: hooks, session context, event log.

aiosmtpd speaks SMTP; a :class:`Policy` decides.  Subclasses override the plain,
synchronous methods ``on_connect``, ``on_mail``, ``on_rcpt`` and ``on_data``; each
gets a :class:`Context` (the client address, HELO name, authenticated user ...)
and returns an SMTP reply string.  They run in the server's worker threads, so they
may do DNS look-ups and send mail without blocking other sessions.

A host that accepts a message and hands it on (:meth:`Policy.relay`: submission,
forwarder, a relaying receiver) owns it after its 250.  When the next hop refuses
for good (5xx, or the domain is no lab destination) it sends a delivery status
notification (:func:`make_delivery_report`) to the envelope sender from the null
reverse-path ``<>``, so a bounce itself is never bounced.  When the next hop answers
4xx or cannot be reached, the message waits in the lab's :class:`RelayQueue` and is
tried again as the lab clock passes :data:`RETRY_AFTER` (``lab.advance(...)``);
after the last try it is bounced too.  Each attempt, deferral and bounce is an
event (``relay``/``forward``, ``defer``, ``bounce``).

Not named in the labs: the lab's hosts (from lab 00) decide with it.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
import secrets
import threading
import traceback
from typing import Any

from aiosmtpd.smtp import AuthResult, LoginPassword

from .. import _headerfields
from .clock import mail_date
from .sender import message_id
from .smtpserver import has_bare_newline

log = logging.getLogger(__name__)

_queue_ids = itertools.count(1)
_queue_lock = threading.Lock()


def queue_id() -> str:
    """A short unique id for one accepted message (as in Received ``id``)."""
    with _queue_lock:
        n = next(_queue_ids)
    return f"L{n:07X}"


# lab seconds between a failed attempt and the next one; after the last, a bounce
RETRY_AFTER: tuple[float, ...] = (300.0, 1800.0, 3600.0)

_STATUS_CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


# Postfix's bounce_size_limit: at most this much of the original goes back in a bounce
BOUNCE_SIZE_LIMIT = 50_000


def make_delivery_report(hostname: str, to: str, failures: dict[str, str], original: bytes,
                         when: float, *, remote: str | None = None) -> bytes:
    """A delivery status notification (RFC 3464 ``multipart/report``) for ``failures``.

    ``failures`` maps each recipient that could not be reached to the reason, as the
    next hop's reply (``"550 5.1.1 <x@corp.example>: ... User unknown"``), a
    connection error, or ``"refused: ..."`` for a domain with no route (Status 5.4.4;
    a reason without a status code is 4.4.1 otherwise, 5.0.0 after a bare 5xx).
    ``remote`` names the server that gave it.  The report goes
    to ``to`` (the envelope sender) and quotes the original headers, at most
    :data:`BOUNCE_SIZE_LIMIT` octets of them (cut at a line end), as Postfix does: a
    bounce must stay small enough for the next hop to take it.

    Not named in the labs: the lab's hosts write their bounces with it (labs 07 and 08).
    """
    boundary = f"=_labkit_{secrets.token_hex(12)}"
    head = original.split(b"\r\n\r\n", 1)[0]
    if len(head) > BOUNCE_SIZE_LIMIT:  # a message without a blank line is all "header"
        cut = head.rfind(b"\r\n", 0, BOUNCE_SIZE_LIMIT)  # the last whole line that fits
        head = head[:cut] if cut > 0 else head[:BOUNCE_SIZE_LIMIT]
    head = head.decode("utf-8", "replace")
    failures = {r: " ".join(why.split()) for r, why in failures.items()}  # one line each
    human = "\r\n".join(f"<{r}>: {why}" for r, why in failures.items())
    where = f" by {remote}" if remote else ""
    per_rcpt = []
    for rcpt, why in failures.items():
        found = _STATUS_CODE.search(why)
        if found:
            status = found.group(1)
        elif why[:1] == "5":
            status = "5.0.0"
        elif why.startswith("refused:"):  # no route: no MX/A (or no lab address) for the domain
            status = "5.4.4"  # RFC 3463 "unable to route", permanent: nothing was tried
        else:  # the next hop did not answer, and the retries are over
            status = "4.4.1"
        fields = [f"Final-Recipient: rfc822; {rcpt}", "Action: failed", f"Status: {status}"]
        if remote:
            fields.append(f"Remote-MTA: dns; {remote}")
        kind = "smtp" if why[:1] in ("4", "5") else "x-labkit"
        fields.append(f"Diagnostic-Code: {kind}; {why}")
        per_rcpt.append("\r\n".join(fields))
    status_part = "\r\n\r\n".join([f"Reporting-MTA: dns; {hostname}", *per_rcpt])
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@{hostname}>\r\n"
        f"To: <{to}>\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {mail_date(when)}\r\n"
        f"Message-ID: {message_id(hostname)}\r\n"
        f"Auto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status;\r\n'
        f'\tboundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"This is the mail system at {hostname}.\r\n"
        f"Your message was accepted here but could not be delivered{where}:\r\n\r\n"
        f"{human}\r\n\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: message/delivery-status\r\n\r\n"
        f"{status_part}\r\n\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/rfc822-headers\r\n\r\n"
        f"{head}\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


@dataclasses.dataclass(kw_only=True)
class Deferred:
    """A relayed message waiting for its next attempt (the next hop said 4xx or was down)."""

    policy: Policy
    ctx: Context | None
    qid: str
    message: bytes
    mail_from: str
    rcpts: list[str]
    event: str
    attempts: int
    due: float
    last_reply: str

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"host": self.policy.hostname, "qid": self.qid, "mail_from": self.mail_from,
                "rcpts": list(self.rcpts), "attempts": self.attempts, "due": self.due,
                "last_reply": self.last_reply}


class RelayQueue:
    """The lab's outgoing queue: accepted messages whose next hop has not taken them yet.

    Nothing runs in the background: :meth:`run` (called by ``lab.advance``) tries
    again every message whose time has come on the lab clock, so a notebook "waits"
    for a retry by advancing the clock.

    Not named in the labs: ``lab.advance`` (lab 07) runs the Lab's queue.
    """

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self._items: list[Deferred] = []
        self._lock = threading.Lock()

    def add(self, item: Deferred) -> None:
        """Queue ``item`` until ``item.due`` (lab time)."""
        with self._lock:
            self._items.append(item)

    def run(self) -> int:
        """Try every due message again now; return how many were tried."""
        now = self.clock.now()
        with self._lock:
            due = [i for i in self._items if i.due <= now]
            self._items = [i for i in self._items if i.due > now]
        for item in due:
            item.policy.attempt(item.ctx, item.qid, item.message, item.mail_from, item.rcpts,
                                event=item.event, attempts=item.attempts)
        return len(due)

    def drain(self) -> list[Deferred]:
        """Remove and return everything still queued (the lab is stopping)."""
        with self._lock:
            items, self._items = self._items, []
        return items

    def items(self) -> list[Deferred]:
        """A snapshot of the queued messages."""
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __repr__(self) -> str:
        return f"<RelayQueue {len(self)} waiting>"


@dataclasses.dataclass
class Context:
    """What a policy knows about one SMTP connection (survives STARTTLS)."""

    session: str
    client_ip: str
    helo: str = ""
    esmtp: bool = True  # False after HELO: the Received line then says SMTP (RFC 3848)
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
        """The :class:`Context` of the aiosmtpd session ``server`` serves."""
        return server.lab_ctx

    def client_name(self, ctx: Context) -> str | None:
        """The client's forward-confirmed reverse DNS name, or None (looked up once per session).

        What a Received line shows in its ``(name [address])`` part: like Postfix, only a
        name whose address points back to the client; otherwise the line says ``unknown``.
        """
        if "client_name" not in ctx.notes:
            import labkit.filters.rdns

            ctx.notes["client_name"] = labkit.filters.rdns.check(
                ctx.client_ip, dns=self.lab.resolver).confirmed
        return ctx.notes["client_name"]

    def received_header(self, ctx: Context, rcpt: str | None, qid: str, ptr: str | None) -> bytes:
        """The Received line this host writes: the one header a reader can trust."""
        # RFC 3848: "ESMTP" after EHLO ("SMTP" after HELO), "S" for TLS, "A" for AUTH
        proto = ("ESMTP" if ctx.esmtp else "SMTP") + ("S" if ctx.tls else "") + ("A" if ctx.user else "")
        rdns = ptr or "unknown"
        auth = f"\r\n\t(Authenticated sender: {ctx.user})" if ctx.user else ""
        for_ = f"\r\n\tfor <{rcpt}>" if rcpt else ""
        date = mail_date(self.lab.clock.now())
        return (
            f"Received: from {ctx.helo or 'unknown'} ({rdns} [{ctx.client_ip}]){auth}\r\n"
            f"\tby {self.hostname} (labkit) with {proto} id {qid}{for_};\r\n\t{date}\r\n"
        ).encode("utf-8", "replace")

    # -- local delivery -----------------------------------------------------------
    def accept_postmaster(self, ctx: Context, address: str, domain: str) -> bool:
        """At RCPT: True, with an ``accept`` event, if ``address`` is this host's postmaster
        (``postmaster@domain`` or a bare ``Postmaster``), whom RFC 5321 section 4.5.1 says
        every host that accepts mail MUST accept."""
        if not is_postmaster(address, domain):
            return False
        self.event(ctx, "rcpt", rcpt=address, decision="accept",
                   reason="postmaster: kept in this host's mailbox (RFC 5321 section 4.5.1)")
        return True

    def rcpt_by_name(self, ctx: Context, address: str, reason: str | None, *, domain: str,
                     unknown: str) -> str:
        """The RCPT reply of a host that takes mail for names of its own (a forwarder's
        aliases, a list's addresses): accept ``address`` with an ``accept`` event giving
        ``reason`` when there is one (``None``: not one of its names); else accept it if
        it is this host's postmaster (:meth:`accept_postmaster`); else reject it,
        ``550 5.1.1 <address>: no such <unknown>``, with a ``reject`` event."""
        if reason is not None:
            self.event(ctx, "rcpt", rcpt=address, decision="accept", reason=reason)
            return "250 OK"
        if self.accept_postmaster(ctx, address, domain):
            return "250 OK"
        self.event(ctx, "rcpt", rcpt=address, decision="reject", reason=f"no such {unknown}")
        return f"550 5.1.1 <{address}>: no such {unknown}"

    def deliver_to_postmaster(self, ctx: Context, qid: str, mail_from: str, data: bytes,
                              domain: str) -> bool:
        """Keep ``data`` in ``postmaster@domain``'s INBOX in the lab's mail store (see
        :meth:`deliver_final`): the forwarder's and the list's only local mailbox."""
        return self.deliver_final(self.lab.mailstore, ctx, [f"postmaster@{domain}"], qid,
                                  mail_from, data, folder="INBOX",
                                  reason="this host's postmaster mailbox")

    def deliver_final(self, store: Any, ctx: Context, rcpts: list[str], qid: str,
                      mail_from: str, data: bytes, *, folder: str, reason: str,
                      message_id: str | None = None) -> bool:
        """Make the final delivery of ``data`` to each of ``rcpts`` in ``store``, all or none.

        Any Return-Path the sender wrote is removed (a ``return-path`` event says so);
        each copy starts with ``Return-Path:`` from MAIL FROM (RFC 5321 4.4) and this
        host's Received line.  Each copy is written, ``fsync``-ed and renamed; the sync
        of ``new/`` is shared with concurrent deliveries (:mod:`labkit.mta.groupcommit`).
        If any copy fails, those already stored are removed again, so that the client's
        retry after the 451 the caller answers stores each once; returns False then.
        """
        data, planted = remove_return_path(data)
        if planted:
            self.event(ctx, "return-path", qid=qid, removed=planted, decision="remove",
                       reason=f"{planted} Return-Path field(s) in the incoming mail: only the "
                       "final delivery writes one, from MAIL FROM (RFC 5321 section 4.4)")
        name = self.client_name(ctx)
        # aiosmtpd gives the address without <>, and the null sender as "<>"
        path = mail_from.strip()
        path = path if path.startswith("<") and path.endswith(">") else f"<{path}>"
        return_path = f"Return-Path: {path}\r\n".encode("utf-8", "surrogateescape")
        results = store.deliver(
            [(r, return_path + self.received_header(ctx, r, qid, name) + data, folder) for r in rcpts])
        failed = [(r, res) for r, res in zip(rcpts, results, strict=True) if isinstance(res, OSError)]
        if failed:
            for rcpt, res in zip(rcpts, results, strict=True):
                if isinstance(res, str):
                    store.mailbox(rcpt).remove(res, folder)
            for rcpt, exc in failed:
                self.event(ctx, "error", step="deliver", qid=qid, rcpt=rcpt, folder=folder,
                           decision="defer", reason=f"{type(exc).__name__}: {exc}")
            return False
        for rcpt, key in zip(rcpts, results, strict=True):
            self.event(ctx, "deliver", qid=qid, rcpt=rcpt, folder=folder, key=key,
                       message_id=message_id, decision="deliver", reason=reason)
        return True

    def relay(self, ctx: Context, qid: str, message: bytes, mail_from: str,
              rcpts: list[str], event: str = "relay") -> None:
        """Send ``message`` on from this host, one SMTP transaction per recipient domain.

        Failures are never silent: see :meth:`attempt`.
        """
        by_domain: dict[str, list[str]] = {}
        for r in rcpts:
            by_domain.setdefault(r.rpartition("@")[2].lower(), []).append(r)
        for group in by_domain.values():
            self.attempt(ctx, qid, message, mail_from, group, event=event)

    def attempt(self, ctx: Context | None, qid: str, message: bytes, mail_from: str,
                rcpts: list[str], *, event: str = "relay", attempts: int = 0) -> None:
        """One delivery attempt of ``message`` to ``rcpts`` (one domain).

        Recipients refused for good are bounced to ``mail_from`` at once; those that
        met a 4xx or an unreachable server are queued for a retry on the lab clock
        (:data:`RETRY_AFTER`), and bounced after the last one.  ``attempts``: how
        many were made before this one.
        """
        from . import sender

        res = sender.send(message, lab=self.lab, from_host=self.hostname,
                          mail_from=mail_from, rcpt_to=rcpts)
        attempts += 1
        self.event(ctx, event, qid=qid, rcpts=rcpts, mail_from=mail_from, attempt=attempts,
                   decision=res.status, reason=f"{res.code or ''} {res.reply}".strip(),
                   server=res.server)
        failed = _failures(res, rcpts)
        later = [r for r, why in failed.items() if _transient(why, res.status)]
        if later and attempts <= len(RETRY_AFTER):
            wait = RETRY_AFTER[attempts - 1]
            last = failed[later[0]]
            self.lab.queue.add(Deferred(
                policy=self, ctx=ctx, qid=qid, message=message, mail_from=mail_from,
                rcpts=later, event=event, attempts=attempts,
                due=self.lab.clock.now() + wait, last_reply=last))
            self.event(ctx, "defer", qid=qid, rcpts=later, mail_from=mail_from,
                       attempt=attempts, decision="defer",
                       reason=f"{last}; next try in {wait:.0f} s of lab time")
            failed = {r: why for r, why in failed.items() if r not in later}
        elif later:
            for r in later:
                failed[r] = f"{failed[r]} (gave up after {attempts} attempts)"
        if failed:
            self.bounce(ctx, qid, mail_from, failed, message, remote=res.server)

    def bounce(self, ctx: Context | None, qid: str, mail_from: str, failures: dict[str, str],
               message: bytes, *, remote: str | None = None) -> None:
        """Report ``failures`` (recipient -> reason) to ``mail_from`` in a DSN sent from ``<>``.

        A message with the null reverse-path (itself a bounce) is not bounced: logged only.
        """
        from . import sender

        if not mail_from.strip("<> "):  # aiosmtpd hands the null reverse-path over as "<>"
            self.event(ctx, "bounce", qid=qid, rcpts=list(failures), decision="drop",
                       reason="null reverse-path: a bounce is never bounced")
            return
        dsn = make_delivery_report(self.hostname, mail_from, failures, message,
                                   self.lab.clock.now(), remote=remote)
        res = sender.send(dsn, lab=self.lab, from_host=self.hostname, mail_from="",
                          rcpt_to=[mail_from])
        self.event(ctx, "bounce", qid=qid, to=mail_from, rcpts=list(failures),
                   decision=res.status,
                   reason=f"DSN to the envelope sender: {res.code or ''} {res.reply}".strip())

    # -- overridable policy -------------------------------------------------------
    def on_connect(self, ctx: Context) -> str:
        """Decide on a new client (``ctx.client_ip``): return the SMTP greeting or a 554 refusal."""
        return "220 ok"

    def on_mail(self, ctx: Context, address: str) -> str:
        """Decide on the envelope sender: return a 250 or a refusal (5xx, or 4xx to try later)."""
        return "250 OK"

    def on_rcpt(self, ctx: Context, address: str, accepted: list[str]) -> str:
        """Decide on one recipient (``accepted`` holds those already taken): return the reply."""
        return "250 OK"

    def on_data(self, ctx: Context, mail_from: str, rcpts: list[str], data: bytes) -> str:
        """Decide on the whole message after DATA, store or relay it, and return the final reply."""
        return "250 OK"

    def runs_inline(self, step: str) -> bool:
        """May ``step`` run on the event loop itself? (Only quick steps that never block.)

        The default is no: every step goes to the server's worker threads.
        """
        return False

    def _log_failure(self, step: str, exc: Exception) -> None:
        """Log a policy step that raised, in as few lines as tell the learner what to do.

        A lab's MX calls the learner's functions for every message, so a student version
        meets one failure per message.  NotImplementedError is an exercise not solved yet:
        one line naming the function.  Any other error is a bug: its traceback the first
        time it is raised at that place, one line each time after (the event log keeps
        every failure either way).
        """
        frames = traceback.extract_tb(exc.__traceback__)
        where = frames[-1] if frames else None
        name = f"{where.name}()" if where else "the step"
        if isinstance(exc, NotImplementedError):
            log.error("%s: policy step %s failed: %s raised NotImplementedError (an exercise not solved"
                      " yet?); the client was told 451, try again later", self.hostname, step, name)
            return
        place = (step, type(exc), where.filename, where.lineno) if where else (step, type(exc))
        reported = self.__dict__.setdefault("_failures_reported", set())
        if place in reported:
            log.error("%s: policy step %s failed again: %s: %s in %s (traceback above)",
                      self.hostname, step, type(exc).__name__, " ".join(str(exc).split()), name)
            return
        if len(reported) < 1000:
            reported.add(place)
        log.error("%s: policy step %s failed", self.hostname, step, exc_info=exc)

    async def _call(self, server: Any, step: str, func: Any, *args: Any) -> Any:
        """Run a policy step in the worker threads; a crash becomes a 451, never a 250."""
        try:
            if self.runs_inline(step):
                return func(*args)
            return await server.lab_server.run_blocking(func, *args)
        except Exception as exc:  # noqa: BLE001 - reported to the client and the log
            self._log_failure(step, exc)
            ctx = getattr(server, "lab_ctx", None)
            self.event(ctx, "error", step=step, decision="defer",
                       reason=f"{type(exc).__name__}: {exc}")
            return "451 4.3.0 Local error in processing; try again later"

    # -- aiosmtpd hooks -------------------------------------------------------------
    async def handle_CONNECT(self, server: Any, session: Any, client_ip: str) -> str:
        """aiosmtpd hook: open the session's context and log line, then ask :meth:`on_connect`."""
        sid = self.lab.events.new_session(self.hostname)
        self.lab.events.hold(sid)  # its lines reach the file together (see handle_DATA/QUIT)
        server.lab_ctx = Context(session=sid, client_ip=client_ip)
        self.event(server.lab_ctx, "connect", peer=str(session.peer[0]))
        return await self._call(server, "connect", self.on_connect, server.lab_ctx)

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        """aiosmtpd hook: note the EHLO name (ESMTP) and whether TLS is on."""
        session.host_name = hostname
        ctx = self.ctx(server)
        ctx.helo = hostname
        ctx.esmtp = True
        ctx.tls = session.ssl is not None
        return responses

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:
        """aiosmtpd hook: note the HELO name (plain SMTP)."""
        session.host_name = hostname
        self.ctx(server).helo = hostname
        self.ctx(server).esmtp = False
        return f"250 {server.hostname}"

    def _sync_auth(self, server: Any, session: Any) -> Context:
        ctx = self.ctx(server)
        ctx.tls = session.ssl is not None
        if session.authenticated and ctx.user is None:
            ctx.user = str(session.auth_data)
        return ctx

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        """aiosmtpd hook: ask :meth:`on_mail`; only a 250 sets the envelope sender."""
        ctx = self._sync_auth(server, session)
        reply = await self._call(server, "mail", self.on_mail, ctx, address)
        if reply.startswith("250"):
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
        return reply

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        """aiosmtpd hook: one copy per repeated recipient, the recipient limit, then :meth:`on_rcpt`."""
        ctx = self._sync_auth(server, session)
        # a recipient given twice gets one copy (Postfix's duplicate filter): without
        # this, 50 RCPTs of one list address made the list send the message 50 times
        wanted = address.lower()
        if any(r.lower() == wanted for r in envelope.rcpt_tos):
            self.event(ctx, "rcpt", rcpt=address, decision="accept",
                       reason="duplicate recipient: one copy only")
            return "250 OK"
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
        """aiosmtpd hook: refuse bare LF/CR/NUL (SMTP smuggling), else ask :meth:`on_data`."""
        ctx = self._sync_auth(server, session)
        data = envelope.original_content or b""
        if has_bare_newline(data):
            self.event(ctx, "data", decision="reject",
                       reason="bare LF, bare CR or NUL in DATA (SMTP smuggling defence)")
            # X.5.2 "syntax error" (RFC 3463 section 3.6), as Postfix's reject mode answers;
            # 5.6.11 is Exchange Online's own code, not in the IANA registry
            reply = "550 5.5.2 Bare LF, bare CR or NUL in message; use CRLF line endings"
        else:
            reply = await self._call(server, "data", self.on_data, ctx,
                                     envelope.mail_from or "", list(envelope.rcpt_tos), data)
        self.lab.events.flush()  # the transaction's lines are in the file before the reply
        return reply

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd hook: write the session's log lines and say goodbye."""
        self.handle_DISCONNECT(server)
        return "221 Bye"

    def handle_DISCONNECT(self, server: Any) -> None:
        """The session ended (QUIT or a dropped connection): write its pending log lines."""
        ctx = getattr(server, "lab_ctx", None)
        if ctx is not None:
            self.lab.events.release(ctx.session)


def is_postmaster(address: str, domain: str) -> bool:
    """True for ``postmaster@domain`` and for a bare ``postmaster``, in any case: the
    mailbox that RFC 5321 section 4.5.1 says a host that accepts mail MUST accept."""
    local, at, where = address.strip("<> ").rpartition("@")
    if not at:
        return where.lower() == "postmaster"
    return local.lower() == "postmaster" and where.lower().rstrip(".") == domain.lower()


def remove_return_path(data: bytes) -> tuple[bytes, int]:
    """Delete the Return-Path fields the sender put in ``data``.

    Only the server that makes the final delivery writes Return-Path, from MAIL FROM
    (RFC 5321 4.4, which lets it remove any already there, as Postfix does by
    default); one in incoming mail was written by the sender and proves nothing.
    Returns the message and how many fields were removed.

    Not named in the labs: the lab's final servers (from lab 00) call it.
    """
    end = data.find(b"\r\n\r\n")
    if b"return-path" not in (data if end < 0 else data[:end]).lower():
        return data, 0
    return _remove_fields(data, lambda name, value: name == b"return-path")


def _remove_fields(data: bytes, drop: Any) -> tuple[bytes, int]:
    """``data`` without the header fields for which ``drop(lower-case name, value)`` is
    true, and how many went; the rest byte for byte.  A message without a blank line
    is all header (its complete lines)."""
    end = data.find(b"\r\n\r\n")
    cut = end + 2 if end >= 0 else data.rfind(b"\r\n") + 2
    if cut < 2:
        return data, 0
    head, rest = data[:cut], data[cut:]
    kept: list[bytes] = []
    removed = 0
    for field in _headerfields.split(head, keep_ends=True):
        name, _, value = field[:-2].partition(b":")
        if drop(name.strip().lower(), value):
            removed += 1
            continue
        kept.append(field)
    if not removed:
        return data, 0
    return b"".join(kept) + rest, removed


def _failures(res: Any, rcpts: list[str]) -> dict[str, str]:
    """Recipient -> reason for every recipient of ``rcpts`` that ``res`` did not deliver."""
    if res.status == "sent":
        return {}
    overall = f"{res.code} {res.reply}" if res.code else f"{res.status}: {res.reply}"
    accepted = set(res.accepted) if res.ok else set()
    return {r: res.refused.get(r, overall) for r in rcpts if r not in accepted}


def _transient(why: str, status: str) -> bool:
    """Worth another try: a 4xx reply, or no SMTP reply at all (server unreachable)."""
    if why[:1] in ("4", "5"):
        return why[:1] == "4"
    return status in ("deferred", "error")


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


__all__ = ["Policy", "Context", "Authenticator", "queue_id", "RelayQueue", "Deferred",
           "make_delivery_report", "RETRY_AFTER", "is_postmaster", "remove_return_path"]
