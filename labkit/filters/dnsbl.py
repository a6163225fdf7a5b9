"""DNS blocklists (RFC 5782): is this client address listed?

To ask zone ``bl.dnsbl.example`` about 198.51.100.150, reverse the octets and
append the zone: ``150.100.51.198.bl.dnsbl.example``.  An A record in 127.0.0.0/8
means listed (its value is the reason code); NXDOMAIN means not listed; the TXT
record at the same name says why in words.  IPv6 addresses use reversed nibbles;
a client in IPv4-mapped form (``::ffff:198.51.100.150``, RFC 4291 section 2.5.5.2,
how a dual-stack server sees an IPv4 client) is the IPv4 host and is asked about by
its reversed octets.
Answers in 127.255.255.0/24 are no listing either: real lists use them as error
codes (127.255.255.254: "your resolver may not query us", .255: "too many
queries"), and counting them would refuse every client.  Nor is 127.0.0.1, the
loopback address: RFC 5782 does not use it as a listing code (section 2.1) and
forbids listing 127.0.0.1 itself (section 5), so a list answering it is
misconfigured or refusing our queries.

Introduced in lab 08 (judging the client: lists, DNSBL and reverse DNS).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..net import client_address
from ._dnsq import query

log = logging.getLogger(__name__)

#: the lab's DNSBL zone
LAB_ZONE = "bl.dnsbl.example"

#: answers that are a DNSBL's error code, not a listing (e.g. a refused public resolver)
ERROR_CODES = ipaddress.ip_network("127.255.255.0/24")

#: the loopback address: never a listing code (RFC 5782); a list answering it is
#: misconfigured or refusing our queries
RESERVED_CODE = ipaddress.ip_address("127.0.0.1")

#: return codes of the lab DNSBL (zone comments in data/zones/bl.dnsbl.example.zone)
LAB_CODES = {
    "127.0.0.2": "known spam source",
    "127.0.0.4": "no reverse DNS",
}


@dataclass(frozen=True, kw_only=True)
class DNSBLResult:
    """Outcome of one DNSBL look-up.

    ``status``: ``listed``, ``not-listed`` or ``temperror`` (the DNSBL did not answer);
    ``codes``: the 127.0.0.x answers; ``reasons``: their meaning; ``txt``: TXT texts.
    """

    ip: str
    zone: str
    query: str
    status: str
    codes: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    txt: tuple[str, ...] = ()
    steps: tuple[str, ...] = field(default=())

    @property
    def listed(self) -> bool:
        """True when the address is listed."""
        return self.status == "listed"

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {
            "ip": self.ip,
            "zone": self.zone,
            "query": self.query,
            "status": self.status,
            "codes": list(self.codes),
            "reasons": list(self.reasons),
            "txt": list(self.txt),
            "steps": list(self.steps),
        }

    def __str__(self) -> str:
        extra = (
            f" {', '.join(self.codes)} ({'; '.join(self.txt or self.reasons)})"
            if self.listed
            else ""
        )
        return f"{self.ip} @ {self.zone}: {self.status}{extra}"

    def _repr_html_(self) -> str:
        steps = "".join(f"<li>{s}</li>" for s in self.steps)
        return f"<b>{self}</b><ol>{steps}</ol>"


def query_name(ip: str, zone: str = LAB_ZONE) -> str:
    """The DNS name to ask: reversed octets (or nibbles for IPv6) + zone.

    The name of exactly the address given: an IPv4-mapped ``::ffff:7f00:2`` gives
    nibbles (the test entry of an IPv6 list, RFC 5782 section 5).  :func:`lookup`,
    which asks about a *client*, first turns a mapped client into its IPv4 address.

    >>> query_name("198.51.100.150")
    '150.100.51.198.bl.dnsbl.example'
    """
    if not isinstance(ip, (str, ipaddress.IPv4Address, ipaddress.IPv6Address)):
        # ipaddress reads an int as an address (5 is 0.0.0.5): the wrong name, silently
        raise TypeError(f"ip must be an IP address such as '203.0.113.5', not {type(ip).__name__}")
    if not isinstance(zone, str):
        raise TypeError(f"zone must be a DNSBL zone name such as {LAB_ZONE!r}, not "
                        f"{type(zone).__name__}")
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError as exc:
        raise UsageError(f"not an IP address: {ip!r}") from exc
    if addr.version == 4:
        labels = str(addr).split(".")[::-1]
    else:
        labels = list(addr.exploded.replace(":", ""))[::-1]
    return ".".join(labels) + "." + zone.strip(".")


def lookup(
    ip: str, zone: str = LAB_ZONE, *, dns: Any, codes: dict[str, str] | None = None
) -> DNSBLResult:
    """Ask DNSBL ``zone`` whether ``ip`` is listed (A query, then TXT when listed).

    A client in IPv4-mapped form (``::ffff:198.51.100.150``) is asked about as its IPv4
    address (``150.100.51.198.<zone>``); the result's ``ip`` is that IPv4 address.
    A answers outside 127.0.0.0/8 are ignored (RFC 5782 3.1: an error, not a listing),
    and so are 127.0.0.1 (:data:`RESERVED_CODE`) and the error codes in
    127.255.255.0/24 (:data:`ERROR_CODES`).

    Introduced in lab 08 (judging the client: lists, DNSBL and reverse DNS).
    """
    import labkit.dns

    name = query_name(ip, zone)  # (first: a wrong address is named before any DNS set-up)
    steps = []
    client = client_address(ip)
    if client.version != ipaddress.ip_address(ip).version:
        steps.append(f"{ip} is the IPv4-mapped form of {client} (RFC 4291 2.5.5.2): "
                     f"ask about the IPv4 address")
        ip, name = str(client), query_name(client, zone)
    resolver = labkit.dns.as_resolver(dns)
    meanings = LAB_CODES if codes is None else codes
    steps.append(f"query {name} A")
    outcome, answers = query(resolver, name, "A")
    if outcome == "temperror":
        steps.append("no answer from the DNSBL: temperror (treat as not listed, but say so)")
        return DNSBLResult(ip=ip, zone=zone, query=name, status="temperror", steps=tuple(steps))
    valid = tuple(a for a in answers if _listing_code(a))
    for kind, odd in (("outside 127/8", [a for a in answers if a not in valid
                                         and not a.startswith("127.")]),
                      ("never a listing code (RFC 5782): a misconfigured or refusing list",
                       [a for a in answers if _is_reserved(a)]),
                      ("the DNSBL's error code", [a for a in answers if a.startswith("127.")
                                                  and a not in valid and not _is_reserved(a)])):
        if odd:
            steps.append(f"A {', '.join(odd)}: {kind}, not a listing")
    if outcome != "ok" or not valid:
        steps.append(f"{outcome.upper() if outcome != 'ok' else 'no listing code'}: not listed")
        return DNSBLResult(ip=ip, zone=zone, query=name, status="not-listed", steps=tuple(steps))
    steps.append(f"A {', '.join(valid)}: listed")
    _, txt = query(resolver, name, "TXT")
    if txt:
        steps.append(f"TXT {'; '.join(txt)}")
    return DNSBLResult(
        ip=ip,
        zone=zone,
        query=name,
        status="listed",
        codes=valid,
        reasons=tuple(meanings.get(c, "listed") for c in valid),
        txt=tuple(txt),
        steps=tuple(steps),
    )


def _listing_code(answer: str) -> bool:
    """Is this A answer a listing: in 127.0.0.0/8, not 127.0.0.1 and no error code?"""
    addr = ipaddress.ip_address(answer)
    return addr in _LOOPBACK and addr != RESERVED_CODE and addr not in ERROR_CODES


def _is_reserved(answer: str) -> bool:
    """Is this A answer 127.0.0.1, which RFC 5782 keeps out of the listing codes?"""
    return ipaddress.ip_address(answer) == RESERVED_CODE


_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


__all__ = ["DNSBLResult", "lookup", "query_name", "LAB_ZONE", "LAB_CODES", "ERROR_CODES",
           "RESERVED_CODE"]
