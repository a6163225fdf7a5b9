"""One call for a whole message: SPF + DKIM + DMARC (+ ARC) -> a :class:`Verdict`.

``evaluate(message, ip=..., mail_from=..., helo=..., dns=...)`` is what the lab's
receiver calls. It never raises on malformed messages or records; everything odd is
in the verdict's ``steps`` and ``problems``.

ARC as local policy (RFC 8617 7.2): when DMARC fails but the ARC chain validates and
an instance sealed by a domain in ``trusted_arc_sealers`` recorded ``dmarc=pass`` in
its ``ARC-Authentication-Results``, the receiver may accept the message anyway (the
typical case is a mailing list that changed the subject and broke DKIM).

Introduced in lab 05 (DMARC) as ``lk.auth.evaluate``; lab 06 reads its Authentication-Results.
"""

from __future__ import annotations

import functools
import html
import importlib
import ipaddress
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from .. import _coerce
from . import dmarc as _dmarc
from . import fromheader, results
from . import spf as _spf

log = logging.getLogger(__name__)

_DISPOSITION = {"none": "accept", "quarantine": "quarantine", "reject": "reject"}
_INSTANCE = re.compile(r"(?:^|;)\s*i\s*=\s*(\d+)\s*(?:;|$)")
_TAG_D = re.compile(r"(?:^|;)\s*d\s*=\s*([^;\s]+)")


@dataclass(frozen=True, kw_only=True)
class ARCNone:
    """Stand-in ARC result when a message has no ARC set (or ARC is unavailable)."""

    result: str = "none"
    instances: int = 0
    reason: str = "no ARC headers"
    steps: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"result": self.result, "instances": self.instances, "reason": self.reason,
                "steps": list(self.steps)}


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """Everything the receiver decided about one message, and why.

    ``disposition`` is accept, quarantine or reject; ``header`` the
    ``Authentication-Results:`` field to prepend.
    """

    spf: Any
    dkim: tuple
    dmarc: Any
    arc: Any
    disposition: str
    header: str
    spf_helo: Any = None
    from_header: Any = None
    arc_override: bool = False
    problems: tuple[str, ...] = ()
    steps: tuple[str, ...] = field(default=())

    @property
    def received_spf(self) -> str:
        """The ``Received-SPF:`` field for the MAIL FROM check (RFC 7208 9.1)."""
        return self.spf.header

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {
            "disposition": self.disposition, "header": self.header,
            "received_spf": self.spf.header,
            "spf": self.spf.to_dict(), "spf_helo": self.spf_helo.to_dict() if self.spf_helo else None,
            "dkim": [d.to_dict() for d in self.dkim], "dmarc": self.dmarc.to_dict(),
            "arc": self.arc.to_dict() if hasattr(self.arc, "to_dict") else None,
            "from": self.from_header.to_dict() if self.from_header else None,
            "arc_override": self.arc_override, "problems": list(self.problems),
            "steps": list(self.steps),
        }

    def explain(self, detail: bool = False) -> str:
        """The summary steps; with ``detail=True`` also each check's own trace."""
        detail = _coerce.flag(detail, "detail")
        lines = [f"Verdict: {self.disposition}", self.header, *(f"  {s}" for s in self.steps)]
        if detail:
            lines += ["", "SPF (MAIL FROM):", *(f"  {x}" for x in self.spf.explain().splitlines())]
            if self.spf_helo is not None:
                lines += ["SPF (HELO):", *(f"  {x}" for x in self.spf_helo.explain().splitlines())]
            for sig in self.dkim:
                lines += [f"DKIM d={sig.domain}:", *(f"  {x}" for x in getattr(sig, "steps", ()))]
            lines += ["ARC:", *(f"  {x}" for x in getattr(self.arc, "steps", ()) or (self.arc.result,))]
            lines += ["DMARC:", *(f"  {x}" for x in self.dmarc.explain().splitlines())]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()

    def _repr_html_(self) -> str:
        colour = {"accept": "#2a7", "quarantine": "#c80", "reject": "#c33"}.get(self.disposition, "#555")
        items = "".join(f"<li>{html.escape(s)}</li>" for s in self.steps)
        return (f"<div><b style='color:{colour}'>{html.escape(self.disposition)}</b> "
                f"<pre>{html.escape(self.header)}</pre><ul>{items}</ul></div>")


