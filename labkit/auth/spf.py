"""SPF (RFC 7208): may this address send mail for this domain?

:func:`check` asks pyspf, routed through the lab DNS you pass in, and explains the
answer: every DNS look-up pyspf made (with what came back), and a trace of the record
walked mechanism by mechanism (see :mod:`labkit.auth.spf_record`).

How pyspf is routed without global state: pyspf calls the module-level
``spf.DNSLookup`` for every query. We install one dispatcher there, once, and it sends
each query to the resolver held in a :class:`contextvars.ContextVar` that a check sets
for its own duration. Two labs in one kernel, or a threaded receiver, each see their
own DNS. Strict mode keeps RFC 7208's limits: 10 DNS-querying terms, 2 void look-ups.

Introduced in lab 03 (SPF).
"""

from __future__ import annotations

import contextvars
import html
import ipaddress
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.resolver
import spf as pyspf

from .. import _coerce
from .spf_record import Lookup, TraceStep, walk

log = logging.getLogger(__name__)

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "permerror", "temperror")
DEFAULT_RECEIVER = "mx.corp.example"
DEFAULT_TIMEOUT = 2.0


# --------------------------------------------------------------------------- routing


class _Route:
    """Where this check's look-ups go, and the log of what they returned."""

    def __init__(self, resolver: dns.resolver.Resolver, timeout: float):
        self.resolver = resolver
        self.timeout = timeout
        self.log: list[Lookup] = []


_ROUTE: contextvars.ContextVar[_Route | None] = contextvars.ContextVar("labkit_spf_route", default=None)
_INSTALL_LOCK = threading.Lock()


def _answer_text(rdtype: str, rdata: Any) -> str:
    if rdtype in ("TXT", "SPF"):
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if rdtype == "MX":
        return f"{rdata.preference} {rdata.exchange.to_text(omit_final_dot=True)}"
    if rdtype in ("PTR", "CNAME"):
        return rdata.target.to_text(omit_final_dot=True)
    return rdata.to_text()


def _pyspf_value(rdtype: str, rdata: Any) -> Any:
    if rdtype in ("A", "AAAA"):
        return rdata.address
    if rdtype == "MX":
        return (rdata.preference, rdata.exchange.to_text(omit_final_dot=True))
    if rdtype == "PTR":
        return rdata.target.to_text(omit_final_dot=True)
    if rdtype in ("TXT", "SPF"):
        return rdata.strings
    return rdata.to_text()


def query_dns(resolver: dns.resolver.Resolver, name: str, rdtype: str,
              timeout: float = DEFAULT_TIMEOUT) -> tuple[Lookup, list]:
    """Ask ``resolver`` once (no search list); return the :class:`Lookup` and raw rdata."""
    try:
        answer = resolver.resolve(name, rdtype, search=False, raise_on_no_answer=False,
                                  lifetime=timeout)
    except dns.resolver.NXDOMAIN:
        return Lookup(name=name, rdtype=rdtype, rcode="NXDOMAIN"), []
    except dns.exception.Timeout:
        return Lookup(name=name, rdtype=rdtype, rcode="TIMEOUT"), []
    except dns.resolver.NoNameservers as exc:
        text = str(exc)
        rcode = "REFUSED" if "REFUSED" in text else "SERVFAIL"
        return Lookup(name=name, rdtype=rdtype, rcode=rcode), []
    except (dns.name.NameTooLong, dns.name.EmptyLabel, dns.name.LabelTooLong):
        return Lookup(name=name, rdtype=rdtype, rcode="NXDOMAIN"), []
    except dns.exception.DNSException as exc:
        log.debug("DNS error for %s %s: %s", name, rdtype, exc)
        return Lookup(name=name, rdtype=rdtype, rcode="ERROR"), []
    rrset = answer.rrset
    items = list(rrset) if rrset is not None else []
    texts = tuple(_answer_text(rdtype, r) for r in items)
    return Lookup(name=name, rdtype=rdtype, rcode="NOERROR", answers=texts), items


def _dispatch(name: str, qtype: str, strict: Any = True, timeout: float = DEFAULT_TIMEOUT) -> list:
    """The one ``spf.DNSLookup``: send the query to the resolver of the current check."""
    route = _ROUTE.get()
    if route is None:
        # Nothing may fall back to the host's resolver.
        raise pyspf.TempError("no lab DNS bound to this SPF check (use labkit.auth.spf.check)")
    lookup, items = query_dns(route.resolver, name, qtype, min(timeout, route.timeout))
    route.log.append(lookup)
    if lookup.rcode not in ("NOERROR", "NXDOMAIN"):
        raise pyspf.TempError(f"DNS {lookup.rcode} for {name} {qtype}")
    return [((name, qtype), _pyspf_value(qtype, r)) for r in items]


