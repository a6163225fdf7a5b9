"""One DNS query helper shared by the DNSBL and FCrDNS clients: outcomes, not exceptions."""

from __future__ import annotations

from typing import Any

import dns.exception
import dns.resolver


def query(resolver: dns.resolver.Resolver, name: str, rdtype: str) -> tuple[str, list[str]]:
    """Ask ``resolver``; return (outcome, texts) with outcome ``ok``, ``nxdomain``,
    ``nodata`` or ``temperror``.  Never raises."""
    try:
        answer = resolver.resolve(name, rdtype, search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return "nxdomain", []
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout):
        return "temperror", []
    except dns.exception.DNSException:
        return "temperror", []
    if answer.rrset is None:
        return "nodata", []
    return "ok", [_text(r) for r in answer.rrset]


def _text(rdata: Any) -> str:
    strings = getattr(rdata, "strings", None)
    if strings is not None:
        return b"".join(strings).decode("utf-8", "replace")
    return rdata.to_text().rstrip(".") if hasattr(rdata, "target") else rdata.to_text()
