"""Zone data for the lab DNS: RFC 1035 master files in, an answer-ready store out.

Zone text is read with dnspython's zone-file reader, which follows RFC 1035:
``$ORIGIN``/``$TTL``, relative and absolute names, decimal ``\\DDD`` escapes,
multi-string TXT.  (dnslib's lexer reads ``\\DDD`` as octal, so it is not used here.)
Several zones may sit in one text; each SOA marks a zone apex.  Several texts are
merged name by name, and the CNAME rules hold across them as inside one text (RFC 1034
section 3.6.2, RFC 2181 section 10.1): a name with a CNAME holds no other data, and
one CNAME record; a breach is a :class:`~labkit.errors.ZoneError` naming the name.  So
is a second, different SOA line in one zone text (RFC 1035 section 5.2: one SOA a zone).

Parsing is the costly part of starting a LabDNS (the course zones took about
0.2 s of CPU with dnspython), so each process keeps what it parsed, keyed by the
zone *text* itself: a second LabDNS built from the same files (or the same text)
reuses the records, a file edited on disk is parsed again because its text
differs, and nothing keyed by a path can go stale.  The kept records are never
handed out: :func:`parse` and :func:`load` return fresh RRset objects (the
record data inside, dnspython's ``Rdata``, is immutable and shared), so one
LabDNS's ``add``/``remove`` is never seen by another.

Not named in the labs: :class:`labkit.dns.LabDNS` (from lab 00) loads its zones with it.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import dns.exception
import dns.name
import dns.node
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.tokenizer
import dns.transaction
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
    """A zone file's text; a folder, an unreadable, non-UTF-8 or empty file is a
    :class:`ZoneError` (an empty file would be served as a DNS that knows nothing)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ZoneError(f"{path}: cannot read this zone file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ZoneError(f"{path}: not a zone file (not UTF-8 text at byte {exc.start})") from None
    if not text.strip():
        raise ZoneError(f"{path}: the zone file is empty (no records to serve)")
    return text


def iter_sources(zones: ZoneSource | None) -> Iterator[ZoneText]:
    """Expand ``zones`` (text, a path, a folder, or a list of them) into zone texts.

    ``None`` means the course zones in ``data/zones``.
    """
    if zones is None:
        zones = zones_dir()
    if isinstance(zones, (str, os.PathLike)):
        items: Iterable[str | os.PathLike] = [zones]
    elif isinstance(zones, (bytes, bytearray)):
        raise ZoneError("zones= takes zone text as str, not bytes: .decode() it")
    elif isinstance(zones, Iterable):
        items = zones
    else:
        raise ZoneError(f"cannot read zones from {type(zones).__name__} {zones!r}: zones= takes "
                        "zone text, a path to a .zone file or folder, or a list of them")
    for item in items:
        if isinstance(item, str) and not item.strip():
            # Path("") is the current folder: an empty text would serve whatever *.zone
            # files happen to lie there
            raise ZoneError("empty zone text: zones= takes zone text, a path to a .zone file "
                            "or folder, or a list of them (None: the course zones)")
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
        elif isinstance(item, str) and item.strip() and not any(c.isspace() for c in item.strip()):
            # one word is no zone text (a record has a name, a type and data): a path
            # with a typo, which would otherwise be parsed and fail on its line 1
            raise ZoneError(f"{item}: no such zone file or folder (zones= takes zone text, "
                            "a path to a .zone file or folder, or a list of them)")
        elif isinstance(item, str):
            yield ZoneText(item, "<zone text>")
        else:
            raise ZoneError(f"cannot read zones from {item!r}")


class _Transaction(dns.zonefile.RRsetsReaderTransaction):
    """Collects RRsets; follows ``$ORIGIN`` so each zone's SOA sits at its own origin.

    dnspython's reader asks for the node of every name it adds (to check CNAME and
    other data), and its RRsets transaction finds that node by scanning every
    RRset read so far: quadratic, about half the parse time of the course zones.
    An index by owner name makes that look-up constant.
    """

    def __init__(self, manager: dns.zonefile.RRSetsReaderManager) -> None:
        super().__init__(manager, True, False)
        self._origin = dns.name.root
        self._by_name: dict[dns.name.Name, dict[tuple, dns.rdataset.Rdataset]] = {}
        # before the reader's own CNAME check (registered later), whose message names
        # neither the name nor the records, and which lets a second CNAME replace the first
        self.check_put_rdataset(_check_cname_rules)

    def _set_origin(self, origin: dns.name.Name) -> None:
        self._origin = origin

    def _origin_information(self):
        return (self._origin, False, self._origin)

    def _put_rdataset(self, name, rdataset):
        key = (name, rdataset.rdtype, rdataset.covers)
        self.rdatasets[key] = rdataset
        self._by_name.setdefault(name, {})[key] = rdataset

    def _delete_rdataset(self, name, rdtype, covers):
        key = (name, rdtype, covers)
        self.rdatasets.pop(key, None)
        node = self._by_name.get(name)
        if node is not None:
            node.pop(key, None)
            if not node:
                del self._by_name[name]

    def _delete_name(self, name):
        for key in self._by_name.pop(name, {}):
            self.rdatasets.pop(key, None)

    def _name_exists(self, name):
        return name in self._by_name

    def _get_node(self, name):
        rdatasets = self._by_name.get(name)
        if not rdatasets:
            return None
        node = dns.node.Node()
        node.rdatasets = list(rdatasets.values())
        return node


def _types(rdatasets: Iterable[dns.rdataset.Rdataset]) -> str:
    return ", ".join(sorted({dns.rdatatype.to_text(rds.rdtype) for rds in rdatasets}))


def _check_cname_rules(txn: dns.transaction.Transaction, name: dns.name.Name,
                       rdataset: dns.rdataset.Rdataset) -> None:
    """Refuse a record that breaks the CNAME rules at ``name`` in one zone text.

    RFC 1034 section 3.6.2: a name with a CNAME holds no other data (DNSSEC records
    aside); RFC 2181 section 10.1: it has one CNAME record.  dnspython keeps the last of
    two CNAME lines (a CNAME set holds one record), so the first is compared here,
    before it is replaced; the same line twice is one record (RFC 2181 section 5).
    """
    if rdataset.rdtype == dns.rdatatype.SOA:
        _check_one_soa(txn, name, rdataset)
    kind = dns.node.NodeKind.classify_rdataset(rdataset)
    if kind == dns.node.NodeKind.NEUTRAL:
        return
    node = txn.get_node(name)
    if node is None:
        return
    shown = name.to_text(omit_final_dot=True) or "."
    if rdataset.rdtype == dns.rdatatype.CNAME:
        old = node.get_rdataset(rdataset.rdclass, dns.rdatatype.CNAME)
        if old is not None and set(old) != set(rdataset):
            targets = " and ".join(rd.target.to_text() for rd in (*old, *rdataset))
            raise dns.zonefile.CNAMEAndOtherData(
                f"{shown} can have only one CNAME record (RFC 2181 section 10.1), here it "
                f"names {targets}: keep one")
    clash = [rds for rds in node.rdatasets
             if dns.node.NodeKind.classify_rdataset(rds) not in (kind, dns.node.NodeKind.NEUTRAL)]
    if not clash:
        return
    if kind == dns.node.NodeKind.CNAME:
        raise dns.zonefile.CNAMEAndOtherData(
            f"{shown} holds {_types(clash)}, so it cannot also have a CNAME: a name with a "
            "CNAME holds no other data (RFC 1034 section 3.6.2)")
    raise dns.zonefile.CNAMEAndOtherData(
        f"{shown} has a CNAME, so it cannot also hold {_types([rdataset])}: a name with a "
        "CNAME holds no other data (RFC 1034 section 3.6.2); put the record at the name "
        "the CNAME points to")


def _check_one_soa(txn: dns.transaction.Transaction, name: dns.name.Name,
                   rdataset: dns.rdataset.Rdataset) -> None:
    """Refuse a second, different SOA at ``name``: a zone has exactly one SOA record
    (RFC 1035 section 5.2, RFC 2181 section 6.1); dnspython kept the last of two lines."""
    node = txn.get_node(name)
    old = node.get_rdataset(rdataset.rdclass, dns.rdatatype.SOA) if node is not None else None
    if old is not None and set(old) != set(rdataset):
        shown = name.to_text(omit_final_dot=True) or "."
        raise dns.exception.SyntaxError(
            f"{shown} has two SOA records (serials {old[0].serial} and {rdataset[0].serial}): "
            "a zone has exactly one SOA (RFC 1035 section 5.2, RFC 2181 section 6.1); keep one")


def _check_merge(seen: dict[dns.name.Name, dict[tuple[int, int], tuple[dns.rrset.RRset, str]]],
                 rrsets: Iterable[dns.rrset.RRset], source: str) -> None:
    """Refuse ``rrsets`` (from ``source``) that break the CNAME rules with those ``seen``
    in the zone texts before it; add them to ``seen``.

    Each text was checked as it was read (:func:`_check_cname_rules`); texts given
    together are merged name by name, so the same rules must hold across them.
    """
    for rrset in rrsets:
        node = seen.setdefault(rrset.name, {})
        kind = dns.node.NodeKind.classify(rrset.rdtype, rrset.covers)
        if kind != dns.node.NodeKind.NEUTRAL:
            for other, where in node.values():
                other_kind = dns.node.NodeKind.classify(other.rdtype, other.covers)
                shown = rrset.name.to_text(omit_final_dot=True) or "."
                if other_kind not in (kind, dns.node.NodeKind.NEUTRAL):
                    raise ZoneError(
                        f"{shown}: {dns.rdatatype.to_text(other.rdtype)} in {where} and "
                        f"{dns.rdatatype.to_text(rrset.rdtype)} in {source}, but a name with "
                        "a CNAME holds no other data (RFC 1034 section 3.6.2; zone texts "
                        "given together are merged name by name)")
                if (rrset.rdtype == other.rdtype == dns.rdatatype.CNAME
                        and set(rrset) != set(other)):
                    raise ZoneError(
                        f"{shown} can have only one CNAME record (RFC 2181 section 10.1): "
                        f"{other[0].target} in {where}, {rrset[0].target} in {source}")
        node.setdefault((rrset.rdtype, rrset.covers), (rrset, source))


def _parse(zone: ZoneText) -> list[dns.rrset.RRset]:
    manager = dns.zonefile.RRSetsReaderManager(dns.name.root, False, dns.rdataclass.IN)
    tok = None
    try:
        with _Transaction(manager) as txn:
            tok = dns.tokenizer.Tokenizer(zone.text, zone.source)
            reader = dns.zonefile.Reader(tok, dns.rdataclass.IN, txn, allow_directives=True)
            reader.read()
    except dns.exception.SyntaxError as exc:
        text = str(exc)
        if tok is not None:  # dnspython's own line number, put right (see _error_line)
            said = f"{zone.source}:{tok.line_number}: "
            if text.startswith(said):
                text = f"{zone.source}:{_error_line(tok, zone.text)}: {text[len(said):]}"
        raise ZoneError(f"zone syntax error: {text}") from None
    except (dns.exception.DNSException, ValueError) as exc:
        line = _error_line(tok, zone.text) if tok is not None else "?"
        raise ZoneError(f"{zone.source}:{line}: {exc}") from None
    return list(manager.rrsets)


def _error_line(tok: dns.tokenizer.Tokenizer, text: str) -> int:
    """The line the reader was on when it failed.

    dnspython counts a line when it reads the newline that ends it, and many record
    errors are raised only after that newline (the end of the record), so its number is
    then one too high.  The line of the last character read (a character pushed back
    does not count) is the line in error.
    """
    file = tok.file
    pos = file.tell() if hasattr(file, "tell") else None
    if not isinstance(pos, int):
        return tok.line_number
    if tok.ungotten_char:
        pos -= len(tok.ungotten_char)
    pos = max(0, min(pos, len(text)))
    return text.count("\n", 0, pos) + 1 - (pos > 0 and text[pos - 1] == "\n")


# Parsed zone texts of this process: text -> RRsets that nobody outside this module
# ever holds (callers get copies).  Bounded, least recently used dropped first.
_CACHE_ENTRIES = 64
_CACHE_MAX_TEXT = 1 << 20  # a bigger text is parsed every time rather than kept
_cache: collections.OrderedDict[str, tuple[dns.rrset.RRset, ...]] = collections.OrderedDict()
_cache_lock = threading.Lock()


def _cacheable(text: str) -> bool:
    # $INCLUDE reads another file, whose later edits the text would not show
    return len(text) <= _CACHE_MAX_TEXT and "$include" not in text.lower()


def _parsed(zone: ZoneText) -> tuple[dns.rrset.RRset, ...]:
    """The RRsets of ``zone``, shared: read them, never change them."""
    if not _cacheable(zone.text):
        return tuple(_parse(zone))
    with _cache_lock:
        hit = _cache.get(zone.text)
        if hit is not None:
            _cache.move_to_end(zone.text)
            return hit
    rrsets = tuple(_parse(zone))  # outside the lock: two threads may both parse, once
    with _cache_lock:
        _cache[zone.text] = rrsets
        _cache.move_to_end(zone.text)
        while len(_cache) > _CACHE_ENTRIES:
            _cache.popitem(last=False)
    return rrsets


def clear_cache() -> None:
    """Forget the zone texts parsed so far in this process (the next load parses again)."""
    with _cache_lock:
        _cache.clear()


def parse(zone: ZoneText) -> list[dns.rrset.RRset]:
    """Parse one zone text into absolute RRsets; errors name the source and line.

    The RRsets are new objects, the caller's to change.
    """
    return [rrset.copy() for rrset in _parsed(zone)]


def load(zones: ZoneSource | None = None) -> list[dns.rrset.RRset]:
    """Read every zone in ``zones`` (see :func:`iter_sources`) into one list of RRsets.

    The RRsets are new objects, the caller's to change.
    """
    return [rrset.copy() for rrset in load_shared(zones)]


def load_shared(zones: ZoneSource | None = None) -> list[dns.rrset.RRset]:
    """Like :func:`load`, but the RRsets may be shared with other callers: only read
    them (or copy them, as :class:`~labkit.dns.authority.Authority` does)."""
    rrsets: list[dns.rrset.RRset] = []
    seen: dict[dns.name.Name, dict[tuple[int, int], tuple[dns.rrset.RRset, str]]] = {}
    for number, piece in enumerate(iter_sources(zones), 1):
        parsed = _parsed(piece)
        where = piece.source if piece.source != "<zone text>" else f"zone text {number}"
        _check_merge(seen, parsed, where)
        rrsets.extend(parsed)
    return rrsets


__all__ = ["ZoneText", "ZoneSource", "iter_sources", "parse", "load", "load_shared", "clear_cache"]
