"""The lab Internet's DNS: zones, a real loopback DNS server, resolvers, live look-ups.

- :class:`LabDNS` — the server (``with lk.dns.LabDNS() as lab: ...``)
- :func:`as_resolver` — a dnspython Resolver for a LabDNS or a Resolver
- :mod:`labkit.dns.live` — real DNS when the network is there, recorded snapshots when not

Introduced in lab 00 (set-up); lab 02 (DNS) looks inside.
"""

from __future__ import annotations

from ..paths import zones_dir
from . import live, snapshots
from .resolve import as_resolver
from .server import FAULT_KINDS, LabDNS, Query, QueryLog, parse_fault

__all__ = ["LabDNS", "Query", "QueryLog", "FAULT_KINDS", "parse_fault", "as_resolver", "zones_dir", "live", "snapshots"]
