"""One SMTP server engine for every lab host: aiosmtpd in its own thread and loop.

Protocol here, policy in handlers (:mod:`labkit.mta.receiver`, ``submission``,
``forwarder`` ...).  What this module adds to aiosmtpd 1.4.6:

* the **client address** of each connection as a documentation address: from the
  loopback alias the client bound (``127.0.113.66`` -> ``203.0.113.66``), or, where
  aliases are unavailable, from a PROXY protocol v1/v2 header (``proxy=True``);
  it survives STARTTLS (aiosmtpd makes a new session there);
* an ``admission(client_ip)`` check of the *network* in front of the server, asked
  before anything else (the lab's ISP gateway: OP25B refuses pool addresses here,
  see :mod:`labkit.mta.isp`); a refused connection never reaches the policy;
* a ``handle_CONNECT(server, session, client_ip)`` hook a policy can use to refuse a
  client before the greeting (DNSBL, block lists), and a synchronous
  ``handle_DISCONNECT(server)`` called when the connection is gone;
* MAIL FROM / RCPT TO arguments parsed by aiosmtpd's own code, remembered per
  argument (the same result, without re-running the stdlib header parser);
* limits in the spirit of Postfix: connections per client address, errors per
  session, idle time-out, message size (552), line length (500), command counts;
* protocol checks aiosmtpd 1.4.6 skips: a second STARTTLS inside TLS gets 503
  (RFC 3207), AUTH PLAIN fails when its authorization identity is not the
  authenticated user (RFC 4616 section 2; there are no proxy users in the lab),
  an EHLO/HELO name that is no domain or address literal gets 501 (RFC 5321
  4.1.1.1; it would break the Received line's grammar), and after a 554 greeting
  the server answers 503 until QUIT instead of closing (RFC 5321 section 3.1), for the
  ISP gateway's OP25B refusal as for a policy's; an SMTPUTF8 parameter on MAIL, which
  is not offered, gets 555 (RFC 5321 4.1.1.11); and where AUTH is offered, MAIL's
  ``AUTH=`` parameter is accepted, AUTH during a mail transaction gets 503 and an
  initial response ``=`` is an empty one (RFC 4954 sections 4 and 5);
* enhanced status codes (RFC 2034, RFC 3463): EHLO offers ENHANCEDSTATUSCODES, and
  then every 2xx/4xx/5xx reply but EHLO's carries one (``250 2.1.0 OK``); a reply
  that has none, aiosmtpd's own or a policy's ``"250 OK"``, gets one in :meth:`LabSMTP.push`;
* loopback-only binding unless ``allow_remote=True``; the port is chosen by the OS at
  bind time (port 0 on our own ``create_server``), so two labs never race for a port.

Not named in the labs: every lab host (from lab 00) speaks SMTP through it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import functools
import ipaddress
import logging
import re
import ssl
import threading
from collections.abc import Callable
from typing import Any

from aiosmtpd.proxy_protocol import get_proxy
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Session, syntax

from .. import _coerce, net
from ..errors import ServiceError
from ..service import Service
from ._loopthread import LoopThread

log = logging.getLogger(__name__)


class _HideUndecodedAuth(logging.Filter):
    """Masks what aiosmtpd's ``mail.log`` shows of an AUTH response it cannot decode.

    aiosmtpd 1.4.6 masks the AUTH command line, but an answer to its 334 prompt that is
    not base64 (a learner typing the bare password by hand) is logged at DEBUG as
    ``can't decode base64: b'<the password>'``.  The line stays, the text is starred out.
    """

    _MESSAGE = "%r can't decode base64: %s"

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record; replace the undecoded response in its arguments."""
        if record.msg == self._MESSAGE and isinstance(record.args, tuple) and len(record.args) == 2:
            record.args = (record.args[0], "********")
        return True


_AIOSMTPD_LOG = logging.getLogger("mail.log")
if not any(isinstance(f, _HideUndecodedAuth) for f in _AIOSMTPD_LOG.filters):
    _AIOSMTPD_LOG.addFilter(_HideUndecodedAuth())


def has_bare_newline(data: bytes) -> bool:
    """True if ``data`` holds a bare LF, a bare CR or a NUL byte (see SMTP smuggling)."""
    # every CRLF holds one CR and one LF, so any other CR or LF is a bare one; counting
    # runs at memchr speed (a look-around regex took ~0.2 s per 10 MB message)
    pairs = data.count(b"\r\n")
    return b"\x00" in data or data.count(b"\n") != pairs or data.count(b"\r") != pairs


