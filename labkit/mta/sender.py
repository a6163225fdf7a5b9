"""Send mail as any lab host: from its client address, routed by MX in the lab DNS.

The sender connects from the loopback alias that plays the host's documentation
address (``source_address=("127.0.113.66", 0)``), or, where aliases do not exist,
from 127.0.0.1 with a PROXY protocol v1 header naming that address.  It optionally
DKIM-signs with the host's domain key, and it refuses any destination outside the
lab: a recipient domain with no MX/A in the lab DNS is never tried elsewhere.

Introduced in lab 00 (set-up: ``make_message``, and ``lab.send`` gives a :class:`SendResult`).
"""

from __future__ import annotations

import dataclasses
import email.utils
import ipaddress
import logging
import secrets
import smtplib
import socket
import time
from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from typing import Any

from .. import _coerce, net
from ..errors import UsageError
from . import downgrade
from . import hosts as _hosts
from .clock import mail_date

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SendResult:
    """What happened to one message on one SMTP hop, as the sending host saw it.

    ``status``: ``sent`` (every recipient accepted and 250 after DATA), ``partial``
    (some recipients refused), ``rejected`` (5xx; or, with ``code`` None and a reply
    beginning ``5.6.3``, 8-bit mail the client could not convert for a server without
    8BITMIME), ``deferred`` (4xx), ``blocked``
    (the network refused the connection, e.g. OP25B), ``refused`` (not a lab
    destination) or ``error`` (connection failed).
    """

    status: str
    client: str
    server: str | None = None
    port: int | None = None
    code: int | None = None
    reply: str = ""
    accepted: tuple[str, ...] = ()
    refused: dict[str, str] = dataclasses.field(default_factory=dict)
    message_id: str | None = None
    steps: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the server took the message for at least one recipient."""
        return self.status in ("sent", "partial")

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        where = f"{self.server}:{self.port}" if self.server else "-"
        return f"{self.status}: {self.client} -> {where} {self.code or ''} {self.reply}".strip()

    def _repr_html_(self) -> str:
        import html

        rows = "".join(f"<li>{html.escape(s)}</li>" for s in self.steps)
        return f"<b>{html.escape(str(self))}</b><ol>{rows}</ol>"


class _LabSMTPClient(smtplib.SMTP):
    """smtplib client that can open with a PROXY protocol v1 header."""

    def __init__(self, *args: Any, proxy_from: tuple[str, str] | None = None, **kw: Any) -> None:
        self._proxy_from = proxy_from
        super().__init__(*args, **kw)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = super()._get_socket(host, port, timeout)
        if self._proxy_from is not None:
            src, dst = self._proxy_from
            fam = "TCP6" if ":" in src else "TCP4"
            local_port = sock.getsockname()[1]
            sock.sendall(f"PROXY {fam} {src} {dst} {local_port} {port}\r\n".encode("ascii"))
        return sock


def _as_bytes(message: bytes | str | EmailMessage) -> bytes:
    """``message`` as bytes (``labkit._coerce.message_bytes``) with CRLF line ends."""
    message = _coerce.message_bytes(message)
    # normalise line endings to CRLF (SMTP's) without touching existing CRLFs
    return message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _header(message: bytes, name: str) -> str | None:
    """The first ``name`` field of the CRLF message ``message``, unfolded as compat32 gives it."""
    import email.parser
    import email.policy

    if message.startswith(b"\r\n"):
        return None  # an empty header block
    end = message.find(b"\r\n\r\n")
    head = message if end < 0 else message[: end + 4]  # (the parser would read the whole body too)
    msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head)
    value = msg.get(name)
    return str(value) if value is not None else None


def message_id(domain: str) -> str:
    """A new Message-ID ``<UTC time as YYYYMMDDHHMMSS.16 random hex digits@domain>``.

    Unique like ``email.utils.make_msgid``'s (64 random bits), but always of one shape and
    length: make_msgid's decimal random number and process id vary in length, and the spam
    filters' tokenizer keeps a field's length, so lab mail trained a filter differently on
    each run (lab 10's scores moved between runs). RFC 5322 3.6.4 asks only for uniqueness.
    """
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    return f"<{stamp}.{secrets.token_hex(8)}@{domain}>"


def make_message(
    *,
    from_: str,
    to: str | Sequence[str],
    subject: str,
    body: str,
    message_id_domain: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """Build a small RFC 5322 message (CRLF line ends) with Date and Message-ID.

    ``to`` is one address or a list of them; ``headers`` a dict of extra fields.
    """
    _coerce.text(from_, "from_", example="news@brand.example")
    if not isinstance(to, str):
        if not isinstance(to, (list, tuple)) or not all(isinstance(a, str) for a in to):
            raise TypeError(f"to must be an address such as 'alice@corp.example' or a list of "
                            f"them, not {type(to).__name__}")
    _coerce.text(subject, "subject", example="meeting at 10")
    if isinstance(body, (bytes, bytearray)):
        raise TypeError("body must be a str (the text of the mail), not bytes: .decode() it")
    _coerce.text(body, "body", example="See you there.")
    if headers is not None and not isinstance(headers, dict):
        raise TypeError(f"headers must be a dict such as {{'Reply-To': 'x@brand.example'}}, "
                        f"not {type(headers).__name__}")
    msg = EmailMessage()
    msg["From"] = from_
    msg["To"] = to if isinstance(to, str) else ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = mail_date()
    domain = message_id_domain or email.utils.parseaddr(from_)[1].rpartition("@")[2] or "lab"
    msg["Message-ID"] = message_id(domain)
    for k, v in (headers or {}).items():
        msg[k] = v
    msg.set_content(body)
    return _as_bytes(msg)


def dkim_sign(message: bytes, domain: str, selector: str | None = None) -> bytes:
    """Sign ``message`` with the lab key of ``domain`` (default selector from the cast)."""
    import labkit.auth.dkim

    domain = _coerce.domain(domain, "the DKIM domain")
    sel = selector or _hosts.SIGNING_SELECTORS.get(domain)
    if sel is None:
        raise NoDKIMKey(f"the lab has no DKIM key for {domain!r}: dkim=True signs with the "
                        f"sending host's domain, dkim='...' names one of "
                        f"{', '.join(sorted(_hosts.SIGNING_SELECTORS))}")
    key = labkit.auth.dkim.lab_key(domain, sel)
    return labkit.auth.dkim.sign(message, domain=domain, selector=sel, private_key=key)


class NoDKIMKey(UsageError, KeyError):
    """No lab DKIM key for the domain asked for (also a KeyError, as it always was)."""

    __str__ = Exception.__str__


def _check_send_args(lab: Any, from_host: Any, mail_from: Any, rcpt_to: Any, helo: Any,
                     to_host: Any, port: Any, auth: Any = None, timeout: Any = 30.0) -> None:
    """Wrong types and a lab that is not running fail here, before anything is sent."""
    import labkit.dns

    if isinstance(lab, labkit.dns.LabDNS):
        raise UsageError("lab= must be a running labkit Lab (lk.Lab().start()), not its LabDNS")
    if getattr(lab, "hosts", None) is None or not getattr(lab, "running", True):
        raise UsageError("lab= must be a running labkit Lab: call lab.start() first "
                         "(or use `with lk.Lab() as lab:`)")
    _coerce.text(from_host, "from_host", example="mail.brand.example")
    if mail_from is not None:
        _coerce.text(mail_from, "mail_from", example="news@brand.example")
    if rcpt_to is not None and not isinstance(rcpt_to, str):
        if (not isinstance(rcpt_to, (list, tuple, set))
                or not all(isinstance(r, str) for r in rcpt_to)):
            raise TypeError(f"rcpt_to must be an address such as 'alice@corp.example' or a list "
                            f"of such strings, not {type(rcpt_to).__name__}"
                            + (" holding other things" if isinstance(rcpt_to, (list, tuple, set))
                               else ""))
    if helo is not None:
        _coerce.text(helo, "helo", example="mail.brand.example")
    if to_host is not None:
        _coerce.text(to_host, "to_host", example="mx.corp.example")
    _coerce.port(port)
    _check_auth(auth)
    _coerce.seconds(timeout)


#: texts that mean a switch, not a domain: dkim="no" must not be looked up as a domain
_SWITCH_WORDS = frozenset({"", "no", "yes", "false", "true", "off", "on", "none", "0", "1"})


def _dkim_arg(dkim: Any, selector: Any) -> bool | str:
    """``dkim`` of :func:`send`: ``True``/``False`` (a switch, checked as
    :func:`labkit._coerce.flag` does) or a domain name as text.

    Text that reads as a switch (``"no"``, ``"false"``, ``""`` ...) is a
    :class:`UsageError` that says to write ``dkim=False``; other types (bytes, a list,
    None) are a ``TypeError``.  ``selector`` must be text, and is refused without
    ``dkim`` (it would be ignored: no signature is made).
    """
    if isinstance(dkim, str):
        if dkim.strip().lower() in _SWITCH_WORDS:
            raise UsageError(f"dkim={dkim!r} would be read as a domain name: dkim=False sends "
                             f"without a signature, dkim=True signs with the sending host's "
                             f"domain, dkim='...' names one of "
                             f"{', '.join(sorted(_hosts.SIGNING_SELECTORS))}")
        value: bool | str = dkim
    else:
        as_bool = _coerce.truth(dkim)
        if as_bool is None:
            hint = " (text, not bytes: .decode() it)" if isinstance(dkim, (bytes, bytearray)) else ""
            raise TypeError(f"dkim must be True, False or a domain name such as "
                            f"'brand.example', not {type(dkim).__name__} {dkim!r}{hint}")
        value = as_bool
    if selector is not None:
        _coerce.text(selector, "selector", example="s2026")
        if value is False:
            raise UsageError(f"selector={selector!r} is only used to sign: give dkim=True or "
                             f"dkim='a domain' with it, or leave selector out")
    return value


def _check_auth(auth: Any) -> None:
    """``auth`` is None or a (user, password) pair of str; the password is never shown."""
    if auth is None:
        return
    if not isinstance(auth, (tuple, list)) or len(auth) != 2:
        size = f" of {len(auth)}" if isinstance(auth, (tuple, list)) else ""
        raise TypeError(f"auth must be a (user, password) pair such as "
                        f"('taro@isp.example', password), not a {type(auth).__name__}{size}")
    user, password = auth
    _coerce.text(user, "user (in auth=(user, password))", example="taro@isp.example")
    _coerce.text(password, "password (in auth=(user, password))")


def _domain(addr: str) -> str:
    return addr.strip("<>").rpartition("@")[2].lower()


def send(
    message: bytes | str | EmailMessage,
    *,
    lab: Any,
    from_host: str,
    mail_from: str | None = None,
    rcpt_to: str | Iterable[str] | None = None,
    helo: str | None = None,
    dkim: bool | str = False,
    selector: str | None = None,
    to_host: str | None = None,
    port: int = 25,
    starttls: bool = False,
    auth: tuple[str, str] | None = None,
    timeout: float = 30.0,
) -> SendResult:
    """Send ``message`` as the lab host ``from_host`` (a cast name or an address).

    ``mail_from`` / ``rcpt_to`` default to the From / To headers.  ``dkim=True`` signs
    with the host's own domain key, ``dkim="brand.example"`` with that domain's
    (``selector`` picks another of its keys); ``dkim`` and ``starttls`` take ``True`` or
    ``False``, never text such as ``"no"``.
    The destination is the MX of the recipients' domain in the lab DNS, unless
    ``to_host`` names a lab host; ``port`` 587 with ``starttls`` and ``auth`` is
    submission.  ``timeout``: seconds the client waits at each step (a number above 0).
    Outcomes (rejected, blocked by OP25B ...) come back as a
    :class:`SendResult`, never as exceptions.

    Introduced in lab 07 (sending side); ``lab.send`` (from lab 00) calls it.
    """
    _check_send_args(lab, from_host, mail_from, rcpt_to, helo, to_host, port, auth, timeout)
    dkim = _dkim_arg(dkim, selector)
    starttls = _coerce.flag(starttls, "starttls")
    raw = _as_bytes(message)
    host = lab.hosts.resolve(from_host)
    client = host.address
    steps: list[str] = [f"send as {host.name} [{client}]"]
    if dkim:
        # the step shows the d= the signature carries: lower case, no final dot
        domain = _coerce.domain(dkim, "dkim") if isinstance(dkim, str) else host.signing_domain
        if domain is None:
            return SendResult(status="error", client=client, reply=f"{host.name} has no DKIM key",
                              steps=tuple(steps))
        raw = dkim_sign(raw, domain, selector)
        steps.append(f"DKIM-signed d={domain}")
    message_id = _header(raw, "Message-ID")
    if mail_from is None:
        mail_from = email.utils.parseaddr(_header(raw, "From") or "")[1]
    if rcpt_to is None:
        rcpt_to = [a for _, a in email.utils.getaddresses([_header(raw, "To") or ""]) if a]
    elif isinstance(rcpt_to, str):
        rcpt_to = [rcpt_to]
    rcpts = list(rcpt_to)
    if not rcpts:
        return SendResult(status="error", client=client, reply="no recipients", steps=tuple(steps))
    domains = list(dict.fromkeys(_domain(r) for r in rcpts))
    if to_host is None and len(domains) > 1:
        # one SMTP transaction per recipient domain, as an MTA would do
        parts = []
        for d in domains:
            group = [r for r in rcpts if _domain(r) == d]
            parts.append((group, send(raw, lab=lab, from_host=from_host, mail_from=mail_from,
                                      rcpt_to=group, helo=helo, port=port, starttls=starttls,
                                      auth=auth, timeout=timeout)))
        return _combine(parts, steps)
    # route
    if to_host is not None:
        dest_names = [to_host]
        steps.append(f"route: to {to_host} as asked")
    else:
        domain = _domain(rcpts[0])
        dest_names = _hosts.lookup_mx(lab.resolver, domain)
        steps.append(f"route: MX of {domain} in the lab DNS -> {dest_names or 'nothing'}")
        if not dest_names:
            return SendResult(status="refused", client=client, message_id=message_id,
                              reply=f"{domain} is not a lab destination (no MX/A in the lab DNS)",
                              steps=tuple(steps))
    dest_ip = None
    dest_name = dest_names[0]
    for name in dest_names:
        addrs = [name] if _is_ip(name) else _hosts.lookup_a(lab.resolver, name)
        if addrs:
            dest_name, dest_ip = name, addrs[0]
            break
    if dest_ip is None or not net.is_lab_address(dest_ip):
        return SendResult(status="refused", client=client, message_id=message_id,
                          reply=f"{dest_name} is not a lab address", steps=tuple(steps))
    decision = lab.gateway.enforce(client, dest_ip, port, events=lab.events)
    steps.append(f"network: {decision.reason}")
    if not decision.allowed:
        return SendResult(status="blocked", client=client, server=dest_name, port=port,
                          reply=decision.reason, message_id=message_id, steps=tuple(steps))
    endpoint = lab.endpoint(dest_ip, port)
    if endpoint is None:
        steps.append(f"connect {dest_ip}:{port}: connection refused (nothing listens)")
        return SendResult(status="error", client=client, server=dest_name, port=port,
                          reply=f"connection refused: no service on {dest_ip}:{port}",
                          message_id=message_id, steps=tuple(steps))
    return _transact(lab, raw, client=client, helo=helo or host.name, mail_from=mail_from,
                     rcpts=rcpts, dest=(dest_name, dest_ip, port), endpoint=endpoint,
                     starttls=starttls, auth=auth, timeout=timeout, message_id=message_id,
                     steps=steps)


def _combine(parts: list[tuple[list[str], SendResult]], steps: list[str]) -> SendResult:
    """One result for several per-domain transactions (``parts``: recipients, result)."""
    accepted = tuple(a for _, p in parts for a in p.accepted)
    refused: dict[str, str] = {}
    for rcpts, p in parts:
        refused.update(p.refused)
        if not p.ok:  # blocked, refused route, rejected at MAIL/DATA: all its recipients
            for r in rcpts:
                refused.setdefault(r, f"{p.status}: {p.code or ''} {p.reply}".strip())
    results = [p for _, p in parts]
    if all(p.status == "sent" for p in results):
        status = "sent"
    elif any(p.ok for p in results):
        status = "partial"
    else:
        status = results[0].status
    first_bad = next((p for p in results if p.status != "sent"), results[-1])
    return SendResult(
        status=status, client=results[0].client,
        server=", ".join(p.server or "-" for p in results), port=results[0].port,
        code=first_bad.code, reply=first_bad.reply, accepted=accepted, refused=refused,
        message_id=results[0].message_id,
        steps=tuple(steps) + tuple(f"[{i + 1}] {s}" for i, p in enumerate(results)
                                   for s in p.steps),
    )


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_loopback(endpoint: Any) -> bool:
    """True for an (address, port) pair whose address is a loopback one."""
    if not isinstance(endpoint, (tuple, list)) or len(endpoint) != 2:
        return False
    try:
        return ipaddress.ip_address(str(endpoint[0])).is_loopback
    except ValueError:
        return False


def connect(lab: Any, client: str, dest_ip: str, endpoint: tuple[str, int],
            timeout: float = 30.0, *, port: int | None = None) -> smtplib.SMTP:
    """Open an SMTP connection that the server sees as coming from ``client``.

    ``endpoint`` is where the service at ``dest_ip`` really listens
    (``lab.endpoint(dest_ip, port)``); ``port`` is its documentation port (found from
    ``endpoint`` when not given).  The ISP gateway is asked first: a connection that
    OP25B blocks raises :class:`smtplib.SMTPConnectError` (554, with the reason and
    the way out) without connecting, as the server itself would refuse it.  (A
    stand-in ``lab`` with only ``client_addressing``, as the load benchmark passes to
    its worker processes, has no gateway to ask; the lab's servers still enforce it.)

    Introduced in lab 07 (sending side: SMTP-AUTH, OP25B and port 587).
    """
    timeout = _coerce.seconds(timeout)
    if not _is_loopback(endpoint):
        raise UsageError(f"endpoint {endpoint!r} is not a loopback (address, port): every lab "
                         "server listens on loopback; ask lab.endpoint(name_or_address, port)")
    gateway = getattr(lab, "gateway", None)
    if port is None:
        port = next((p for (addr, p), srv in getattr(lab, "servers", {}).items()
                     if addr == dest_ip and tuple(srv.address) == tuple(endpoint)), None)
    if gateway is not None and port is not None:
        decision = gateway.enforce(client, dest_ip, port, events=getattr(lab, "events", None))
        if not decision.allowed:
            raise smtplib.SMTPConnectError(554, decision.smtp_reply[4:])
    if lab.client_addressing == "proxy":
        return _LabSMTPClient(endpoint[0], endpoint[1], timeout=timeout,
                              proxy_from=(client, dest_ip))
    return _LabSMTPClient(endpoint[0], endpoint[1], timeout=timeout,
                          source_address=(net.to_loopback(client), 0))


def _transact(lab: Any, raw: bytes, *, client: str, helo: str, mail_from: str,
              rcpts: list[str], dest: tuple[str, str, int], endpoint: tuple[str, int],
              starttls: bool, auth: tuple[str, str] | None, timeout: float,
              message_id: str | None, steps: list[str]) -> SendResult:
    dest_name, dest_ip, port = dest
    base = {"client": client, "server": dest_name, "port": port, "message_id": message_id}
    try:
        smtp = connect(lab, client, dest_ip, endpoint, timeout, port=port)
    except smtplib.SMTPConnectError as exc:
        steps.append(f"connect: {exc.smtp_code} {exc.smtp_error!r}")
        return SendResult(status=_status(exc.smtp_code), code=exc.smtp_code,
                          reply=_text(exc.smtp_error), steps=tuple(steps), **base)
    except (OSError, smtplib.SMTPException) as exc:
        steps.append(f"connect: {exc}")
        return SendResult(status="error", reply=str(exc), steps=tuple(steps), **base)
    steps.append(f"connected to {dest_name} [{dest_ip}]:{port}")
    accepted: list[str] = []
    refused: dict[str, str] = {}
    try:
        smtp.local_hostname = helo
        code, text = smtp.ehlo(helo)
        steps.append(f"EHLO {helo} -> {code}")
        if starttls:
            code, text = smtp.starttls(context=lab.client_tls_context)
            steps.append(f"STARTTLS -> {code}")
            smtp.ehlo(helo)
        if auth is not None:
            user, password = auth
            try:
                code, text = smtp.login(user, password)
                steps.append(f"AUTH as {user} -> {code}")
            except smtplib.SMTPAuthenticationError as exc:
                steps.append(f"AUTH as {user} -> {exc.smtp_code}")
                return SendResult(status=_status(exc.smtp_code), code=exc.smtp_code,
                                  reply=_text(exc.smtp_error), steps=tuple(steps), **base)
        # RFC 6152 section 3: content with octets above 127 goes with BODY=8BITMIME where
        # the server offers 8BITMIME (every lab server does unless its eightbitmime is
        # switched off); elsewhere it is converted to 7 bits or not sent at all.  The
        # forwarder, the list and the relays send through here too.
        if not raw.isascii() and not smtp.has_extn("8bitmime"):
            try:
                raw, parts = downgrade.to_7bit(raw)
            except downgrade.CannotConvert as exc:
                steps.append(f"no 8BITMIME at {dest_name}: not sent ({exc})")
                return SendResult(status="rejected", steps=tuple(steps), **base,
                                  reply=f"5.6.3 Conversion required but not supported: {exc}")
            steps.append(f"no 8BITMIME at {dest_name}: {parts} 8-bit body part(s) re-encoded "
                         "to 7 bits (RFC 6152 section 3): the same text in other bytes, so "
                         "a DKIM signature made before no longer verifies")
        options = ["BODY=8BITMIME"] if not raw.isascii() else []
        code, text = smtp.mail(mail_from, options)
        shown = "".join(f" {o}" for o in options)
        steps.append(f"MAIL FROM:<{mail_from}>{shown} -> {code} {_text(text)}")
        if code >= 400:
            smtp.rset()
            return SendResult(status=_status(code), code=code, reply=_text(text),
                              steps=tuple(steps), **base)
        for r in rcpts:
            code, text = smtp.rcpt(r)
            steps.append(f"RCPT TO:<{r}> -> {code} {_text(text)}")
            if code < 300:
                accepted.append(r)
            else:
                refused[r] = f"{code} {_text(text)}"
        if not accepted:
            smtp.rset()
            first = next(iter(refused.values()))
            c = int(first[:3])
            return SendResult(status=_status(c), code=c, reply=first[4:], refused=refused,
                              steps=tuple(steps), **base)
        code, text = smtp.data(raw)
        steps.append(f"DATA -> {code} {_text(text)}")
    except smtplib.SMTPResponseException as exc:
        steps.append(f"-> {exc.smtp_code} {_text(exc.smtp_error)}")
        return SendResult(status=_status(exc.smtp_code), code=exc.smtp_code,
                          reply=_text(exc.smtp_error), accepted=(), refused=refused,
                          steps=tuple(steps), **base)
    except (OSError, smtplib.SMTPException) as exc:
        steps.append(f"connection: {exc}")
        return SendResult(status="error", reply=str(exc), steps=tuple(steps), **base)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    if code >= 300:
        return SendResult(status=_status(code), code=code, reply=_text(text), refused=refused,
                          steps=tuple(steps), **base)
    return SendResult(status="partial" if refused else "sent", code=code, reply=_text(text),
                      accepted=tuple(accepted), refused=refused, steps=tuple(steps), **base)


def _status(code: int | None) -> str:
    if code is None:
        return "error"
    if code >= 500:
        return "rejected"
    if code >= 400:
        return "deferred"
    return "sent"


def _text(reply: Any) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)




__all__ = ["send", "connect", "make_message", "dkim_sign", "SendResult"]
