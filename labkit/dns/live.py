"""Look up names in real DNS, in the lab DNS, or in recordings, the way ``dig`` does.

::

    import labkit as lk
    import labkit.dns.live
    lk.dns.live.dig("google.com", "TXT")            # live if reachable, else the recording
    lk.dns.live.dig("brand.example", "TXT", mode="lab", lab=dns)

Modes:

- ``"live"``: the machine's own resolver (``/etc/resolv.conf``) with short time-outs.
  This is the only place in labkit that talks to real DNS, and only when asked.
- ``"lab"``: the given :class:`~labkit.dns.LabDNS` (or a fresh one with the course
  zones, started and stopped for this one question).
- ``"snapshot"``: the recording in ``data/snapshots`` (see :mod:`labkit.dns.snapshots`).
- ``"auto"``: live when real DNS answers like the Internet (see
  :func:`internet_reachable`), otherwise the recording; the result then says plainly
  that it is a recording and where the recording came from.

The result's ``rcode`` is a DNS response code (``NOERROR``, ``NXDOMAIN``,
``SERVFAIL``, ``REFUSED``, ...) or one of two labkit words: ``TIMEOUT`` (no usable
answer in time, or no resolver configured) and ``UNRECORDED`` (no snapshot of that
name and type).

Introduced in lab 02 (DNS).
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.reversename

from .. import _coerce
from ..errors import LabkitError, UsageError
from ..net import is_address
from . import snapshots as _snapshots
from .snapshots import Provenance

logger = logging.getLogger(__name__)

MODES = ("auto", "live", "lab", "snapshot")
SOURCES = ("live", "lab", "snapshot")
TIMEOUT = "TIMEOUT"
UNRECORDED = "UNRECORDED"
_TXT_CHUNK = 255


@dataclasses.dataclass(frozen=True, kw_only=True)
class DigResult:
    """The answer to one question, with where it came from.

    ``answers`` holds TXT records as their joined text and other types in zone-file
    form (``"5 gmail-smtp-in.l.google.com."``).  ``provenance`` is set for
    recordings; ``steps`` says what was tried, in order.
    """

    name: str
    rdtype: str
    answers: tuple[str, ...]
    rcode: str
    source: str
    provenance: Provenance | None = None
    server: str = ""
    ttl: int | None = None
    steps: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the name has records of this type (NOERROR with answers)."""
        return self.rcode == "NOERROR" and bool(self.answers)

    @property
    def recorded(self) -> bool:
        """True when the answer is a recording (not from a server just now); False also
        when the recordings were asked but hold none for this name (rcode ``UNRECORDED``)."""
        return self.source == "snapshot" and self.provenance is not None

    @property
    def banner(self) -> str:
        """One line that says a recorded answer is a recording, and whose (or that there
        is none); ``""`` for answers from a server."""
        if self.source != "snapshot":
            return ""
        if self.provenance is None:
            return f"NO RECORDING of {self.name} {self.rdtype} in data/snapshots"
        return f"RECORDED ANSWER, NOT A LIVE LOOK-UP: {self.provenance.summary}"

    def _rdata_texts(self, answer: str) -> str:
        if self.rdtype != "TXT":
            return answer
        chunks = [answer[i : i + _TXT_CHUNK] for i in range(0, len(answer), _TXT_CHUNK)] or [""]
        return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)

    def to_text(self) -> str:
        """``dig``-like text (with a ``; RECORDED ...`` banner for recordings)."""
        lines = []
        if self.banner:
            lines.append(f"; {self.banner}")
            if self.provenance is not None and self.provenance.note:
                lines.append(f"; note: {self.provenance.note}")
        lines.append(f";; ->>HEADER<<- status: {self.rcode}, source: {self.source}")
        lines += [";; QUESTION SECTION:", f";{self.name}.\t\tIN\t{self.rdtype}", ""]
        if self.answers:
            lines.append(";; ANSWER SECTION:")
            ttl = "" if self.ttl is None else f"{self.ttl}\t"
            for answer in self.answers:
                lines.append(f"{self.name}.\t{ttl}IN\t{self.rdtype}\t{self._rdata_texts(answer)}")
            lines.append("")
        if self.server:
            lines.append(f";; SERVER: {self.server}")
        lines += [f";; {step}" for step in self.steps]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def to_dict(self) -> dict:
        """Plain data for ``--json``."""
        return {
            "name": self.name,
            "rdtype": self.rdtype,
            "answers": list(self.answers),
            "rcode": self.rcode,
            "source": self.source,
            "recorded": self.recorded,
            "provenance": None if self.provenance is None else self.provenance.to_dict(),
            "server": self.server,
            "ttl": self.ttl,
            "steps": list(self.steps),
        }

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = []
        if self.banner:
            parts.append(
                '<div style="background:#fff3cd;border:1px solid #e0c36c;padding:4px 8px">'
                f"<b>{esc(self.banner)}</b>"
                + (
                    f"<br><small>{esc(self.provenance.note)}</small>"
                    if self.provenance is not None and self.provenance.note
                    else ""
                )
                + "</div>"
            )
        parts.append(
            f"<div><code>{esc(self.name)} {esc(self.rdtype)}</code>: "
            f"<b>{esc(self.rcode)}</b> from {esc(self.source)}"
            + (f" ({esc(self.server)})" if self.server else "")
            + "</div>"
        )
        if self.answers:
            rows = "".join(f"<tr><td><code>{esc(a)}</code></td></tr>" for a in self.answers)
            parts.append(f"<table>{rows}</table>")
        else:
            parts.append("<div><i>no records</i></div>")
        if self.steps:
            items = "".join(f"<li>{esc(s)}</li>" for s in self.steps)
            parts.append(f"<ol style='color:#555'>{items}</ol>")
        return "".join(parts)


