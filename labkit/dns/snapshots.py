"""Recorded real DNS answers (``data/snapshots``), each with its provenance.

The labs compare the fictional Internet with real domains (google.com's SPF
record, a Gmail DKIM key, ...).  A learner's machine may be offline, so every real
answer the course shows is also kept as a small JSON file, one per name and type::

    {"name": "google.com", "type": "TXT",
     "answers": ["v=spf1 include:_spf.google.com ~all"],
     "rcode": "NOERROR",
     "provenance": {"kind": "quoted", "source": "...", "date": "...", "note": "..."}}

``provenance.kind`` is ``"captured"`` when labkit made the look-up itself (see
:func:`labkit.dns.live.record_snapshots`) and ``"quoted"`` when the answer was
copied from a named public source; ``date`` is when it was true.  TXT answers are
stored as the joined record text (the strings of one record concatenated, as SPF,
DKIM and DMARC read them); other types in their zone-file text form.

Not named in the labs: :func:`labkit.dns.live.dig` (lab 02) answers from it when offline.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import dns.exception
import dns.name
import dns.rdatatype

from ..errors import UsageError
from ..paths import data_dir

logger = logging.getLogger(__name__)

KINDS = ("quoted", "captured")


def snapshots_dir() -> Path:
    """``data/snapshots``: where recorded answers live."""
    return data_dir() / "snapshots"


def normalise_name(name: str) -> str:
    """A domain name in lower case without the final dot; :class:`UsageError` if malformed."""
    if not isinstance(name, str) or not name.strip():
        raise UsageError("a domain name is required, for example google.com")
    try:
        parsed = dns.name.from_text(name.strip())
    except dns.exception.DNSException as exc:
        raise UsageError(f"{name!r} is not a valid domain name: {exc}") from None
    return parsed.to_text(omit_final_dot=True).lower()


def normalise_type(rdtype: str | int) -> str:
    """A record type as text (``"TXT"``); :class:`UsageError` for an unknown type."""
    try:
        value = dns.rdatatype.from_text(rdtype.upper()) if isinstance(rdtype, str) else rdtype
        return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(value))
    except (ValueError, dns.exception.DNSException, AttributeError):
        raise UsageError(
            f"unknown record type {rdtype!r} (try A, AAAA, MX, TXT, PTR, NS)"
        ) from None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Provenance:
    """Where a recorded answer came from and when it was true."""

    kind: str
    source: str
    date: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UsageError(f"provenance kind must be one of {KINDS}, not {self.kind!r}")

    @property
    def summary(self) -> str:
        """One line: "quoted from X as of D" or "captured live by labkit on D (X)"."""
        if self.kind == "captured":
            return f"captured live by labkit on {self.date} ({self.source})"
        if self.date.startswith("undated"):
            return f"quoted from {self.source} ({self.date})"
        return f"quoted from {self.source} as of {self.date}"

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Snapshot:
    """One recorded answer: a name, a type, its answers and their provenance."""

    name: str
    type: str
    answers: tuple[str, ...]
    provenance: Provenance
    rcode: str = "NOERROR"

    @classmethod
    def from_dict(cls, data: dict, *, origin: str = "snapshot") -> Snapshot:
        """Build from the JSON form; :class:`UsageError` names ``origin`` when it is malformed."""
        try:
            prov = data["provenance"]
            answers = data["answers"]
            if isinstance(answers, str) or not all(isinstance(a, str) for a in answers):
                raise TypeError("answers must be a list of strings")
            return cls(
                name=normalise_name(data["name"]),
                type=normalise_type(data["type"]),
                answers=tuple(answers),
                rcode=str(data.get("rcode", "NOERROR")).upper(),
                provenance=Provenance(
                    kind=prov["kind"],
                    source=prov["source"],
                    date=str(prov["date"]),
                    note=prov.get("note", ""),
                ),
            )
        except (KeyError, TypeError) as exc:
            raise UsageError(f"{origin}: not a valid snapshot ({exc})") from None

    def to_dict(self) -> dict:
        """The JSON form (see the module docstring)."""
        return {
            "name": self.name,
            "type": self.type,
            "answers": list(self.answers),
            "rcode": self.rcode,
            "provenance": self.provenance.to_dict(),
        }


def path_for(name: str, rdtype: str | int = "TXT", directory: str | Path | None = None) -> Path:
    """The file that holds (or would hold) the snapshot of ``name``/``rdtype``.

    Always a file directly in the folder: a ``/`` or ``\\`` in the name (a DNS label may
    hold one, as in RFC 2317's ``0/25.2.0.192.in-addr.arpa``) is written ``%2F`` / ``%5C``
    (and ``%`` itself ``%25``), so no name makes a subfolder or a path elsewhere.
    """
    folder = Path(directory) if directory is not None else snapshots_dir()
    stem = normalise_name(name).replace("%", "%25").replace("/", "%2F").replace("\\", "%5C")
    return folder / f"{stem}_{normalise_type(rdtype)}.json"


def read(path: str | Path) -> Snapshot:
    """Read one snapshot file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read snapshot ({exc})") from None
    return Snapshot.from_dict(data, origin=str(path))


def load(
    name: str, rdtype: str | int = "TXT", directory: str | Path | None = None
) -> Snapshot | None:
    """The recorded answer for ``name``/``rdtype``, or ``None`` when nothing was recorded."""
    path = path_for(name, rdtype, directory)
    return read(path) if path.is_file() else None


def load_all(directory: str | Path | None = None) -> list[Snapshot]:
    """Every snapshot in ``directory`` (default ``data/snapshots``), sorted by file name."""
    folder = Path(directory) if directory is not None else snapshots_dir()
    return [read(p) for p in sorted(folder.glob("*.json"))]


def save(snapshot: Snapshot, directory: str | Path | None = None) -> Path:
    """Write ``snapshot`` as JSON (replacing an older recording) and return its path."""
    path = path_for(snapshot.name, snapshot.type, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(snapshot.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    logger.info("recorded %s %s in %s", snapshot.name, snapshot.type, path)
    return path


def parse_targets(targets: Iterable[str | Sequence[str]]) -> list[tuple[str, str]]:
    """Turn ``"name"``, ``"name/TYPE"``, ``"name TYPE"`` or ``(name, TYPE)`` into pairs.

    A bare name means TXT, the type most labs look at.
    """
    pairs = []
    for target in targets:
        if isinstance(target, str):
            text = target.strip().replace("/", " ")
            parts = text.split()
            if not parts or len(parts) > 2:
                raise UsageError(f"expected NAME or NAME/TYPE, not {target!r}")
            name, rdtype = parts[0], parts[1] if len(parts) == 2 else "TXT"
        else:
            name, rdtype = target
        pairs.append((normalise_name(name), normalise_type(rdtype)))
    return pairs


__all__ = [
    "KINDS",
    "Provenance",
    "Snapshot",
    "snapshots_dir",
    "normalise_name",
    "normalise_type",
    "path_for",
    "read",
    "load",
    "load_all",
    "save",
    "parse_targets",
]
