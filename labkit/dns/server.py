"""LabDNS: a real authoritative DNS server on loopback (UDP and TCP).

    >>> import labkit as lk
    >>> with lk.dns.LabDNS() as lab:                       # doctest: +SKIP
    ...     lab.resolver().resolve("corp.example", "TXT")

It serves the course zones (or any zone text you give it) on 127.0.0.1 and an
ephemeral port, answers like an authoritative server (see :mod:`.authority`), sets
the TC bit when an answer does not fit in UDP so clients retry over TCP, can be told
to misbehave per name (``faults``), and logs every question in :attr:`LabDNS.queries`.
It holds no TSIG keys: a signed request gets NOTAUTH with an unsigned TSIG record
saying BADKEY (RFC 8945 section 5.2.1).


One deliberate departure: a name outside every zone it serves is answered NXDOMAIN
(with AA), where a real authoritative-only server would say REFUSED (RFC 1035
section 4.1.1: refused "for policy reasons", the common practice). The lab DNS
plays the whole fictional Internet, not one operator's servers among many: a name
it does not hold exists nowhere, and the labs' resolvers and SPF, DKIM and DMARC
checks should see "no such domain", not a server that declines to answer.  It
answers then as the root zone would: the NXDOMAIN carries the root's SOA (RFC 2308
section 3 asks an authoritative NXDOMAIN for its zone's SOA), and the names above
its zones (``example.``, ``arpa.``, the root) exist with no data (RFC 8020); see
:mod:`.authority`.

It runs in its own threads, so it works inside a Jupyter kernel that already has an
asyncio loop, and serves many clients at once.

Introduced in lab 00 (set-up); lab 02 (DNS) looks inside.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as _dt
import difflib
import io
import ipaddress
import logging
import numbers
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Mapping

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.node
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.resolver
import dns.reversename
import dns.rrset
import dns.ttl

from .. import _coerce
from .._coerce import looks_like_host_name
from ..errors import ServiceError, UsageError
from ..net import LOOPBACK, is_address
from ..service import Service
from . import zone as _zone
from .authority import Authority
from .cache import LabCache

log = logging.getLogger(__name__)

FAULT_KINDS = ("timeout", "servfail", "refused")
_TCP_IDLE = 10.0  # seconds for one whole TCP message (length and body), idle wait included
_TCP_PER_CLIENT = 200  # concurrent TCP connections from one address (many lab hosts share 127.0.0.1)


@dataclasses.dataclass(frozen=True)
class Query:
    """One question the server was asked, and what it answered."""

    time: _dt.datetime
    client: str
    transport: str
    name: str
    rdtype: str
    rcode: str
    answers: tuple[str, ...] = ()
    fault: str | None = None

    def to_dict(self) -> dict:
        """Plain data for ``--json`` and tables."""
        d = dataclasses.asdict(self)
        d["time"] = self.time.isoformat(timespec="milliseconds")
        return d

    def __str__(self) -> str:
        extra = f" [fault: {self.fault}]" if self.fault else ""
        shown = "; ".join(_short(a) for a in self.answers[:3]) + (" ..." if len(self.answers) > 3 else "")
        return f"{self.transport} {self.rdtype:5} {self.name} -> {self.rcode}{extra} {shown}".rstrip()


def _short(text: str, width: int = 72) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


class QueryLog(list):
    """The list of :class:`Query` entries, with readable text and HTML views."""

    def __str__(self) -> str:
        return "\n".join(str(q) for q in self) or "(no queries yet)"

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (q.transport, q.rdtype, q.name, q.rcode + (f" ({q.fault})" if q.fault else ""),
                          "; ".join(q.answers))
            )
            + "</tr>"
            for q in self
        )
        head = "".join(f"<th>{h}</th>" for h in ("via", "type", "name", "answer code", "answers"))
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def parse_fault(spec: str) -> tuple[str, str]:
    """Parse ``NAME[/TYPE]=KIND`` into ``(key, kind)``; raise UsageError if malformed."""
    if not isinstance(spec, str):
        raise UsageError(f"a fault is text such as 'brand.example/TXT=servfail', "
                         f"not {type(spec).__name__}")
    key, sep, kind = spec.partition("=")
    if not sep or not key or not kind:
        raise UsageError(
            f"malformed fault {spec!r}: use NAME=KIND or NAME/TYPE=KIND, KIND one of {', '.join(FAULT_KINDS)}"
        )
    return _fault_key(key), _fault_kind(kind)


def _fault_kind(kind: str) -> str:
    if not isinstance(kind, str):
        raise UsageError(f"a fault kind is one of {', '.join(FAULT_KINDS)}, "
                         f"not {type(kind).__name__} {kind!r}")
    kind = kind.strip().lower()
    if kind not in FAULT_KINDS:
        raise UsageError(f"unknown fault kind {kind!r}: accepted kinds are {', '.join(FAULT_KINDS)}")
    return kind


def _fault_key(key: str) -> str:
    if not isinstance(key, str):
        raise UsageError(f"a fault target is 'name' or 'name/TYPE' such as 'brand.example/TXT', "
                         f"not {type(key).__name__}")
    name, _, rdtype = key.strip().partition("/")
    if not name.strip():
        raise UsageError(f"malformed fault target {key!r}: the name is empty "
                         "(use 'name' or 'name/TYPE', such as 'brand.example/TXT')")
    if any(c.isspace() for c in name.strip()):  # dnspython takes "a b" as one label, a\032b
        raise UsageError(f"malformed fault target {key!r}: a name has no white space in it "
                         "(use 'name' or 'name/TYPE', such as 'brand.example/TXT')")
    try:
        text = dns.name.from_text(name).to_text().lower()
        if rdtype:
            text += "/" + dns.rdatatype.to_text(_record_type(rdtype))
    except (dns.exception.DNSException, ValueError) as exc:
        raise UsageError(f"malformed fault target {key!r}: {exc}") from None
    return text


#: the largest UDP reply sent, and the EDNS buffer size announced in replies: 1232 bytes,
#: the size DNS Flag Day 2020 asked servers to use so that no reply needs IP
#: fragmentation.  A larger answer is truncated (TC) and the
#: client retries over TCP.  dnspython's default announcement was 8192.
UDP_PAYLOAD = 1232


def _formerr(data: bytes) -> bytes | None:
    """A bare FORMERR reply to a packet we could not parse (None if not even a header)."""
    if len(data) < 12:
        return None
    (qid, flags) = struct.unpack("!HH", data[:4])
    if flags & 0x8000:  # a response: never answer those
        return None
    # opcode, RD and CD copied (CD: RFC 4035 section 3.2.2, as in every reply)
    reply_flags = 0x8000 | (flags & 0x7800) | (flags & (0x0100 | 0x0010)) | dns.rcode.FORMERR
    return struct.pack("!HHHHHH", qid, reply_flags, 0, 0, 0, 0)


def _tsig_badkey(query: dns.message.Message, response: dns.message.Message) -> bytes:
    """``response`` with an unsigned TSIG record saying BADKEY, for a signed ``query``.

    LabDNS holds no TSIG keys, so every key is unknown to it: RFC 8945 section 5.2.1
    asks for RCODE NOTAUTH with TSIG error BADKEY, and that reply is unsigned
    (section 5.3.2: MAC size 0). It names the client's key and algorithm so that the
    client can match it to its request; the request's MAC is not echoed. dnspython
    signs any TSIG it writes, so the record is appended to the wire here, last in the
    additional section (after an OPT record if there is one).
    """
    tsig = query.tsig[0]
    rdata = dns.rdtypes.ANY.TSIG.TSIG(
        dns.rdataclass.ANY, dns.rdatatype.TSIG, tsig.algorithm, int(time.time()),
        tsig.fudge, b"", tsig.original_id, dns.rcode.BADKEY, b"",
    )
    record = io.BytesIO()
    dns.rrset.from_rdata(query.keyname, 0, rdata).to_wire(record)
    wire = bytearray(response.to_wire())
    (arcount,) = struct.unpack_from("!H", wire, 10)
    struct.pack_into("!H", wire, 10, arcount + 1)
    return bytes(wire) + record.getvalue()


#: the types a lab record usually has, offered when a type is misspelt
COMMON_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "CAA")
#: the largest TTL: RFC 2181 section 8 keeps the top bit 0 (larger ones count as 0)
MAX_TTL = 2**31 - 1


def _owner(name: str) -> dns.name.Name:
    """The owner name of a record; an address or empty text is a :class:`UsageError`."""
    if not name.strip():
        raise UsageError("the name is empty: give a domain name such as 'www.corp.example'")
    _coerce.domain(name, "name", example="www.corp.example")  # an address: the part after @
    try:
        return dns.name.from_text(name.strip())
    except dns.exception.DNSException as exc:
        raise UsageError(f"{name!r} is not a valid domain name: {exc}") from None


def _record_type(rdtype: str) -> dns.rdatatype.RdataType:
    """The type code for ``rdtype`` (any case); a misspelt type names the common one meant."""
    key = rdtype.strip().upper()
    if not key:
        raise UsageError("the record type is empty: give one such as 'A' or 'TXT'")
    try:
        return dns.rdatatype.from_text(key)
    except (dns.exception.DNSException, ValueError):
        near = difflib.get_close_matches(key, COMMON_TYPES, n=1)
        hint = (f"did you mean {near[0]!r}?" if near
                else f"common types: {', '.join(COMMON_TYPES)}")
        raise UsageError(f"unknown record type {rdtype!r} ({hint})") from None


def _ttl(ttl: object) -> int:
    """A TTL in seconds: a whole number, or zone-file text such as ``"300"`` or ``"1h"``.

    A negative or too large TTL used to be stored, and then every answer with it failed
    inside the server (the client saw a time-out).
    """
    if isinstance(ttl, bool) or not isinstance(ttl, (numbers.Integral, str)):
        raise UsageError(f"ttl must be a whole number of seconds such as 300, not "
                         f"{type(ttl).__name__} {ttl!r}")
    if isinstance(ttl, str):
        try:
            seconds = dns.ttl.from_text(ttl.strip())
        except dns.exception.DNSException:
            raise UsageError(f"ttl {ttl!r} is not a TTL: give seconds such as 300 "
                             "(or zone-file units such as '1h')") from None
    else:
        seconds = int(ttl)
    if not 0 <= seconds <= MAX_TTL:
        raise UsageError(f"ttl must be from 0 to {MAX_TTL} seconds (RFC 2181 section 8), "
                         f"not {ttl!r}")
    return seconds


def _check_data(code: int, text: str) -> None:
    """Refuse an address where a PTR or CNAME record needs a host name."""
    if code in (dns.rdatatype.PTR, dns.rdatatype.CNAME) and is_address(text.strip()):
        kind = dns.rdatatype.to_text(code)
        raise UsageError(f"{kind} data is a host name such as 'mx.corp.example.', not the "
                         f"address {text.strip()!r}"
                         + (": the address goes in the name, reversed" if kind == "PTR" else
                            ": to give a name an address, use an A record"))


def _data_hint(code: int, texts: tuple[str, ...]) -> str:
    """A hint for record data that did not parse, for the usual mix-ups."""
    first = texts[0].strip() if texts else ""
    if code in (dns.rdatatype.A, dns.rdatatype.AAAA) and looks_like_host_name(first):
        return (f". {dns.rdatatype.to_text(code)} data is an address such as '203.0.113.5', "
                "not a host name: to make this name another name for that host, use CNAME")
    if code == dns.rdatatype.MX and len(first.split()) == 1:
        return ". MX data is a preference and a host name, e.g. '10 mx.corp.example.'"
    return ""


def _typo_distance(a: str, b: str) -> int:
    """Edits (insert, delete, change, swap two neighbours) between ``a`` and ``b``."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, prev2[j - 2] + 1)
            row.append(cost)
        prev2, prev = prev, row
    return prev[-1]