def _install() -> None:
    """Install the dispatcher as ``spf.DNSLookup`` (once; idempotent, thread-safe)."""
    if pyspf.DNSLookup is _dispatch:
        return
    with _INSTALL_LOCK:
        if pyspf.DNSLookup is not _dispatch:
            pyspf.DNSLookup = _dispatch


@contextmanager
def routed(dns_source: Any, timeout: float = DEFAULT_TIMEOUT) -> Iterator[_Route]:
    """Route pyspf's look-ups made inside the block to ``dns_source`` (LabDNS or Resolver)."""
    import labkit.dns

    _install()
    route = _Route(labkit.dns.as_resolver(dns_source), timeout)
    token = _ROUTE.set(route)
    try:
        yield route
    finally:
        _ROUTE.reset(token)


_ZERO_DIGITS = re.compile(r"%\{[a-zA-Z]0+r?[^}]*\}")


class _Query(pyspf.query):
    """pyspf's query with rules of RFC 7208 that pyspf 2.0.14 misses (macros, ptr errors).

    A ``%{d0}`` transformer must be nonzero (7.1; pyspf dropped the first label), and an
    expansion longer than 253 characters loses labels on the left until it fits (7.3;
    pyspf dropped one label only, then asked for a name too long to exist).  The domain
    is what follows the *last* ``@`` of the sender: a quoted local part may hold an ``@``
    (RFC 5321 4.1.2), and pyspf split at the first one, so ``"a@b"@brand.example`` was
    checked as the non-existent ``b"@brand.example`` (``none``, escaping a ``-all``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        local, at, domain = self.s.rpartition("@")
        if at:
            self.l, self.o = local or "postmaster", domain
            self.d = self.o

    def expand(self, s: str, stripdot: bool = True) -> str:
        """Expand ``s`` as pyspf does, with the two RFC 7208 7 rules above."""
        found = _ZERO_DIGITS.search(s)
        if found:
            raise pyspf.PermError("macro keeps 0 labels (RFC 7208 7.1: nonzero)", found.group(0))
        result = super().expand(s, stripdot)
        if stripdot:
            while len(result) > 253 and "." in result:
                result = result.split(".", 1)[1]
        return result

    def validated_ptrs(self) -> list:
        """The client's PTR names (first 10) that resolve back to it, with RFC 7208 5.5's
        error rules: a failed PTR look-up validates nothing (the ``ptr`` term does not
        match), a failed address look-up skips that name (pyspf gave temperror)."""
        try:
            names = self.dns_ptr(self.i)[:pyspf.MAX_PTR]
        except pyspf.TempError:
            return []
        found = []
        for name in names:
            try:
                if self.cidrmatch(self.dns_a(name, self.A), self.cidrmax):
                    found.append(name)
            except pyspf.TempError:
                continue
        return found


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, kw_only=True)
class SPFResult:
    """The outcome of one SPF check, with the look-ups and a readable trace.

    ``result`` is one of pass, fail, softfail, neutral, none, permerror, temperror
    (from pyspf). ``identity`` is ``mailfrom`` or ``helo``. ``lookups`` are the DNS
    queries pyspf made, in order; ``steps`` the walk of the record; ``header`` the
    ``Received-SPF`` field.
    """

    result: str
    explanation: str
    domain: str
    identity: str
    ip: str
    mail_from: str
    helo: str
    record: str | None = None
    mechanism: str | None = None
    reason: str = ""
    lookups: tuple[Lookup, ...] = ()
    steps: tuple[TraceStep, ...] = ()
    dns_mechanisms: int = 0
    void_lookups: int = 0
    trace_result: str | None = None
    receiver: str = DEFAULT_RECEIVER
    header: str = field(default="", repr=False)

    @property
    def passed(self) -> bool:
        """True for the result ``pass``."""
        return self.result == "pass"

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {
            "result": self.result, "explanation": self.explanation, "domain": self.domain,
            "identity": self.identity, "ip": self.ip, "mail_from": self.mail_from,
            "helo": self.helo, "record": self.record, "mechanism": self.mechanism,
            "reason": self.reason, "lookups": [x.to_dict() for x in self.lookups],
            "steps": [s.to_dict() for s in self.steps], "dns_mechanisms": self.dns_mechanisms,
            "void_lookups": self.void_lookups, "trace_result": self.trace_result,
            "header": self.header,
        }

    def explain(self) -> str:
        """A plain-text account: result, the walk, and the DNS look-ups."""
        lines = [f"SPF {self.identity} {self.domain or '(no domain)'} from {self.ip}: {self.result}"
                 + (f" ({self.reason})" if self.reason else "")]
        lines += [f"  {s}" for s in self.steps]
        lines.append("  DNS look-ups:")
        lines += [f"    {x}" for x in self.lookups] or ["    (none)"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td style='padding-left:{1 + 1.5 * s.depth}em'>{html.escape(s.domain)}</td>"
            f"<td><code>{html.escape(s.term)}</code></td><td>{html.escape(s.outcome)}</td>"
            f"<td>{html.escape(s.detail)}</td></tr>" for s in self.steps)
        looks = "".join(f"<li><code>{html.escape(str(x))}</code></li>" for x in self.lookups)
        return (f"<div><b>SPF {html.escape(self.identity)}</b> {html.escape(self.domain)} from "
                f"{html.escape(self.ip)}: <b>{html.escape(self.result)}</b> {html.escape(self.reason)}"
                f"<table>{rows}</table><details><summary>DNS look-ups ({len(self.lookups)})"
                f"</summary><ul>{looks}</ul></details></div>")


def _strip_brackets(address: str) -> str:
    address = (address or "").strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1].strip()
    return address


def _fqdn(domain: str) -> str:
    """``domain`` without one final dot: RFC 7208 4.3 allows a zero-length label only
    at the end, and the name is the same (pyspf would call ``example.com.`` malformed
    and answer ``none``, letting ``user@brand.example.`` dodge brand.example's -all)."""
    return domain[:-1] if domain.endswith(".") and not domain.endswith("..") else domain


def _identity(mail_from: str, helo: str) -> tuple[str, str, str]:
    """(identity, sender, domain) per RFC 7208 2.4: empty MAIL FROM uses postmaster@HELO."""
    sender = _strip_brackets(mail_from)
    if not sender:
        return "helo", f"postmaster@{_fqdn(helo)}", _fqdn(helo)
    if "@" not in sender:
        sender = _fqdn(sender)
        return "mailfrom", f"postmaster@{sender}", sender
    local, _, domain = sender.rpartition("@")
    return "mailfrom", f"{local}@{_fqdn(domain)}", _fqdn(domain)


def evaluate_identity(ip: str, sender: str, helo: str, identity: str, *, dns: Any,
                      record: str | None = None, receiver: str = DEFAULT_RECEIVER,
                      timeout: float = DEFAULT_TIMEOUT) -> SPFResult:
    """Run pyspf for one identity (optionally against given record text) and trace it.

    The shared engine of :func:`check`, :func:`check_helo` and Sender ID.  With a
    resolver whose cache is a :class:`labkit.dns.cache.LabCache` (the lab's hosts),
    the result for the same inputs is computed once per version of the DNS data.
    """
    import labkit.dns

    resolver = labkit.dns.as_resolver(dns)
    derived = getattr(resolver.cache, "derived", None)
    if derived is None or record is not None:
        return _evaluate_identity(ip, sender, helo, identity, dns=resolver, record=record,
                                  receiver=receiver, timeout=timeout)
    return derived(("spf", ip, sender, helo, identity, receiver, timeout),
                   lambda: _evaluate_identity(ip, sender, helo, identity, dns=resolver,
                                              receiver=receiver, timeout=timeout),
                   keep=_repeatable)


def _repeatable(res: SPFResult) -> bool:
    """Would the same inputs and DNS data give this result again? (no time-outs, no macros:
    ``%{t}`` expands to the current time)"""
    if res.result == "temperror" or res.trace_result != res.result:
        return False
    if any(x.rcode not in ("NOERROR", "NXDOMAIN") for x in res.lookups):
        return False
    return not any("%{" in text for x in res.lookups for text in x.answers)


def _evaluate_identity(ip: str, sender: str, helo: str, identity: str, *, dns: Any,
                       record: str | None = None, receiver: str = DEFAULT_RECEIVER,
                       timeout: float = DEFAULT_TIMEOUT) -> SPFResult:
    domain = sender.rpartition("@")[2]
    common = dict(ip=ip, domain=domain, identity=identity, helo=helo, receiver=receiver,
                  mail_from=sender if identity != "helo" else "")
    try:
        parsed_ip = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        hint = ""
        if isinstance(ip, str) and "@" in ip:
            hint = " (an address: were ip and mail_from swapped? ip comes first)"
        elif isinstance(ip, str) and _coerce.looks_like_host_name(ip):
            hint = (" (a host name: SPF checks the client's IP address, e.g. "
                    f"lab.hosts[{ip.strip()!r}].address)")
        return _finish(SPFResult(result="permerror", explanation="",
                                 reason=f"not an IP address: {ip!r}{hint}", **common))
    if parsed_ip.version == 6 and parsed_ip.ipv4_mapped is not None:
        parsed_ip = parsed_ip.ipv4_mapped  # ::ffff:a.b.c.d is checked as IPv4 (RFC 7208 5)
    ip = common["ip"] = str(parsed_ip)
    if not domain.strip(". "):  # RFC 7208 4.3: no domain to check is "none", and no look-up
        return _finish(SPFResult(result="none", explanation="",
                                 reason="no domain to check: MAIL FROM and HELO give none", **common))
    with routed(dns, timeout) as route:
        try:
            q = _Query(i=ip, s=sender, h=helo, receiver=receiver, strict=True, timeout=timeout)
            result, _code, explanation = q.check(spf=record)
            if result == "softfail":  # RFC 7208 6.2: a domain's exp= text is for fail only
                explanation = pyspf.EXPLANATIONS["softfail"]
            mechanism = q.mechanism
            reason = ""
            if result in ("permerror", "temperror"):
                reason = explanation.split(": ", 1)[-1] if explanation.startswith("SPF ") else explanation
        except (pyspf.PermError, AssertionError, ValueError, UnicodeError) as exc:
            result, explanation, mechanism, reason = "permerror", "", None, str(exc)
        except pyspf.TempError as exc:
            result, explanation, mechanism, reason = "temperror", "", None, str(exc)
        seen = {(x.name.lower(), x.rdtype): x for x in route.log}

        def replay(name: str, rdtype: str) -> Lookup:
            hit = seen.get((name.lower(), rdtype))
            if hit is None:
                hit, _ = query_dns(route.resolver, name, rdtype, timeout)
                seen[(name.lower(), rdtype)] = hit
            return hit

        if record is not None:
            seen[(domain.lower(), "TXT")] = Lookup(name=domain, rdtype="TXT", rcode="NOERROR",
                                                   answers=(record,))
        traced = walk(ip, sender, helo, domain, replay)
        lookups = tuple(route.log)
    if result == "none" and not reason:
        reason = "no SPF record" if traced.result == "none" else ""
    if result not in ("permerror", "temperror") and not reason:
        reason = f"matched {mechanism}" if mechanism else ("default result" if result != "none" else reason)
    if traced.result != result:
        log.info("SPF trace disagrees with pyspf for %s: trace %s, pyspf %s", domain, traced.result, result)
        reason = (reason + "; " if reason else "") + f"(the step-by-step trace reached {traced.result})"
    return _finish(SPFResult(
        result=result, explanation=explanation or "", record=record or traced.record,
        mechanism=mechanism, reason=reason, lookups=lookups, steps=tuple(traced.steps),
        dns_mechanisms=traced.dns_mechanisms, void_lookups=traced.void_lookups,
        trace_result=traced.result, **common))


def _finish(res: SPFResult) -> SPFResult:
    from .results import received_spf

    return SPFResult(**{**res.__dict__, "header": received_spf(res)})


def check(ip: str, mail_from: str, helo: str, *, dns: Any, receiver: str = DEFAULT_RECEIVER,
          timeout: float = DEFAULT_TIMEOUT) -> SPFResult:
    """Check the MAIL FROM identity (or ``postmaster@HELO`` when MAIL FROM is empty).

    ``dns`` is a :class:`labkit.dns.LabDNS` or a dnspython Resolver. Never raises for
    bad records, bad addresses or DNS trouble: those are ``permerror``/``temperror``.

    Introduced in lab 03 (SPF).
    """
    ip = _coerce.ip_text(ip, "ip")
    if mail_from is not None:
        _coerce.text(mail_from, "mail_from", example="news@brand.example")
    if helo is not None:
        _coerce.text(helo, "helo", example="mail.brand.example")
    _coerce.text(receiver, "receiver", example=DEFAULT_RECEIVER)
    identity, sender, _ = _identity(mail_from, helo or "")
    return evaluate_identity(ip, sender, helo or "", identity, dns=dns, receiver=receiver,
                             timeout=timeout)


def check_helo(ip: str, helo: str, *, dns: Any, receiver: str = DEFAULT_RECEIVER,
               timeout: float = DEFAULT_TIMEOUT) -> SPFResult:
    """Check the HELO identity (RFC 7208 2.3): does ``helo``'s record allow ``ip``?

    Introduced in lab 03 (SPF).
    """
    ip = _coerce.ip_text(ip, "ip")
    if helo is not None:
        _coerce.text(helo, "helo", example="mail.brand.example")
    _coerce.text(receiver, "receiver", example=DEFAULT_RECEIVER)
    helo = _fqdn((helo or "").strip())
    return evaluate_identity(ip, f"postmaster@{helo}", helo, "helo", dns=dns, receiver=receiver,
                             timeout=timeout)


__all__ = ["SPFResult", "Lookup", "TraceStep", "check", "check_helo", "evaluate_identity",
           "routed", "query_dns", "RESULTS"]
