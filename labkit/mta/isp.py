"""The ISP gateway: Outbound Port 25 Blocking (OP25B) for the dynamic address pool.

A host in the ISP's dynamic pool (198.51.100.128/25) may not open port 25 to mail
servers outside the ISP.  It may still reach the ISP's own mail server on 25, and any
submission service on 587 (which demands SMTP-AUTH, so abuse is traceable to an
account).  Fixed addresses are not filtered, so existing servers keep working.
Every connection a lab sender opens passes :meth:`OP25B.permits` first.

Introduced in lab 07 (OP25B and port 587).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable
from typing import Any

from .hosts import ISP_POOL


@dataclasses.dataclass(frozen=True, kw_only=True)
class GatewayDecision:
    """Whether the ISP network lets a connection through, and why."""

    allowed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class OP25B:
    """The ISP's port-25 filter.  ``enabled=False`` shows the world without it."""

    def __init__(
        self,
        *,
        pool: str | ipaddress.IPv4Network = ISP_POOL,
        own_servers: Iterable[str] = (),
        enabled: bool = True,
    ) -> None:
        self.pool = ipaddress.ip_network(pool)
        self.own_servers = frozenset(own_servers)
        self.enabled = enabled
        self.blocked = 0

    def permits(self, src: str, dst: str, port: int) -> GatewayDecision:
        """May ``src`` open a TCP connection to ``dst``:``port``?"""
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
        self.blocked += 1
        return GatewayDecision(
            allowed=False,
            reason=(
                f"OP25B: {src} is in the ISP's dynamic pool {self.pool}; port 25 to {dst} "
                "outside the ISP is blocked. Send through the ISP's mail server, or "
                "submit on port 587 with SMTP-AUTH."
            ),
        )

    def __repr__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"<OP25B {state} pool={self.pool} blocked={self.blocked}>"


__all__ = ["OP25B", "GatewayDecision"]