def _optional(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        log.info("%s unavailable: %s", module, exc)
        return None


def _arc_sets(msg: fromheader.Message) -> dict[int, dict]:
    """Per instance: the sealer domain (ARC-Seal d=) and the AAR text."""
    sets: dict[int, dict] = {}
    for name, value in msg.fields:
        low = name.lower()
        if low not in ("arc-seal", "arc-authentication-results"):
            continue
        m = _INSTANCE.search(value.split(";", 1)[0] + ";") or _INSTANCE.search(value)
        if not m:
            continue
        entry = sets.setdefault(int(m.group(1)), {})
        if low == "arc-seal":
            d = _TAG_D.search(value)
            entry["d"] = d.group(1).lower().rstrip(".") if d else None
        else:
            entry["aar"] = value.split(";", 1)[1] if ";" in value else ""
    return sets


def _trusted_override(msg: fromheader.Message, arc: Any, trusted: tuple[str, ...],
                      steps: list[str]) -> bool:
    if getattr(arc, "result", "none") != "pass" or not trusted:
        return False
    wanted = {t.lower().rstrip(".") for t in trusted}
    for i, entry in sorted(_arc_sets(msg).items(), reverse=True):
        if entry.get("d") not in wanted:
            continue
        found = results.results_by_method(entry.get("aar", ""))
        if "pass" in found.get("dmarc", []):
            steps.append(f"ARC i={i} sealed by trusted {entry['d']} recorded dmarc=pass: "
                         "local policy accepts despite the DMARC failure")
            return True
        steps.append(f"ARC i={i} sealed by trusted {entry['d']} recorded dmarc="
                     f"{','.join(found.get('dmarc', [])) or '(nothing)'}: no override")
    return False


def _reusable(spf: Any, ip: str, mail_from: str, helo: str, receiver: str) -> bool:
    """Was ``spf`` computed for exactly this MAIL FROM check (same ip, sender, HELO, receiver)?"""
    if not isinstance(spf, _spf.SPFResult):
        return False
    identity, sender, _ = _spf._identity(mail_from or "", helo or "")
    expected = (identity, sender if identity != "helo" else "", helo or "", receiver)
    if (spf.identity, spf.mail_from, spf.helo, spf.receiver) != expected:
        return False
    return _same_ip(ip or "", spf.ip)


@functools.lru_cache(maxsize=1024)
def _same_ip(ip: str, other: str) -> bool:
    """Do two address texts name the same IP address? (A receiver asks this per message.)"""
    try:
        return ipaddress.ip_address(ip.strip()) == ipaddress.ip_address(other)
    except ValueError:
        return False


def _sealers(value: Any) -> tuple[str, ...]:
    """``trusted_arc_sealers`` as a tuple of names (:func:`labkit._coerce.names`): one
    name alone is one name, None none; a dict or a number is refused."""
    return _coerce.names(value, "trusted_arc_sealers", example="lists.example.org")


def evaluate(message: bytes, *, ip: str, mail_from: str, helo: str, dns: Any,
             authserv_id: str = "mx.corp.example", trusted_arc_sealers: tuple[str, ...] = (),
             dmarc_method: str = "treewalk", spf: Any = None) -> Verdict:
    """Authenticate a received message: SPF (MAIL FROM and HELO), every DKIM signature,
    ARC when present, DMARC on the From domain; the disposition and the
    ``Authentication-Results`` field.

    ``dns`` is a LabDNS or a dnspython Resolver. ``trusted_arc_sealers`` lists
    intermediaries whose ARC-recorded DMARC pass may override a DMARC failure.
    ``dmarc_method`` is ``"treewalk"`` (RFC 9989) or ``"psl"`` (RFC 7489).
    ``spf``: an :class:`~labkit.auth.spf.SPFResult` already computed for this
    ``ip``/``mail_from``/``helo`` (and ``receiver=authserv_id``), as a receiver has it
    from the MAIL FROM stage; it is used instead of checking again.  A result for
    other parameters is ignored and SPF is checked afresh.

    Introduced in lab 05 (DMARC).
    """
    steps: list[str] = []
    # str, bytes, an EmailMessage (rendered, not read as an empty message); anything else
    # is a TypeError that says what to pass
    message = _coerce.message_bytes(message)
    # checked here: the DMARC step below turns anything it raises into a temperror
    dmarc_method = _dmarc._method(dmarc_method, "dmarc_method")
    trusted_arc_sealers = _sealers(trusted_arc_sealers)
    _coerce.text(authserv_id, "authserv_id", example="mx.corp.example")
    if spf is not None:
        results._result_object(spf, "spf", example="lk.auth.spf.check(ip, mail_from, helo, dns=...)")
    msg = fromheader.split_message(message)
    problems = list(msg.problems)
    steps += [f"message: {p}" for p in msg.problems]

    if spf is None or not _reusable(spf, ip, mail_from, helo, authserv_id):
        if spf is not None:
            log.debug("SPF result passed to evaluate() is for other parameters: checking again")
        spf = _spf.check(ip, mail_from or "", helo or "", dns=dns, receiver=authserv_id)
    steps.append(f"SPF {spf.identity} {spf.domain}: {spf.result}" + (f" ({spf.reason})" if spf.reason else ""))
    spf_helo = _spf.check_helo(ip, helo or "", dns=dns, receiver=authserv_id) if helo else None
    if spf_helo is not None:
        steps.append(f"SPF helo {spf_helo.domain}: {spf_helo.result}")

    dkim_results: tuple = ()
    dkim_mod = _optional("labkit.auth.dkim")
    if dkim_mod is None:
        steps.append("DKIM: verifier unavailable")
    else:
        try:
            dkim_results = tuple(dkim_mod.verify(bytes(message), dns=dns))
        except Exception as exc:  # a bug there must not take the receiver down
            log.exception("DKIM verification raised")
            steps.append(f"DKIM: verification failed internally ({exc})")
    if not dkim_results:
        steps.append("DKIM: no signature")
    for r in dkim_results:
        steps.append(f"DKIM d={r.domain} s={r.selector}: {r.result}" + (f" ({r.reason})" if r.reason else ""))

    arc: Any = ARCNone()
    if msg.get_all("ARC-Seal"):
        arc_mod = _optional("labkit.auth.arc")
        if arc_mod is None:
            arc = ARCNone(reason="ARC headers present, ARC verifier unavailable")
        else:
            try:
                arc = arc_mod.verify(bytes(message), dns=dns)
            except Exception as exc:
                log.exception("ARC verification raised")
                arc = ARCNone(result="fail", reason=f"ARC verification failed internally ({exc})")
        steps.append(f"ARC: {arc.result}" + (f" ({arc.reason})" if getattr(arc, "reason", "") else ""))

    from_header = fromheader.parse_from(msg)
    if from_header.ok:
        steps.append(f"From: {from_header.address}")
        steps += [f"From note: {n}" for n in from_header.notes]
    else:
        steps.append(f"From unusable ({from_header.kind}): {from_header.problem}")
        problems.append(from_header.problem)
    try:
        dm = _dmarc.check(from_header.domain, spf=spf, dkim=dkim_results, dns=dns, method=dmarc_method,
                          from_problem=from_header.problem or None,
                          from_disposition=from_header.disposition)
    except Exception as exc:
        log.exception("DMARC evaluation raised")
        dm = _dmarc.DMARCResult(result="temperror", policy=None, disposition="none",
                                header_from=from_header.domain, reason=f"internal error: {exc}")
    steps.append(f"DMARC {dm.header_from or '-'}: {dm.result}, policy {dm.policy or '-'}, "
                 f"disposition {dm.disposition} ({dm.reason})")

    disposition = _DISPOSITION.get(dm.disposition, "accept")
    override = False
    if dm.result == "fail" and disposition != "accept":
        override = _trusted_override(msg, arc, trusted_arc_sealers, steps)
        if override:
            disposition = "accept"
    steps.append(f"disposition: {disposition}")
    header = results.authentication_results(authserv_id, spf=spf, spf_helo=spf_helo, dkim=dkim_results,
                                            dmarc=dm, arc=arc, remote_ip=ip)
    return Verdict(spf=spf, spf_helo=spf_helo, dkim=dkim_results, dmarc=dm, arc=arc,
                   from_header=from_header, disposition=disposition, header=header,
                   arc_override=override, problems=tuple(problems), steps=tuple(steps))


__all__ = ["Verdict", "ARCNone", "evaluate"]
