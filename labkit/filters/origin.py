"""The origin relay of a message, and two weak signals read from it.

Every server that passes a message on adds a ``Received`` trace field on top of the
header (RFC 5321 section 4.4): the name the client gave in HELO/EHLO, the name its
address resolves to (reverse DNS) and the address itself, then ``by`` and the receiving
server.  Read from the bottom up, the fields retrace the path.  The **origin relay** is
the hop of the bottom-most field that names a public IP address: the first server
outside private networks (RFC 1918 ranges, loopback ...) that handed the mail on, where
it entered the public Internet.

:func:`origin_signals` reads two facts about that hop:

- *clean*: the hop has both a HELO name and a reverse-DNS name, the reverse-DNS name
  does not look like a dynamic pool (:mod:`labkit.filters.rdns`'s pattern:
  ``dyn-198-51-100-7.pool.isp.example``), and both names lie in the same organisational
  domain (Public Suffix List, :func:`labkit.auth.orgdomain.psl_org_domain`): a server
  with a proper, consistent name, as a company's or a mailing service's is;
- *aligned*: the organisational domain of the ``From`` address is that of the hop's
  reverse-DNS name: the mail was handed on by a server of the sender's own organisation.

Why: on this corpus legitimate bulk mail (newsletters, mailing lists, shop
notifications) is what the word filters rank worst among the ham, and it usually leaves
a server of that sort, while much spam leaves hijacked home computers.
:class:`labkit.filters.ensemble.SVMSenderRobinson` subtracts small weights for the two
signals from its rank (``clean_origin``, ``aligned_origin``; measured in
``benchmarks/CV-filters.md``, round 7).  What the signals are not: proof of anything.
Every field below the receiver's own is written by the sending side and can be forged,
and a spammer running his own server on his own domain satisfies both in minutes.  They
are evidence for the ranking, never a verdict on their own.

Reading the fields is best effort: the formats below are the common ones (qmail, exim,
sendmail, postfix), not a grammar, and anything unreadable simply gives no signal.
Header fields come from the tokenizer's own splitter
(:func:`labkit.filters.tokens.parse_headers`' scan, compiled when the C module is built),
so the two read the same fields.

Not used in the labs; the best filter of the benchmark (``benchmarks/filters.py``,
row ``svm-origin-cv``) reads it.  Lab 08 teaches the related client check on the live
connection (forward-confirmed reverse DNS, :mod:`labkit.filters.rdns`).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .. import _coerce
from ..auth.orgdomain import is_address_literal, psl_org_domain
from .rdns import _GENERIC
from .tokens import _folded_fields, _split

log = logging.getLogger(__name__)

#: bytes of a message read for its header: trace fields come first, and a header larger
#: than this is not mail a relay wrote (a 10 MB message costs no more than a small one)
MAX_HEAD = 256 * 1024

# "from <first word> <rest> by ...": keywords are case-insensitive (RFC 5321 4.4)
_FROM_PART = re.compile(r"from\s+(\S+)\s*(.*?)(?:\bby\b|$)", re.I)
# a dotted quad standing alone: not inside a longer name such as 7.100.51.198.dsl.example
_QUAD = re.compile(r"(?<![\w.-])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\w-]|\.\w)")
# qmail "(HELO name)" and exim "helo=name": these styles name the HELO apart
_QMAIL_HELO = re.compile(r"\(HELO\s+([^\s)]+)\)", re.I)
_EXIM_HELO = re.compile(r"helo=([^\s)\]]+)", re.I)
# sendmail/postfix "(rdns [ip])" or, with an ident answer, "(user@rdns [ip])"
_PAREN_RDNS = re.compile(r"\((?:[\w.-]+@)?([A-Za-z][\w.-]*)\s*\[")
# the domain of the first address in a From field (an address literal has none)
_ADDRESS = re.compile(r"[\w.+=/-]+@([\w-]+(?:\.[\w-]+)+)")


@dataclass(frozen=True, kw_only=True)
class Hop:
    """One relay hop as a Received field tells it: the HELO name, the reverse-DNS name
    and the address of the client (each lower-case, or None when the field has none)."""

    helo: str | None = None
    rdns: str | None = None
    ip: str | None = None

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {"helo": self.helo, "rdns": self.rdns, "ip": self.ip}


_EMPTY = Hop()


def _address(text: str) -> str | None:
    """The first dotted quad standing alone in ``text`` that is an IPv4 address."""
    for m in _QUAD.finditer(text):
        if all(int(octet) <= 255 for octet in m.groups()):
            return ".".join(str(int(octet)) for octet in m.groups())
    return None


def parse_received(value: str) -> Hop:
    """The client hop (HELO name, reverse-DNS name, address) of one Received value.

    The rules, by the styles servers write:

    - qmail ``from rdns (HELO helo) (ip)`` and exim ``from rdns ([ip] helo=helo)``: the
      HELO name is given apart, so the word after ``from`` is the reverse-DNS name,
      unless it is ``unknown`` or an address literal ``[...]`` (no PTR name then);
    - sendmail and postfix ``from helo (rdns [ip])``, ``from helo (user@rdns [ip])``:
      the word after ``from`` is the HELO name and the name before the bracketed
      address the reverse-DNS name (``unknown``: none);
    - the address: the first dotted quad between ``from`` and ``by``, looked for first
      after the HELO word (the receiving server writes that part; the client chooses its
      HELO name, which may itself be an address).

    A value with no ``from`` part (local delivery, ``(qmail ... invoked ...)``) gives an
    empty :class:`Hop`.
    """
    value = _coerce.text(value, "value", example="from mx.example (mx.example [192.0.2.1])")
    m = _FROM_PART.match(" ".join(value.split()))
    if m is None:
        return _EMPTY
    first, rest = m.group(1), m.group(2)
    ip = _address(rest) or _address(first)
    named = _QMAIL_HELO.search(rest) or _EXIM_HELO.search(rest)
    if named:  # qmail / exim: "from <rdns> ..." with the HELO name given apart
        helo = named.group(1).lower()
        no_ptr = first.lower() == "unknown" or first.startswith(("[", "(["))
        rdns = None if no_ptr else first.lower()
    else:  # sendmail / postfix: "from <helo> (<rdns> [<ip>])"
        helo = first.lower()
        paren = _PAREN_RDNS.match(rest)
        rdns = paren.group(1).lower() if paren else None
        if rdns == "unknown":
            rdns = None
    return Hop(helo=helo, rdns=rdns, ip=ip)


def _public(ip: str) -> bool:
    """Is the IPv4 address ``ip`` (dotted, valid) one a client on the Internet can have?

    Not: "this network" 0/8, RFC 1918 (10/8, 172.16/12, 192.168/16), shared address
    space 100.64/10 (RFC 6598), loopback 127/8, link-local 169.254/16, multicast and
    reserved (224/3).  The documentation ranges (192.0.2/24 ...) count as public: the
    lab Internet's hosts use them.
    """
    a, b = (int(x) for x in ip.split(".")[:2])
    return not (
        a in (0, 10, 127)
        or a >= 224
        or (a == 100 and 64 <= b < 128)
        or (a == 169 and b == 254)
        or (a == 172 and 16 <= b < 32)
        or (a == 192 and b == 168)
    )


def _origin_hop(values: Sequence[str]) -> Hop | None:
    for value in reversed(values):  # bottom-most first: the first public one is the origin
        hop = parse_received(value)
        if hop.ip is not None and _public(hop.ip):
            return hop
    return None


def origin_hop(values: Sequence[str]) -> Hop | None:
    """The origin relay: the hop of the bottom-most of the Received ``values`` (given top
    to bottom, as in the header) that names a public address; None when none does."""
    values = _coerce.sequence(values, "values", of="Received field values (str)")
    return _origin_hop(values)


@functools.lru_cache(maxsize=8192)
def _org(host: str | None) -> str | None:
    """The organisational domain of a host name (Public Suffix List), or None for no
    name, an address or address literal, and a name of one label (``localhost``)."""
    if not host or is_address_literal(host):
        return None
    org = psl_org_domain(host)
    return org if "." in org else None


def origin_signals(message: bytes) -> tuple[bool, bool]:
    """``(clean, aligned)`` of a raw message's origin relay (see the module).

    clean: the origin hop has a HELO name and a reverse-DNS name that is not generic,
    in one organisational domain; aligned: the From address's organisational domain is
    the reverse-DNS name's.  Never raises on any bytes: a message without a readable
    origin hop gives ``(False, False)``.
    """
    raw = _coerce.message_bytes(message)
    try:
        return _signals(raw)
    except Exception:  # noqa: BLE001 - a signal of the ranking must never stop it
        log.debug("origin relay unreadable", exc_info=True)
        return False, False


def _signals(raw: bytes) -> tuple[bool, bool]:
    head, _ = _split(raw[:MAX_HEAD])
    received: list[str] = []
    sender = None
    for name, value in _folded_fields(head):
        if name == "received":
            received.append(value)
        elif name == "from" and sender is None:
            sender = value
    hop = _origin_hop(received)
    if hop is None or hop.rdns is None:
        return False, False
    rdns_org = _org(hop.rdns)
    if rdns_org is None:
        return False, False
    clean = (hop.helo is not None and not _GENERIC.search(hop.rdns)
             and _org(hop.helo) == rdns_org)
    found = _ADDRESS.search(sender) if sender else None
    aligned = found is not None and _org(found.group(1).lower()) == rdns_org
    return clean, aligned


__all__ = ["Hop", "parse_received", "origin_hop", "origin_signals"]
