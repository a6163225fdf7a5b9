"""DMARC aggregate reports: build them from a log of evaluations, validate, read back, plot.

A receiver that honours ``rua=`` sends the domain owner, once a day, an XML summary:
one ``<record>`` per group of messages that share the sending address, the
identifiers, the SPF/DKIM results and what was done with them, with a ``count``.
This module writes that XML in the RFC 9990 format (namespace
``urn:ietf:params:xml:ns:dmarc-2.0``), checks it against the schema in
``data/schemas/dmarc-aggregate-rfc9990.xsd`` with ``xmlschema``, parses reports
(RFC 9990 or RFC 7489) into a pandas table, and plots pass/fail by source.

The evaluations can be Verdicts, dicts, or the lab receiver's event log as it
stands — ``build(lab.verdicts(), policy_domain="brand.example")``, or
``build(labkit.mta.events.read(lab.root / "logs"), ...)`` for the JSON-lines files
(see :mod:`labkit.mta.events` for the fields). A report covers one policy domain:
messages judged by another domain's DMARC record are left out (and counted).
The disposition is what was applied: ``pass`` for mail that passed DMARC,
otherwise the receiver's action, with an override reason (``trusted_forwarder``,
``policy_test_mode``, ``local_policy``) when that is not what the policy asked.

Differences from the RFC 7489 format (still the most common in the wild; the
parser reads both): 7489 reports have no XML namespace and often no
``<version>``; ``policy_published`` has ``pct`` (removed) but no ``np``,
``testing`` or ``discovery_method``; ``disposition`` is none/quarantine/reject
(RFC 9990 adds ``pass`` for mail that passed DMARC); override reasons include
``forwarded`` and ``sampled_out`` where RFC 9990 has ``policy_test_mode``;
``report_metadata`` has no ``generator``; the SPF ``scope`` may be ``helo``.

Introduced in lab 05 (DMARC: aggregate reports).
"""

from __future__ import annotations

import email.message
import functools
import gzip
import html
import io
import ipaddress
import logging
import math
import time
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import _coerce
from ..errors import UsageError
from ..paths import data_dir

log = logging.getLogger(__name__)

NAMESPACE = "urn:ietf:params:xml:ns:dmarc-2.0"
SCHEMA_FILE = "dmarc-aggregate-rfc9990.xsd"

_DKIM_RESULTS = ("none", "pass", "fail", "policy", "neutral", "temperror", "permerror")
_SPF_RESULTS = ("none", "neutral", "pass", "fail", "softfail", "temperror", "permerror")
_DISPOSITIONS = ("none", "pass", "quarantine", "reject")
_OVERRIDES = ("local_policy", "mailing_list", "other", "policy_test_mode", "trusted_forwarder")
_FROM_VERDICT = {"accept": "none", "quarantine": "quarantine", "reject": "reject"}

COLUMNS = (
    "report_id", "org_name", "begin", "end", "policy_domain", "policy_p", "source_ip", "count",
    "disposition", "dkim_aligned", "spf_aligned", "dmarc", "header_from", "envelope_from",
    "envelope_to", "spf_domain", "spf_result", "dkim_domains", "dkim_selectors", "dkim_results",
    "reasons",
)


# --------------------------------------------------------------------------- records
@dataclass(frozen=True, kw_only=True)
class EvaluationRecord:
    """One evaluated message, reduced to what an aggregate report counts.

    ``dkim`` holds (domain, selector, result) per signature; ``dkim_aligned`` and
    ``spf_aligned`` are DMARC's aligned verdicts (pass/fail); ``disposition`` is
    none/pass/quarantine/reject. ``policy_domain`` is the domain whose DMARC record
    was applied ("" when not known): :func:`build` leaves out messages of other
    policy domains. ``null_sender`` is True for a null reverse-path (``MAIL FROM:<>``):
    the report then writes an empty ``envelope_from`` (RFC 9990), not the HELO name.
    ``published`` holds what the evaluation saw of the DMARC record (p, sp, np, adkim,
    aspf, testing, fo, discovery_method), which :func:`build` reports when it is given
    no ``policy``. ``problems`` says what was wrong with the input
    (a record is never refused, it is repaired and annotated).
    """

    source_ip: str
    header_from: str
    envelope_from: str = ""
    envelope_to: str = ""
    spf_domain: str = ""
    spf_result: str = "none"
    dkim: tuple[tuple[str, str, str], ...] = ()
    dkim_aligned: str = "fail"
    spf_aligned: str = "fail"
    disposition: str = "none"
    dmarc_result: str = "fail"
    reasons: tuple[tuple[str, str], ...] = ()
    timestamp: float | None = None
    policy_domain: str = ""
    problems: tuple[str, ...] = ()
    null_sender: bool = False
    published: tuple[tuple[str, str], ...] = ()

    def group_key(self) -> tuple:
        """What makes two messages land in the same ``<record>``."""
        return (self.source_ip, self.header_from, self.envelope_from, self.envelope_to,
                self.disposition, self.dkim_aligned, self.spf_aligned, self.spf_domain,
                self.spf_result, tuple(sorted(self.dkim)), self.reasons, self.null_sender)

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {
            "source_ip": self.source_ip, "header_from": self.header_from,
            "envelope_from": self.envelope_from, "envelope_to": self.envelope_to,
            "spf_domain": self.spf_domain, "spf_result": self.spf_result,
            "dkim": [list(d) for d in self.dkim], "dkim_aligned": self.dkim_aligned,
            "spf_aligned": self.spf_aligned, "disposition": self.disposition,
            "dmarc_result": self.dmarc_result, "reasons": [list(r) for r in self.reasons],
            "timestamp": self.timestamp, "policy_domain": self.policy_domain,
            "problems": list(self.problems), "null_sender": self.null_sender,
            "published": dict(self.published),
        }


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(obj, Mapping):
            if name in obj and obj[name] is not None:
                return obj[name]
        elif getattr(obj, name, None) is not None:
            return getattr(obj, name)
    return default


