"""Authoritative answers from zone data (no sockets here).

Given a question, :class:`Authority` answers the way an authoritative server does:
exact matches, CNAME chains followed inside its own data (with a loop guard),
RFC 4592 wildcards, NXDOMAIN kept apart from NOERROR with no data (empty
non-terminals exist), the SOA in the authority section of negative answers, and a
referral (the NS records and their glue, not authoritative) for names at or below
a delegation to a zone it does not serve.
Names are compared case-insensitively (dnspython names do that).  A name outside
every zone is NXDOMAIN, not REFUSED: the lab DNS plays the whole Internet (see
:mod:`labkit.dns.server`), so it speaks for the root zone above its zones too.  That
root holds nothing but an SOA (:data:`ROOT_SOA`, unless the data brings a root zone of
its own): it is the SOA an authoritative NXDOMAIN must carry (RFC 2308 section 3), and
the names between the root and each zone (``example.``, ``arpa.``) exist, empty, since
something lies below them (RFC 8020: NXDOMAIN means nothing below).

Not named in the labs: :class:`labkit.dns.LabDNS` (from lab 00) answers with it.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable

import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

MAX_CNAME_CHAIN = 16

#: the SOA of the root zone the lab DNS stands in for, used when its data has none:
#: in negative answers for names outside every zone (its MINIMUM, 60 s, is how long a
#: resolver may keep them, RFC 2308 section 5) and as the answer to ``. SOA``
ROOT_SOA = dns.rrset.from_text(dns.name.root, 300, dns.rdataclass.IN, dns.rdatatype.SOA,
                               "ns1.labdns.example. hostmaster.labdns.example. "
                               "1 3600 600 86400 60")


def _key(name: dns.name.Name) -> tuple[bytes, ...]:
    """The name's labels as compared in DNS (ASCII case folded, as dnspython compares)."""
    return tuple(label.lower() for label in name.labels)


@dataclasses.dataclass(frozen=True)
class Answer:
    """The outcome of one question: rcode, the answer, authority and additional RRsets,
    and whether the server speaks with authority (the AA bit; False for a referral)."""

    rcode: int
    answer: tuple[dns.rrset.RRset, ...] = ()
    authority: tuple[dns.rrset.RRset, ...] = ()
    additional: tuple[dns.rrset.RRset, ...] = ()
    authoritative: bool = True