@dataclasses.dataclass(frozen=True, kw_only=True)
class Limits:
    """Per-server limits (defaults in the spirit of Postfix's)."""

    message_size: int = 10 * 1024 * 1024  # Postfix message_size_limit ~10 MB -> 552
    # smtpd_recipient_limit is 1000; RFC 5321 4.5.3.1.8: refusing fewer than 100 is a violation
    recipients: int = 100
    errors: int = 10  # smtpd_hard_error_limit 20
    # RFC 5321 4.5.3.2.7: a server SHOULD wait at least 5 minutes for the next command
    # (Postfix smtpd_timeout 300 s); a learner typing a session by hand needs it too
    idle_timeout: float = 300.0
    # RFC 1939 section 3: a POP3 autologout timer MUST be at least 10 minutes
    pop3_idle_timeout: float = 600.0
    connections_per_client: int = 20  # smtpd_client_connection_count_limit 50
    commands: int = 200  # aiosmtpd command_call_limit per command name

    def __post_init__(self) -> None:
        _coerce.seconds(self.idle_timeout, "idle_timeout")
        _coerce.seconds(self.pop3_idle_timeout, "pop3_idle_timeout")
        for name in ("message_size", "recipients", "errors", "connections_per_client", "commands"):
            _coerce.count(getattr(self, name), name)

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return dataclasses.asdict(self)


class _Session(Session):
    """aiosmtpd's Session without the deprecation warning its own AUTH code triggers,
    and with whether this session's EHLO offered ENHANCEDSTATUSCODES (RFC 2034)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.enhanced_status_codes = False

    @property
    def login_data(self) -> Any:
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


class _AddressLimits:
    """The one attribute aiosmtpd's address parser reads from its server."""

    def __init__(self, local_part_limit: int) -> None:
        self.local_part_limit = local_part_limit


_XTEXT = re.compile(r"(?:[!-*,-<>-~]|\+[0-9A-F]{2})+")


def _is_auth_value(value: str) -> bool:
    """The value of a MAIL ``AUTH=`` parameter: ``<>`` or an xtext (RFC 4954, RFC 3461)."""
    return value == "<>" or _XTEXT.fullmatch(value) is not None


# RFC 5321 4.1.1.1: EHLO/HELO name one host, as a Domain or an address literal
# ("[" 1*dcontent "]"); "_" in a label and a final dot are tolerated, as clients send them
_HELO_LABEL = re.compile(r"[A-Za-z0-9_-]+")
_ADDRESS_LITERAL = re.compile(r"\[[!-Z^-~]+\]")


def _is_helo_name(arg: str) -> bool:
    """True if ``arg`` may follow EHLO or HELO: one domain name or one address literal
    (the Received line quotes it in its ``from`` clause, RFC 5321 section 4.4)."""
    if arg.startswith("["):
        return _ADDRESS_LITERAL.fullmatch(arg) is not None
    labels = (arg[:-1] if arg.endswith(".") else arg).split(".")
    return all(_HELO_LABEL.fullmatch(x) and x[0] != "-" and x[-1] != "-" for x in labels)


# RFC 3463 section 2: status-code = class "." subject "." detail, class 2, 4 or 5
_STATUS_CODE = re.compile(r"[245]\.\d{1,3}\.\d{1,3}(?: |$)")
# The code a 2xx reply gets, by the command it answers (RFC 3463 section 3): X.1.0 the
# sender address, X.1.5 a valid recipient, X.7.0 security (AUTH: RFC 4954 section 6);
# every other success is 2.0.0
_SUCCESS_STATUS = {"MAIL": "2.1.0", "RCPT": "2.1.5", "AUTH": "2.7.0"}
# The code an error reply gets, by reply code (RFC 3463 sections 3.4-3.8, RFC 3207 and
# RFC 4954 for 530/535/538/454).  X.5.1: command invalid here or out of sequence;
# X.5.2: syntax error or unknown command; X.5.4: bad arguments or unknown parameter;
# X.3.4: message too big.  Any other gets the class's "undefined" code, X.0.0.
_ERROR_STATUS = {
    "500": "5.5.2", "501": "5.5.4", "502": "5.5.1", "503": "5.5.1", "504": "5.5.4",
    "555": "5.5.4", "552": "5.3.4", "530": "5.7.0", "535": "5.7.8", "538": "5.7.11",
    "554": "5.7.0",  # aiosmtpd's one 554: a command before a failed TLS handshake ended
    "451": "4.3.0", "452": "4.3.1", "454": "4.7.0",
}