def _domain_of(value: Any) -> str:
    text = str(value or "").strip().strip("<>").rstrip(".").lower()
    return text.rsplit("@", 1)[-1] if "@" in text else text


def _choice(value: Any, allowed: tuple[str, ...], fallback: str, what: str, problems: list[str]) -> str:
    text = str(value if value is not None else "").strip().lower()
    if isinstance(value, bool):
        text = "pass" if value else "fail"
    if text in allowed:
        return text
    if value is not None:
        problems.append(f"{what}={value!r} is not one of {'/'.join(allowed)}; reported as {fallback}")
    return fallback


def _dkim_entries(obj: Any, problems: list[str]) -> tuple[tuple[str, str, str], ...]:
    raw = _get(obj, "dkim", default=None)
    if raw is None and _get(obj, "dkim_domain") is not None:
        raw = [{"domain": _get(obj, "dkim_domain"), "selector": _get(obj, "dkim_selector", default=""),
                "result": _get(obj, "dkim_result", default="none")}]
    entries = []
    for item in raw or ():
        if isinstance(item, (tuple, list)):
            domain, selector, result = (list(item) + ["", "", ""])[:3]
        else:
            domain = _get(item, "domain", "d")
            selector = _get(item, "selector", "s", default="")
            result = _get(item, "result", default="none")
        domain = _domain_of(domain)
        if not domain:
            problems.append("a DKIM result without a domain was left out")
            continue
        entries.append((domain, str(selector or ""), _choice(result, _DKIM_RESULTS, "permerror", "dkim result", problems)))
    return tuple(entries)


def _relaxed(a: str, b: str) -> bool:
    """Relaxed alignment (same organisational domain, RFC 7489 PSL method)."""
    from . import orgdomain

    try:
        return orgdomain.psl_org_domain(a) == orgdomain.psl_org_domain(b)
    except Exception:  # an unusable name never aligns
        return False


# the unspecified address stands in for an unusable source_ip in a report row
_UNSPECIFIED_IP = str(ipaddress.IPv4Address(0))


def _valid_ip(value: Any, problems: list[str]) -> str:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        problems.append(f"source_ip={value!r} is not an IP address; reported as {_UNSPECIFIED_IP}")
        return _UNSPECIFIED_IP


_TAKES = ("reports count evaluated messages: Verdicts (what lk.auth.evaluate returns), dicts "
          "of an evaluation's fields, or the lab's event log (lab.verdicts())")


def _not_an_evaluation(obj: Any, what: str) -> None:
    """Refuse what is plainly no evaluation: a raw message, text, a number, None.

    Such an item used to become a report row of defaults (source 0.0.0.0, From
    unknown.invalid) counting a message that nobody evaluated.
    """
    raw = getattr(obj, "raw", None)
    if isinstance(obj, (bytes, bytearray, memoryview, email.message.Message)) or isinstance(raw, (bytes, bytearray)):
        hint = ("a raw message: evaluate it first, lk.auth.evaluate(message, ip=..., mail_from=..., "
                "helo=..., dns=...), and pass the Verdict")
    elif isinstance(obj, str):
        hint = "text (a message, or a log's path? events.read(path) reads a log)"
    elif obj is None:
        hint = "None (did the cell that makes it run?)"
    elif isinstance(obj, (int, float, complex)):
        hint = f"a number ({obj!r})"
    else:
        return
    raise TypeError(f"{what} is {hint}; {_TAKES}")


