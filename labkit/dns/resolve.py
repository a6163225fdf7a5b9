"""Resolvers without global state: every check is told which DNS to ask.

Introduced in lab 02 (DNS).
"""

from __future__ import annotations

from typing import Any

import dns.resolver

from ..errors import UsageError


def as_resolver(dns_source: Any, timeout: float | None = None) -> dns.resolver.Resolver:
    """Return a dnspython Resolver for ``dns_source``: a LabDNS or a Resolver.

    Nothing falls back to the host's resolver: a live look-up must be asked for
    explicitly (see :mod:`labkit.dns.live`).
    """
    from .server import LabDNS

    if isinstance(dns_source, LabDNS):
        return dns_source.resolver() if timeout is None else dns_source.resolver(timeout)
    if isinstance(dns_source, dns.resolver.Resolver):
        return dns_source
    raise UsageError(
        f"dns= must be a labkit.dns.LabDNS or a dns.resolver.Resolver, not {type(dns_source).__name__}"
    )


__all__ = ["as_resolver"]