def with_status_code(reply: str, verb: str | None) -> str:
    """``reply`` with an RFC 3463 enhanced status code after each line's reply code,
    unless it has one already: ``"250 OK"`` to MAIL -> ``"250 2.1.0 OK"``.

    3xx replies (354, AUTH's 334) are left alone: RFC 3463 has no class 3.
    ``verb``: the command the reply answers (``"MAIL"``, ``"RCPT"`` ...), or None.
    """
    lines = []
    for line in reply.split("\r\n"):
        code, sep, text = line[:3], line[3:4], line[4:]
        if (len(code) == 3 and code.isdigit() and code[0] in "245" and sep in (" ", "-", "")
                and not _STATUS_CODE.match(text)):
            if code[0] == "2":
                status = _SUCCESS_STATUS.get(verb or "", "2.0.0")
            else:
                status = _ERROR_STATUS.get(code, f"{code[0]}.0.0")
            line = f"{code}{sep or ' '}{status} {text}".rstrip()
        lines.append(line)
    return "\r\n".join(lines)


def _empty_initial_response(args: list[str]) -> list[str]:
    """AUTH's arguments with an initial response of ``=`` made empty: RFC 4954 section 4
    sends a zero-length initial response as a single "=" (no valid base64 is "=")."""
    return [args[0], ""] if len(args) == 2 and args[1] == "=" else args


@functools.lru_cache(maxsize=4096)
def _parse_address(arg: str, local_part_limit: int) -> tuple[str | None, str | None]:
    """aiosmtpd's own MAIL FROM / RCPT TO address parsing, remembered per argument.

    The stdlib header parser it uses is slow, and busy senders repeat the same
    addresses; the result depends only on ``arg`` and the local-part limit.
    """
    return SMTP._getaddr(_AddressLimits(local_part_limit), arg)  # type: ignore[arg-type]


