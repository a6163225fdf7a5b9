"""ARC, Authenticated Received Chain (RFC 8617): seal at an intermediary, verify the chain.

A forwarder or mailing list that changes a message breaks the author's DKIM
signature and SPF. ARC lets it record what it saw *before* changing anything and
vouch for that record with its own signature. Each intermediary adds one *ARC set*
with instance number ``i=1, 2, ...``:

- ``ARC-Authentication-Results`` (AAR): the sealer's own SPF/DKIM/DMARC results;
- ``ARC-Message-Signature`` (AMS): a DKIM-like signature over the message as it
  left the sealer;
- ``ARC-Seal`` (AS): a signature over all ARC sets so far, with ``cv=`` saying
  what the sealer found of the chain before it (``none`` for the first set).

A receiver checks that the newest AMS and every AS verify and that the ``cv=``
values are consistent; then it *may* trust the AAR of a sealer it knows
(:meth:`ARCResult.trusted_results`) to override a DMARC failure.

Signing and the cryptography are dkimpy's; this module adds the per-instance
explanation. Introduced in lab 06 (the receiver's verdict: forwarding and ARC).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import authres
import dkim
import dkim.util
from dkim.canonicalization import CanonicalizationPolicy

from .. import _coerce, _headerfields
from ..errors import UsageError
from . import dkim as _dkim
from . import results as _results
from .dkim_keys import KeyLookup, dkimpy_dnsfunc, key_name, parse_key_record, signing_key

log = logging.getLogger(__name__)

MAX_INSTANCES = 50  # RFC 8617 4.2.1: i= runs from 1 to 50


@dataclass(frozen=True, kw_only=True)
class Recorded:
    """One result a sealer recorded in its AAR, e.g. ``dmarc=pass header.from=brand.example``."""

    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()

    def get(self, key: str, default: str = "") -> str:
        """A property such as ``header.d`` or ``smtp.mailfrom``."""
        return next((v for k, v in self.properties if k == key), default)

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"method": self.method, "result": self.result, "properties": dict(self.properties)}

    def __str__(self) -> str:
        props = " ".join(f"{k}={v}" for k, v in self.properties)
        return f"{self.method}={self.result}" + (f" {props}" if props else "")


@dataclass(frozen=True, kw_only=True)
class ARCInstance:
    """One ARC set (``i=N``) and what the verifier found of it.

    ``sealer`` is the ARC-Seal's ``d=``; ``cv`` what that sealer declared of the
    chain before it; ``seal_valid`` / ``ams_valid`` the signature checks;
    ``authserv_id`` and ``results`` what the sealer recorded in its AAR
    (``authentication_results`` is that text as it stands).
    """

    instance: int
    sealer: str = ""
    selector: str = ""
    ams_domain: str = ""
    ams_selector: str = ""
    cv: str = ""
    seal_valid: bool = False
    ams_valid: bool = False
    authserv_id: str = ""
    authentication_results: str = ""
    results: tuple[Recorded, ...] = ()
    problems: tuple[str, ...] = ()

    def result_for(self, method: str) -> Recorded | None:
        """The first recorded result of ``method`` (``spf``, ``dkim``, ``dmarc``, ``arc``)."""
        return next((r for r in self.results if r.method == method), None)

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {
            "instance": self.instance,
            "sealer": self.sealer,
            "selector": self.selector,
            "ams_domain": self.ams_domain,
            "ams_selector": self.ams_selector,
            "cv": self.cv,
            "seal_valid": self.seal_valid,
            "ams_valid": self.ams_valid,
            "authserv_id": self.authserv_id,
            "authentication_results": self.authentication_results,
            "results": [r.to_dict() for r in self.results],
            "problems": list(self.problems),
        }

    def __str__(self) -> str:
        seal = "valid" if self.seal_valid else "INVALID"
        ams = "valid" if self.ams_valid else "invalid"
        recorded = "; ".join(str(r) for r in self.results) or "(nothing recorded)"
        return (f"i={self.instance} sealed by {self.sealer} (s={self.selector}), cv={self.cv}: "
                f"seal {seal}, message signature {ams}; recorded by {self.authserv_id}: {recorded}")


@dataclass(frozen=True, kw_only=True)
class ARCResult:
    """The ARC verdict on a message (RFC 8617): ``result`` is none, pass or fail.

    ``instances`` are oldest first (``i=1`` first); ``failed_instance`` names the
    set where the chain broke; ``oldest_pass`` is the RFC 8617 5.2 step 5 value that
    the receiver's Authentication-Results reports as ``oldest-pass``: 0 when every
    ARC-Message-Signature still verifies, otherwise M+1 for the newest AMS (``i=M``)
    that no longer does (the message changed after that sealer); None unless the chain
    passes. ``steps`` is the trace a learner can follow, with the validator's steps
    of RFC 8617 5.2 in the RFC's order.
    """

    result: str
    reason: str
    instances: tuple[ARCInstance, ...] = ()
    failed_instance: int | None = None
    oldest_pass: int | None = None
    steps: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def latest(self) -> ARCInstance | None:
        """The newest ARC set (highest ``i=``), or None without a chain."""
        return self.instances[-1] if self.instances else None

    @property
    def sealers(self) -> tuple[str, ...]:
        """The sealing domains, oldest first."""
        return tuple(i.sealer for i in self.instances)

    def trusted_results(self, trusted_sealers: Iterable[str]) -> ARCInstance | None:
        """The newest instance sealed by a trusted domain, if the chain passes.

        This is the local-policy hook (RFC 8617 7.2): a receiver that trusts,
        say, ``lists.example.org`` may read what that list recorded
        (``instance.result_for("dmarc")``) and accept mail whose DMARC failed only
        because the list changed it. An untrusted or broken chain gives ``None``.
        """
        trusted = {d.strip().rstrip(".").lower() for d in trusted_sealers}
        if self.result != "pass":
            return None
        for inst in reversed(self.instances):
            if inst.sealer in trusted:
                return inst
        return None

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {
            "result": self.result,
            "reason": self.reason,
            "instances": [i.to_dict() for i in self.instances],
            "failed_instance": self.failed_instance,
            "oldest_pass": self.oldest_pass,
            "sealers": list(self.sealers),
            "steps": list(self.steps),
            "warnings": list(self.warnings),
        }

    def __str__(self) -> str:
        return f"arc={self.result}: {self.reason}"

    def explain(self) -> str:
        """The chain, one instance per line, and the trace."""
        lines = [str(self)] + [f"  {inst}" for inst in self.instances]
        lines += ["steps:"] + [f"  {n}. {s}" for n, s in enumerate(self.steps, 1)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = {"pass": "#1a7f37", "fail": "#cf222e"}.get(self.result, "#57606a")
        rows = "".join(
            f"<tr><td>{i.instance}</td><td>{html.escape(i.sealer)}</td><td>{html.escape(i.cv)}</td>"
            f"<td>{'&#10003;' if i.seal_valid else '&#10007;'}</td><td>{'&#10003;' if i.ams_valid else '&#10007;'}</td>"
            f"<td>{html.escape('; '.join(str(r) for r in i.results))}</td></tr>"
            for i in self.instances
        )
        table = ("<table><tr><th>i</th><th>sealer</th><th>cv</th><th>seal</th><th>AMS</th>"
                 f"<th>recorded results</th></tr>{rows}</table>") if rows else ""
        return (f"<div><b style='color:{colour}'>arc={html.escape(self.result)}</b> "
                f"&mdash; {html.escape(self.reason)}{table}</div>")


# ---------------------------------------------------------------------- helpers
_INSTANCE = re.compile(r"^\s*i\s*=\s*(\d+)\s*;?", re.IGNORECASE)
_ARC_FIELDS = (b"arc-seal", b"arc-message-signature", b"arc-authentication-results")


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def parse_recorded(aar_value: str) -> tuple[str, tuple[Recorded, ...]]:
    """(authserv-id, results) from an ARC-Authentication-Results value (``i=N; ...``).

    Of a value longer than :data:`labkit.auth.results.MAX_RESULTS_LENGTH`, the results
    within that length are read (the parser's time grows with the square of their number).
    """
    aar_value = _coerce.text(aar_value, "aar_value", example="i=1; lists.example.org; dmarc=pass")
    body = _results.cap_results(_INSTANCE.sub("", re.sub(r"\r?\n", "", aar_value), count=1).strip())
    try:
        header = authres.AuthenticationResultsHeader.parse("Authentication-Results: " + body)
    except Exception as exc:  # authres raises its own SyntaxError and others
        log.debug("unparsable AAR %r: %s", body, exc)
        return body.split(";", 1)[0].strip(), ()
    results = tuple(
        Recorded(
            method=str(r.method).lower(),
            result=str(r.result).lower(),
            properties=tuple((f"{p.type}.{p.name}".lower(), str(p.value)) for p in r.properties),
        )
        for r in header.results
    )
    return str(header.authserv_id), results


def _key_problem(lookups: dict[str, KeyLookup], domain: str, selector: str) -> str | None:
    name = key_name(selector, domain)
    found = lookups.get(name)
    if found is None:
        return None
    if found.temporary:
        return f"DNS temperror fetching {name}: {found.detail}"
    if found.status != "found":
        return f"no key at {name} ({found.status})"
    record = parse_key_record(found.text)
    if record.problem:
        return f"key at {name}: {record.detail}"
    return None


def _ams_body_problem(verifier: dkim.ARC, instance: int) -> str | None:
    for name, value in verifier.headers:
        if name.lower() != b"arc-message-signature":
            continue
        try:
            tags = dkim.util.parse_tag_value(re.sub(rb"\r?\n", b"", value))
        except Exception:
            continue
        if tags.get(b"i", b"").strip() != str(instance).encode():
            continue
        try:
            canon = CanonicalizationPolicy.from_c_value(tags.get(b"c", b"relaxed/relaxed"))
            computed = _dkim.canonical_body_hash(verifier.body, canon, _text(tags.get(b"a", b"rsa-sha256")))[1]
        except Exception:
            return None
        declared = _text(re.sub(rb"\s+", b"", tags.get(b"bh", b"")))
        if computed != declared:
            return f"body changed after i={instance} signed it (bh= {declared}, computed {computed})"
    return None


# ---------------------------------------------------------------------- verify
def verify(message: bytes | str, *, dns: Any) -> ARCResult:
    """Verify the ARC chain of ``message`` and explain each instance.

    ``dns`` is a LabDNS or a dnspython Resolver. Never raises on bad input: a
    malformed chain is ``fail`` with the reason, an absent one ``none``.

    Introduced in lab 06 (the receiver's verdict: forwarding and ARC).
    """
    import labkit.dns

    resolver = labkit.dns.as_resolver(dns)
    raw = _dkim._as_bytes(message)
    steps: list[str] = []
    try:
        verifier = dkim.ARC(raw, minkey=1024)
    except Exception as exc:
        return ARCResult(result="fail" if b"arc-seal" in raw.lower() else "none",
                         reason=f"the message cannot be parsed: {exc}", steps=(f"parse: {exc}",))
    # RFC 8617 5.2 step 1: more than 50 sets fail before any other work (a set needs all
    # three fields, so the most numerous kind of ARC field counts the sets)
    sets = max(sum(1 for name, _ in verifier.headers if name.lower() == field) for field in _ARC_FIELDS)
    if sets > MAX_INSTANCES:
        return ARCResult(result="fail",
                         reason=f"{sets} ARC sets: more than the {MAX_INSTANCES} RFC 8617 allows (5.2 step 1)",
                         steps=(f"RFC 8617 5.2 step 1: {sets} ARC sets, more than the {MAX_INSTANCES} allowed:"
                                " the chain fails here, nothing else is checked",))
    lookups_log: list[KeyLookup] = []
    dnsfunc = dkimpy_dnsfunc(resolver, lookups_log)
    structure_error = ""
    try:
        cv, data, reason = verifier.verify(dnsfunc=dnsfunc)
    except Exception as exc:  # dkimpy raises for malformed sets before any result
        cv, data, reason = dkim.CV_Fail, [], str(exc)
        structure_error = str(exc)
    lookups = {lk.name: lk for lk in lookups_log}
    for name in dict.fromkeys(lk.name for lk in lookups_log):
        asked = [lk for lk in lookups_log if lk.name == name]
        steps.append(f"DNS: TXT {name} -> {asked[-1].status}" + (f" (asked {len(asked)} times)" if len(asked) > 1 else ""))
    if cv == dkim.CV_None and not data:
        steps.append("no ARC header fields: nothing to verify")
        return ARCResult(result="none", reason="the message has no ARC sets", steps=tuple(steps))

    instances = []
    for item in sorted(data, key=lambda d: d["instance"]):
        n = int(item["instance"])
        authserv_id, recorded = parse_recorded(_text(item.get("aar-value")))
        problems = []
        sealer, selector = _text(item.get("as-domain")).lower(), _text(item.get("as-selector"))
        ams_domain, ams_selector = _text(item.get("ams-domain")).lower(), _text(item.get("ams-selector"))
        seal_valid = bool(item.get("as-valid"))
        if _text(item.get("cv")).lower() == "fail":
            # such a seal signs its own set only, while dkimpy checks every seal over all the
            # sets: its "invalid" here is no sign that an ARC field was changed
            problems.append(_key_problem(lookups, sealer, selector) or
                            f"i={n} declared cv=fail: {sealer or 'its sealer'} found the chain already broken"
                            " when the message reached it, and sealed only its own set")
        elif not seal_valid:
            problems.append(_key_problem(lookups, sealer, selector) or
                            "the ARC-Seal does not verify: an ARC header field was changed or removed")
        if not item.get("ams-valid"):
            problems.append(_key_problem(lookups, ams_domain, ams_selector) or _ams_body_problem(verifier, n)
                            or "the ARC-Message-Signature does not verify: a signed header field changed")
        inst = ARCInstance(
            instance=n,
            sealer=sealer,
            selector=selector,
            ams_domain=ams_domain,
            ams_selector=ams_selector,
            cv=_text(item.get("cv")),
            seal_valid=seal_valid,
            ams_valid=bool(item.get("ams-valid")),
            authserv_id=authserv_id,
            authentication_results=_INSTANCE.sub("", re.sub(r"\r?\n", "", _text(item.get("aar-value"))), count=1).strip(),
            results=recorded,
            problems=tuple(problems),
        )
        instances.append(inst)
        steps.append(str(inst) + ("" if not problems else " -- " + "; ".join(problems)))

    result = "pass" if cv == dkim.CV_Pass else "fail"
    failed = None
    if result == "fail":
        m = re.search(r"\[(\d+)\]|instance (\d+)", _text(reason))
        if m:
            failed = int(m.group(1) or m.group(2))
        elif "Most recent" in _text(reason) and instances:
            failed = instances[-1].instance
        else:
            failed = next((i.instance for i in reversed(instances) if i.problems), None)
        steps.append(f"verifier: {_text(reason)}")
    reason_text = _explain_reason(result, _text(reason), instances, failed)
    oldest = _oldest_pass(instances) if instances and not structure_error else None
    steps += _rfc_steps(instances, sets, structure_error, oldest)
    steps.append(f"chain: {' -> '.join(f'i={i.instance} cv={i.cv}' for i in instances) or 'no complete set'}"
                 f" => arc={result}")
    warnings = tuple(p for i in instances[:-1] for p in i.problems if not i.ams_valid and i.seal_valid)
    return ARCResult(result=result, reason=reason_text, instances=tuple(instances), failed_instance=failed,
                     oldest_pass=oldest if result == "pass" else None, steps=tuple(steps),
                     warnings=tuple(f"older AMS no longer verifies (expected after changes): {w}" for w in warnings))


def _oldest_pass(instances: list[ARCInstance]) -> int:
    """RFC 8617 5.2 step 5: walking down from the second-newest AMS, the first one that
    does not verify (i=M) makes oldest-pass M+1; 0 when they all verify."""
    for inst in reversed(instances[:-1]):
        if not inst.ams_valid:
            return inst.instance + 1
    return 0


def _rfc_steps(instances: list[ARCInstance], sets: int, structure_error: str, oldest: int | None) -> list[str]:
    """The validator steps of RFC 8617 5.2 (2 to 6) as this chain met them; after the first
    that fails, the rest are marked as not reached, as the RFC stops there."""
    if not instances and not structure_error:
        return []
    newest = instances[-1] if instances else None
    n = max([sets] + [i.instance for i in instances])
    bad_cv = [i.instance for i in instances if i.cv.lower() != ("none" if i.instance == 1 else "pass")]
    bad_seals = [i.instance for i in instances if not i.seal_valid]
    some = "NO, i="
    plural = "set" if sets == 1 else "sets"
    checks: list[tuple[int, str, bool | None, str]] = [
        (1, f"{sets} ARC {plural}, at most {MAX_INSTANCES} allowed", True, ""),
        (2, f"the newest ARC-Seal (i={n}) does not say cv=fail",
         None if newest is None or newest.instance != n else newest.cv.lower() != "fail", ""),
        (3, (f"each set has one ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal, i=1..{n}"
             " without gaps, cv=none at i=1 and cv=pass above it"),
         not structure_error and not bad_cv,
         f"NO ({structure_error})" if structure_error else some + ", i=".join(map(str, bad_cv))),
        (4, f"the newest ARC-Message-Signature (i={n}) verifies", bool(newest and newest.ams_valid), ""),
        (5, "", None, ""),
        (6, "every ARC-Seal verifies", not bad_seals, some + ", i=".join(map(str, bad_seals))),
    ]
    lines, stopped = [], 0
    for step, text, ok, why_not in checks:
        head = f"RFC 8617 5.2 step {step}: "
        if stopped:
            lines.append(f"{head}not reached (the chain failed at step {stopped})")
        elif step == 5:
            what = ("every ARC-Message-Signature still verifies" if oldest == 0 else
                    f"the ARC-Message-Signature of i={(oldest or 1) - 1} no longer verifies; i={oldest} and newer do")
            lines.append(f"{head}oldest-pass={oldest} ({what})")
        elif ok is None:
            continue
        else:
            lines.append(f"{head}{text}: " + ("yes" if ok else (why_not or "NO")))
            stopped = 0 if ok else step
    return lines


def _explain_reason(result: str, reason: str, instances: list[ARCInstance], failed: int | None) -> str:
    if result == "pass":
        chain = ", ".join(i.sealer for i in instances)
        return f"{len(instances)} ARC set(s) verified; sealed by {chain}"
    inst = next((i for i in instances if i.instance == failed), None)
    if inst is not None and inst.cv.lower() == "fail":  # RFC 8617 5.2 step 2 (newest) or 3 (older)
        return (f"ARC set i={failed} ({inst.sealer}) declared cv=fail: that sealer found the chain already"
                " broken when the message reached it (RFC 8617 5.2: the chain fails there)")
    if inst is not None and inst.problems:
        return f"ARC set i={failed} ({inst.sealer}) fails: {'; '.join(inst.problems)}"
    if "reported failure" in reason:
        return f"ARC set i={failed} declared cv=fail: a sealer found the chain already broken"
    return f"ARC chain invalid: {reason}"


# ---------------------------------------------------------------------- seal
def _own_results(raw: bytes, authserv_id: str, dns) -> str:
    parts = [authserv_id]
    sigs = _dkim.verify(raw, dns=dns)
    if not sigs:
        parts.append("dkim=none")
    for r in sigs:
        # d= and s= come from the message: made safe, and a name longer than any domain
        # (megabytes in a crafted signature) is written as "unknown" (results._name)
        parts.append(f"dkim={r.result} header.d={_results._name(r.domain) or 'unknown'} "
                     f"header.s={_results._name(r.selector) or 'unknown'}")
    return "; ".join(parts)


def _header_fields(raw: bytes) -> tuple[list[bytes], bytes]:
    """The header fields of ``raw`` (each with its folded lines and line ends) and the rest.

    Lines may end in CRLF or a bare LF.  Without a blank line all of ``raw`` is the
    head.  A head with a bare CR in it is not split: no fields, all of ``raw`` the rest.
    """
    blank = re.search(rb"\r?\n(?=\r?\n)", raw)
    head, rest = (raw[:blank.end()], raw[blank.end():]) if blank else (raw, b"")
    if re.search(rb"\r(?!\n)", head):
        return [], raw
    return _headerfields.split(head, lf=True, keep_ends=True), rest


def _field_value(field: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"", field.partition(b":")[2]).strip()


def _latest_cv(fields: list[bytes]) -> str:
    """The cv= of the most recent ARC-Seal (highest i=), "" without one."""
    latest = (0, "")
    for field in fields:
        if not field.lower().startswith(b"arc-seal:"):
            continue
        try:
            tags = dkim.util.parse_tag_value(_field_value(field))
            latest = max(latest, (int(tags.get(b"i", b"0")), _text(tags.get(b"cv", b"")).strip().lower()))
        except Exception:  # an unparsable seal is the verifier's finding, not the sealer's
            continue
    return latest[1]


def _newest_instance(fields: list[bytes]) -> int:
    """The highest i= of any ARC header field, 0 without one."""
    newest = 0
    for field in fields:
        name, _, _ = field.partition(b":")
        if name.strip().lower() not in _ARC_FIELDS:
            continue
        value = _text(_field_value(field))
        found = _INSTANCE.match(value) or re.search(r"(?:^|;)\s*i\s*=\s*(\d+)", value, re.IGNORECASE)
        if found:
            newest = max(newest, int(found.group(1)))
    return newest


def _this_pass(fields: list[bytes], rest: bytes, authserv_id: str) -> bytes:
    """The message without the Authentication-Results fields of ``authserv_id`` that lie
    below an ARC set: they were written on an earlier pass through this ADMD (a list that
    is a member of another list on the same host), before that set was sealed, and are no
    result of this pass. dkimpy merges every field of the authserv-id into the AAR, and two
    ``arc=`` results in it made it seal cv=fail over a valid chain."""
    first_arc = next((n for n, f in enumerate(fields) if f.lower().startswith(b"arc-")), None)
    if first_arc is None:
        return b"".join(fields) + rest
    own = authserv_id.lower().encode("utf-8", "replace")

    def stale(field: bytes) -> bool:
        if not field.lower().startswith(b"authentication-results:"):
            return False
        return _field_value(field).split(b";", 1)[0].split(b"(", 1)[0].strip().lower() == own

    return b"".join(fields[:first_arc] + [f for f in fields[first_arc:] if not stale(f)]) + rest


def seal(
    message: bytes | str,
    *,
    domain: str,
    selector: str,
    private_key: bytes | str,
    authserv_id: str,
    results_header: str | None = None,
    dns: Any,
    headers: Iterable[str] | None = None,
    timestamp: int | None = None,
) -> bytes:
    """Add an ARC set to ``message`` as an intermediary ``domain`` and return it.

    ``results_header``: the Authentication-Results this intermediary computed on
    arrival (``"Authentication-Results: mx.lists.example.org; spf=pass ..."`` or
    just its value), computed on the message as it arrived. Without it, the
    sealer records its own DKIM results of ``message`` as given. The chain's
    state (``arc=``) is added when missing, so ``cv=`` is right. A mailing list
    evaluates on arrival, edits subject and footer, then seals the edited
    message with the arrival results: the AMS covers what it sends, the AAR
    says what it received. Returns the message with the Authentication-Results
    and the three ARC header fields on top. A message whose most recent ARC-Seal
    already says ``cv=fail`` is returned unchanged: RFC 8617 5.1 stops the sealer there.
    So is a message that already carries a set ``i=50``: instance numbers run from 1
    to 50 (RFC 8617 4.2.1) and a validator fails a chain of more sets (5.2 step 1), so
    the message goes on with the chain it has (a warning is logged).

    Introduced in lab 06 (the receiver's verdict: forwarding and ARC).
    """
    raw = _dkim._as_bytes(message)
    domain = _coerce.domain(domain, "domain", example="lists.example.org", lower=False)
    selector = _coerce.text(selector, "selector", example="list").strip()
    authserv_id = _coerce.text(authserv_id, "authserv_id", example="lists.example.org").strip()
    _dkim._named(domain=domain, selector=selector, authserv_id=authserv_id)
    if results_header is not None:
        _coerce.text(results_header, "results_header",
                     example="Authentication-Results: lists.example.org; spf=pass ...")
    key = signing_key(_dkim._private_pem(private_key))
    if key.key_type != "rsa":
        raise UsageError("ARC (RFC 8617) seals with rsa-sha256: give an RSA key")
    fields, rest = _header_fields(raw)
    if _latest_cv(fields) == "fail":
        log.info("not sealing: the most recent ARC-Seal says cv=fail (RFC 8617 5.1)")
        return raw
    newest = _newest_instance(fields)
    if newest >= MAX_INSTANCES:
        log.warning("not sealing: the message already carries ARC sets up to i=%d, and RFC 8617 4.2.1 lets i="
                    " run from 1 to %d only; a further set would make every validator fail the chain"
                    " (RFC 8617 5.2 step 1), so the message goes on with the chain it has", newest, MAX_INSTANCES)
        return raw
    if results_header is None:
        value = _own_results(raw, authserv_id, dns)
    else:
        value = re.sub(r"^\s*authentication-results\s*:", "", str(results_header), flags=re.IGNORECASE).strip()
        value = re.sub(r"\r?\n", "", value)
        if value.split(";", 1)[0].strip().lower() != authserv_id.lower():
            raise UsageError(f"results_header must start with the authserv-id {authserv_id!r}: {value[:60]!r}")
    if not re.search(r";\s*arc\s*=", value, re.IGNORECASE):
        chain = verify(raw, dns=dns)
        value += f"; arc={chain.result}"
    linesep = dkim.util.get_linesep(raw)
    # one result per line, as the receiver writes its own (RFC 5322 2.1.1 line lengths)
    folded = _results.fold(value).replace("\r\n", linesep.decode("ascii"))
    ar_line = b"Authentication-Results: " + folded.encode("utf-8") + linesep
    include = None if headers is None else _dkim._header_names(headers)
    try:
        arc_set = dkim.arc_sign(
            ar_line + _this_pass(fields, rest, authserv_id),
            selector.encode("ascii"),
            domain.encode("ascii"),
            key.material,
            authserv_id.encode("ascii"),
            include_headers=include,
            timestamp=timestamp,
            linesep=linesep,
        )
    except (dkim.DKIMException, UnicodeError, ValueError) as exc:
        raise UsageError(f"cannot seal: {exc}") from None
    if not arc_set:
        raise UsageError("dkimpy refused to seal (no usable Authentication-Results for this authserv-id)")
    return b"".join(arc_set) + ar_line + raw


__all__ = ["ARCResult", "ARCInstance", "Recorded", "verify", "seal", "parse_recorded"]