def to_record(obj: Any, **overrides: Any) -> EvaluationRecord:
    """Normalise one evaluation into an :class:`EvaluationRecord`.

    ``obj`` is a dict or an object with the fields ``source_ip`` (or ``ip``),
    ``header_from``, ``envelope_from`` (or ``mail_from``), ``spf_domain``,
    ``spf_result``, ``dkim`` (list of (domain, selector, result) or dicts, or
    ``dkim_domain``/``dkim_selector``/``dkim_result``), ``disposition``,
    ``dmarc_result`` (a pass with disposition none is reported as RFC 9990's
    ``pass``), optionally ``dkim_aligned``/``spf_aligned`` (else relaxed
    alignment is computed with the PSL), ``reasons``, ``timestamp`` and
    ``policy_domain``; or a :class:`labkit.auth.Verdict` (then pass ``source_ip`` if
    its SPF result does not carry it); or a receiver's ``verdict`` event from the
    lab's event log (:mod:`labkit.mta.events`: ``lab.verdicts()``, or a line of its
    JSON-lines file). Bad values are repaired and listed in ``problems``, never
    refused; something that is no evaluation at all (raw message bytes, text, a
    number, None) is a ``TypeError`` that says what to pass.
    """
    _not_an_evaluation(obj, "the object given to to_record()")
    problems: list[str] = []
    merged: dict[str, Any] = {}
    if _is_event(obj):
        merged.update(_from_event(obj))
    elif _get(obj, "dmarc") is not None and _get(obj, "spf") is not None and not isinstance(obj, Mapping):
        merged.update(_from_verdict(obj))
    elif isinstance(obj, Mapping):
        merged.update(obj)
    else:
        merged.update({k: getattr(obj, k) for k in dir(obj) if not k.startswith("_")})
    merged.update(overrides)
    source_ip = _valid_ip(_get(merged, "source_ip", "ip", default=""), problems)
    header_from = _domain_of(_get(merged, "header_from", default=""))
    if not header_from:
        problems.append("no header_from; reported as 'unknown.invalid'")
        header_from = "unknown.invalid"
    raw_sender = _get(merged, "envelope_from", "mail_from", default="")
    null_sender = bool(_get(merged, "null_sender", default=False)) or str(raw_sender).strip() == "<>"
    envelope_from = "" if null_sender else _domain_of(raw_sender)
    spf_domain = _domain_of(_get(merged, "spf_domain", default="")) or envelope_from or header_from
    dmarc_result = _choice(_get(merged, "dmarc_result", "dmarc"), ("pass", "fail", "none", "temperror", "permerror"),
                           "fail", "dmarc result", problems)
    dkim = _dkim_entries(merged, problems)
    dkim_aligned = _get(merged, "dkim_aligned")
    spf_aligned = _get(merged, "spf_aligned")
    if dkim_aligned is None:  # relaxed alignment, organisational domains from the PSL
        dkim_aligned = any(r == "pass" and _relaxed(d, header_from) for d, _, r in dkim)
    if spf_aligned is None:
        spf_res = str(_get(merged, "spf_result", default="none")).lower()
        spf_aligned = spf_res == "pass" and _relaxed(spf_domain, header_from)
    disposition = _get(merged, "disposition", default="none")
    disposition = _FROM_VERDICT.get(str(disposition).lower(), disposition)
    if str(disposition).lower() == "none" and dmarc_result == "pass":
        disposition = "pass"  # RFC 9990: mail that passed DMARC (RFC 7489 wrote "none")
    reasons = []
    for item in _get(merged, "reasons", default=()) or ():
        kind, comment = (item, "") if isinstance(item, str) else (list(item) + [""])[:2]
        reasons.append((_choice(kind, _OVERRIDES, "other", "override reason", problems), str(comment or "")))
    stamp = _get(merged, "timestamp", "time")
    if isinstance(stamp, datetime):
        stamp = stamp.timestamp()
    try:
        stamp = float(stamp) if stamp is not None else None
    except (TypeError, ValueError):
        problems.append(f"timestamp={stamp!r} is not a number; ignored")
        stamp = None
    return EvaluationRecord(
        source_ip=source_ip,
        header_from=header_from,
        envelope_from=envelope_from,
        envelope_to=_domain_of(_get(merged, "envelope_to", default="")),
        spf_domain=spf_domain,
        spf_result=_choice(_get(merged, "spf_result", default="none"), _SPF_RESULTS, "permerror", "spf result", problems),
        dkim=dkim,
        dkim_aligned=_choice(dkim_aligned, ("pass", "fail"), "fail", "dkim_aligned", problems),
        spf_aligned=_choice(spf_aligned, ("pass", "fail"), "fail", "spf_aligned", problems),
        disposition=_choice(disposition, _DISPOSITIONS, "none", "disposition", problems),
        dmarc_result=dmarc_result,
        reasons=tuple(reasons),
        timestamp=stamp,
        policy_domain=_domain_of(_get(merged, "policy_domain", default="")),
        problems=tuple(problems),
        null_sender=null_sender,
        published=_published_pairs(_get(merged, "published", default=())),
    )


def _published_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """``published`` as sorted (tag, text) pairs: a mapping or pairs, values as text."""
    items = value.items() if isinstance(value, Mapping) else (value or ())
    return tuple(sorted((str(k), str(v)) for k, v in items if v not in (None, "")))


def published_tags(record: Any, method: Any) -> dict[str, str]:
    """What a DMARC record (a :class:`labkit.auth.dmarc.DMARCRecord`) says, for a report's
    policy_published: p, sp, np, adkim, aspf, testing, fo and the discovery ``method``
    (``treewalk`` or ``psl``), each as text, left out when the record does not set it.
    The receiver logs it with each verdict (``dmarc_published``)."""
    out: dict[str, str] = {}
    if method in ("treewalk", "psl"):
        out["discovery_method"] = method
    if record is None:
        return out
    for tag in ("p", "sp", "np", "adkim", "aspf"):
        value = getattr(record, tag, None)
        if value:
            out[tag] = str(value)
    testing = getattr(record, "t", None)
    if testing is not None:
        out["testing"] = "y" if testing is True or str(testing).lower() in ("y", "true") else "n"
    fo = getattr(record, "fo", None)
    if fo:
        out["fo"] = ":".join(fo) if isinstance(fo, (list, tuple)) else str(fo)
    return out


# the receiver's action (its verdict event's ``decision``) as a report disposition
_APPLIED = {"inbox": "none", "junk": "quarantine", "quarantine": "quarantine", "reject": "reject"}


def _evaluated(*, result: Any, asked: Any, applied: str, policy: Any, testing: Any,
               arc_override: Any, action: str = "") -> tuple[str, list[tuple[str, str]]]:
    """The disposition applied to a message and why it differs from what DMARC asked.

    ``asked`` is DMARC's disposition (none/quarantine/reject, already weakened by
    ``t=y``), ``applied`` what the receiver did. Mail that passed DMARC is ``pass``
    (RFC 9990) whatever the spam filter then did; otherwise a trusted ARC sealer,
    test mode and local policy each name themselves as an override reason.
    """
    if str(result).lower() == "pass":
        return "pass", []
    expected = str(asked or applied).lower()
    reasons: list[tuple[str, str]] = []
    if arc_override:
        reasons.append(("trusted_forwarder", "ARC chain from a trusted sealer"))
        expected = "none"
    elif testing and policy and str(policy).lower() != expected:
        reasons.append(("policy_test_mode", f"t=y: p={policy} applied as {expected}"))
    if applied != expected:
        reasons.append(("local_policy", f"the receiver chose {action or applied}"))
    return applied, reasons


