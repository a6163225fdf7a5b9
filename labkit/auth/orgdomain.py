"""Organisational domains: where an organisation's part of the DNS begins.

Two methods, selectable wherever DMARC needs one:

- ``"treewalk"`` — RFC 9989's DNS tree walk: climb from the name towards the root,
  reading ``_dmarc`` records; ``psd=n`` marks an organisational domain, ``psd=y`` a
  public suffix domain (the organisation is the name one label below it); otherwise
  the shortest name publishing a record wins, and with no record the name itself.
- ``"psl"`` — RFC 7489's Public Suffix List (the ``publicsuffixlist`` package with its
  bundled list; nothing is downloaded): the registrable domain, public suffix + 1.

They differ where a list and the DNS disagree; the lab shows both.

Not named in the labs: :func:`labkit.auth.dmarc.org_domain` (lab 05) answers with it.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass

from .. import _coerce

log = logging.getLogger(__name__)

METHODS = ("treewalk", "psl")
MAX_LABELS = 8  # RFC 9989: at most 8 look-ups per walk


@functools.lru_cache(maxsize=1)
def _psl():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # the list bundled with the package


def normalise(domain: str) -> str:
    """Lower-case, no trailing dot, IDNA (A-label) form when it converts.

    ``None`` or ``""`` give ``""``; a name that is not text (bytes, a number, a list) is a
    ``TypeError`` that says so, as everywhere a domain is asked for.
    """
    d = _coerce.text(domain or "", "domain", example="brand.example").strip().rstrip(".").lower()
    try:
        return d.encode("idna").decode("ascii") if not d.isascii() else d
    except UnicodeError:
        return d


def is_address_literal(name: str) -> bool:
    """Is ``name`` an IP address or an address literal (``[192.0.2.1]``,
    ``[IPv6:2001:db8::1]``) rather than a domain name?  It has no organisational domain:
    the PSL would read ``192.0.2.1`` as the name ``1`` under ``2``."""
    n = name.strip()
    if n.startswith("[") and n.endswith("]"):
        return True
    try:
        ipaddress.ip_address(n)
    except ValueError:
        return False
    return True


def psl_org_domain(domain: str) -> str:
    """RFC 7489 organisational domain from the bundled Public Suffix List.

    A name that is itself a public suffix is its own organisational domain, and so is an
    address (:func:`is_address_literal`).
    """
    d = normalise(domain)
    if not d or is_address_literal(d):
        return d
    return _psl().privatesuffix(d) or d


def walk_targets(domain: str) -> list[str]:
    """The names a RFC 9989 tree walk asks about, longest first (at most 8).

    After the name itself: with 8 or more labels jump to the right-most 7, then drop
    one label at a time down to the top-level domain.
    """
    labels = normalise(domain).split(".")
    if not labels or not labels[0]:
        return []
    out = [".".join(labels)]
    if len(labels) > MAX_LABELS - 1:
        labels = labels[-(MAX_LABELS - 1):]
        out.append(".".join(labels))
    while len(labels) > 1:
        labels = labels[1:]
        out.append(".".join(labels))
    return out


@dataclass(frozen=True, kw_only=True)
class OrgDomain:
    """The organisational domain found and how (``steps``)."""

    domain: str
    org_domain: str
    method: str
    steps: tuple[str, ...] = ()
    temperror: bool = False

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"domain": self.domain, "org_domain": self.org_domain, "method": self.method,
                "steps": list(self.steps), "temperror": self.temperror}


RecordFetcher = Callable[[str], "tuple[str, object | None]"]


def tree_walk_org_domain(domain: str, fetch: RecordFetcher) -> OrgDomain:
    """RFC 9989 organisational domain by the DNS tree walk.

    ``fetch(name)`` returns ``(status, record)`` for ``_dmarc.<name>``: status is
    ``"found"``, ``"none"``, ``"multiple"`` (more than one record: none used) or
    ``"temperror"``; record has a ``psd`` attribute.
    """
    d = normalise(domain)
    targets = walk_targets(d)
    steps: list[str] = []
    shortest: str | None = None
    for name in targets:
        status, record = fetch(name)
        if status == "temperror":
            steps.append(f"org-domain walk: _dmarc.{name} DNS error — organisational domain undetermined")
            return OrgDomain(domain=d, org_domain=d, method="treewalk", steps=tuple(steps), temperror=True)
        if status != "found":
            steps.append(f"org-domain walk: _dmarc.{name} has no record")
            continue
        psd = getattr(record, "psd", "u")
        if psd == "n":
            steps.append(f"org-domain walk: _dmarc.{name} says psd=n — {name} is the organisational domain")
            return OrgDomain(domain=d, org_domain=name, method="treewalk", steps=tuple(steps))
        if psd == "y" and name != d:  # (RFC 9989 4.10.2 rule 2: not the start domain's record)
            labels = d.split(".")
            org = ".".join(labels[-(len(name.split(".")) + 1):]) if len(labels) > len(name.split(".")) else name
            steps.append(f"org-domain walk: _dmarc.{name} says psd=y — a public suffix domain; organisational domain {org}")
            return OrgDomain(domain=d, org_domain=org, method="treewalk", steps=tuple(steps))
        steps.append(f"org-domain walk: _dmarc.{name} has a record"
                     + (" (psd=y where the walk starts: the walk goes on)" if psd == "y" else ""))
        shortest = name
    org = shortest or d
    steps.append(f"organisational domain: {org}" + (" (the shortest name with a record)" if shortest else " (no record anywhere: the name itself)"))
    return OrgDomain(domain=d, org_domain=org, method="treewalk", steps=tuple(steps))


__all__ = ["METHODS", "OrgDomain", "normalise", "psl_org_domain", "walk_targets", "tree_walk_org_domain"]