def _answer_texts(rrset: Any) -> tuple[str, ...]:
    if rrset is None:
        return ()
    if rrset.rdtype == dns.rdatatype.TXT:
        return tuple(b"".join(rd.strings).decode("utf-8", "replace") for rd in rrset)
    return tuple(rd.to_text() for rd in rrset)


def _describe(resolver: dns.resolver.Resolver) -> str:
    servers = ", ".join(str(ns) for ns in resolver.nameservers) or "none"
    port = getattr(resolver, "port", 53)
    return servers if port == 53 else f"{servers} port {port}"


def _no_answer(
    name: str, rdtype: str, rcode: str, source: str, step: str, server: str = ""
) -> DigResult:
    """A result without records; ``step`` says why."""
    return DigResult(
        name=name,
        rdtype=rdtype,
        answers=(),
        rcode=rcode,
        source=source,
        server=server,
        steps=(step,),
    )


def _ask(
    resolver: dns.resolver.Resolver, name: str, rdtype: str, source: str, label: str
) -> DigResult:
    """One question to one resolver; every outcome is a DigResult."""
    where = f"{label} {_describe(resolver)}"
    try:
        answer = resolver.resolve(name, rdtype, search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return _no_answer(
            name, rdtype, "NXDOMAIN", source, f"asked {where}: NXDOMAIN (no such name)", where
        )
    except dns.resolver.NoNameservers as exc:
        rcode = _rcode_from(exc)
        return _no_answer(
            name, rdtype, rcode, source, f"asked {where}: no usable answer ({rcode})", where
        )
    except (dns.exception.Timeout, dns.resolver.LifetimeTimeout):
        return _no_answer(name, rdtype, TIMEOUT, source, f"asked {where}: no answer in time", where)
    except dns.exception.DNSException as exc:
        return _no_answer(name, rdtype, TIMEOUT, source, f"asked {where}: failed ({exc})", where)
    rrset = answer.rrset
    rcode = dns.rcode.to_text(answer.response.rcode())
    texts = _answer_texts(rrset)
    return DigResult(
        name=name,
        rdtype=rdtype,
        answers=texts,
        rcode=rcode,
        source=source,
        server=where,
        ttl=None if rrset is None else rrset.ttl,
        steps=(f"asked {where}: {rcode}, {len(texts)} answer(s)",),
    )


def _rcode_from(exc: dns.resolver.NoNameservers) -> str:
    # dnspython keeps the failing servers' responses in its error list: report the
    # server's own rcode (SERVFAIL, REFUSED) when there is one; else treat it as silence.
    for entry in exc.kwargs.get("errors", []) or []:
        response = entry[-1] if isinstance(entry, tuple) else None
        if isinstance(response, dns.message.Message):
            return dns.rcode.to_text(response.rcode())
    return TIMEOUT


def offline() -> bool:
    """True when ``LABKIT_OFFLINE`` is set: no look-up may leave the machine (CI sets it)."""
    return os.environ.get("LABKIT_OFFLINE", "").lower() in ("1", "true", "yes")


def _held_back(resolver: dns.resolver.Resolver) -> bool:
    """True when ``LABKIT_OFFLINE`` forbids asking ``resolver``: one of its servers is off
    this machine (a resolver on loopback, such as a LabDNS standing in for the real DNS,
    may still be asked)."""
    from .resolve import on_this_machine

    return offline() and not on_this_machine(resolver)


def live_resolver(timeout: float = 2.0) -> dns.resolver.Resolver | None:
    """The machine's own resolver with short time-outs, or ``None`` if none is configured.

    ``None`` as well when ``LABKIT_OFFLINE`` is set, so nothing ever asks the real DNS.
    """
    timeout = _coerce.seconds(timeout)
    if offline():
        return None
    try:
        resolver = dns.resolver.Resolver(configure=True)
    except (dns.resolver.NoResolverConfiguration, OSError):
        return None
    if not resolver.nameservers:
        return None
    resolver.timeout = timeout
    resolver.lifetime = timeout
    resolver.cache = None
    return resolver


def internet_reachable(resolver: dns.resolver.Resolver) -> tuple[bool, str]:
    """Whether ``resolver`` answers like the real Internet, and why (or why not).

    The probe asks for the root zone's name servers (``. NS``), which every working
    recursive resolver can answer.  A network without DNS times out; a sandbox or
    captive-portal resolver answers NXDOMAIN or REFUSED for everything: both fail.
    """
    if not isinstance(resolver, dns.resolver.Resolver):
        resolver = _live_resolver_arg(resolver)
        if resolver is None:
            raise UsageError("internet_reachable needs a resolver to ask: live_resolver() gives "
                             "the machine's own (None when there is none, or offline)")
    if _held_back(resolver):
        return False, (f"live DNS via {_describe(resolver)} was not asked: LABKIT_OFFLINE is set "
                       "and it is off this machine")
    probe = _ask(resolver, ".", "NS", "live", "live DNS via")
    if probe.ok:
        return (
            True,
            f"live DNS via {_describe(resolver)} answers (the root zone's NS: {probe.rcode})",
        )
    return False, (
        f"live DNS via {_describe(resolver)} does not answer like the Internet "
        f"(the root zone's NS: {probe.rcode})"
    )


def _live(
    name: str, rdtype: str, timeout: float, resolver: dns.resolver.Resolver | None, *, probe: bool
) -> DigResult:
    res = resolver if resolver is not None else live_resolver(timeout)
    if res is None:
        why = "LABKIT_OFFLINE is set" if offline() else "no resolver is configured here"
        return _no_answer(name, rdtype, TIMEOUT, "live", f"live DNS: {why}")
    if _held_back(res):
        return _no_answer(name, rdtype, TIMEOUT, "live",
                          f"live DNS: LABKIT_OFFLINE is set, so {_describe(res)} (off this "
                          "machine) was not asked", _describe(res))
    if probe:
        reachable, why = internet_reachable(res)
        if not reachable:
            return _no_answer(name, rdtype, TIMEOUT, "live", why, _describe(res))
    return _ask(res, name, rdtype, "live", "live DNS via")


def _lab(name: str, rdtype: str, lab: Any, timeout: float) -> DigResult:
    from .resolve import as_resolver
    from .server import LabDNS

    if lab is not None:
        return _ask(as_resolver(lab, timeout), name, rdtype, "lab", "lab DNS at")
    with LabDNS() as fresh:
        return _ask(fresh.resolver(timeout), name, rdtype, "lab", "lab DNS at")


def _snapshot(name: str, rdtype: str, directory: str | Path | None) -> DigResult:
    snap = _snapshots.load(name, rdtype, directory)
    where = _snapshots.path_for(name, rdtype, directory)
    if snap is None:
        return _no_answer(name, rdtype, UNRECORDED, "snapshot", f"no recording at {where}")
    return DigResult(
        name=name,
        rdtype=rdtype,
        answers=snap.answers,
        rcode=snap.rcode,
        source="snapshot",
        provenance=snap.provenance,
        server=f"recording {where.name}",
        steps=(f"read the recording {where}: {snap.provenance.summary}",),
    )


def _rdtype(rdtype: Any) -> str | int:
    """``rdtype`` if it can name a record type (text or a type code); else a UsageError.

    ``True`` (read as type 1, A) and ``None`` used to end in dnspython.
    """
    if isinstance(rdtype, bool) or not isinstance(rdtype, (str, int)):
        raise UsageError(f"rdtype must be a record type such as 'TXT' or 'MX', not "
                         f"{type(rdtype).__name__} {rdtype!r}")
    if isinstance(rdtype, str):
        from .server import _record_type

        _record_type(rdtype)  # a misspelt type: the one meant, as LabDNS.add says it
    return rdtype


def _not_an_ip(name: str) -> None:
    """A :class:`UsageError` if ``name`` is an IP address: DNS names an address in reverse."""
    if not is_address(name):
        return
    reverse = dns.reversename.from_address(name.strip()).to_text(omit_final_dot=True)
    raise UsageError(f"{name!r} is an address, not a domain name: to ask which name it has, "
                     f"look up the PTR record of {reverse!r}")


def _live_resolver_arg(resolver: Any) -> dns.resolver.Resolver | None:
    """The ``resolver=`` of a live look-up: ``None`` or a dnspython Resolver."""
    if resolver is None or isinstance(resolver, dns.resolver.Resolver):
        return resolver
    hint = ""
    if isinstance(resolver, str):
        hint = " (a Resolver object, not the address of a server)"
    elif hasattr(resolver, "resolver"):
        hint = f" such as {type(resolver).__name__}.resolver(); or give it as lab= with mode='lab'"
    raise UsageError(f"resolver must be a dns.resolver.Resolver{hint}, not "
                     f"{type(resolver).__name__}")


def dig(
    name: str,
    rdtype: str = "A",
    *,
    mode: str = "auto",
    lab: Any = None,
    timeout: float = 2.0,
    resolver: dns.resolver.Resolver | None = None,
    snapshots: str | Path | None = None,
) -> DigResult:
    """Ask for ``name``/``rdtype`` live, in the lab DNS, or in the recordings.

    Args:
        mode: ``"auto"`` (live if real DNS answers, else the recording), ``"live"``,
            ``"lab"`` or ``"snapshot"``.
        lab: the LabDNS (or a Resolver bound to one) for ``mode="lab"``; default: a
            fresh LabDNS with the course zones for this one question.
        timeout: seconds to wait for live or lab DNS (a number above 0).
        resolver: the resolver for live look-ups (default: the machine's own).
        snapshots: folder of recordings (default ``data/snapshots``).

    Introduced in lab 02 (DNS).
    """
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if lab is not None and mode != "lab":
        raise UsageError(f"lab= is read only with mode='lab' (here mode={mode!r}, which would "
                         "ignore it): add mode='lab'")
    if resolver is not None and mode == "lab":
        raise UsageError("resolver= is for live look-ups; with mode='lab' give the lab DNS as lab=")
    timeout = _coerce.seconds(timeout)
    if isinstance(name, str):  # an address: the same hint as everywhere a domain is asked for
        _coerce.domain(name, "name", example="brand.example")
        _not_an_ip(name)
    qname = _snapshots.normalise_name(name)
    qtype = _snapshots.normalise_type(_rdtype(rdtype))
    resolver = _live_resolver_arg(resolver)
    if snapshots is not None and not isinstance(snapshots, (str, os.PathLike)):
        raise UsageError(f"snapshots must be the path of a folder of recordings, not "
                         f"{type(snapshots).__name__}")
    logger.debug("dig %s %s mode=%s", qname, qtype, mode)
    if mode == "lab":
        return _lab(qname, qtype, lab, timeout)
    if mode == "snapshot":
        return _snapshot(qname, qtype, snapshots)
    live = _live(qname, qtype, timeout, resolver, probe=mode == "auto")
    if mode == "live" or live.rcode != TIMEOUT:
        return live
    recorded = _snapshot(qname, qtype, snapshots)
    return dataclasses.replace(
        recorded,
        steps=(*live.steps, "no live answer: showing the recording instead", *recorded.steps),
    )


def record_snapshots(
    names: Iterable[str | Sequence[str]] | None,
    directory: str | Path | None = None,
    *,
    timeout: float = 2.0,
    resolver: dns.resolver.Resolver | None = None,
) -> list[Path]:
    """Re-record ``names`` from live DNS into ``directory`` and return the files written.

    ``names`` are ``"name"`` (TXT), ``"name/TYPE"`` or ``(name, TYPE)`` pairs; ``None``
    re-records every name already in ``directory``.  Each file gets provenance kind
    ``"captured"`` with today's date.  Nothing is written unless every look-up gets an
    answer: without the network this raises :class:`LabkitError` and the recordings
    stay as they were.

    Introduced in lab 02 (DNS).
    """
    timeout = _coerce.seconds(timeout)
    resolver = _live_resolver_arg(resolver)
    folder = Path(directory) if directory is not None else _snapshots.snapshots_dir()
    if isinstance(names, str):  # one name, not a sequence of one-letter names
        names = [names]
    if names is None:
        targets = [(s.name, s.type) for s in _snapshots.load_all(folder)]
    else:
        targets = _snapshots.parse_targets(names)
    if not targets:
        raise UsageError("nothing to record: name at least one NAME or NAME/TYPE")
    res = resolver if resolver is not None else live_resolver(timeout)
    if res is None:
        why = "LABKIT_OFFLINE is set" if offline() else "no DNS resolver is configured on this machine"
        raise LabkitError(f"cannot record snapshots: {why}. The recordings were left unchanged.")
    reachable, why = internet_reachable(res)
    if not reachable:
        raise LabkitError(f"cannot record snapshots: {why}. The recordings were left unchanged.")
    today = datetime.date.today().isoformat()
    captured = []
    for qname, qtype in targets:
        result = _ask(res, qname, qtype, "live", "live DNS via")
        if result.rcode in (TIMEOUT, "SERVFAIL", "REFUSED"):
            raise LabkitError(
                f"cannot record snapshots: live DNS gave no usable answer for {qname} {qtype} "
                f"({result.rcode}; {result.steps[-1]}). Is the network there? "
                "The recordings were left unchanged."
            )
        captured.append(
            _snapshots.Snapshot(
                name=qname,
                type=qtype,
                answers=result.answers,
                rcode=result.rcode,
                provenance=Provenance(
                    kind="captured",
                    source=f"live DNS via {_describe(res)}",
                    date=today,
                    note="recorded by labkit.dns.live.record_snapshots",
                ),
            )
        )
    return [_snapshots.save(snap, folder) for snap in captured]


__all__ = [
    "DigResult",
    "dig",
    "record_snapshots",
    "live_resolver",
    "internet_reachable",
    "MODES",
    "TIMEOUT",
    "UNRECORDED",
]