def _is_event(obj: Any) -> bool:
    """Is ``obj`` an entry of the lab's event log (a dict with ``event`` and ``host``)?"""
    return isinstance(obj, Mapping) and "event" in obj and "host" in obj


def _authenticated(event: Mapping) -> bool:
    """Is this a verdict event of a receiver that ran DMARC (not one with auth off)?"""
    return event.get("event") == "verdict" and event.get("dmarc") is not None


def _from_event(event: Mapping) -> dict:
    """A receiver's ``verdict`` event (see :mod:`labkit.mta.events`) in to_record's names."""
    dkim = event.get("dkim_results")
    if dkim is None:  # a log from before dkim_results: "result:domain" strings, no selector
        dkim = [(d, "", r) for r, _, d in (str(x).partition(":") for x in event.get("dkim") or ())]
    rcpt_domains = {_domain_of(r) for r in event.get("rcpts") or ()}
    policy_domain = event.get("dmarc_policy_domain")
    if policy_domain == "":  # no DMARC record: only the From domain could have published one
        policy_domain = event.get("header_from")
    action = str(event.get("decision") or "")
    published: dict[str, str] = {}
    logged = event.get("dmarc_published")
    if isinstance(logged, Mapping) and logged:  # the whole record, as the receiver saw it
        published.update({str(k): str(v) for k, v in logged.items() if v not in (None, "")})
    elif event.get("dmarc_testing") is not None:  # an older log: what its fields tell
        published["testing"] = "y" if event.get("dmarc_testing") else "n"
    if (not published.get("p") and event.get("dmarc_policy") and policy_domain
            and _domain_of(event.get("header_from")) == _domain_of(policy_domain)):
        # mail From the policy domain itself: the policy that applied is its p=
        published["p"] = str(event.get("dmarc_policy"))
    disposition, reasons = _evaluated(
        result=event.get("dmarc"), asked=event.get("dmarc_disposition"),
        applied=_APPLIED.get(action.lower(), "none"), policy=event.get("dmarc_policy"),
        testing=event.get("dmarc_testing"), arc_override=event.get("arc_override"), action=action)
    return {
        "source_ip": event.get("client"),
        "header_from": event.get("header_from"),
        "envelope_from": event.get("mail_from"),
        "envelope_to": rcpt_domains.pop() if len(rcpt_domains) == 1 else None,
        "spf_domain": event.get("spf_domain"),
        "spf_result": event.get("spf"),
        "dkim": dkim,
        "dkim_aligned": event.get("dkim_aligned"),
        "spf_aligned": event.get("spf_aligned"),
        "dmarc_result": event.get("dmarc"),
        "disposition": disposition,
        "reasons": reasons,
        "timestamp": event.get("t"),
        "policy_domain": policy_domain,
        "null_sender": str(event.get("mail_from") or "").strip() == "<>",
        "published": published,
    }


def _from_verdict(verdict: Any) -> dict:
    spf, dmarc = verdict.spf, verdict.dmarc
    disposition, reasons = _evaluated(
        result=getattr(dmarc, "result", None), asked=getattr(dmarc, "disposition", None),
        applied=_FROM_VERDICT.get(getattr(verdict, "disposition", "accept"), "none"),
        policy=getattr(dmarc, "policy", None), testing=getattr(dmarc, "testing", False),
        arc_override=getattr(verdict, "arc_override", False))
    mail_from = getattr(spf, "mail_from", None)
    return {
        "source_ip": getattr(spf, "ip", None),
        "header_from": getattr(dmarc, "header_from", None),
        # a null reverse-path is reported as such (RFC 9990), not as the HELO name SPF checked
        "null_sender": mail_from is not None and str(mail_from).strip() in ("", "<>"),
        "envelope_from": mail_from if mail_from is not None else getattr(spf, "domain", None),
        "spf_domain": getattr(spf, "domain", None),
        "spf_result": getattr(spf, "result", None),
        "dkim": [(r.domain, r.selector, r.result) for r in getattr(verdict, "dkim", ()) if getattr(r, "domain", "")],
        "dkim_aligned": getattr(dmarc, "dkim_aligned", None),
        "spf_aligned": getattr(dmarc, "spf_aligned", None),
        "dmarc_result": getattr(dmarc, "result", None),
        "disposition": disposition,
        "reasons": reasons,
        "policy_domain": getattr(dmarc, "policy_domain", None) or getattr(dmarc, "header_from", None),
        "published": published_tags(getattr(dmarc, "record", None), getattr(dmarc, "method", None)),
    }


# --------------------------------------------------------------------------- build
@dataclass(frozen=True, kw_only=True)
class ValidationResult:
    """Schema validation of a report: ``valid`` and the schema's complaints."""

    valid: bool
    errors: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.valid

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"valid": self.valid, "errors": list(self.errors)}

    def __str__(self) -> str:
        if self.valid:
            return "valid against the RFC 9990 schema"
        return "INVALID:\n" + "\n".join(f"  {e}" for e in self.errors)


