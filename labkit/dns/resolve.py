"""Resolvers without global state: every check is told which DNS to ask.

Introduced in lab 02 (DNS).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import dns.resolver

from ..errors import UsageError


def _seconds(value: Any, what: str = "timeout", *, zero: bool = False) -> float:
    """``value`` as a number of seconds above 0 (from 0 if ``zero``); else a :class:`UsageError`.

    Numbers (``int``, ``float``, numpy's) are taken.  Text is refused, ``"1"`` included,
    as labkit's other number arguments refuse it (a port, ``Lab(workers=...)``): the
    message says to write the number without quotes.  ``True`` is not a duration, and
    a time-out of 0, below 0, ``nan`` or ``inf`` would only ever give a silent
    ``TIMEOUT`` (or none at all).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        hint = ""
        if isinstance(value, str):
            hint = f": a number, not text (write {what}={value.strip()} without the quotes)"
            try:
                float(value)
            except ValueError:
                hint = ""
        raise UsageError(f"{what} must be a number of seconds such as 2, not "
                         f"{type(value).__name__} {value!r}{hint}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not zero):
        least = "0 or more" if zero else "above 0"
        raise UsageError(f"{what} must be a number of seconds {least}, such as 2, not {value!r}")
    return seconds


def as_resolver(dns_source: Any, timeout: float | None = None) -> dns.resolver.Resolver:
    """Return a dnspython Resolver for ``dns_source``: a LabDNS or a Resolver.

    A running :class:`labkit.mta.Lab` is read as its LabDNS (``dns=lab`` means
    ``dns=lab.dns``).  Nothing falls back to the host's resolver: a live look-up must
    be asked for explicitly (see :mod:`labkit.dns.live`).
    """
    from .server import LabDNS

    if timeout is not None:
        timeout = _seconds(timeout)
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
