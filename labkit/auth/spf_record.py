"""SPF records read term by term: the parser and a tracing walker (RFC 7208).

The verdict of :func:`labkit.auth.spf.check` comes from pyspf. This module is the
second, independent reading of the same record that a learner can follow: it parses a
record into terms (:func:`parse_record`) and walks ``check_host()`` mechanism by
mechanism (:func:`walk`), writing each step down. The linter and the Sender ID
contrast reuse the parser. Tests hold the walker's result against pyspf's.

Not named in the labs: :func:`labkit.auth.spf.check`, the linter and the SPF stepper
(lab 03) run on it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

MAX_DNS_MECHANISMS = 10  # RFC 7208 4.6.4
MAX_VOID_LOOKUPS = 2  # RFC 7208 4.6.4
MAX_MX_OR_PTR = 10  # RFC 7208 4.6.4 / 5.5
MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
DNS_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}

_MODIFIER = re.compile(r"^([a-zA-Z][a-zA-Z0-9_.\-]*)=(.*)$")
_MECH = re.compile(r"^([+\-~?]?)([a-zA-Z][a-zA-Z0-9_.\-]*)(.*)$")
_DUAL_CIDR = re.compile(r"^(.*?)(?:/(\d+))?(?://(\d+))?$")
# RFC 7208 7.1: domain-end = ( "." toplabel [ "." ] ) / macro-expand; toplabel is
# alphanumeric with a letter (the digits before the first letter spelled apart, so that
# no run of characters can be split two ways), or has an inner "-"
_TOPLABEL = re.compile(r"[0-9]*[a-z][0-9a-z]*|[0-9a-z]+-[0-9a-z\-]*[0-9a-z]", re.I)
_MACRO = re.compile(r"%(?:\{([slodipvhcrtSLODIPVHCRT])(\d*)(r?)([.\-+,/_=]*)\}|(%)|(_)|(-))")


class SPFSyntaxError(ValueError):
    """A record term that RFC 7208's grammar does not allow (a ``permerror``)."""


@dataclass(frozen=True, kw_only=True)
class Lookup:
    """One DNS query made for an SPF check, with what came back.

    ``rcode`` is NOERROR, NXDOMAIN, TIMEOUT, SERVFAIL, REFUSED or ERROR; ``answers``
    holds the answer data as text.
    """

    name: str
    rdtype: str
    rcode: str
    answers: tuple[str, ...] = ()

    @property
    def void(self) -> bool:
        """True for an empty answer or NXDOMAIN (RFC 7208 4.6.4)."""
        return self.rcode in ("NOERROR", "NXDOMAIN") and not self.answers

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return asdict(self) | {"answers": list(self.answers)}

    def __str__(self) -> str:
        shown = ", ".join(self.answers) if self.answers else "(no data)"
        return f"{self.name} {self.rdtype} -> {self.rcode}: {shown}"


@dataclass(frozen=True, kw_only=True)
class Term:
    """One term of an SPF record: a mechanism (with qualifier) or a modifier."""

    text: str
    kind: str  # "mechanism" | "modifier"
    name: str
    qualifier: str = "+"
    value: str | None = None  # domain-spec, address or modifier value
    cidr4: int | None = None
    cidr6: int | None = None

    @property
    def result(self) -> str:
        """The result this mechanism gives when it matches."""
        return QUALIFIERS[self.qualifier]