@dataclass(frozen=True, kw_only=True)
class AggregateReport:
    """A built report: ``xml`` (bytes), the grouped ``rows`` and input ``problems``.

    ``other_domains`` counts the messages left out because another domain's DMARC
    policy applied to them (they belong in that domain's report).
    """

    xml: bytes = field(repr=False)
    report_id: str
    policy_domain: str
    begin: int
    end: int
    rows: tuple[tuple[EvaluationRecord, int], ...] = field(default=(), repr=False)
    problems: tuple[str, ...] = ()
    other_domains: int = 0

    @property
    def messages(self) -> int:
        """How many messages the report's rows count together."""
        return sum(n for _, n in self.rows)

    def validate(self) -> ValidationResult:
        """Check this report's XML against the aggregate report format (see :func:`validate`)."""
        return validate(self.xml)

    def to_dataframe(self) -> Any:
        """This report as a DataFrame, one row per ``<record>`` (see :func:`parse`)."""
        return parse(self.xml)

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"report_id": self.report_id, "policy_domain": self.policy_domain, "begin": self.begin,
                "end": self.end, "records": len(self.rows), "messages": self.messages,
                "other_domains": self.other_domains, "problems": list(self.problems), "xml": self.xml.decode("utf-8")}

    def __str__(self) -> str:
        return self.xml.decode("utf-8")

    def _repr_html_(self) -> str:
        head = (f"<b>DMARC aggregate report</b> {html.escape(self.report_id)} for "
                f"{html.escape(self.policy_domain)}: {len(self.rows)} record(s), {self.messages} message(s)")
        return f"<div>{head}<pre>{html.escape(self.xml.decode('utf-8'))}</pre></div>"


def _collection(items: Any) -> tuple:
    """``records`` as a tuple: a collection of evaluations, not one of them (a Verdict, a
    dict) nor one message (whose bytes would be read as numbers)."""
    if isinstance(items, (bytes, bytearray, memoryview, str)) or items is None:
        _not_an_evaluation(items, "records")
    try:
        return _coerce.sequence(items, "records", of="evaluations")
    except TypeError:  # one evaluation: say so, in the words of this call
        raise TypeError(f"records is one {type(items).__name__}, not a list of them: put it in a "
                        f"list, [it]; {_TAKES}") from None


def _normalise(items: Iterable[Any]) -> tuple[list[EvaluationRecord], int]:
    """Records from evaluations, and how many verdict events had no DMARC evaluation.

    Event-log entries other than verdicts (connect, rcpt, deliver, ...) are not
    messages and are passed over; so are verdicts of a receiver that ran without
    authentication (counted: they cannot be reported).
    """
    items = _collection(items)
    records: list[EvaluationRecord] = []
    unevaluated = 0
    for i, item in enumerate(items):
        _not_an_evaluation(item, f"item {i} of the records")
        if isinstance(item, EvaluationRecord):
            records.append(item)
        elif not _is_event(item):
            records.append(to_record(item))
        elif _authenticated(item):
            records.append(to_record(item))
        elif item.get("event") == "verdict":
            unevaluated += 1
    return records, unevaluated


def group(records: Iterable[Any]) -> list[tuple[EvaluationRecord, int]]:
    """Group evaluations into report rows: (representative record, count), first-seen order.

    Event-log entries are read as in :func:`build` (only DMARC-evaluated verdicts count).
    """
    groups: OrderedDict[tuple, list] = OrderedDict()
    for rec in _normalise(records)[0]:
        slot = groups.setdefault(rec.group_key(), [rec, 0])
        slot[1] += 1
    return [(rec, n) for rec, n in groups.values()]


def _sub(parent: ET.Element, tag: str, text: Any = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attrib)
    if text is not None:
        el.text = str(text)
    return el


def _policy_value(policy: Any, name: str) -> Any:
    value = _get(policy, name) if policy is not None else None
    return None if value in ("", ()) else value


def _published(policy: Any) -> Any:
    """``policy`` as build() reads it; the record's text is parsed, other text refused."""
    if isinstance(policy, (bytes, bytearray)):
        policy = bytes(policy).decode("utf-8", "replace")
    if not isinstance(policy, str):
        return policy
    from .dmarc import is_dmarc_record, parse_record

    if is_dmarc_record(policy):
        return parse_record(policy)
    raise UsageError(f"policy is the published DMARC record: its text such as 'v=DMARC1; p=reject', "
                     f"a dmarc.parse_record() result or a dict such as {{'p': 'reject'}}, not {policy!r}")


