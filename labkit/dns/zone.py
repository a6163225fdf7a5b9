"""Zone data for the lab DNS: RFC 1035 master files in, an answer-ready store out.

Zone text is read with dnspython's zone-file reader, which follows RFC 1035:
``$ORIGIN``/``$TTL``, relative and absolute names, decimal ``\\DDD`` escapes,
multi-string TXT.  (dnslib's lexer reads ``\\DDD`` as octal, so it is not used here.)
Several zones may sit in one text; each SOA marks a zone apex.

Introduced in lab 02 (DNS).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tokenizer
import dns.zonefile

from ..errors import ZoneError
from ..paths import zones_dir

ZoneSource = str | os.PathLike | Iterable[str | os.PathLike]


@dataclasses.dataclass(frozen=True)
class ZoneText:
    """One piece of zone text and where it came from (for error messages)."""

    text: str
    source: str


def _looks_like_path(value: str) -> bool:
    return "\n" not in value and len(value) < 4096 and Path(value).exists()


def _read(path: Path) -> str:
    """A zone file's text; a folder, unreadable or non-UTF-8 file is a :class:`ZoneError`."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ZoneError(f"{path}: cannot read this zone file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ZoneError(f"{path}: not a zone file (not UTF-8 text at byte {exc.start})") from None


def iter_sources(zones: ZoneSource | None) -> Iterator[ZoneText]:
    """Expand ``zones`` (text, a path, a folder, or a list of them) into zone texts.

    ``None`` means the course zones in ``data/zones``.
    """
    if zones is None:
        zones = zones_dir()
    if isinstance(zones, (str, os.PathLike)):
        items: Iterable[str | os.PathLike] = [zones]
    else:
        items = zones
    for item in items:
        if isinstance(item, os.PathLike) or (isinstance(item, str) and _looks_like_path(item)):
            path = Path(item)
            if path.is_dir():
                files = sorted(path.glob("*.zone"))
                if not files:
                    raise ZoneError(f"{path}: no *.zone files in this folder")
                for f in files:
                    yield ZoneText(_read(f), str(f))
            elif path.is_file():
                yield ZoneText(_read(path), str(path))
            else:
                raise ZoneError(f"{path}: no such zone file or folder")
        elif isinstance(item, str):
            yield ZoneText(item, "<zone text>")
        else:
            raise ZoneError(f"cannot read zones from {item!r}")


class _Transaction(dns.zonefile.RRsetsReaderTransaction):
    """Collects RRsets; follows ``$ORIGIN`` so each zone's SOA sits at its own origin."""

    def __init__(self, manager: dns.zonefile.RRSetsReaderManager) -> None:
        super().__init__(manager, True, False)
        self._origin = dns.name.root

    def _set_origin(self, origin: dns.name.Name) -> None:
        self._origin = origin

    def _origin_information(self):
        return (self._origin, False, self._origin)


def parse(zone: ZoneText) -> list[dns.rrset.RRset]:
    """Parse one zone text into absolute RRsets; errors name the source and line."""
    manager = dns.zonefile.RRSetsReaderManager(dns.name.root, False, dns.rdataclass.IN)
    try:
        with _Transaction(manager) as txn:
            tok = dns.tokenizer.Tokenizer(zone.text, zone.source)
            reader = dns.zonefile.Reader(tok, dns.rdataclass.IN, txn, allow_directives=True)
            reader.read()
    except dns.exception.SyntaxError as exc:
        raise ZoneError(f"zone syntax error: {exc}") from None
    except (dns.exception.DNSException, ValueError) as exc:
        raise ZoneError(f"{zone.source}:{tok.line_number}: {exc}") from None
    return list(manager.rrsets)


def load(zones: ZoneSource | None = None) -> list[dns.rrset.RRset]:
    """Read every zone in ``zones`` (see :func:`iter_sources`) into one list of RRsets."""
    rrsets: list[dns.rrset.RRset] = []
    for piece in iter_sources(zones):
        rrsets.extend(parse(piece))
    return rrsets


__all__ = ["ZoneText", "ZoneSource", "iter_sources", "parse", "load"]