def _near_miss(owner: dns.name.Name, apexes: frozenset[dns.name.Name]) -> str | None:
    """``owner`` with its zone part put right, if that part is one typo from a served zone."""
    labels = owner.to_text(omit_final_dot=True).lower().split(".")
    for apex in sorted(apexes):
        zone = apex.to_text(omit_final_dot=True).lower()
        size = len(zone.split("."))
        if len(labels) >= size and _typo_distance(".".join(labels[-size:]), zone) == 1:
            return ".".join([*labels[:-size], zone])
    return None


_NXNAME = 128  # RFC 9824 (dnspython 2.9 names it; older versions do not)


def _refusal(rdclass: int, rdtype: int) -> int | None:
    """The rcode for a question this server does not answer from its data (None: answer it).

    Other classes than IN (``CH TXT version.bind``) are REFUSED; so are zone
    transfers (RFC 5936 section 2.2.1: a server may refuse AXFR; IXFR likewise);
    an explicit NXNAME question is FORMERR (RFC 9824 section 3.5: the type only
    marks non-existence inside NSEC bitmaps); other meta-types (MAILA, MAILB, OPT,
    TSIG, TKEY) are NOTIMP. ANY is answered.
    """
    if rdclass != dns.rdataclass.IN or rdtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR):
        return dns.rcode.REFUSED
    if rdtype == _NXNAME:
        return dns.rcode.FORMERR
    if dns.rdatatype.is_metatype(rdtype) and rdtype != dns.rdatatype.ANY:
        return dns.rcode.NOTIMP
    return None


