"""Resolvers without global state: every check is told which DNS to ask.

Not named in the labs: every check that takes ``dns=`` turns it into a resolver here.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from typing import Any

import dns.resolver

from .. import _coerce
from ..errors import UsageError


def as_resolver(dns_source: Any, timeout: float | None = None) -> dns.resolver.Resolver:
    """Return a dnspython Resolver for ``dns_source``: a LabDNS or a Resolver.

    A running :class:`labkit.mta.Lab` is read as its LabDNS (``dns=lab`` means
    ``dns=lab.dns``).  Nothing falls back to the host's resolver: a live look-up must
    be asked for explicitly (see :mod:`labkit.dns.live`).  With ``LABKIT_OFFLINE`` set, a
    Resolver with a server off this machine is a :class:`UsageError` (nothing is asked).
    """
    from .server import LabDNS

    if timeout is not None:
        timeout = _coerce.seconds(timeout)
    if isinstance(dns_source, LabDNS):
        return dns_source.resolver() if timeout is None else dns_source.resolver(timeout)
    if isinstance(dns_source, dns.resolver.Resolver):
        from .live import offline

        if offline() and not on_this_machine(dns_source):
            raise UsageError(f"LABKIT_OFFLINE is set, and dns= is a resolver that asks "
                             f"{_servers(dns_source)}, off this machine: give the lab DNS "
                             "(dns=lab.dns, a LabDNS, or its .resolver()), or unset LABKIT_OFFLINE")
        return dns_source
    from ..mta.lab import Lab

    if isinstance(dns_source, Lab):
        if dns_source.dns is None or not dns_source.running:
            raise UsageError("dns= got a Lab that is not running: start it first "
                             "(lab.start()), or pass a running LabDNS")
        return as_resolver(dns_source.dns, timeout)
    hint = ""
    if dns_source is None:
        hint = " (the lab's DNS: dns=lab.dns, or a LabDNS you started)"
    raise UsageError(
        f"dns= must be a labkit.dns.LabDNS or a dns.resolver.Resolver, not "
        f"{type(dns_source).__name__}{hint}"
    )


def _host_of(server: Any) -> str:
    """The address (or host name) a dnspython name server entry sends its queries to."""
    if isinstance(server, str):
        text = server
    else:  # a dns.nameserver.Nameserver: Do53/DoT/DoQ have an address, DoH a URL
        text = getattr(server, "address", None) or getattr(server, "url", None) or ""
    if "://" in text:
        return urllib.parse.urlsplit(text).hostname or ""
    return text


def on_this_machine(resolver: dns.resolver.Resolver) -> bool:
    """True when every name server of ``resolver`` is a loopback address (a LabDNS's
    resolver is); False when one of them is elsewhere, or named by a host name or URL.

    ``LABKIT_OFFLINE`` lets only such resolvers be asked.
    """
    servers = list(resolver.nameservers)
    for server in servers:
        host = _host_of(server)
        try:
            if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
                return False
        except ValueError:
            return False
    return bool(servers)


def _servers(resolver: dns.resolver.Resolver) -> str:
    return ", ".join(_host_of(s) or "?" for s in resolver.nameservers) or "no server"


__all__ = ["as_resolver", "on_this_machine"]
