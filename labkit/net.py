"""Addresses and ports of the lab Internet.

Every lab host has a public *documentation* address (RFC 5737: 192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24).  On the wire, everything runs on loopback: a
documentation address ``A.B.C.D`` is played by the loopback alias ``127.B.C.D``
(for example ``203.0.113.7`` -> ``127.0.113.7``).  On Linux every 127.x.y.z address
can be bound as a source address, so the receiver sees a distinct client address
per host over real TCP.  Where only 127.0.0.1 works (macOS, Windows) the lab falls
back to the PROXY protocol header (see :mod:`labkit.mta`).

Ports are always ephemeral and allocated here, in one place.

Introduced in lab 00 (set-up).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import ipaddress
import socket
from typing import Any

from . import _coerce
from .errors import UsageError

LOOPBACK = "127.0.0.1"

DOC_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)


def _address(value: Any, what: str = "address", *,
             example: str = "203.0.113.7") -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``value`` read as an IP address; else an error that says what was wrong.

    Text (surrounding spaces ignored) and :mod:`ipaddress` objects are taken; another
    type (a number, None, bytes, a list) is a ``TypeError`` naming ``what``
    (:func:`labkit._coerce.ip_text`).  Text that is no address is a :class:`UsageError`
    showing ``example``; a host name is refused with a hint to look it up first: these
    helpers map addresses, and which address a name has is the lab DNS's business.
    """
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    text = _coerce.ip_text(value, what).strip()
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and ":" not in text and any(c.isalpha() for c in text):
        raise UsageError(f"give an address, not a host name: {what} {value!r} is a name. "
                         f"Look it up first, e.g. lab.hosts[{text!r}].address or the A record "
                         "in the lab DNS")
    host, sep, port = text.rpartition(":")
    hint = ""
    if sep and port.isdigit() and is_address(host):  # ('127.0.113.7', 25) written as one text
        hint = f": give the address without the port, {host!r}"
    raise UsageError(f"{what} {value!r} is not an IP address (such as {example!r}){hint}")


def is_address(value: Any) -> bool:
    """True if ``value`` is an IP address (text, spaces around ignored, or an ipaddress object);
    False for anything else, a value of another type included."""
    with contextlib.suppress(UsageError, TypeError):
        return bool(_address(value))
    return False


def client_address(ip: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``ip`` as an address object, an IPv4-mapped IPv6 address as its IPv4 address.

    A dual-stack server's IPv6 socket shows an IPv4 client as ``::ffff:192.0.2.5``
    (RFC 4291 section 2.5.5.2); lists, DNSBLs, reverse DNS and relay networks judge it
    as 192.0.2.5.  Raises ``ValueError`` for text that is no address (as ``ipaddress``).

    >>> str(client_address("::ffff:192.0.2.5"))
    '192.0.2.5'
    """
    addr = ipaddress.ip_address(ip)
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def is_lab_address(ip: str) -> bool:
    """True for documentation addresses (IPv4 RFC 5737, IPv6 2001:db8::/32) and loopback."""
    addr = _address(ip, "ip")
    if addr.is_loopback:
        return True
    if addr.version == 6:
        return addr in ipaddress.ip_network("2001:db8::/32")
    return any(addr in net for net in DOC_NETWORKS)


def to_loopback(doc_ip: str) -> str:
    """Map a documentation IPv4 address to the loopback alias that plays it.

    >>> to_loopback("203.0.113.7")
    '127.0.113.7'
    """
    addr = _address(doc_ip, "doc_ip")
    if addr.version != 4 or not any(addr in net for net in DOC_NETWORKS):
        raise UsageError(f"{doc_ip} is not an IPv4 documentation address (RFC 5737)")
    return "127." + ".".join(str(addr).split(".")[1:])


def from_loopback(lo_ip: str) -> str:
    """Map a loopback alias back to the documentation address it plays.

    Addresses that are not aliases of a documentation address (``127.0.0.1``, ``::1``)
    are returned unchanged.  Text that is no address (a host name, ``"127.0.113.7:25"``)
    is a :class:`UsageError` and another type a ``TypeError``: the servers pass a peer's
    address here, and anything else would be taken for a client's address.

    >>> from_loopback("127.51.100.25")
    '198.51.100.25'
    """
    addr = _address(lo_ip, "lo_ip", example="127.0.113.7")
    given = lo_ip.strip() if isinstance(lo_ip, str) else str(addr)
    if addr.version != 4 or not addr.is_loopback:
        return given
    for first in ("192", "198", "203"):
        candidate = ipaddress.IPv4Address(".".join([first, *str(addr).split(".")[1:]]))
        if any(candidate in net for net in DOC_NETWORKS):
            return str(candidate)
    return given


@functools.lru_cache(maxsize=1)
def aliases_available() -> bool:
    """True if loopback aliases such as 127.0.113.7 can be bound (Linux)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.113.254", 0))
        return True
    except OSError:
        return False


def _bind_error(host: str, exc: OSError) -> UsageError:
    """What to say when ``host`` cannot be bound at all (a name, or no such address here)."""
    hint = ""
    try:
        hint = f" (the lab plays it on loopback as {to_loopback(host)!r})"
    except UsageError:
        pass
    return UsageError(f"cannot bind {host!r} on this machine: {exc.strerror or exc}{hint}. "
                      f"Lab servers bind loopback addresses such as {LOOPBACK!r}")


def free_port(host: str = LOOPBACK, *, udp_too: bool = False) -> int:
    """Return a port that is free on ``host`` now (for TCP, and UDP when asked).

    aiosmtpd's Controller cannot take ``port=0`` (its ready check dials the
    configured port), so every lab server gets its port from here.
    """
    host = _coerce.text(host, "host", example=LOOPBACK)
    udp_too = _coerce.flag(udp_too, "udp_too")
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, 0))
            except OSError as exc:
                if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
                    raise _bind_error(host, exc) from None
                raise
            port = s.getsockname()[1]
        if not udp_too:
            return port
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind((host, port))
            return port
        except OSError:
            continue
    raise OSError("no free port found on loopback after 50 tries")


__all__ = [
    "client_address",
    "LOOPBACK",
    "DOC_NETWORKS",
    "is_address",
    "is_lab_address",
    "to_loopback",
    "from_loopback",
    "aliases_available",
    "free_port",
]
