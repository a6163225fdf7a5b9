"""Resolvers without global state: every check is told which DNS to ask.

Not named in the labs: every check that takes ``dns=`` turns it into a resolver here.
"""

from __future__ import annotations

from typing import Any

import dns.resolver

from .. import _coerce
from ..errors import UsageError


def as_resolver(dns_source: Any, timeout: float | None = None) -> dns.resolver.Resolver:
    """Return a dnspython Resolver for ``dns_source``: a LabDNS or a Resolver.

    A running :class:`labkit.mta.Lab` is read as its LabDNS (``dns=lab`` means
    ``dns=lab.dns``).  Nothing falls back to the host's resolver: a live look-up must
    be asked for explicitly (see :mod:`labkit.dns.live`).
    """
    from .server import LabDNS

    if timeout is not None:
        timeout = _coerce.seconds(timeout)
    if isinstance(dns_source, LabDNS):
        return dns_source.resolver() if timeout is None else dns_source.resolver(timeout)
    if isinstance(dns_source, dns.resolver.Resolver):
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


__all__ = ["as_resolver"]