def build(
    records: Iterable[Any],
    *,
    policy_domain: str,
    policy: Any = None,
    org_name: str = "mx.corp.example",
    email: str = "dmarc@corp.example",
    report_id: str | None = None,
    begin: int | float | datetime | None = None,
    end: int | float | datetime | None = None,
    discovery_method: str | None = None,
    extra_contact_info: str | None = None,
    errors: Iterable[str] = (),
    generator: str = "labkit (Anti-Spam Labs)",
) -> AggregateReport:
    """Build an RFC 9990 aggregate report for ``policy_domain`` from evaluations.

    ``records``: dicts, objects or Verdicts (see :func:`to_record`), or the lab's
    event log as it stands: ``lab.verdicts()``, ``lab.events.entries()`` or
    ``labkit.mta.events.read(path)`` of its JSON-lines files (only the receiver's
    ``verdict`` events count; the other entries are not messages). Messages whose
    DMARC policy came from another domain are left out and counted in
    ``other_domains``; verdicts made without DMARC (authentication off) are left
    out and named in ``problems``. The rest are grouped by source IP,
    identifiers, disposition and SPF/DKIM results. ``policy``: the
    published DMARC record (a :class:`labkit.auth.dmarc.DMARCRecord`, its text, or a
    dict with p, sp, np, adkim, aspf, testing/t, fo); without it the report shows what
    the evaluations saw (a Verdict's record; from the event log, p= as applied to mail
    From the policy domain itself, and t=), the last one seen winning (RFC 9990: the
    final configuration observed). ``discovery_method`` (treewalk or psl) defaults to
    the one the evaluations used, else treewalk. ``begin``/``end`` default to the
    records' time span in whole seconds, covering every record (or the last 24 hours). Bad records are repaired and noted in
    ``problems``, never refused; what is no evaluation at all (raw message bytes, text,
    None) is a ``TypeError``, and a misspelt ``discovery_method`` a ``UsageError``.

    Introduced in lab 05 (DMARC: aggregate reports).
    """
    domain = _domain_of(_coerce.text(policy_domain, "policy_domain", example="brand.example"))
    if not domain:
        raise UsageError("policy_domain is empty: name the domain whose DMARC record the report "
                         "covers, such as 'brand.example'")
    if discovery_method is not None:
        discovery_method = _coerce.choice(discovery_method, ("treewalk", "psl"), "discovery_method")
    policy = _published(policy)
    every, unevaluated = _normalise(records)
    normalised = [r for r in every if r.policy_domain in ("", domain)]
    seen: dict[str, str] = {}
    for rec in normalised:  # the last configuration observed wins
        seen.update(rec.published)
    if policy is None and seen:
        policy = {k: v for k, v in seen.items() if k != "discovery_method"}
    discovery_method = discovery_method or seen.get("discovery_method", "treewalk")
    rows = group(normalised)
    problems = [f"record {i}: {p}" for i, r in enumerate(normalised) for p in r.problems]
    if unevaluated:
        problems.append(f"{unevaluated} verdict event(s) without a DMARC evaluation "
                        "(the receiver ran with authentication off) left out")
    stamps = [r.timestamp for r in normalised if r.timestamp is not None]
    now = time.time()

    def _epoch(value, fallback, rounding):
        if isinstance(value, datetime):
            value = value.timestamp()
        return int(rounding(value if value is not None else fallback))

    # whole seconds that still cover every record: begin rounded down, end up
    start = _epoch(begin, min(stamps) if stamps else now - 86400, math.floor)
    stop = _epoch(end, max(stamps) if stamps else now, math.ceil)
    if stop < start:
        problems.append(f"end {stop} before begin {start}: swapped")
        start, stop = stop, start
    rid = report_id or f"{domain}!{start}!{stop}!{uuid.uuid4().hex[:8]}"

    ET.register_namespace("", NAMESPACE)
    root = ET.Element(f"{{{NAMESPACE}}}feedback")
    _sub(root, "version", "1.0")
    meta = _sub(root, "report_metadata")
    _sub(meta, "org_name", org_name)
    _sub(meta, "email", email)
    if extra_contact_info:
        _sub(meta, "extra_contact_info", extra_contact_info)
    _sub(meta, "report_id", rid)
    dates = _sub(meta, "date_range")
    _sub(dates, "begin", start)
    _sub(dates, "end", stop)
    for err in errors:
        _sub(meta, "error", err)
    _sub(meta, "generator", generator)

    pub = _sub(root, "policy_published")
    _sub(pub, "domain", domain)
    _sub(pub, "discovery_method", discovery_method)
    for tag in ("adkim", "aspf"):
        value = _policy_value(policy, tag)
        if value in ("r", "s"):
            _sub(pub, tag, value)
    p_value = _policy_value(policy, "p") or "none"
    p_value = p_value if p_value in ("none", "quarantine", "reject") else "none"
    _sub(pub, "p", p_value)
    # sp is required in the report; a record without sp= has sp equal to p
    sp_value = _policy_value(policy, "sp")
    _sub(pub, "sp", sp_value if sp_value in ("none", "quarantine", "reject") else p_value)
    np_value = _policy_value(policy, "np")
    if np_value in ("none", "quarantine", "reject"):
        _sub(pub, "np", np_value)
    testing = _policy_value(policy, "testing")
    if testing is None:
        testing = _policy_value(policy, "t")
    if testing is not None:
        _sub(pub, "testing", "y" if str(testing).lower() in ("y", "true", "1") else "n")
    fo = _policy_value(policy, "fo")
    if fo:
        _sub(pub, "fo", ":".join(fo) if isinstance(fo, (list, tuple)) else fo)

    for rec, count in rows:
        node = _sub(root, "record")
        row = _sub(node, "row")
        _sub(row, "source_ip", rec.source_ip)
        _sub(row, "count", count)
        evaluated = _sub(row, "policy_evaluated")
        _sub(evaluated, "disposition", rec.disposition)
        _sub(evaluated, "dkim", rec.dkim_aligned)
        _sub(evaluated, "spf", rec.spf_aligned)
        for kind, comment in rec.reasons:
            reason = _sub(evaluated, "reason")
            _sub(reason, "type", kind)
            if comment:
                _sub(reason, "comment", comment)
        ids = _sub(node, "identifiers")
        if rec.envelope_to:
            _sub(ids, "envelope_to", rec.envelope_to)
        if rec.envelope_from or rec.null_sender:
            # RFC 9990: present but empty for a null reverse-path
            _sub(ids, "envelope_from", rec.envelope_from)
        _sub(ids, "header_from", rec.header_from)
        auth = _sub(node, "auth_results")
        for d, s, r in rec.dkim:
            entry = _sub(auth, "dkim")
            _sub(entry, "domain", d)
            _sub(entry, "selector", s)  # required by RFC 9990; empty when it was not logged
            _sub(entry, "result", r)
        spf = _sub(auth, "spf")
        _sub(spf, "domain", rec.spf_domain)
        _sub(spf, "scope", "mfrom")
        _sub(spf, "result", rec.spf_result)
    ET.indent(root)
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    if not rows:
        problems.append("no records: a report needs at least one <record>, so this one will not validate")
    return AggregateReport(xml=xml, report_id=rid, policy_domain=domain, begin=start, end=stop,
                           rows=tuple(rows), problems=tuple(problems),
                           other_domains=len(every) - len(normalised))


