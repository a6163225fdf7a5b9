"""An SPF record linter: what is wrong or risky in a domain's SPF, over its whole
include/redirect tree.

Findings (``code``): ``no-record``, ``multiple-records``, ``syntax``,
``too-many-lookups`` (more than 10 DNS-querying terms in the tree), ``void-lookups``
(more than 2 names that answer nothing), ``mx-limit`` (more than 10 MX names: the
``mx`` term is a permerror), ``ptr`` (the ``ptr`` mechanism or the ``%{p}`` macro:
slow, deprecated), ``plus-all``
(``+all`` lets the whole Internet pass), ``no-all`` (no ``all`` and no ``redirect``:
the default is neutral), ``length`` (a record over 255 bytes needs several strings; a
TXT answer over 512 bytes needs TCP), ``include-missing``, ``redirect-missing`` (an
include or redirect target without an SPF record: permerror), ``redirect-ignored``,
``after-all`` (mechanisms after ``all``, which no receiver evaluates: not counted, not
followed), ``dns-error``.

Introduced in lab 03 (SPF).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any

from .. import _coerce
from . import spf as _spf
from .spf_record import MAX_DNS_MECHANISMS, MAX_VOID_LOOKUPS, is_spf_record, parse_record

log = logging.getLogger(__name__)
MAX_TREE = 40  # records visited at most, against loops


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One problem: ``severity`` error|warning|info, a ``code``, where, and what."""

    severity: str
    code: str
    domain: str
    message: str

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"severity": self.severity, "code": self.code, "domain": self.domain,
                "message": self.message}

    def __str__(self) -> str:
        return f"{self.severity:7} {self.code:17} {self.domain}: {self.message}"


