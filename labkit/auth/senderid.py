"""Sender ID (RFC 4406/4407) — HISTORICAL, for contrast only.

Sender ID applied SPF-style records to a header address, the Purported Responsible
Address (PRA), instead of the envelope MAIL FROM. It was an Experimental protocol;
RFC 6686 (2012) reported that the experiment found it little used, and in February
2020 the IETF moved RFCs 4405-4407 to Historic. Nobody should deploy it. The lab shows
it because DMARC later solved the same problem differently: it checks the From domain,
but lets SPF and DKIM results *for other identities* count only when aligned.

:func:`pra` picks the PRA (Resent-Sender, Resent-From, Sender, From, per RFC 4407 2);
:func:`check` evaluates it with the same record logic as SPF (pyspf), using a
``spf2.0/pra`` record if the domain has one, else its ``v=spf1`` record (two
``spf2.0`` records for the ``pra`` scope are a ``permerror``, RFC 4406 4.4).

Introduced in lab 03 (SPF).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.headerregistry import HeaderRegistry
from typing import Any

from .. import _coerce
from . import fromheader
from . import spf as _spf

log = logging.getLogger(__name__)

STATUS = "historical (RFC 4406/4407 Experimental, moved to Historic in 2020): do not deploy"
_SPF2 = re.compile(r"^spf2\.0/([a-z,]+)(?:\s|$)", re.I)
_REGISTRY = HeaderRegistry()


@dataclass(frozen=True, kw_only=True)
class PRA:
    """The purported responsible address, the header it came from, and the steps."""

    address: str | None
    header: str | None
    steps: tuple[str, ...] = ()
    problem: str = ""

    @property
    def domain(self) -> str | None:
        """The domain of the Purported Responsible Address, lower-cased, or None."""
        return self.address.rpartition("@")[2].lower() if self.address else None

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"address": self.address, "header": self.header, "steps": list(self.steps),
                "problem": self.problem}


def _mailboxes(value: str) -> list[str]:
    try:
        header = _REGISTRY("from", value)
    except Exception:
        return []
    return [a.addr_spec for a in header.addresses if a.domain]


def pra(message: bytes | str) -> PRA:
    """Select the PRA following RFC 4407 section 2 (never raises for a bad message;
    something that is no message at all, such as an ``int``, is a ``TypeError``).

    Introduced in lab 03 (SPF).
    """
    msg = fromheader.split_message(_coerce.message_bytes(message))
    names = [(n.lower(), v) for n, v in msg.fields if v.strip()]
    steps: list[str] = []

    def chosen(header: str, value: str) -> PRA:
        boxes = _mailboxes(value)
        if len(boxes) == 1:
            steps.append(f"{header}: {boxes[0]}")
            return PRA(address=boxes[0], header=header, steps=tuple(steps))
        steps.append(f"{header} has {len(boxes)} mailboxes: PRA undetermined")
        return PRA(address=None, header=header, steps=tuple(steps),
                   problem=f"{header} does not hold exactly one mailbox")

    idx_rs = next((i for i, (n, _) in enumerate(names) if n == "resent-sender"), None)
    if idx_rs is not None:
        idx_rf = next((i for i, (n, _) in enumerate(names) if n == "resent-from"), None)
        trace_between = idx_rf is not None and idx_rf < idx_rs and any(
            n in ("received", "return-path") for n, _ in names[idx_rf + 1:idx_rs])
        if not trace_between:
            return chosen("Resent-Sender", names[idx_rs][1])
        steps.append("Resent-Sender belongs to an older resent block: skipped")
    rf = [v for n, v in names if n == "resent-from"]
    if rf:
        return chosen("Resent-From", rf[0])
    for header in ("Sender", "From"):
        values = [v for n, v in names if n == header.lower()]
        if len(values) == 1:
            return chosen(header, values[0])
        if len(values) > 1:
            steps.append(f"{len(values)} {header} fields: PRA undetermined")
            return PRA(address=None, header=header, steps=tuple(steps), problem=f"several {header} fields")
        steps.append(f"no {header}")
    return PRA(address=None, header=None, steps=tuple(steps), problem="no PRA header")


@dataclass(frozen=True, kw_only=True)
class SenderIDResult:
    """Sender ID outcome (historical): the PRA, the record used and the SPF-style result."""

    result: str
    pra: PRA
    record: str | None
    scope: str  # "spf2.0/pra", "v=spf1 (fallback)" or ""
    spf: Any = None
    status: str = STATUS

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"result": self.result, "pra": self.pra.to_dict(), "record": self.record,
                "scope": self.scope, "spf": self.spf.to_dict() if self.spf else None,
                "status": self.status}

    def __str__(self) -> str:
        return (f"Sender ID [{self.status}]: PRA {self.pra.address or '(none)'} "
                f"via {self.pra.header or '-'}: {self.result} ({self.scope or 'no record'})")


def _pra_record(domain: str, dns: Any) -> tuple[str | None, str]:
    import labkit.dns

    lookup, _ = _spf.query_dns(labkit.dns.as_resolver(dns), domain, "TXT")
    spf2 = [t for t in lookup.answers if (m := _SPF2.match(t)) and "pra" in m.group(1).lower().split(",")]
    if len(spf2) == 1:
        return "v=spf1" + spf2[0][_SPF2.match(spf2[0]).end() - 1:].rstrip(), "spf2.0/pra"
    if spf2:  # RFC 4406 4.4: two records for the scope are a PermError, not a fallback
        return _REDUNDANT, "spf2.0/pra"
    return None, "v=spf1 (fallback)"


_REDUNDANT = "(more than one spf2.0 record covers the pra scope)"


def check(message: bytes | str, *, ip: str, helo: str, dns: Any) -> SenderIDResult:
    """Evaluate Sender ID for a message (historical contrast; never raises).

    Introduced in lab 03 (SPF).
    """
    ip = _coerce.ip_text(ip, "ip")  # as spf.check: a wrong type is a mistake, not a permerror
    if helo is not None:
        _coerce.text(helo, "helo", example="mail.brand.example")
    found = pra(message)
    if found.address is None:
        return SenderIDResult(result="permerror", pra=found, record=None, scope="")
    record, scope = _pra_record(found.domain or "", dns)
    if record == _REDUNDANT:
        return SenderIDResult(result="permerror", pra=found, record=None, scope=scope)
    result = _spf.evaluate_identity(ip, found.address, helo, "pra", dns=dns, record=record)
    return SenderIDResult(result=result.result, pra=found, record=record or result.record,
                          scope=scope if (record or result.record) else "", spf=result)


__all__ = ["PRA", "SenderIDResult", "pra", "check", "STATUS"]