# --------------------------------------------------------------------------- validate
def schema_path() -> Path:
    """``data/schemas/dmarc-aggregate-rfc9990.xsd``."""
    return Path(data_dir()) / "schemas" / SCHEMA_FILE


@functools.lru_cache(maxsize=4)
def _load_schema(path: str):
    import xmlschema

    return xmlschema.XMLSchema(path)


def _schema():
    return _load_schema(str(schema_path()))


def _report_input(report: Any, call: str) -> Any:
    """A report as _unpack reads it (XML bytes or text, a path, an AggregateReport's XML);
    anything else is a TypeError in words (a bad report is not: that is a finding)."""
    if isinstance(report, AggregateReport):
        return report.xml
    if isinstance(report, (bytes, bytearray, memoryview, str, Path)):
        return report
    hint = " (did the cell that makes it run?)" if report is None else ""
    if isinstance(report, (list, tuple)) and call == "validate":
        hint = " (one report at a time)"
    raise TypeError(f"{call}() takes a report: its XML as bytes or text, a path to it (XML, .gz or "
                    f".zip), or what build() returns, not {type(report).__name__}{hint}")


def _unpack(data: bytes | str | Path) -> tuple[bytes, str | None]:
    if isinstance(data, Path) or (isinstance(data, str) and not data.lstrip().startswith("<")):
        try:
            data = Path(data).read_bytes()
        except OSError as exc:
            return b"", f"cannot read {data}: {exc.strerror}"
    if isinstance(data, str):
        data = data.encode("utf-8")
    data = bytes(data)
    try:
        if data[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                data = fh.read(50_000_000)
        elif data[:2] == b"PK":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith(".xml")] or zf.namelist()
                data = zf.read(names[0]) if names else b""
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        return b"", f"damaged archive: {exc}"
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:
        return b"", "DTDs and entities are not allowed in a report"
    return data, None


def validate(report: bytes | str | Path | AggregateReport) -> ValidationResult:
    """Validate a report (XML text, bytes, a path, gzip/zip, or an AggregateReport)
    against the RFC 9990 schema. Never raises for a bad report.

    Introduced in lab 05 (DMARC: aggregate reports).
    """
    data, problem = _unpack(_report_input(report, "validate"))
    if problem:
        return ValidationResult(valid=False, errors=(problem,))
    try:
        errors = [f"{e.path or '/'}: {e.reason}" for e in _schema().iter_errors(data.decode("utf-8", "replace"))]
    except Exception as exc:  # not XML at all
        return ValidationResult(valid=False, errors=(f"not a well-formed XML document: {exc}",))
    return ValidationResult(valid=not errors, errors=tuple(errors[:50]))


# --------------------------------------------------------------------------- parse
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    return next((c for c in el if _local(c.tag) == name), None)


