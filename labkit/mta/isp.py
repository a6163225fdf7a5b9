"""The ISP gateway: Outbound Port 25 Blocking (OP25B) for the dynamic address pool.

A host in the ISP's dynamic pool (198.51.100.128/25) may not open port 25 to mail
servers outside the ISP.  It may still reach the ISP's own mail server on 25, and any
submission service on 587 (which demands SMTP-AUTH, so abuse is traceable to an
account).  Fixed addresses are not filtered, so existing servers keep working.

The block is the network's, so nothing a client does gets round it.  The lab enforces
it at both ends of a connection with one rule, :meth:`OP25B.enforce`:

* a lab sender (:func:`labkit.mta.sender.send` and :func:`~labkit.mta.sender.connect`)
  asks the gateway before it opens a connection; ``send`` reports ``blocked`` and
  ``connect`` raises :class:`smtplib.SMTPConnectError` (554) without connecting;
* every lab SMTP server asks it again when a connection arrives, so a raw socket
  from a pool address to a foreign MX on 25 gets ``554 5.7.1`` in place of the
  greeting, then ``503`` to every command until it sends QUIT (RFC 5321 section 3.1),
  and never reaches the server's policy (the ISP's edge drops it in the real world).

Each refusal counts in :attr:`OP25B.blocked` and logs an ``isp-gateway`` event.

Introduced in lab 07 (sending side: OP25B and port 587).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import threading
from collections.abc import Iterable
from typing import Any

from .. import _coerce
from .hosts import ISP_POOL


@dataclasses.dataclass(frozen=True, kw_only=True)
class GatewayDecision:
    """Whether the ISP network lets a connection through, and why."""

    allowed: bool
    reason: str

    @property
    def smtp_reply(self) -> str:
        """The SMTP reply a refused connection gets before the greeting (554 5.7.1)."""
        return f"554 5.7.1 {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return dataclasses.asdict(self)


class OP25B:
    """The ISP's port-25 filter.  ``enabled=False`` shows the world without it.

    ``isp``, ``relay_host`` and ``submission_host`` only name the ISP and its two
    ways out in the refusal message.
    """

    #: is the filter on? (``True``/``False``: text such as ``"no"`` is refused)
    enabled = _coerce.Flag()

    def __init__(
        self,
        *,
        pool: str | ipaddress.IPv4Network = ISP_POOL,
        own_servers: Iterable[str] = (),
        enabled: bool = True,
        isp: str = "isp.example",
        relay_host: str = "mail.isp.example",
        submission_host: str = "smtp.isp.example",
    ) -> None:
        self.pool = ipaddress.ip_network(pool)
        self.own_servers = frozenset(own_servers)
        self.enabled = enabled
        self.isp = isp
        self.relay_host = relay_host
        self.submission_host = submission_host
        self.blocked = 0
        self._lock = threading.Lock()

    def permits(self, src: str, dst: str, port: int) -> GatewayDecision:
        """May ``src`` open a TCP connection to ``dst``:``port``?

        ``src`` and ``dst`` are IP addresses (a host's is ``lab.hosts[name].address``),
        ``port`` a number: a host name or ``"25"`` as text is refused, not read as
        "some other address" or "some other port".
        """
        src = _coerce.ip_address(src, "src")
        dst = _coerce.ip_address(dst, "dst")
        port = _coerce.port(port)
        if not self.enabled:
            return GatewayDecision(allowed=True, reason="OP25B is switched off")
        if ipaddress.ip_address(src) not in self.pool:
            return GatewayDecision(
                allowed=True, reason=f"{src} is not in the ISP's dynamic pool (not filtered)"
            )
        if port != 25:
            return GatewayDecision(
                allowed=True,
                reason=f"port {port} is not filtered (submission demands SMTP-AUTH)",
            )
        if dst in self.own_servers:
            return GatewayDecision(
                allowed=True, reason=f"{dst} is the ISP's own mail server: port 25 allowed"
            )
        with self._lock:
            self.blocked += 1
        return GatewayDecision(
            allowed=False,
            reason=(
                f"OP25B at {self.isp}: {src} is in the ISP's dynamic pool {self.pool}; "
                f"port 25 to {dst} outside the ISP is blocked. Send through the ISP's "
                f"mail server {self.relay_host} (port 25), or submit on port 587 with "
                f"SMTP-AUTH ({self.submission_host})."
            ),
        )

    def enforce(self, src: str, dst: str, port: int, *, events: Any = None,
                where: str = "sender") -> GatewayDecision:
        """:meth:`permits`, plus an ``isp-gateway`` event in ``events`` when it blocks.

        ``where`` says which end noticed: ``"sender"`` (before connecting) or
        ``"server"`` (a connection that arrived anyway, e.g. a raw socket).
        """
        decision = self.permits(src, dst, port)
        if not decision.allowed and events is not None:
            events.record("isp-gateway", None, "blocked", client=src, dest=dst, port=port,
                          where=where, decision="block", reason=decision.reason)
        return decision

    def __repr__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"<OP25B {state} pool={self.pool} blocked={self.blocked}>"


__all__ = ["OP25B", "GatewayDecision"]
