"""Authoritative answers from zone data (no sockets here).

Given a question, :class:`Authority` answers the way an authoritative server does:
exact matches, CNAME chains followed inside its own data (with a loop guard),
RFC 4592 wildcards, NXDOMAIN kept apart from NOERROR with no data (empty
non-terminals exist), the SOA in the authority section of negative answers.
Names are compared case-insensitively (dnspython names do that).

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


def _key(name: dns.name.Name) -> tuple[bytes, ...]:
    """The name's labels as compared in DNS (ASCII case folded, as dnspython compares)."""
    return tuple(label.lower() for label in name.labels)


@dataclasses.dataclass(frozen=True)
class Answer:
    """The outcome of one question: rcode, answer RRsets and authority RRsets."""

    rcode: int
    answer: tuple[dns.rrset.RRset, ...] = ()
    authority: tuple[dns.rrset.RRset, ...] = ()


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
        """The SOA for a negative answer, its TTL capped by its MINIMUM (RFC 2308 section 3)."""
        if apex is None:
            return ()
        soa = self._nodes.get(apex, {}).get(dns.rdatatype.SOA)
        if soa is None:
            return ()
        negative = soa.copy()
        negative.ttl = min(soa.ttl, soa[0].minimum)
        return (negative,)

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
            # outside every lab zone: the lab Internet is all the Internet there is
            return Answer(dns.rcode.NXDOMAIN)
        for _ in range(MAX_CNAME_CHAIN):
            seen.add(name)
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


__all__ = ["Answer", "Authority", "MAX_CNAME_CHAIN"]
