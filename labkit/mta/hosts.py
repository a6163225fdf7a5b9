"""The lab's mail hosts, with addresses looked up in the lab DNS (never hard-coded twice).

The names come from ``data/zones/CAST.md``; their A records, PTRs and MX records
come from the zones the :class:`labkit.dns.LabDNS` serves.

Introduced in lab 07 (sending side: ``lab.hosts``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from typing import Any

import dns.exception
import dns.resolver
import dns.reversename

from .. import _coerce, net
from ..errors import UnknownHost

log = logging.getLogger(__name__)

# host name -> its role in the story (CAST.md)
CAST_HOSTS: dict[str, str] = {
    "mx.corp.example": "our organisation's MX (the receiver) and POP3 server",
    "mail.brand.example": "the brand's outgoing mail server",
    "mail.isp.example": "the ISP's own MTA (port 25) with POP before SMTP",
    "smtp.isp.example": "the ISP's submission service (587, STARTTLS + AUTH)",
    "mail.attacker.test": "the attacker's server (valid SPF and DKIM for its own domain)",
    "mx.fwd.example.net": "the alias forwarder",
    "mail.lists.example.org": "the mailing list (subject tag, footer, ARC seal)",
    "out.esp.example.com": "the cloud mail service (signs d=esp.example.com)",
    "mail.nospf.example": "a domain without SPF",
    "bot.noptr.test": "a host without PTR",
    "mail.mismatch.example": "a host whose PTR does not resolve back",
}

# signing domain -> the DKIM selector the lab signs with by default (CAST.md)
SIGNING_SELECTORS: dict[str, str] = {
    "corp.example": "lab2026",
    "isp.example": "isp2026",
    "brand.example": "s2026",
    "attacker.test": "evil",
    "lists.example.org": "list",
    "esp.example.com": "esp",
}

ISP_POOL = ipaddress.ip_network("198.51.100.128/25")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Host:
    """A lab host: its name, documentation address and the loopback alias that plays it."""

    name: str
    address: str
    role: str = ""

    @property
    def loopback(self) -> str:
        """The 127.B.C.D alias that plays this host's address on Linux."""
        return net.to_loopback(self.address)

    @property
    def signing_domain(self) -> str | None:
        """The DKIM domain this host signs for by default (walks up the name).

        None for a customer PC in the ISP's dynamic pool: its PTR name lies under
        isp.example, but only the ISP's own servers hold the ISP's key.
        """
        if ipaddress.ip_address(self.address) in ISP_POOL:
            return None
        return signing_domain_for(self.name)

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"name": self.name, "address": self.address, "role": self.role}


def signing_domain_for(name: str) -> str | None:
    """The lab signing domain that ``name`` belongs to, or None."""
    labels = name.lower().rstrip(".").split(".")
    for i in range(len(labels)):
        candidate = ".".join(labels[i:])
        if candidate in SIGNING_SELECTORS:
            return candidate
    return None


def lookup_a(resolver: dns.resolver.Resolver, name: str) -> list[str]:
    """IPv4 addresses of ``name`` in the lab DNS (empty when none)."""
    try:
        ans = resolver.resolve(name, "A", search=False)
    except (dns.exception.DNSException, OSError):
        return []
    return [r.address for r in ans]


def lookup_ptr(resolver: dns.resolver.Resolver, ip: str) -> list[str]:
    """PTR names of ``ip`` in the lab DNS (empty when none)."""
    try:
        ans = resolver.resolve(dns.reversename.from_address(ip), "PTR", search=False)
    except (dns.exception.DNSException, OSError):
        return []
    return [r.target.to_text(omit_final_dot=True) for r in ans]


def lookup_mx(resolver: dns.resolver.Resolver, domain: str) -> list[str]:
    """MX host names of ``domain`` by preference; the domain itself if it has only an A.

    Empty when the domain does not exist in the lab or publishes a null MX.
    """
    try:
        ans = resolver.resolve(domain, "MX", search=False)
    except dns.resolver.NoAnswer:
        return [domain] if lookup_a(resolver, domain) else []
    except (dns.exception.DNSException, OSError):
        return []
    records = sorted(ans, key=lambda r: r.preference)
    names = [r.exchange.to_text(omit_final_dot=True) for r in records]
    return [n for n in names if n and n != "."]


class HostTable:
    """The cast's hosts resolved in the lab DNS."""

    def __init__(self, resolver: dns.resolver.Resolver) -> None:
        self.resolver = resolver
        self._hosts: dict[str, Host] = {}
        for name, role in CAST_HOSTS.items():
            addrs = lookup_a(resolver, name)
            if addrs:
                self._hosts[name] = Host(name=name, address=addrs[0], role=role)
            else:
                log.warning("lab host %s has no A record in the lab DNS", name)

    def __getitem__(self, name: str) -> Host:
        key = _coerce.text(name, "a host name", example="mail.brand.example").lower().rstrip(".")
        try:
            return self._hosts[key]
        except KeyError:
            raise UnknownHost(f"{name} is not a lab host; the cast: "
                              f"{', '.join(sorted(self._hosts))}") from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower().rstrip(".") in self._hosts

    def __iter__(self):
        return iter(self._hosts.values())

    def resolve(self, name_or_ip: str) -> Host:
        """A host by name or by address (pool addresses get their PTR name)."""
        if isinstance(name_or_ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            name_or_ip = str(name_or_ip)
        _coerce.text(name_or_ip, "the host", example="mail.brand.example")
        try:
            ipaddress.ip_address(name_or_ip)
        except ValueError:
            if name_or_ip in self:
                return self[name_or_ip]
            addrs = lookup_a(self.resolver, name_or_ip)
            if not addrs:
                raise UnknownHost(f"{name_or_ip} is not a lab host (it has no A record in the lab DNS);"
                                  f" the cast: {', '.join(sorted(self._hosts))}") from None
            return Host(name=name_or_ip.lower().rstrip("."), address=addrs[0])
        for h in self._hosts.values():
            if h.address == name_or_ip:
                return h
        ptr = lookup_ptr(self.resolver, name_or_ip)
        role = "ISP dynamic pool" if ipaddress.ip_address(name_or_ip) in ISP_POOL else ""
        return Host(name=ptr[0] if ptr else f"[{name_or_ip}]", address=name_or_ip, role=role)

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {h.name: h.to_dict() for h in self}

    def __repr__(self) -> str:
        return f"<HostTable {len(self._hosts)} hosts>"


__all__ = [
    "Host",
    "HostTable",
    "CAST_HOSTS",
    "SIGNING_SELECTORS",
    "ISP_POOL",
    "signing_domain_for",
    "lookup_a",
    "lookup_ptr",
    "lookup_mx",
]