class Authority:
    """An in-memory authoritative data set; safe to read and change from many threads.

    ``generation`` counts the changes made (``replace``, ``remove``); caches use it
    to know when their answers may be stale.
    """

    def __init__(self, rrsets: Iterable[dns.rrset.RRset] = ()) -> None:
        self._lock = threading.RLock()
        self._generation = 0
        self._nodes: dict[dns.name.Name, dict[int, dns.rrset.RRset]] = {}
        self._apexes: set[dns.name.Name] = set()
        self._existing: set[tuple[bytes, ...]] = set()
        self._above: set[tuple[bytes, ...]] = set()
        for rrset in rrsets:
            self._put(rrset)
        self._reindex()

    # -- changing data ------------------------------------------------------------
    def _put(self, rrset: dns.rrset.RRset) -> None:
        node = self._nodes.setdefault(rrset.name, {})
        if rrset.rdtype in node:
            node[rrset.rdtype].update(rrset)
        else:
            # our own RRset object, so that changing it never touches the caller's (or
            # the zone cache's); copy() keeps the records' hashes, where building a new
            # RRset hashed every record again (a third of the Authority's build time)
            node[rrset.rdtype] = rrset.copy()

    def _reindex(self) -> None:
        self._apexes = {n for n, node in self._nodes.items() if dns.rdatatype.SOA in node}
        # a name and its ancestors (empty non-terminals) exist, up to its apex.  Kept as
        # lower-cased label tuples: dnspython Names hash their labels anew at every
        # look-up and Name.parent() builds a new Name, which made this the largest part
        # of building an Authority (it also runs after every change)
        apexes = {_key(n) for n in self._apexes}
        existing: set[tuple[bytes, ...]] = set()
        for name in self._nodes:
            labels = _key(name)
            for i in range(len(labels)):
                current = labels[i:]
                if current in existing:
                    break  # seen before: its ancestors were added then
                existing.add(current)
                if current in apexes:
                    break
        self._existing = existing
        # the names above the zones (the root included): they exist in the root zone
        # the lab plays, as empty non-terminals (RFC 8020)
        self._above = {labels[i:] for labels in apexes for i in range(1, len(labels) + 1)}

    def _exists(self, name: dns.name.Name) -> bool:
        return _key(name) in self._existing

    def replace(self, rrset: dns.rrset.RRset) -> None:
        """Replace the RRset with this owner and type (or add it)."""
        with self._lock:
            self._nodes.setdefault(rrset.name, {}).pop(rrset.rdtype, None)
            self._put(rrset)
            self._reindex()
            self._generation += 1  # after the change: a cache never keeps the old data

    def remove(self, name: dns.name.Name, rdtype: int | None = None) -> int:
        """Remove one RRset (or every RRset at ``name``); return how many went."""
        with self._lock:
            node = self._nodes.get(name)
            if not node:
                return 0
            if rdtype is None:
                count = len(node)
                del self._nodes[name]
            else:
                count = 1 if node.pop(rdtype, None) is not None else 0
                if not node:
                    del self._nodes[name]
            self._reindex()
            self._generation += 1
            return count

    # -- reading ------------------------------------------------------------------
    @property
    def generation(self) -> int:
        """How many changes were made so far (grows with every ``replace``/``remove``)."""
        return self._generation

    @property
    def apexes(self) -> frozenset[dns.name.Name]:
        """Zone apexes (owners of SOA records)."""
        with self._lock:
            return frozenset(self._apexes)

    def rrsets(self) -> list[dns.rrset.RRset]:
        """Every RRset held, sorted by owner name and type."""
        with self._lock:
            out = [rr for node in self._nodes.values() for rr in node.values()]
        return sorted(out, key=lambda r: (r.name, r.rdtype))

    def _zone_of(self, name: dns.name.Name) -> dns.name.Name | None:
        best = None
        for apex in self._apexes:
            if name.is_subdomain(apex) and (best is None or len(apex) > len(best)):
                best = apex
        return best

    def _soa(self, apex: dns.name.Name | None) -> tuple[dns.rrset.RRset, ...]:
        """The SOA for a negative answer, its TTL capped by its MINIMUM (RFC 2308 section 3).

        ``None`` (outside every zone) and data without any SOA take :data:`ROOT_SOA`:
        the lab speaks for the root then, and an authoritative negative answer carries
        the SOA of the zone that gives it.
        """
        soa = self._nodes.get(apex, {}).get(dns.rdatatype.SOA) if apex is not None else None
        if soa is None:
            soa = ROOT_SOA
        negative = soa.copy()
        negative.ttl = min(soa.ttl, soa[0].minimum)
        return (negative,)

    def _cut(self, name: dns.name.Name, apex: dns.name.Name) -> dns.rrset.RRset | None:
        """The NS RRset of the delegation at or above ``name`` inside ``apex``'s zone.

        RFC 1034 section 4.2.1: NS records below the apex mark a zone cut; the data
        under it belongs to the child zone, served elsewhere.  The cut nearest the
        apex wins (anything below it is the child's business).
        """
        cut = None
        if not self._apexes:  # data without any SOA: no zones, so no cuts either
            return None
        node_name = name
        while node_name != apex and node_name.is_subdomain(apex):
            ns = self._nodes.get(node_name, {}).get(dns.rdatatype.NS)
            if ns is not None:
                cut = ns
            node_name = node_name.parent()
        return cut

    def _referral(self, ns: dns.rrset.RRset, answers: list[dns.rrset.RRset]) -> Answer:
        """RFC 1034 section 4.3.2 step 3b: the delegation's NS records and the addresses
        held for its servers (glue); authoritative only for a CNAME chain of ours before it."""
        glue = [self._nodes[rd.target][rdtype] for rd in ns
                for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
                if rdtype in self._nodes.get(rd.target, {})]
        return Answer(dns.rcode.NOERROR, tuple(answers), (ns,), tuple(glue),
                      authoritative=bool(answers))

    def _wildcard_node(self, name: dns.name.Name):
        """RFC 4592: the wildcard at the closest encloser of a non-existent name."""
        if name == dns.name.root:
            return None
        encloser = name.parent()
        while not self._exists(encloser) and encloser != dns.name.root:
            encloser = encloser.parent()
        return self._nodes.get(dns.name.Name((b"*",) + encloser.labels))

    @staticmethod
    def _synthesise(rrset: dns.rrset.RRset, owner: dns.name.Name) -> dns.rrset.RRset:
        out = dns.rrset.RRset(owner, rrset.rdclass, rrset.rdtype)
        out.update(rrset)
        return out

    def answer(self, qname: dns.name.Name, qtype: int) -> Answer:
        """Answer ``qname``/``qtype`` as an authoritative server would."""
        with self._lock:
            return self._answer(qname, qtype)

    def _answer(self, qname: dns.name.Name, qtype: int) -> Answer:
        answers: list[dns.rrset.RRset] = []
        seen: set[dns.name.Name] = set()
        name = qname
        apex = self._zone_of(name) if self._apexes else dns.name.root
        if apex is None:
            # outside every lab zone: the lab Internet is all the Internet there is, so
            # the answer comes from the root zone it plays (see the module docstring)
            if qname == dns.name.root and qtype in (dns.rdatatype.SOA, dns.rdatatype.ANY):
                return Answer(dns.rcode.NOERROR, (ROOT_SOA.copy(),))
            if _key(qname) in self._above:  # above a zone: exists, no data (RFC 8020)
                return Answer(dns.rcode.NOERROR, (), self._soa(None))
            return Answer(dns.rcode.NXDOMAIN, (), self._soa(None))
        for _ in range(MAX_CNAME_CHAIN):
            seen.add(name)
            cut = self._cut(name, apex)
            # DS at the cut is the parent's own data (RFC 4035 section 3.1.4.1)
            if cut is not None and not (qtype == dns.rdatatype.DS and name == cut.name):
                return self._referral(cut, answers)
            node = self._nodes.get(name)
            owner = name
            if node is None and not self._exists(name):
                node = self._wildcard_node(name)
                if node is None:
                    return Answer(dns.rcode.NXDOMAIN, tuple(answers), self._soa(apex))
            if node is None:  # empty non-terminal
                return Answer(dns.rcode.NOERROR, tuple(answers), self._soa(apex))
            if qtype == dns.rdatatype.ANY:
                found = [self._synthesise(r, owner) for r in node.values()]
                return Answer(dns.rcode.NOERROR, tuple(answers + found))
            if qtype in node:
                answers.append(self._synthesise(node[qtype], owner))
                return Answer(dns.rcode.NOERROR, tuple(answers))
            cname = node.get(dns.rdatatype.CNAME)
            if cname is None:
                return Answer(dns.rcode.NOERROR, tuple(answers), self._soa(apex))
            answers.append(self._synthesise(cname, owner))
            target = cname[0].target
            if target in seen:
                break  # CNAME loop: return the chain so far
            next_apex = self._zone_of(target) if self._apexes else dns.name.root
            if next_apex is None:
                break  # target outside our data: the resolver continues elsewhere
            name, apex = target, next_apex
        return Answer(dns.rcode.NOERROR, tuple(answers))


__all__ = ["Answer", "Authority", "MAX_CNAME_CHAIN", "ROOT_SOA"]
