"""Forward-confirmed reverse DNS (FCrDNS): does the client's PTR name point back to it?

1. PTR look-up of the client address (``150.100.51.198.in-addr.arpa``);
2. A/AAAA look-up of each name found;
3. pass when one of those names resolves back to the client address.

Results: ``pass``, ``fail`` (PTR names exist but none points back), ``none``
(no PTR), ``temperror``.  ``generic`` flags names that look like a dynamic pool
(``dyn-198-51-100-150.pool.isp.example``), a classic spam signal.

A client in IPv4-mapped form (``::ffff:198.51.100.25``, RFC 4291 section 2.5.5.2,
how a dual-stack server sees an IPv4 client) is checked as its IPv4 address: PTR
under ``in-addr.arpa``, then A records.

Introduced in lab 08 (judging the client: lists, DNSBL and reverse DNS).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..net import client_address
from ._dnsq import query

_GENERIC = re.compile(
    r"(\d{1,3}[-.]){3}\d{1,3}|\b(dyn|dynamic|pool|dsl|dhcp|cable|ppp|client)\b", re.I
)


@dataclass(frozen=True, kw_only=True)
class FCrDNSResult:
    """Outcome of a forward-confirmed reverse DNS check."""

    ip: str
    result: str
    names: tuple[str, ...] = ()
    confirmed: str | None = None
    generic: bool = False
    steps: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {
            "ip": self.ip,
            "result": self.result,
            "names": list(self.names),
            "confirmed": self.confirmed,
            "generic": self.generic,
            "steps": list(self.steps),
        }

    def __str__(self) -> str:
        return f"FCrDNS {self.ip}: {self.result}" + (
            f" ({self.confirmed})" if self.confirmed else ""
        )

    def _repr_html_(self) -> str:
        steps = "".join(f"<li>{s}</li>" for s in self.steps)
        return f"<b>{self}</b><ol>{steps}</ol>"


def check(ip: str, *, dns: Any) -> FCrDNSResult:
    """Forward-confirmed reverse DNS of ``ip`` against the lab DNS (or a resolver).

    An IPv4-mapped ``ip`` is checked as its IPv4 address (the result's ``ip``).

    Introduced in lab 08 (judging the client: lists, DNSBL and reverse DNS).
    """
    import labkit.dns

    if not isinstance(ip, (str, ipaddress.IPv4Address, ipaddress.IPv6Address)):
        raise TypeError(f"ip must be an IP address such as '203.0.113.5', not {type(ip).__name__}")
    try:
        addr = client_address(ip)
    except ValueError as exc:
        raise UsageError(f"not an IP address: {ip!r}") from exc
    steps = []
    if addr.version != ipaddress.ip_address(ip).version:
        steps.append(f"{ip} is the IPv4-mapped form of {addr} (RFC 4291 2.5.5.2): "
                     f"check the IPv4 address")
        ip = str(addr)
    resolver = labkit.dns.as_resolver(dns)
    rev = addr.reverse_pointer
    steps.append(f"PTR {rev}")
    outcome, names = query(resolver, rev, "PTR")
    if outcome == "temperror":
        return FCrDNSResult(ip=ip, result="temperror", steps=(*steps, "no answer: temperror"))
    names = [n.rstrip(".") for n in names]
    if not names:
        return FCrDNSResult(ip=ip, result="none", steps=(*steps, f"{outcome.upper()}: no PTR"))
    steps.append("-> " + ", ".join(names))
    rdtype = "A" if addr.version == 4 else "AAAA"
    errors = False
    for name in names:
        status, addrs = query(resolver, name, rdtype)
        steps.append(f"{rdtype} {name} -> {', '.join(addrs) or status.upper()}")
        errors |= status == "temperror"
        if any(ipaddress.ip_address(a) == addr for a in addrs):
            steps.append(f"{name} points back to {ip}: pass")
            return FCrDNSResult(
                ip=ip,
                result="pass",
                names=tuple(names),
                confirmed=name,
                generic=bool(_GENERIC.search(name)),
                steps=tuple(steps),
            )
    result = "temperror" if errors else "fail"
    steps.append(f"no PTR name points back to {ip}: {result}")
    return FCrDNSResult(
        ip=ip,
        result=result,
        names=tuple(names),
        generic=any(_GENERIC.search(n) for n in names),
        steps=tuple(steps),
    )


__all__ = ["FCrDNSResult", "check"]