class LabSMTP(SMTP):
    """aiosmtpd's engine plus lab client addressing, a connect hook and an error budget."""

    def __init__(self, handler: Any, *, lab_server: SMTPServer, **kwargs: Any) -> None:
        self.lab_server = lab_server
        self.client_ip: str | None = None
        self._admitted = False
        self._errors = 0
        self._closing = False
        self._verb: str | None = None  # the command being answered (see push)
        super().__init__(handler, **kwargs)
        # aiosmtpd calls each command through this table: note which one a reply answers
        self._smtp_methods = {name: self._noting_verb(name, method)
                              for name, method in self._smtp_methods.items()}

    def _noting_verb(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        """``method`` (aiosmtpd's ``smtp_<name>``), remembering ``name`` while it runs."""

        @functools.wraps(method)  # keeps the @syntax attributes that HELP reads
        async def call(arg: str | None) -> None:
            self._verb = name
            try:
                await method(arg)
            finally:
                self._verb = None

        return call

    async def _call_handler_hook(self, command: str, *args: Any) -> Any:
        """aiosmtpd's hook call; the EHLO keyword list the handler gets offers
        ENHANCEDSTATUSCODES (RFC 2034 section 3) before its final ``250 HELP``, and no
        8BITMIME when the server's ``eightbitmime`` is off."""
        if command == "EHLO" and len(args) == 2 and isinstance(args[1], list) and args[1]:
            args[1].insert(len(args[1]) - 1, "250-ENHANCEDSTATUSCODES")
            if not self.lab_server.eightbitmime:  # a server of the 7-bit kind (RFC 6152)
                args[1][:] = [line for line in args[1] if line[4:].upper() != "8BITMIME"]
        return await super()._call_handler_hook(command, *args)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        return _parse_address(arg, self.local_part_limit)

    def _create_session(self) -> Session:
        return _Session(self.loop)

    async def _refuse_helo_name(self, verb: str, hostname: str | None) -> bool:
        """Answer 501 to a name that is no domain or address literal (RFC 5321 4.1.1.1)."""
        if hostname and not _is_helo_name(hostname):
            await self.push(f"501 5.5.4 Syntax: {verb} hostname (a domain name or an address literal)")
            return True
        return False

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str | None) -> None:
        """EHLO, after :meth:`_refuse_helo_name`'s check."""
        if not await self._refuse_helo_name("EHLO", hostname):
            self.session.enhanced_status_codes = False  # until this reply offers them
            await super().smtp_EHLO(hostname)

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str | None) -> None:
        """HELO, after :meth:`_refuse_helo_name`'s check; HELO offers no extensions."""
        if not await self._refuse_helo_name("HELO", hostname):
            self.session.enhanced_status_codes = False
            await super().smtp_HELO(hostname)

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        """STARTTLS; a second one inside TLS gets 503 (aiosmtpd would start TLS inside TLS)."""
        if self._tls_protocol is not None:  # aiosmtpd would start TLS inside TLS
            await self.push("503 5.5.1 TLS already active")
            return
        await super().smtp_STARTTLS(arg)

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        """MAIL; where AUTH is offered, its ``AUTH=`` parameter (RFC 4954 section 5) is
        parsed and discarded, as for a client the server does not trust (aiosmtpd 1.4.6
        refused it with 555, so ``curl --mail-auth`` or a relaying Postfix could not send).
        An SMTPUTF8 parameter, which EHLO does not offer here, gets 555 (aiosmtpd: 501),
        as does BODY=8BITMIME when the server's ``eightbitmime`` is off.
        """
        offered = self._auth_require_tls is False or self._tls_protocol is not None
        if arg and self.session is not None and self.session.extended_smtp:
            close = arg.find(">", arg.find("<") + 1)  # the reverse-path's end (AUTH=<> has one too)
            params = arg[close + 1:].split() if close >= 0 else []
            if not self.enable_SMTPUTF8 and any(
                    p.partition("=")[0].upper() == "SMTPUTF8" for p in params):
                # RFC 5321 4.1.1.11 (and 4.5.3.1's 555): a parameter the server does not
                # implement; RFC 6531 section 3.4: a client sends SMTPUTF8 only where EHLO
                # offered it.  501 would say the command was written wrongly.
                await self.push("555 5.5.4 MAIL FROM parameter SMTPUTF8 not supported here "
                                "(not offered in the EHLO reply)")
                return
            if not self.lab_server.eightbitmime and any(
                    p.upper() == "BODY=8BITMIME" for p in params):
                # RFC 6152 section 3: only where EHLO offered 8BITMIME (aiosmtpd takes it anyway)
                await self.push("555 5.5.4 MAIL FROM parameter BODY=8BITMIME not supported here "
                                "(not offered in the EHLO reply)")
                return
            values = [p.partition("=")[2] for p in params if p.upper().startswith("AUTH=")]
            if values and offered:
                if len(values) > 1 or not _is_auth_value(values[0]):
                    await self.push("501 5.5.4 Bad AUTH parameter (RFC 4954: AUTH=<> or an xtext)")
                    return
                kept = [p for p in params if not p.upper().startswith("AUTH=")]
                arg = " ".join([arg[:close + 1], *kept])
        await super().smtp_MAIL(arg)

    @syntax("AUTH <mechanism>")
    async def smtp_AUTH(self, arg: str) -> None:
        """AUTH, refused with 503 during a mail transaction (RFC 4954 section 4: "MUST be
        rejected with a 503 reply"; aiosmtpd does not check it)."""
        if (arg and self.session is not None and self.session.extended_smtp
                and self.envelope is not None and self.envelope.mail_from is not None):
            await self.push("503 5.5.1 AUTH is not allowed during a mail transaction")
            return
        await super().smtp_AUTH(arg)

    async def auth_PLAIN(self, server: Any, args: list[str]) -> AuthResult:
        """AUTH PLAIN (RFC 4616), with a malformed response refused instead of crashing."""
        args = _empty_initial_response(args)
        if len(args) == 1:  # no initial response: ask here, so that both paths are checked
            blob = await self.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False)
            args = [args[0], base64.b64encode(blob).decode()]
        try:
            authzid, authcid, _ = base64.b64decode(args[1], validate=True).split(b"\0")
        except (binascii.Error, ValueError):
            pass  # aiosmtpd's own 501 replies below
        else:
            if authzid and authzid.lower() != authcid.lower():
                hook = getattr(self.event_handler, "event", None)
                if hook is not None:
                    hook(getattr(self, "lab_ctx", None), "auth", mechanism="PLAIN",
                         user=authcid.decode("utf-8", "replace"), decision="reject",
                         reason="authorization identity differs from the user (RFC 4616)")
                return AuthResult(success=False, handled=False)
        return await super().auth_PLAIN(server, args)

    async def auth_LOGIN(self, server: Any, args: list[str]) -> AuthResult:
        """AUTH LOGIN; ``AUTH LOGIN =`` is an empty user name (RFC 4954 section 4)."""
        return await super().auth_LOGIN(server, _empty_initial_response(args))

    async def _handle_client(self) -> None:
        srv = self.lab_server
        srv._track(self, True)
        peer = self.session.peer
        if srv.proxy:
            self._reset_timeout(srv.proxy_timeout)
            data = await get_proxy(self._reader)
            src = getattr(data, "src_addr", None) if data is not None and data.valid else None
            try:
                ip = str(ipaddress.ip_address(str(src)))
            except ValueError:
                log.warning("%s: bad PROXY header from %r", srv.hostname, peer)
                self.transport.close()
                return
            if not net.is_lab_address(ip):
                self.transport.close()
                return
        else:
            ip = net.from_loopback(peer[0])
        self.client_ip = ip
        refusal = srv.admission(ip) if srv.admission is not None else None
        if refusal:
            await super().push(refusal)
            if refusal[:3] == "554":  # RFC 5321 section 3.1, as for a policy's 554 below
                await self._wait_for_quit()
            if self.transport is not None:
                self.transport.close()
            return
        if not srv._admit(ip):
            await super().push(
                f"421 4.7.0 {srv.hostname} too many connections from {ip}, try later"
            )
            self.transport.close()
            return
        self._admitted = True
        hook = getattr(self.event_handler, "handle_CONNECT", None)
        if hook is not None:
            reply = await hook(self, self.session, ip)
            if reply and reply[:1] in ("4", "5"):
                await super().push(reply)
                if reply[:3] == "554":
                    await self._wait_for_quit()
                if self.transport is not None:
                    self.transport.close()
                return
        self._proxy_timeout = None
        self._reset_timeout()
        await super()._handle_client()

    async def _wait_for_quit(self) -> None:
        """After a 554 greeting: 503 to every command until QUIT (RFC 5321 section 3.1:
        the server MUST wait for QUIT), within the idle time-out and the error budget."""
        while self.transport is not None and not self.transport.is_closing():
            self._reset_timeout()
            try:
                line = await self._reader.readuntil()
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return  # the client went away, or sent a line over the limit: just close
            if line.strip().partition(b" ")[0].upper() == b"QUIT":
                await super().push("221 2.0.0 Bye")
                return
            await self.push("503 5.5.1 Bad sequence of commands: the connection was refused, send QUIT")

    def connection_lost(self, error: Exception | None) -> None:
        """The client went away: free its connection slot and write its log lines."""
        hook = getattr(self.event_handler, "handle_DISCONNECT", None)
        if hook is not None:
            try:
                hook(self)
            except Exception:  # noqa: BLE001 - a closing connection must still be released
                log.exception("%s: disconnect hook failed", self.lab_server.hostname)
        if self._admitted:
            self._admitted = False
            self.lab_server._release(self.client_ip)
        self.lab_server._track(self, False)
        super().connection_lost(error)

    async def push(self, status: Any) -> None:
        """Send one reply line, counting error replies toward the session's limit.

        Once EHLO has offered ENHANCEDSTATUSCODES, a reply without an RFC 3463 code gets
        one (:func:`with_status_code`): RFC 2034 section 4 wants one in every reply
        but the greeting and the replies to HELO and EHLO.
        """
        if isinstance(status, str):
            if self._verb == "EHLO" and status[4:] == "ENHANCEDSTATUSCODES":
                self.session.enhanced_status_codes = True
            elif self._verb not in ("EHLO", "HELO") and getattr(
                    self.session, "enhanced_status_codes", False):
                status = with_status_code(status, self._verb)
        await super().push(status)
        text = status.decode() if isinstance(status, bytes) else str(status)
        if text[:1] in ("4", "5") and not self._closing:
            self._errors += 1
            if self._errors >= self.lab_server.limits.errors:
                self._closing = True
                await super().push("421 4.7.0 Too many errors in this session, goodbye")
                if self.transport is not None:
                    self.transport.close()