def _bind_address(host: str, allow_remote: bool) -> None:
    """A :class:`UsageError` unless ``host`` is an IP address, and a loopback one when
    ``allow_remote`` is False: the lab DNS serves this machine, never the network
    (``0.0.0.0`` would answer every interface), and its :meth:`LabDNS.resolver` needs an
    address, not a name."""
    if not is_address(host):
        raise UsageError(f"host must be an IP address to bind, such as {LOOPBACK!r}, not {host!r}")
    if ipaddress.ip_address(host.strip()).version != 4:
        raise UsageError(f"host {host!r}: the lab DNS listens on IPv4 only; use {LOOPBACK!r} "
                         "or another 127.x.y.z (it still serves AAAA records)")
    if not allow_remote and not ipaddress.ip_address(host.strip()).is_loopback:
        raise UsageError(f"host {host!r} is not a loopback address: the lab DNS answers this "
                         f"machine only (use {LOOPBACK!r} or another 127.x.y.z; "
                         "allow_remote=True serves the network, if you really mean it)")


class LabDNS(Service):
    """A real DNS server for the lab Internet, on loopback (UDP and TCP).

    Args:
        zones: RFC 1035 master-file text, a path (file or folder of ``*.zone``),
            or a list of either. ``None`` serves the course zones (``data/zones``).
        faults: mapping of ``"name"`` or ``"name/TYPE"`` to ``"timeout"`` (no
            answer), ``"servfail"`` or ``"refused"``.
        host: the IPv4 loopback address to bind (``127.0.0.1`` or another
            ``127.x.y.z``): the lab DNS answers this machine only.
        allow_remote: ``True`` lets ``host`` be an address off loopback (such as
            ``0.0.0.0``, every interface), as ``SMTPServer(allow_remote=True)``.
        port: ``0`` (default) picks a free ephemeral port, used for UDP and TCP.
        tcp_timeout: seconds a TCP client has to send each whole query (its
            length prefix and body, RFC 7766 6.2.3), idle wait included; then the
            server hangs up.
        tcp_max_per_client: concurrent TCP connections accepted from one address
            (RFC 7766 6.2.2); more are closed at once.

    Attributes: ``host``, ``port``, ``queries`` (a :class:`QueryLog`).

    Introduced in lab 00 (set-up).
    """

    name = "LabDNS"

    def __init__(
        self,
        zones: _zone.ZoneSource | None = None,
        faults: Mapping[str, str] | None = None,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        tcp_timeout: float = _TCP_IDLE,
        tcp_max_per_client: int = _TCP_PER_CLIENT,
        allow_remote: bool = False,
    ) -> None:
        super().__init__()
        # a wrong type is a TypeError, a wrong value a UsageError (as everywhere in labkit)
        port = _coerce.port(port, zero=True)
        tcp_timeout = _coerce.seconds(tcp_timeout, "tcp_timeout")
        tcp_max_per_client = _coerce.count(tcp_max_per_client, "tcp_max_per_client")
        if not _coerce.text(host, "host", example=LOOPBACK).strip():
            raise UsageError(f"host must be an address to bind as text, such as {LOOPBACK!r}, "
                             f"not {host!r}")
        _bind_address(host, _coerce.flag(allow_remote, "allow_remote"))
        if faults is not None and not isinstance(faults, Mapping):
            hint = ""
            if isinstance(faults, (str, list, tuple)):
                hint = (" (for 'NAME/TYPE=KIND' texts: faults=dict(lk.dns.parse_fault(f) "
                        "for f in ...))")
            raise TypeError(f"faults must be a mapping such as {{'brand.example/TXT': "
                            f"'servfail'}}, not {type(faults).__name__}{hint}")
        self.host = host
        self._requested_port = port
        self.port = port
        self.authority = Authority(_zone.load_shared(zones))  # Authority copies each RRset
        self._faults: dict[str, str] = {}
        self._fault_changes = 0
        for key, kind in (faults or {}).items():
            self.set_fault(key, kind)
        self._log_lock = threading.Lock()
        self._queries = QueryLog()
        self._udp: socketserver.UDPServer | None = None
        self._tcp: socketserver.ThreadingTCPServer | None = None
        self._threads: list[threading.Thread] = []
        self.tcp_timeout = tcp_timeout
        self.tcp_max_per_client = tcp_max_per_client
        self._conns_lock = threading.Lock()
        self._tcp_conns: set[socket.socket] = set()
        self._tcp_clients: collections.Counter[str] = collections.Counter()

    # -- faults and data --------------------------------------------------------------
    def set_fault(self, target: str, kind: str) -> None:
        """Make ``target`` (``name`` or ``name/TYPE``) misbehave: timeout, servfail, refused.

        A name outside the served zones is taken (it plays a domain elsewhere whose
        servers fail), unless it is one typo from a served zone: then the fault would
        never fire where it was meant, and a :class:`UsageError` names the zone.
        """
        key, kind = _fault_key(target), _fault_kind(kind)
        owner = dns.name.from_text(key.partition("/")[0])
        apexes = self.authority.apexes
        if apexes and not any(owner.is_subdomain(apex) for apex in apexes):
            near = _near_miss(owner, apexes)
            if near:
                raise UsageError(f"fault target {target!r} is in none of the zones this LabDNS "
                                 f"serves (did you mean {near!r}?)")
        self._faults[key] = kind
        self._fault_changes += 1

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._faults.clear()
        self._fault_changes += 1

    @property
    def generation(self) -> int:
        """A counter that grows with every change of what the server answers.

        Bumped by :meth:`add`, :meth:`remove`, :meth:`set_fault` and
        :meth:`clear_faults` (after the change is in force); a
        :class:`labkit.dns.cache.LabCache` flushes itself when it moves.
        """
        return self.authority.generation + self._fault_changes

    @property
    def faults(self) -> dict[str, str]:
        """The faults in force (a copy)."""
        return dict(self._faults)

    def _fault_for(self, qname: dns.name.Name, rdtype: int) -> str | None:
        name = qname.to_text().lower()
        return self._faults.get(f"{name}/{dns.rdatatype.to_text(rdtype)}") or self._faults.get(name)

    def add(self, name: str, rdtype: str, *texts: str, ttl: int = 300) -> None:
        """Publish (replace) the ``rdtype`` records at ``name``, given in zone-file text.

        ``lab.add("corp.example", "TXT", '"v=spf1 -all"')`` — TXT strings keep their
        quotes, as in a zone file.  An unquoted TXT text with a space in it is refused
        (a zone file would cut it into one string per word, and ``v=spf1 -all`` would
        read as ``v=spf1-all``); a list of values is read as the values one by one.
        ``name`` must lie in a zone this server serves (a name outside them would be
        answered NXDOMAIN whatever it holds): a typo there is a :class:`UsageError`
        that lists the zones.  An SOA record starts a new zone, so add that first.
        The CNAME rules hold here as in a zone file: one CNAME record per name, and
        no other data beside it (a :class:`UsageError` says which records clash).
        """
        if not isinstance(name, str):
            raise TypeError(f"name must be a domain name such as 'www.corp.example', "
                            f"not {type(name).__name__}")
        if not isinstance(rdtype, str):
            raise TypeError(f"rdtype must be a record type such as 'A' or 'TXT', "
                            f"not {type(rdtype).__name__}")
        owner = _owner(name)
        code = _record_type(rdtype)
        ttl = _ttl(ttl)
        if len(texts) == 1 and isinstance(texts[0], (list, tuple)):
            texts = tuple(texts[0])
        if not texts:
            raise UsageError(f"no data for {name} {rdtype}: give the record data, e.g. "
                             f"add({name!r}, 'A', '203.0.113.5')")
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"record data must be zone-file text such as '203.0.113.5' "
                                f"or '\"v=spf1 -all\"', not {type(text).__name__}")
            if (code in (dns.rdatatype.TXT, dns.rdatatype.SPF) and '"' not in text
                    and len(text.split()) > 1):
                raise UsageError(f"TXT data with spaces must be quoted, as in a zone file: "
                                 f"add({name!r}, {rdtype!r}, '\"{text}\"'); unquoted, each "
                                 f"word would be its own string")
            _check_data(code, text)
        try:
            # names in the data are full names, final dot or not (a relative one could
            # not be sent: each answer would fail inside the server, a silent time-out)
            rrset = dns.rrset.from_text_list(owner, ttl, dns.rdataclass.IN, code, list(texts),
                                             origin=dns.name.root, relativize=False)
        except (dns.exception.DNSException, ValueError) as exc:
            raise UsageError(f"bad record {name} {rdtype} {texts!r}: {str(exc).rstrip('.')}"
                             f"{_data_hint(code, texts)}") from None
        if rrset.rdtype != dns.rdatatype.SOA:  # an SOA starts a zone of its own
            self._check_served(owner)
        self._check_cname_rules(owner, rrset, len(texts))
        self.authority.replace(rrset)

    def _check_cname_rules(self, owner: dns.name.Name, rrset: dns.rrset.RRset,
                           given: int) -> None:
        """A :class:`UsageError` if ``rrset`` would break the CNAME rules at ``owner``.

        RFC 1034 section 3.6.2 and RFC 2181 section 10.1: a name with a CNAME holds
        no other data (DNSSEC records aside), and it has one CNAME record.  The zone
        reader refuses the first; without this check ``add`` stored it, and the server
        then answered one type as an alias and another as a plain name.  Of ``given``
        CNAME texts, dnspython keeps only the last, silently.
        """
        shown = owner.to_text(omit_final_dot=True)
        if rrset.rdtype == dns.rdatatype.CNAME and given > 1:
            raise UsageError(f"{shown} can have only one CNAME record (RFC 2181 section "
                             f"10.1: a name is an alias of one name), not {given}")
        kind = dns.node.NodeKind.classify(rrset.rdtype, rrset.covers)
        if kind == dns.node.NodeKind.NEUTRAL:
            return
        clash = sorted({dns.rdatatype.to_text(rr.rdtype) for rr in self.authority.rrsets()
                        if rr.name == owner and rr.rdtype != rrset.rdtype
                        and dns.node.NodeKind.classify(rr.rdtype, rr.covers)
                        not in (kind, dns.node.NodeKind.NEUTRAL)})
        if not clash:
            return
        if kind == dns.node.NodeKind.CNAME:
            raise UsageError(f"{shown} already holds {', '.join(clash)}: a name with a CNAME "
                             "holds no other data (RFC 1034 section 3.6.2), so it cannot "
                             f"become an alias. Remove them first (remove({shown!r})), or "
                             "put the CNAME at another name")
        raise UsageError(f"{shown} is an alias (it has a CNAME), and a name with a CNAME "
                         "holds no other data (RFC 1034 section 3.6.2): add "
                         f"{dns.rdatatype.to_text(rrset.rdtype)} records to the name it points "
                         f"to, or remove the CNAME first (remove({shown!r}, 'CNAME'))")

    def remove(self, name: str, rdtype: str | None = None) -> int:
        """Withdraw the records at ``name`` (only ``rdtype`` if given); return how many RRsets went.

        A name that holds nothing and lies in none of the served zones is a
        :class:`UsageError` (a typo would otherwise remove nothing, silently).
        """
        if not isinstance(name, str):
            raise TypeError(f"name must be a domain name such as 'www.corp.example', "
                            f"not {type(name).__name__}")
        if rdtype is not None and not isinstance(rdtype, str):
            raise TypeError(f"rdtype must be a record type such as 'A' or 'TXT' (or None for "
                            f"every type), not {type(rdtype).__name__}")
        owner = _owner(name)
        code = _record_type(rdtype) if rdtype is not None else None
        removed = self.authority.remove(owner, code)
        if not removed and not any(rr.name == owner for rr in self.authority.rrsets()):
            self._check_served(owner)
        return removed

    def _check_served(self, owner: dns.name.Name) -> None:
        """A :class:`UsageError` if ``owner`` lies in none of the zones served here.

        Records there would never be answered (names outside its zones are answered
        from the root zone the lab plays: NXDOMAIN, or no data above its zones), so a
        typo in the zone part of a name fails here, with the zones listed and, for a
        near miss, the name meant.  A LabDNS whose data has no
        SOA at all answers for every name, and takes any.
        """
        apexes = self.authority.apexes
        if not apexes or any(owner.is_subdomain(apex) for apex in apexes):
            return
        shown = owner.to_text(omit_final_dot=True) or "."
        zones = sorted(apex.to_text(omit_final_dot=True) for apex in apexes)
        near = _near_miss(owner, apexes)
        hint = ""
        if is_address(shown):
            hint = (" A PTR record's name is the address reversed: "
                    f"{dns.reversename.from_address(shown).to_text(omit_final_dot=True)!r}.")
        elif not near:
            hint = (" To serve a new zone, add its SOA record first: "
                    f"add({shown!r}, 'SOA', 'ns1.labdns.example. hostmaster.{shown}. "
                    "1 3600 600 86400 300').")
        raise UsageError(f"{shown} is in none of the zones this LabDNS serves"
                         + (f" (did you mean {near!r}?)" if near else "")
                         + f": records there would never be answered (NXDOMAIN).{hint} "
                         f"Zones served: {', '.join(zones)}.")

    # -- the query log ----------------------------------------------------------------
    @property
    def queries(self) -> QueryLog:
        """What the server was asked so far, oldest first (a copy)."""
        with self._log_lock:
            return QueryLog(self._queries)

    def clear_queries(self) -> None:
        """Forget the query log (to watch one experiment at a time)."""
        with self._log_lock:
            self._queries.clear()

    def _record(self, entry: Query) -> None:
        with self._log_lock:
            self._queries.append(entry)
            if len(self._queries) > 100_000:  # bounded memory in long sessions
                del self._queries[:50_000]

    # -- answering --------------------------------------------------------------------
    def handle(self, data: bytes, client: str, transport: str) -> bytes | None:
        """Turn one query packet into a reply packet (``None``: stay silent).

        Over UDP the reply must fit 512 bytes, or the EDNS size the client announced;
        a larger answer is sent empty with the TC bit so the client retries over TCP.
        """
        try:
            # keyring=False: a TSIG record is read, not verified (no keys here); one
            # that is not the last record is still a FORMERR (RFC 8945 section 5.2)
            query = dns.message.from_wire(data, keyring=False)
        except dns.message.ShortHeader:
            return None
        except Exception:  # noqa: BLE001 - any malformed packet: FORMERR, never a crash
            return _formerr(data)
        if query.flags & dns.flags.QR:
            return None
        response = dns.message.make_response(query, our_payload=UDP_PAYLOAD)
        # RFC 4035 section 3.2.2: a security-aware name server copies the CD bit of the
        # query into the response (dnspython copies only RD); validating resolvers set
        # CD on every query they send upstream (RFC 6840 section 5.9)
        response.flags |= query.flags & dns.flags.CD
        # RFC 3225 section 3: the query's DO bit is copied into the reply (the other
        # flag bits are unassigned and stay 0 here, RFC 6891 section 6.1.4)
        response.ednsflags |= query.ednsflags & dns.flags.DO
        if query.had_tsig:  # before anything else: the key check (RFC 8945 section 5.2)
            return self._refuse_signed(query, response, client, transport)
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response.to_wire()
        if query.edns > 0:  # RFC 6891 section 6.1.3: only EDNS version 0 is spoken here
            response.set_rcode(dns.rcode.BADVERS)
            return response.to_wire()
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        qname, qtype = question.name, question.rdtype
        fault = self._fault_for(qname, qtype)
        entry = dict(
            time=_dt.datetime.now(_dt.timezone.utc),
            client=client,
            transport=transport,
            name=qname.to_text(),
            rdtype=dns.rdatatype.to_text(qtype),
        )
        if fault == "timeout":
            self._record(Query(**entry, rcode="(no answer)", fault=fault))
            return None
        if fault in ("servfail", "refused"):
            response.set_rcode(dns.rcode.SERVFAIL if fault == "servfail" else dns.rcode.REFUSED)
            self._record(Query(**entry, rcode=dns.rcode.to_text(response.rcode()), fault=fault))
            return response.to_wire()
        refusal = _refusal(question.rdclass, qtype)
        if refusal is not None:
            response.set_rcode(refusal)
            self._record(Query(**entry, rcode=dns.rcode.to_text(refusal)))
            return response.to_wire()
        result = self.authority.answer(qname, qtype)
        # AA only on answers from our data (RFC 1035 section 4.1.1): not on refusals,
        # nor on a referral to a delegated zone
        if result.authoritative:
            response.flags |= dns.flags.AA
        response.set_rcode(result.rcode)
        response.answer = [rr.copy() for rr in result.answer]
        response.authority = [rr.copy() for rr in result.authority]
        response.additional = [rr.copy() for rr in result.additional]
        texts = tuple(
            f"{rr.name.to_text()} {dns.rdatatype.to_text(rr.rdtype)} {rd.to_text()}"
            if rr.name != qname
            else rd.to_text()
            for rr in result.answer
            for rd in rr
        )
        try:
            if transport == "udp":
                # RFC 6891 section 6.2.5: the smaller of the client's size and ours
                max_size = max(512, min(query.payload, UDP_PAYLOAD)) if query.edns >= 0 else 512
            else:
                max_size = 65535
            wire = response.to_wire(max_size=max_size)
            truncated = False
        except dns.exception.TooBig:
            response.answer = []
            response.authority = []
            response.additional = []
            response.flags |= dns.flags.TC
            wire = response.to_wire()
            truncated = True
        rcode = dns.rcode.to_text(result.rcode) + (" TC" if truncated else "")
        self._record(Query(**entry, rcode=rcode, answers=() if truncated else texts))
        return wire

    def _refuse_signed(self, query: dns.message.Message, response: dns.message.Message,
                       client: str, transport: str) -> bytes:
        """NOTAUTH with an unsigned TSIG BADKEY record: LabDNS knows no TSIG keys."""
        response.set_rcode(dns.rcode.NOTAUTH)
        question = query.question[0] if query.question else None
        self._record(Query(
            time=_dt.datetime.now(_dt.timezone.utc),
            client=client,
            transport=transport,
            name=question.name.to_text() if question is not None else "",
            rdtype=dns.rdatatype.to_text(question.rdtype) if question is not None else "",
            rcode="NOTAUTH BADKEY",
        ))
        # RFC 8945 section 5.2.1: the server SHOULD log the error. Never the key's
        # name or MAC: only that a signed request came and was refused.
        log.info("LabDNS: TSIG-signed %s request from %s answered NOTAUTH/BADKEY "
                 "(this server holds no TSIG keys)", transport.upper(), client)
        return _tsig_badkey(query, response)

    # -- sockets ------------------------------------------------------------------------
    def _start(self) -> None:
        lab = self

        class UDPHandler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                try:
                    reply = lab.handle(data, self.client_address[0], "udp")
                    if reply is not None:
                        sock.sendto(reply, self.client_address)
                except Exception:  # noqa: BLE001 - one bad packet never stops the server
                    log.exception("LabDNS: error while answering a UDP query")

        class TCPHandler(socketserver.BaseRequestHandler):
            def setup(self) -> None:
                client = self.client_address[0]
                with lab._conns_lock:
                    self.admitted = lab._tcp_clients[client] < lab.tcp_max_per_client
                    if self.admitted:
                        lab._tcp_clients[client] += 1
                        lab._tcp_conns.add(self.request)

            def finish(self) -> None:
                if not self.admitted:
                    return
                client = self.client_address[0]
                with lab._conns_lock:
                    lab._tcp_conns.discard(self.request)
                    lab._tcp_clients[client] -= 1
                    if not lab._tcp_clients[client]:
                        del lab._tcp_clients[client]

            def handle(self) -> None:
                conn: socket.socket = self.request
                if not self.admitted:  # RFC 7766 6.2.2: a cap per client address
                    log.info("LabDNS: TCP connection from %s refused: %d already open",
                             self.client_address[0], lab.tcp_max_per_client)
                    return
                try:
                    while True:
                        # RFC 7766 6.2.3: the whole message within the time-out, not
                        # each read (a byte every few seconds held a thread forever)
                        deadline = time.monotonic() + lab.tcp_timeout
                        head = _recv_exact(conn, 2, deadline)
                        if head is None:
                            return
                        (length,) = struct.unpack("!H", head)
                        data = _recv_exact(conn, length, deadline)
                        if data is None:
                            return
                        reply = lab.handle(data, self.client_address[0], "tcp")
                        if reply is None:
                            continue  # "timeout" fault or junk: say nothing
                        conn.settimeout(lab.tcp_timeout)  # sendall: a bound on the whole reply
                        conn.sendall(struct.pack("!H", len(reply)) + reply)
                except (TimeoutError, OSError):
                    return
                except Exception:  # noqa: BLE001
                    log.exception("LabDNS: error while answering a TCP query")

        class UDPServer(socketserver.UDPServer):
            # One thread reads and answers every datagram in turn: answering is pure
            # computation (a "timeout" fault just stays silent), so a thread per packet
            # only added start-up cost; waiting clients queue in the socket buffer.
            allow_reuse_address = False

            def server_bind(self) -> None:
                try:  # room for bursts from many concurrent clients
                    self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                except OSError:
                    pass
                super().server_bind()

        class TCPServer(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            # socketserver's default backlog of 5 dropped connections (SYN retried
            # after 1 s) when many resolvers fell back to TCP at once (RFC 7766 6.2.2)
            request_queue_size = socket.SOMAXCONN

        last_error: OSError | None = None
        for _ in range(1 if self._requested_port else 20):
            try:
                udp = UDPServer((self.host, self._requested_port), UDPHandler)
            except OSError as exc:
                raise ServiceError(
                    f"LabDNS cannot use UDP port {self._requested_port} on {self.host}: {exc.strerror}. "
                    "Choose another port, or 0 for a free one."
                ) from None
            port = udp.server_address[1]
            try:
                tcp = TCPServer((self.host, port), TCPHandler)
            except OSError as exc:
                udp.server_close()
                last_error = exc
                continue
            break
        else:
            raise ServiceError(
                f"LabDNS cannot use TCP port {self._requested_port or 'any'} on {self.host}: "
                f"{last_error.strerror if last_error else 'in use'}. Choose another port, or 0 for a free one."
            )
        self._udp, self._tcp, self.port = udp, tcp, port
        self._threads = [
            threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                             name=f"LabDNS-{kind}-{port}", daemon=True)
            for kind, srv in (("udp", udp), ("tcp", tcp))
        ]
        for t in self._threads:
            t.start()
        log.info("LabDNS serving on %s port %d (UDP and TCP)", self.host, port)

    def _stop(self) -> None:
        # Both loops at once: each notices shutdown() only at its next poll, so one
        # after the other often cost two poll intervals (0.1 s) instead of one.
        servers = [srv for srv in (self._udp, self._tcp) if srv is not None]
        helpers = [threading.Thread(target=srv.shutdown, name=f"LabDNS-stop-{self.port}", daemon=True)
                   for srv in servers[1:]]
        for t in helpers:
            t.start()
        if servers:
            servers[0].shutdown()
        for t in helpers:
            t.join()
        for srv in servers:
            srv.server_close()
        with self._conns_lock:  # open TCP clients: hang up now, not after the idle time-out
            for conn in self._tcp_conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for t in self._threads:
            t.join(timeout=2)
        self._udp = self._tcp = None
        self._threads = []
        self.port = self._requested_port

    # -- clients ------------------------------------------------------------------------
    def resolver(self, timeout: float = 2.0, *, cache: bool = False,
                 max_ttl: float | None = None) -> dns.resolver.Resolver:
        """A dnspython Resolver that asks this server (and nothing else).

        ``cache=True`` gives it a :class:`~labkit.dns.cache.LabCache`: answers are
        reused until this server's data or faults change (then dropped at once), and
        at most ``max_ttl`` seconds if given.
        """
        timeout = _coerce.seconds(timeout)
        cache = _coerce.flag(cache, "cache")
        if max_ttl is not None:
            max_ttl = _coerce.seconds(max_ttl, "max_ttl", zero=True)
        if not self.running:
            raise ServiceError("LabDNS is not running: call start() or use it in a 'with' block")
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = [self.host]
        res.port = self.port
        res.timeout = timeout
        res.lifetime = timeout
        res.cache = LabCache(lambda: self.generation, max_ttl=max_ttl) if cache else None
        return res

    @property
    def address(self) -> str:
        """``host:port`` for display."""
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        return f"<LabDNS {self.address} {self.state.value}, {len(self.authority.rrsets())} RRsets>"


def _recv_exact(conn: socket.socket, n: int, deadline: float) -> bytes | None:
    """``n`` bytes, or None if the peer hangs up; TimeoutError once ``deadline`` passes."""
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("TCP message not complete in time")
        conn.settimeout(left)
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


__all__ = ["LabDNS", "Query", "QueryLog", "FAULT_KINDS", "parse_fault"]