@dataclass(frozen=True, kw_only=True)
class ParsedRecord:
    """A record split into terms, with the grammar errors found (empty when valid)."""

    text: str
    terms: tuple[Term, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def mechanisms(self) -> tuple[Term, ...]:
        """The record's mechanisms in order (modifiers left out)."""
        return tuple(t for t in self.terms if t.kind == "mechanism")

    def modifier(self, name: str) -> Term | None:
        """The first modifier called ``name``, if any."""
        return next((t for t in self.terms if t.kind == "modifier" and t.name == name), None)


@dataclass(frozen=True, kw_only=True)
class TraceStep:
    """One line of the walk: which record/term was looked at and what it gave."""

    depth: int
    domain: str
    term: str
    outcome: str
    detail: str = ""

    def __str__(self) -> str:
        pad = "  " * self.depth
        extra = f" — {self.detail}" if self.detail else ""
        return f"{pad}[{self.domain}] {self.term}: {self.outcome}{extra}"

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return asdict(self)


def is_spf_record(text: str) -> bool:
    """True if a TXT string is an SPF version 1 record (``v=spf1`` then space or end)."""
    low = text.lower()
    return low == "v=spf1" or low.startswith("v=spf1 ")


def _valid_domain_spec(value: str) -> bool:
    """RFC 7208 7.1 grammar: a macro-string (may be empty) then a domain-end.

    Only the end of ``value`` is read (the last label, or the last ``%{...}``), so
    the time is linear: a search for a domain-end anywhere, anchored at the end, was
    quadratic in a long label or in a run of ``%{`` (a 64 kB term: seconds).
    """
    if not value:
        return False
    # ("$" also matched before a final line feed)
    return _ends_in_domain_end(value) or (value[-1] == "\n" and _ends_in_domain_end(value[:-1]))


def _ends_in_domain_end(value: str) -> bool:
    if value.endswith("}"):  # a macro-expand: a "%{" after the "}" before the last one
        start = value.rfind("}", 0, len(value) - 1) + 1
        if value.find("%{", start, len(value) - 1) >= 0:
            return True
    name = value[:-1] if value.endswith(".") else value
    dot = name.rfind(".")
    return dot >= 0 and _TOPLABEL.fullmatch(name, dot + 1) is not None


def _parse_cidr(rest: str, term: str, *, dual: bool) -> tuple[str, int | None, int | None]:
    m = _DUAL_CIDR.match(rest)
    if m is None:  # pragma: no cover - the pattern matches every string
        raise SPFSyntaxError(f"cannot read {term!r}")
    value, c4, c6 = m.group(1), m.group(2), m.group(3)
    if not dual and c6 is not None:
        raise SPFSyntaxError(f"dual CIDR not allowed in {term!r}")
    for c in (c4, c6):
        if c is not None and (len(c) > 1 and c.startswith("0")):
            raise SPFSyntaxError(f"leading zero in CIDR length of {term!r}")
    return value, (int(c4) if c4 is not None else None), (int(c6) if c6 is not None else None)


def _check_macros(spec: str, term: str, *, domain_spec: bool = True) -> None:
    """RFC 7208 7.1: every "%" starts a macro; a DIGIT transformer is nonzero; in a
    domain-spec (not in exp text) the letters c, r and t are not allowed (7.3)."""
    rest = _MACRO.sub("", spec)
    if "%" in rest:
        raise SPFSyntaxError(f"bad macro in {term!r}")
    for m in _MACRO.finditer(spec):
        if m.group(2) and int(m.group(2)) == 0:
            raise SPFSyntaxError(f"macro keeps 0 labels in {term!r} (RFC 7208 7.1: nonzero)")
        if domain_spec and m.group(1) and m.group(1).lower() in "crt":
            raise SPFSyntaxError(f"%{{{m.group(1)}}} is allowed only in exp text, not in {term!r}")


def parse_term(text: str) -> Term:
    """Parse one term; raise :class:`SPFSyntaxError` when the grammar forbids it."""
    mod = _MODIFIER.match(text)
    if mod:
        name = mod.group(1).lower()
        value = mod.group(2)
        if name in ("redirect", "exp"):
            if not value:
                raise SPFSyntaxError(f"{name}= needs a domain")
            if not _valid_domain_spec(value):
                raise SPFSyntaxError(f"invalid domain in {text!r}")
        _check_macros(value, text, domain_spec=name in ("redirect", "exp"))
        return Term(text=text, kind="modifier", name=name, value=value)
    m = _MECH.match(text)
    if m is None:
        raise SPFSyntaxError(f"unknown term {text!r}")
    qualifier, name, rest = m.group(1) or "+", m.group(2).lower(), m.group(3)
    if name not in MECHANISMS:
        raise SPFSyntaxError(f"unknown mechanism {name!r} in {text!r}")
    if name == "all":
        if rest:
            raise SPFSyntaxError(f"'all' takes no argument: {text!r}")
        return Term(text=text, kind="mechanism", name=name, qualifier=qualifier)
    if name in ("ip4", "ip6"):
        if not rest.startswith(":"):
            raise SPFSyntaxError(f"{name} needs an address: {text!r}")
        addr, c4, _ = _parse_cidr(rest[1:], text, dual=False)
        limit = 32 if name == "ip4" else 128
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            raise SPFSyntaxError(f"invalid {name} address in {text!r}") from None
        if (ip.version == 4) != (name == "ip4"):
            raise SPFSyntaxError(f"invalid {name} address in {text!r}")
        if c4 is not None and not 0 <= c4 <= limit:
            raise SPFSyntaxError(f"CIDR length out of range in {text!r}")
        return Term(text=text, kind="mechanism", name=name, qualifier=qualifier,
                    value=addr, cidr4=c4 if name == "ip4" else None,
                    cidr6=c4 if name == "ip6" else None)
    # include, exists, a, mx, ptr
    if rest and not rest.startswith((":", "/")):
        raise SPFSyntaxError(f"unknown mechanism {text!r}")
    value = None
    c4 = c6 = None
    if rest.startswith(":"):
        rest = rest[1:]
        if name in ("a", "mx"):
            value, c4, c6 = _parse_cidr(rest, text, dual=True)
        else:
            value = rest
        if not value or not _valid_domain_spec(value):
            raise SPFSyntaxError(f"empty or invalid domain in {text!r}")
        _check_macros(value, text)
    elif rest:  # "/nn" directly after a or mx
        if name not in ("a", "mx"):
            raise SPFSyntaxError(f"CIDR not allowed in {text!r}")
        _, c4, c6 = _parse_cidr(rest, text, dual=True)
    if name in ("include", "exists") and value is None:
        raise SPFSyntaxError(f"{name} needs a domain: {text!r}")
    if (c4 is not None and c4 > 32) or (c6 is not None and c6 > 128):
        raise SPFSyntaxError(f"CIDR length out of range in {text!r}")
    return Term(text=text, kind="mechanism", name=name, qualifier=qualifier,
                value=value, cidr4=c4, cidr6=c6)


def parse_record(text: str) -> ParsedRecord:
    """Split an SPF record into terms, collecting grammar errors instead of raising.

    >>> [t.name for t in parse_record("v=spf1 ip4:192.0.2.10 -all").terms]
    ['ip4', 'all']

    Not named in the labs: :func:`labkit.auth.spf_lint.lint` (lab 03) parses with it.
    """
    if not is_spf_record(text):
        return ParsedRecord(text=text, errors=("not an SPF record (must start with 'v=spf1')",))
    terms: list[Term] = []
    errors: list[str] = []
    seen_mods: set[str] = set()
    for raw in text.split(" ")[1:]:
        if not raw:
            continue
        try:
            term = parse_term(raw)
        except SPFSyntaxError as exc:
            errors.append(str(exc))
            continue
        if term.kind == "modifier" and term.name in ("redirect", "exp"):
            if term.name in seen_mods:
                errors.append(f"{term.name}= appears more than once")
            seen_mods.add(term.name)
        terms.append(term)
    return ParsedRecord(text=text, terms=tuple(terms), errors=tuple(errors))


# --------------------------------------------------------------------------- macros


@dataclass(frozen=True)
class MacroContext:
    """The values SPF macros expand to (RFC 7208 7.3)."""

    sender: str
    ip: str
    helo: str
    ptr_names: Callable[[], list[str]] | None = None  # validated PTR names, for %{p}

    def p_macro(self, domain: str) -> str:
        """RFC 7208 7.3: a validated name of the client, preferring ``domain`` or below it."""
        names = self.ptr_names() if self.ptr_names else []
        low = domain.lower()
        for n in names:
            if n.lower() == low:
                return n
        for n in names:
            if n.lower().endswith("." + low):
                return n
        return names[0] if names else "unknown"

    @property
    def local(self) -> str:
        """The local part of the sender (``%{l}``); ``postmaster`` when it has none (RFC 7208 4.3)."""
        return self.sender.rpartition("@")[0] or "postmaster"

    @property
    def sender_domain(self) -> str:
        """The domain of the sender (``%{o}``)."""
        return self.sender.rpartition("@")[2]

    def ip_macro(self) -> str:
        """The client address as ``%{i}`` writes it: dotted IPv4, or IPv6 as dot-separated nibbles."""
        ip = ipaddress.ip_address(self.ip)
        if ip.version == 6:
            return ".".join(ip.exploded.replace(":", ""))
        return str(ip)


def expand(spec: str, ctx: MacroContext, domain: str) -> str:
    """Expand the macros of a domain-spec for the record of ``domain`` (RFC 7208 7)."""

    def one(m: re.Match) -> str:
        if m.group(5):
            return "%"
        if m.group(6):
            return " "
        if m.group(7):
            return "%20"
        letter, digits, reverse, delims = m.group(1), m.group(2), m.group(3), m.group(4)
        low = letter.lower()
        ip = ipaddress.ip_address(ctx.ip)
        values = {
            "s": ctx.sender, "l": ctx.local, "o": ctx.sender_domain, "d": domain,
            "i": ctx.ip_macro(), "v": "ip6" if ip.version == 6 else "in-addr",
            "h": ctx.helo, "p": ctx.p_macro(domain) if low == "p" else "", "c": str(ip), "r": "unknown", "t": "0",
        }
        value = values[low]
        parts = re.split("[" + re.escape(delims or ".") + "]", value)
        if reverse:
            parts.reverse()
        if digits:
            n = int(digits)
            if n == 0:
                raise SPFSyntaxError("macro transformer of 0 labels")
            parts = parts[-n:]
        out = ".".join(parts)
        return urllib.parse.quote(out, safe="") if letter.isupper() else out

    result = _MACRO.sub(one, spec)
    result = result.rstrip(".")
    while len(result) > 253 and "." in result:
        result = result.split(".", 1)[1]
    return result


# --------------------------------------------------------------------------- walker


class _Stop(Exception):
    """Ends the walk with a result (permerror/temperror) and a reason."""

    def __init__(self, result: str, reason: str):
        super().__init__(reason)
        self.result = result
        self.reason = reason


@dataclass
class WalkOutcome:
    """What :func:`walk` found: the result, the deciding term and the steps."""

    result: str
    reason: str
    mechanism: str | None
    record: str | None
    steps: list[TraceStep] = field(default_factory=list)
    dns_mechanisms: int = 0
    void_lookups: int = 0


LookupFn = Callable[[str, str], Lookup]


class _Walker:
    def __init__(self, ctx: MacroContext, lookup: LookupFn):
        self.lookup = lookup
        self.steps: list[TraceStep] = []
        self.count = 0
        self.void = 0
        self.mechanism: str | None = None
        self._ptrs: list[str] | None = None
        self.ctx = dataclasses.replace(ctx, ptr_names=self.validated_ptrs)

    def validated_ptrs(self, fresh: bool = False) -> list[str]:
        """PTR names of the client (at most 10) whose addresses include it (RFC 7208 5.5)."""
        if self._ptrs is None or fresh:
            ip = ipaddress.ip_address(self.ctx.ip)
            # 5.5: a DNS error on the PTR look-up validates nothing; on a name's address
            # look-up it skips that name
            names = [n.rstrip(".") for n in self._dns(ip.reverse_pointer, "PTR", on_error=())]
            rdtype = "AAAA" if ip.version == 6 else "A"
            self._ptrs = [n for n in names[:MAX_MX_OR_PTR]
                          if ip in [ipaddress.ip_address(a) for a in self._dns(n, rdtype, on_error=())]]
        return self._ptrs

    def _dns(self, name: str, rdtype: str, *, count_void: bool = True,
             on_error: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """The answers; a DNS error is a temperror, or gives ``on_error`` when one is given."""
        labels = name.rstrip(".").split(".")
        if len(name) > 253 or any(not x or len(x) > 63 for x in labels):
            return ()  # not a name the DNS can hold: nothing there, and nothing asked
        answer = self.lookup(name, rdtype)
        if answer.rcode in ("TIMEOUT", "SERVFAIL", "REFUSED", "ERROR"):
            if on_error is not None:
                return on_error
            raise _Stop("temperror", f"DNS {answer.rcode} for {name} {rdtype}")
        if answer.void and count_void:
            self.void += 1
            if self.void > MAX_VOID_LOOKUPS:
                raise _Stop("permerror", f"more than {MAX_VOID_LOOKUPS} void look-ups ({name} {rdtype})")
        return answer.answers

    def _count(self) -> None:
        self.count += 1
        if self.count > MAX_DNS_MECHANISMS:
            raise _Stop("permerror", f"more than {MAX_DNS_MECHANISMS} DNS-querying mechanisms")

    def record_for(self, domain: str, *, term: bool = True) -> str | None:
        """The SPF record of ``domain``.  ``term``: the look-up comes from an include or
        redirect, so an empty answer counts as void (RFC 7208 4.6.4 limits the void
        look-ups of terms; the first look-up of the record is none of them)."""
        labels = domain.split(".")
        if len(labels) < 2 or any(not x or len(x) > 63 for x in labels):
            return None
        found = [t for t in self._dns(domain, "TXT", count_void=term) if is_spf_record(t)]
        if len(found) > 1:
            raise _Stop("permerror", f"{len(found)} SPF records at {domain}")
        return found[0] if found else None

    def _addresses(self, name: str) -> list[str]:
        rdtype = "AAAA" if ipaddress.ip_address(self.ctx.ip).version == 6 else "A"
        return list(self._dns(name, rdtype))

    def _in(self, addresses: list[str], term: Term) -> bool:
        ip = ipaddress.ip_address(self.ctx.ip)
        cidr = term.cidr6 if ip.version == 6 else term.cidr4
        for a in addresses:
            net = ipaddress.ip_network(f"{a}/{cidr if cidr is not None else ip.max_prefixlen}", strict=False)
            if ip in net:
                return True
        return False

    def _match(self, term: Term, domain: str, depth: int) -> tuple[bool, str]:
        ctx = self.ctx
        target = expand(term.value, ctx, domain) if term.value else domain
        name = term.name
        if name == "all":
            return True, "always matches"
        if name in ("ip4", "ip6"):
            ip = ipaddress.ip_address(ctx.ip)
            net = ipaddress.ip_network(
                f"{term.value}/{term.cidr4 if name == 'ip4' else term.cidr6}"
                if (term.cidr4 if name == "ip4" else term.cidr6) is not None else term.value,
                strict=False)
            if ip.version != net.version:
                return False, f"{ctx.ip} is not an {name} address"
            return ip in net, f"{ctx.ip} {'is' if ip in net else 'is not'} in {net}"
        self._count()
        if name == "a":
            addrs = self._addresses(target)
            hit = self._in(addrs, term)
            return hit, f"{target} has {', '.join(addrs) or 'no address'}"
        if name == "mx":
            mxs = self._dns(target, "MX")
            if len(mxs) > MAX_MX_OR_PTR:
                raise _Stop("permerror", f"{target} has more than {MAX_MX_OR_PTR} MX records")
            hosts = [m.split()[-1].rstrip(".") for m in mxs]
            for host in sorted(hosts):
                if self._in(self._addresses(host), term):
                    return True, f"MX host {host} has {ctx.ip}"
            return False, f"MX hosts {', '.join(hosts) or '(none)'} do not have {ctx.ip}"
        if name == "exists":
            found = self._dns(target, "A")
            return bool(found), f"{target} A {'exists' if found else 'does not exist'}"
        if name == "ptr":
            for n in self.validated_ptrs(fresh=True):  # each ptr term looks up again
                if n.lower() == target.lower() or n.lower().endswith("." + target.lower()):
                    return True, f"validated PTR {n} is within {target}"
            return False, f"no validated PTR name within {target}"
        if name == "include":
            inner = self._check(target, depth + 1)
            if inner in ("temperror", "permerror"):
                raise _Stop(inner, f"include:{target} gave {inner}")
            if inner == "none":
                raise _Stop("permerror", f"include:{target} has no SPF record")
            return inner == "pass", f"include:{target} gave {inner}"
        raise _Stop("permerror", f"unknown mechanism {name}")  # pragma: no cover

    def _check(self, domain: str, depth: int, *, term: bool | None = None) -> str:
        # the record of check_host()'s own domain is no term's look-up; an include's or a
        # redirect's is
        record = self.record_for(domain, term=depth > 0 if term is None else term)
        if record is None:
            self.steps.append(TraceStep(depth=depth, domain=domain, term="(record)", outcome="none",
                                        detail="no SPF record"))
            return "none"
        self.steps.append(TraceStep(depth=depth, domain=domain, term="(record)", outcome="found",
                                    detail=record))
        parsed = parse_record(record)
        if parsed.errors:
            raise _Stop("permerror", f"syntax error at {domain}: {parsed.errors[0]}")
        for term in parsed.mechanisms:
            before = self.void
            hit, why = self._match(term, domain, depth)
            if self.void > before:  # say where each void look-up (RFC 7208 4.6.4) happened
                counted = ", ".join(str(n) for n in range(before + 1, self.void + 1))
                why += f" (void look-up {counted} of {MAX_VOID_LOOKUPS})"
            self.steps.append(TraceStep(depth=depth, domain=domain, term=term.text,
                                        outcome="match" if hit else "no match", detail=why))
            if hit:
                if depth == 0:
                    self.mechanism = term.text
                self.steps.append(TraceStep(depth=depth, domain=domain, term=term.text,
                                            outcome=term.result, detail="decision"))
                return term.result
        redirect = parsed.modifier("redirect")
        if redirect is not None:
            target = expand(redirect.value or "", self.ctx, domain)
            self._count()
            self.steps.append(TraceStep(depth=depth, domain=domain, term=redirect.text,
                                        outcome="follow", detail=f"no mechanism matched; go to {target}"))
            result = self._check(target, depth, term=True)
            if result == "none":
                raise _Stop("permerror", f"redirect={target} has no SPF record")
            return result
        self.steps.append(TraceStep(depth=depth, domain=domain, term="(end)", outcome="neutral",
                                    detail="no mechanism matched and no redirect: default neutral"))
        return "neutral"


def walk(ip: str, sender: str, helo: str, domain: str, lookup: LookupFn) -> WalkOutcome:
    """Evaluate ``check_host(ip, domain, sender)`` step by step, independently of pyspf.

    ``lookup(name, rdtype)`` returns a :class:`Lookup`. Never raises for bad records or
    DNS trouble: those become permerror/temperror outcomes with a reason.

    Not named in the labs: :func:`labkit.auth.spf.check` (lab 03) walks records with it.
    """
    walker = _Walker(MacroContext(sender=sender, ip=ip, helo=helo), lookup)
    try:
        result = walker._check(domain, 0)
        reason = "no SPF record" if result == "none" else f"decided by {walker.mechanism or 'default'}"
    except _Stop as stop:
        result, reason = stop.result, stop.reason
        walker.steps.append(TraceStep(depth=0, domain=domain, term="(stop)", outcome=result, detail=reason))
    except (SPFSyntaxError, ValueError) as exc:
        result, reason = "permerror", str(exc)
        walker.steps.append(TraceStep(depth=0, domain=domain, term="(stop)", outcome=result, detail=reason))
    top = next((s.detail for s in walker.steps if s.term == "(record)" and s.depth == 0 and s.outcome == "found"), None)
    return WalkOutcome(result=result, reason=reason, mechanism=walker.mechanism, record=top,
                       steps=walker.steps, dns_mechanisms=walker.count, void_lookups=walker.void)


__all__ = [
    "Lookup", "Term", "ParsedRecord", "TraceStep", "SPFSyntaxError", "MacroContext",
    "WalkOutcome", "is_spf_record", "parse_term", "parse_record", "expand", "walk",
    "MAX_DNS_MECHANISMS", "MAX_VOID_LOOKUPS",
]