def _children(el: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if el is None else [c for c in el if _local(c.tag) == name]


def _txt(el: ET.Element | None, name: str, default: str = "") -> str:
    node = _child(el, name)
    return (node.text or "").strip() if node is not None and node.text else default


def _rows(data: bytes, problems: list[str]) -> list[dict]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        problems.append(f"not well-formed XML: {exc}")
        return []
    if _local(root.tag) != "feedback":
        problems.append(f"root element is <{_local(root.tag)}>, not <feedback>")
        return []
    meta, pub = _child(root, "report_metadata"), _child(root, "policy_published")
    dates = _child(meta, "date_range")

    def stamp(name: str):
        text = _txt(dates, name)
        try:
            return datetime.fromtimestamp(int(text), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            problems.append(f"date_range/{name}={text!r} is not a Unix time")
            return None

    common = {"report_id": _txt(meta, "report_id"), "org_name": _txt(meta, "org_name"),
              "begin": stamp("begin"), "end": stamp("end"),
              "policy_domain": _txt(pub, "domain"), "policy_p": _txt(pub, "p")}
    out = []
    for n, record in enumerate(_children(root, "record")):
        row, ids, auth = _child(record, "row"), _child(record, "identifiers"), _child(record, "auth_results")
        evaluated = _child(row, "policy_evaluated")
        try:
            count = int(_txt(row, "count", "0"))
        except ValueError:
            problems.append(f"record {n}: count={_txt(row, 'count')!r} is not a number; counted as 0")
            count = 0
        dkims = _children(auth, "dkim")
        spf = _child(auth, "spf")
        dkim_ok, spf_ok = _txt(evaluated, "dkim"), _txt(evaluated, "spf")
        out.append({
            **common,
            "source_ip": _txt(row, "source_ip"),
            "count": count,
            "disposition": _txt(evaluated, "disposition"),
            "dkim_aligned": dkim_ok,
            "spf_aligned": spf_ok,
            "dmarc": "pass" if "pass" in (dkim_ok, spf_ok) else "fail",
            "header_from": _txt(ids, "header_from"),
            "envelope_from": _txt(ids, "envelope_from"),
            "envelope_to": _txt(ids, "envelope_to"),
            "spf_domain": _txt(spf, "domain"),
            "spf_result": _txt(spf, "result"),
            "dkim_domains": ";".join(_txt(d, "domain") for d in dkims),
            "dkim_selectors": ";".join(_txt(d, "selector") for d in dkims),
            "dkim_results": ";".join(_txt(d, "result") for d in dkims),
            "reasons": ";".join(_txt(r, "type") for r in _children(evaluated, "reason")),
        })
    if not out:
        problems.append("the report has no <record>")
    return out


def parse(*reports: bytes | str | Path | AggregateReport) -> Any:
    """Read aggregate reports (RFC 9990 or RFC 7489; XML, gzip or zip; bytes, text or
    paths) into one pandas DataFrame, one row per ``<record>``.

    Columns: see :data:`COLUMNS` (``dmarc`` is pass when DKIM or SPF passed aligned).
    Problems with the input go to ``df.attrs["problems"]``; this never raises
    for a bad report (something that is no report at all, such as ``None``, is a
    ``TypeError``). A list of reports is read as the reports it holds.

    Introduced in lab 05 (DMARC: aggregate reports).
    """
    import pandas as pd

    rows: list[dict] = []
    problems: list[str] = []
    if len(reports) == 1 and isinstance(reports[0], (list, tuple)):
        reports = tuple(reports[0])  # parse([a, b]) is parse(a, b)
    for i, report in enumerate(reports):
        data, problem = _unpack(_report_input(report, "parse"))
        if problem:
            problems.append(f"report {i}: {problem}")
            continue
        found: list[str] = []
        rows += _rows(data, found)
        problems += [f"report {i}: {p}" for p in found]
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["count"] = frame["count"].astype("int64")
    frame.attrs["problems"] = problems
    return frame


def _frame(frame: Any, call: str, needs: tuple[str, ...] = ("source_ip", "dmarc", "count")) -> Any:
    """The report table ``summary``/``plot`` read; an AggregateReport is read as its table.

    Anything else (a list of verdicts, None, a frame without the report's columns) is
    refused in words, naming what to pass.
    """
    if isinstance(frame, AggregateReport):
        return frame.to_dataframe()
    how = (f"{call}() takes the table of a report: report.to_dataframe() for a report that "
           "build() made, or reports.parse(xml) for a received one")
    if not hasattr(frame, "pivot_table") or not hasattr(frame, "columns"):
        hint = " (did the cell that makes it run?)" if frame is None else ""
        raise TypeError(f"{how}, not {type(frame).__name__}{hint}")
    missing = [c for c in needs if c not in frame.columns]
    if missing:
        raise UsageError(f"{how}; this table has no column {', '.join(map(repr, missing))}")
    return frame


def summary(frame: Any) -> Any:
    """Messages per source IP with pass/fail counts and dispositions (a DataFrame).

    ``frame`` is a report's table: ``report.to_dataframe()`` or :func:`parse`'s result
    (an :class:`AggregateReport` is read as its table).

    Introduced in lab 05 (DMARC: aggregate reports).
    """
    frame = _frame(frame, "summary")
    table = frame.pivot_table(index="source_ip", columns="dmarc", values="count", aggfunc="sum", fill_value=0)
    for col in ("pass", "fail"):
        if col not in table.columns:
            table[col] = 0
    table = table[["pass", "fail"]]
    table["total"] = table["pass"] + table["fail"]
    return table.sort_values("total", ascending=False)


def plot(frame: Any, *, by: str = "source", ax: Any = None) -> Any:
    """Plot DMARC pass/fail message counts: ``by="source"`` (stacked bars per source
    IP) or ``by="time"`` (per report day). Returns the matplotlib Axes.

    Introduced in lab 05 (DMARC: aggregate reports).
    """
    import matplotlib.pyplot as plt

    by = _coerce.choice(by, ("source", "time"), "by")
    frame = _frame(frame, "plot", ("source_ip", "dmarc", "count") + (("begin",) if by == "time" else ()))
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    colours = {"pass": "#2da44e", "fail": "#cf222e"}
    if by == "time":
        data = frame.assign(day=frame["begin"].dt.floor("D"))
        table = data.pivot_table(index="day", columns="dmarc", values="count", aggfunc="sum", fill_value=0)
        for col in ("pass", "fail"):
            if col in table.columns:
                ax.plot(table.index, table[col], marker="o", label=f"DMARC {col}", color=colours[col])
        ax.set_xlabel("report day (UTC)")
    else:
        table = summary(frame) if len(frame) else None
        if table is not None:
            ax.bar(table.index, table["pass"], label="DMARC pass", color=colours["pass"])
            ax.bar(table.index, table["fail"], bottom=table["pass"], label="DMARC fail", color=colours["fail"])
            ax.tick_params(axis="x", labelrotation=45)
        ax.set_xlabel("source IP")
    ax.set_ylabel("messages")
    ax.set_title("DMARC aggregate report: pass/fail by " + ("day" if by == "time" else "source"))
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    return ax


__all__ = [
    "EvaluationRecord",
    "AggregateReport",
    "ValidationResult",
    "NAMESPACE",
    "COLUMNS",
    "to_record",
    "published_tags",
    "group",
    "build",
    "validate",
    "parse",
    "summary",
    "plot",
    "schema_path",
]