@dataclass(frozen=True, kw_only=True)
class LintReport:
    """All findings for a domain, with the look-up count over its tree."""

    domain: str
    record: str | None
    findings: tuple[Finding, ...]
    dns_lookups: int
    void_lookups: int
    tree: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no finding is an error (warnings allowed)."""
        return not any(f.severity == "error" for f in self.findings)

    def codes(self) -> set[str]:
        """The codes of all findings, e.g. ``{"too-many-lookups"}``."""
        return {f.code for f in self.findings}

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"domain": self.domain, "record": self.record, "ok": self.ok,
                "dns_lookups": self.dns_lookups, "void_lookups": self.void_lookups,
                "findings": [f.to_dict() for f in self.findings], "tree": list(self.tree)}

    def __str__(self) -> str:
        head = (f"SPF lint {self.domain}: {len(self.findings)} finding(s), "
                f"{self.dns_lookups} DNS-querying terms, {self.void_lookups} void")
        return "\n".join([head, *(f"  {t}" for t in self.tree), *(f"  {f}" for f in self.findings)])

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(f.severity)}</td><td>{html.escape(f.code)}</td>"
                       f"<td>{html.escape(f.domain)}</td><td>{html.escape(f.message)}</td></tr>"
                       for f in self.findings)
        return f"<div><b>{html.escape(self.domain)}</b><table>{rows}</table></div>"


class _Linter:
    def __init__(self, resolver: Any):
        self.resolver = resolver
        self.findings: list[Finding] = []
        self.lookups = 0
        self.void = 0
        self.visited: set[str] = set()
        self.tree: list[str] = []

    def add(self, severity: str, code: str, domain: str, message: str) -> None:
        self.findings.append(Finding(severity=severity, code=code, domain=domain, message=message))

    def query(self, name: str, rdtype: str, *, count_void: bool = True) -> tuple[str, ...] | None:
        lookup, _ = _spf.query_dns(self.resolver, name, rdtype)
        if lookup.rcode not in ("NOERROR", "NXDOMAIN"):
            self.add("error", "dns-error", name, f"{rdtype} look-up gave {lookup.rcode}")
            return None
        if lookup.void and count_void:
            self.void += 1
        return lookup.answers

    def addresses(self, name: str) -> None:
        """A, then AAAA: void only when the name has neither (it fails every client)."""
        if self.query(name, "A", count_void=False) == ():
            if self.query(name, "AAAA", count_void=False) == ():
                self.void += 1

    def records(self, domain: str, depth: int, via: str) -> str | None:
        lookup, items = _spf.query_dns(self.resolver, domain, "TXT")
        if lookup.rcode not in ("NOERROR", "NXDOMAIN"):
            self.add("error", "dns-error", domain, f"TXT look-up gave {lookup.rcode}")
            return None
        if lookup.void and via:  # an include's or redirect's look-up (RFC 7208 4.6.4)
            self.void += 1
        found = [t for t in lookup.answers if is_spf_record(t)]
        pieces = [r.strings for r in items if is_spf_record(b"".join(r.strings).decode("utf-8", "replace"))]
        self.tree.append("  " * depth + f"{via}{domain}: " + (found[0] if len(found) == 1 else f"({len(found)} records)"))
        if not found:
            code = "redirect-missing" if via == "redirect=" else "include-missing" if via else "no-record"
            self.add("error", code, domain, "no SPF record" + (f" (reached by {via.strip()}): permerror"
                                                                if via else ""))
            return None
        if len(found) > 1:
            self.add("error", "multiple-records", domain,
                     f"{len(found)} SPF records: receivers must return permerror")
            return None
        record = found[0]
        size = len(record.encode("utf-8", "replace"))
        if pieces and any(len(s) > 255 for s in pieces[0]):
            self.add("error", "length", domain, "a TXT string is longer than 255 bytes")
        if size > 450:
            self.add("warning", "length", domain,
                     f"record is {size} bytes: with other TXT records the answer may exceed 512 bytes (TCP)")
        elif size > 255:
            self.add("info", "length", domain, f"record is {size} bytes: published as several strings")
        return record

    def lint(self, domain: str, depth: int = 0, via: str = "") -> None:
        key = domain.lower()
        if key in self.visited:
            self.add("error", "syntax", domain, "include/redirect loop")
            return
        if len(self.visited) >= MAX_TREE:
            return
        self.visited.add(key)
        record = self.records(domain, depth, via)
        if record is None:
            return
        parsed = parse_record(record)
        for e in parsed.errors:
            self.add("error", "syntax", domain, e)
        has_all = any(t.name == "all" for t in parsed.mechanisms)
        redirect = parsed.modifier("redirect")
        unreached: list[str] = []  # mechanisms after 'all' (RFC 7208 5.1: never evaluated)
        seen_all = False
        for term in parsed.terms:
            if term.kind == "modifier":
                continue
            if seen_all:
                unreached.append(term.text)
                continue
            seen_all = term.name == "all"
            if term.name == "all" and term.qualifier == "+":
                self.add("error", "plus-all", domain, f"'{term.text}' authorises every address on the Internet")
            if term.name == "ptr":
                self.add("warning", "ptr", domain, "ptr is slow and unreliable; RFC 7208 says do not use it")
            elif "%{p" in (term.value or "").lower():
                self.add("warning", "ptr", domain,
                         f"'{term.text}': %{{p}} needs PTR look-ups; RFC 7208 says do not use it")
            if term.name in ("include", "a", "mx", "ptr", "exists"):
                self.lookups += 1
            target = term.value or domain
            if "%" in target:
                continue  # macros depend on the message: not followed here
            if term.name == "include":
                self.lint(target, depth + 1, "include:")
            elif term.name == "a":
                self.addresses(target)
            elif term.name == "mx":
                mxs = self.query(target, "MX") or ()
                if len(mxs) > 10:
                    self.add("error", "mx-limit", domain,
                             f"{target} has {len(mxs)} MX names (limit 10): 'mx' gives permerror")
                for mx in mxs[:10]:
                    self.addresses(mx.split()[-1].rstrip("."))
            elif term.name == "exists":
                self.query(target, "A")  # a literal name: a void answer counts (RFC 7208 4.6.4)
        if unreached:
            self.add("warning", "after-all", domain,
                     f"never evaluated, after 'all' (RFC 7208 5.1), so not counted: {' '.join(unreached)}")
        if redirect is not None:
            if has_all:
                self.add("warning", "redirect-ignored", domain, "redirect= is ignored because the record has 'all'")
            else:
                self.lookups += 1
                if "%" not in (redirect.value or ""):
                    self.lint(redirect.value or "", depth, "redirect=")
        elif not has_all:
            self.add("warning", "no-all", domain,
                     "no 'all' and no redirect: unmatched senders get neutral")


def lint(domain: str, *, dns: Any) -> LintReport:
    """Lint the SPF record of ``domain`` and everything it includes or redirects to.

    Introduced in lab 03 (SPF).
    """
    import labkit.dns

    linter = _Linter(labkit.dns.as_resolver(dns))
    if domain is not None:  # an address or a non-str is a mistake in words, not "no record"
        domain = _coerce.domain(domain, "domain", example="plusall.spf.test", lower=False)
    domain = (domain or "").strip().rstrip(".")
    try:
        linter.lint(domain)
    except Exception as exc:  # a linter must report, not crash, on hostile records
        log.exception("SPF lint failed")
        linter.add("error", "syntax", domain, f"could not lint: {exc}")
    if linter.lookups > MAX_DNS_MECHANISMS:
        linter.add("error", "too-many-lookups", domain,
                   f"{linter.lookups} DNS-querying terms over the include/redirect tree "
                   f"(limit {MAX_DNS_MECHANISMS}): receivers return permerror")
    if linter.void > MAX_VOID_LOOKUPS:
        linter.add("error", "void-lookups", domain,
                   f"{linter.void} look-ups answer nothing (limit {MAX_VOID_LOOKUPS}): permerror")
    top = linter.tree[0].split(": ", 1)[1] if linter.tree else None
    return LintReport(domain=domain, record=top if top and top.startswith("v=") else None,
                      findings=tuple(linter.findings), dns_lookups=linter.lookups,
                      void_lookups=linter.void, tree=tuple(linter.tree))


__all__ = ["Finding", "LintReport", "lint"]