class SMTPServer(Service):
    """A lab SMTP server: ``handler`` (an aiosmtpd-style policy) served on loopback.

    ``eightbitmime``: offer 8BITMIME in the EHLO reply (RFC 6152).  Switch it off, also
    on a running server (``lab.server(host).eightbitmime = False``), to play an old
    7-bit server: senders then convert 8-bit mail or return it (:mod:`labkit.mta.downgrade`).

    ``port`` is 0 (the OS picks a free one) unless given; read it back from ``.port``
    after ``start()``.  ``admission``: called with each client address before the
    greeting; a reply string (``"554 ..."``) refuses the connection, ``None`` lets it in.
    """

    eightbitmime = _coerce.Flag()  # True or False only: "no" would keep it on

    def __init__(
        self,
        handler: Any,
        *,
        hostname: str,
        bind: str = net.LOOPBACK,
        port: int = 0,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        authenticator: Any = None,
        auth_mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN"),
        proxy: bool = False,
        proxy_timeout: float = 5.0,
        limits: Limits | None = None,
        allow_remote: bool = False,
        admission: Callable[[str], str | None] | None = None,
        eightbitmime: bool = True,
    ) -> None:
        super().__init__()
        port = _coerce.port(port, zero=True)
        require_starttls = _coerce.flag(require_starttls, "require_starttls")
        proxy = _coerce.flag(proxy, "proxy")
        allow_remote = _coerce.flag(allow_remote, "allow_remote")  # "no" would bind 0.0.0.0
        if not allow_remote and not ipaddress.ip_address(bind).is_loopback:
            raise ServiceError(f"{hostname}: refusing to bind {bind}; lab servers bind loopback")
        self.handler = handler
        self.hostname = hostname
        self.name = f"smtp {hostname}"
        self.bind = bind
        self.port = port
        self._want_port = port
        self.tls_context = tls_context
        self.require_starttls = require_starttls
        self.authenticator = authenticator
        self.auth_mechanisms = auth_mechanisms
        self.proxy = proxy
        self.proxy_timeout = _coerce.seconds(proxy_timeout, "proxy_timeout")
        self.limits = limits or Limits()
        self.admission = admission
        self.eightbitmime = eightbitmime
        self._runner = LoopThread(self.name)
        self._conns: dict[str, int] = {}
        self._conn_lock = threading.Lock()

    # -- connection book-keeping (called from the loop thread) --------------------
    def _admit(self, ip: str) -> bool:
        with self._conn_lock:
            n = self._conns.get(ip, 0)
            if n >= self.limits.connections_per_client:
                return False
            self._conns[ip] = n + 1
            return True

    def _release(self, ip: str | None) -> None:
        with self._conn_lock:
            if ip in self._conns:
                self._conns[ip] -= 1
                if self._conns[ip] <= 0:
                    del self._conns[ip]

    def _track(self, proto: LabSMTP, alive: bool) -> None:
        if alive:
            self._runner.connections.add(proto)
        else:
            self._runner.connections.discard(proto)

    def connections(self) -> dict[str, int]:
        """Open connections per client address (a snapshot)."""
        with self._conn_lock:
            return dict(self._conns)

    # -- life cycle ---------------------------------------------------------------
    def _factory(self) -> LabSMTP:
        excluded = [m for m in ("PLAIN", "LOGIN") if m not in self.auth_mechanisms]
        kwargs: dict[str, Any] = {
            "hostname": self.hostname,
            "ident": "labkit ESMTP",
            "data_size_limit": self.limits.message_size,
            "timeout": self.limits.idle_timeout,
            "command_call_limit": self.limits.commands,
            "tls_context": self.tls_context,
            "require_starttls": self.require_starttls,
            "auth_require_tls": True,
            "auth_exclude_mechanism": excluded,
            "loop": self._runner.loop,
        }
        if self.authenticator is not None:
            kwargs["authenticator"] = self.authenticator
        return LabSMTP(self.handler, lab_server=self, **kwargs)

    def _start(self) -> None:
        self._runner = LoopThread(self.name)
        self.port = self._runner.start(
            lambda loop: loop.create_server(self._factory, host=self.bind, port=self._want_port)
        )

    def _stop(self) -> None:
        self._runner.stop()
        self._conns.clear()
        self.port = self._want_port

    def run_blocking(self, func: Any, *args: Any) -> asyncio.Future:
        """Run ``func(*args)`` in this server's worker threads (from handler code)."""
        return self._runner.run_blocking(func, *args)

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) to connect to."""
        return (self.bind, self.port)

    def __repr__(self) -> str:
        return f"<SMTPServer {self.hostname} {self.bind}:{self.port} {self.state.value}>"


__all__ = ["SMTPServer", "LabSMTP", "Limits", "has_bare_newline", "with_status_code"]
