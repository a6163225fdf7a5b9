"""Allow- and blocklists: addresses, networks, domains and mail addresses.

An entry is an IP address or network (``198.51.100.0/24``), a domain
(``brand.example`` matches it and every subdomain; ``=brand.example`` only itself)
or a mail address (``alice@corp.example``).

A list only says whether a name is on it.  Whether the name can be believed is the
caller's business: anyone can write any From address, so
:class:`~labkit.filters.combined.SpamScorer` applies an allowlist's domain and
address entries only to a From domain the message authenticates (DMARC pass, or an
aligned SPF/DKIM pass where the domain has no DMARC record), while a blocklist may
match names that are merely claimed.

A client address in IPv4-mapped form (``::ffff:192.0.2.5``, RFC 4291 section
2.5.5.2: how a dual-stack server's IPv6 socket shows an IPv4 client) is that IPv4
address, and so is an entry written that way (``::ffff:192.0.2.0/120`` is
``192.0.2.0/24``).

Introduced in lab 08 (judging the client: lists, DNSBL and reverse DNS).
"""

from __future__ import annotations

import ipaddress
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .._coerce import looks_like_host_name
from ..errors import UsageError
from ..net import client_address

# digits and dots only, or a ":" or "/" (no domain has one): meant as an address or network
_LOOKS_NUMERIC = re.compile(r"[0-9.]+|.*[:/].*")


#: IPv4-mapped IPv6 addresses (RFC 4291 section 2.5.5.2): ::ffff:a.b.c.d is IPv4 host a.b.c.d
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")


def _unmapped_network(net: Any) -> Any:
    """A network inside ::ffff:0:0/96 as the IPv4 network it maps (else ``net`` itself)."""
    if net.version == 6 and net.prefixlen >= 96 and net.subnet_of(_MAPPED):
        return ipaddress.IPv4Network((int(net.network_address) & 0xFFFFFFFF, net.prefixlen - 96))
    return net


def _not_a_network(entry: str, name: str) -> UsageError:
    """The error for an entry that looks like an address or network but is none."""
    address = entry.partition("/")[0]
    kind = ipaddress.IPv6Network if ":" in address else ipaddress.IPv4Network
    try:
        kind(entry, strict=False)
        why = "not a network"
    except ValueError as exc:
        why = str(exc)
    return UsageError(
        f"{name} entry {entry!r} looks like an IP address or network but is not one ({why}): "
        f"write an address such as '192.0.2.5', a network such as '192.0.2.0/24' (a prefix "
        f"of 0-32, or 0-128 for IPv6), a domain such as 'attacker.test' or a mail address")


def _other_syntax(entry: str, name: str) -> UsageError | None:
    """The error for a glob or half an address (``*@corp.example``, ``@corp.example``,
    ``*.corp.example``, ``alice@``) or an entry with an action after it
    (``attacker.test REJECT``): other tools' syntax, which here would match nothing."""
    if any(c.isspace() for c in entry):  # a Postfix access line: "attacker.test REJECT"
        first = entry.split()[0]
        return UsageError(
            f"{name} entry {entry!r} would match nothing: an entry is one address, domain or "
            f"network without spaces (the list itself says allow or block), such as {first!r}")
    local, at, domain = entry.rpartition("@")
    # ("*" may stand in a local part, a*b@corp.example, but never in a domain name)
    glob = local == "*" or "*" in domain
    if not glob and not (at and (not local or not domain)):
        return None
    bare = (domain if at else entry).lstrip("*.") or "corp.example"
    return UsageError(
        f"{name} entry {entry!r} would match nothing (an entry is a whole address, a domain "
        f"or a network, never a pattern or half an address): write "
        f"{bare!r} for that domain and its subdomains, '={bare}' for that domain only, "
        f"or a whole address such as 'alice@{bare}'")


@dataclass(frozen=True, kw_only=True)
class AddressList:
    """A named list of networks, domains and addresses; ``match`` says which entry hit."""

    name: str = "list"
    networks: tuple = ()
    domains: tuple[str, ...] = ()
    exact_domains: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()

    @classmethod
    def from_entries(cls, entries: Iterable[str], name: str = "list") -> AddressList:
        """Build from text entries (blank lines and ``#`` comments ignored).

        ``entries`` is a list of entries; one text is read line by line (as a file
        would be), never letter by letter.  An entry that looks like an address or a
        network but is none (``203.0.113.0/33``, ``203.0.113.256``) is a
        :class:`~labkit.errors.UsageError`, not a domain that nothing matches; so is a
        pattern from another tool (``*@corp.example``, ``*.corp.example``) or half an
        address (``@corp.example``, ``alice@``), or an entry followed by an action
        (``attacker.test REJECT``).
        """
        if isinstance(entries, str):
            entries = entries.splitlines()
        nets, doms, exact, addrs = [], [], [], []
        for raw in entries:
            if not isinstance(raw, str):
                raise TypeError(f"each entry must be a str such as 'attacker.test', "
                                f"'192.0.2.0/24' or 'x@attacker.test', not {type(raw).__name__}")
            entry = raw.split("#", 1)[0].strip().lower()
            if not entry:
                continue
            try:
                nets.append(_unmapped_network(ipaddress.ip_network(entry, strict=False)))
                continue
            except ValueError:
                pass
            wrong = _other_syntax(entry, name)
            if wrong:
                raise wrong
            if "@" in entry:
                addrs.append(entry)
            elif _LOOKS_NUMERIC.fullmatch(entry):
                raise _not_a_network(entry, name)
            elif entry.startswith("="):
                exact.append(entry[1:].strip("."))
            else:
                doms.append(entry.strip("."))
        return cls(
            name=name,
            networks=tuple(nets),
            domains=tuple(doms),
            exact_domains=tuple(exact),
            addresses=tuple(addrs),
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike, name: str | None = None) -> AddressList:
        """Read one entry per line."""
        from pathlib import Path

        p = Path(path)
        return cls.from_entries(p.read_text(encoding="utf-8").splitlines(), name or p.stem)

    def match(self, *, ip: str | None = None, sender: str | None = None) -> str | None:
        """The entry that matches the client ``ip`` or the ``sender``, else None.

        ``sender`` is a mail address (address entries match it whole, domain entries its
        domain) or a bare domain (only domain entries can match).  An IPv4-mapped
        ``ip`` (``::ffff:192.0.2.5``) is matched as its IPv4 address.  A host name
        given as ``ip`` matches nothing, and warns (give its address).
        """
        if ip:
            try:
                addr = client_address(ip)
            except ValueError:
                addr = None
                if isinstance(ip, str) and len(ip) <= 253 and looks_like_host_name(ip):
                    warnings.warn(f"{self.name}.match(ip={ip!r}): a host name, not an IP "
                                  f"address, so no network entry can match it; give its "
                                  f"address (lab.hosts[{ip!r}].address), or match a domain "
                                  f"with sender=", stacklevel=2)
            if addr is not None:
                for net in self.networks:
                    if addr.version == net.version and addr in net:
                        return str(net)
        if sender:
            s = sender.strip().strip("<>").lower()
            if s in self.addresses:
                return s
            domain = s.rsplit("@", 1)[-1].strip(".")
            if domain in self.exact_domains:
                return "=" + domain
            for d in self.domains:
                if domain == d or domain.endswith("." + d):
                    return d
        return None

    def __contains__(self, item: str) -> bool:
        try:
            ipaddress.ip_address(item)
            return self.match(ip=item) is not None
        except ValueError:
            return self.match(sender=item) is not None

    def __len__(self) -> int:
        return (
            len(self.networks) + len(self.domains) + len(self.exact_domains) + len(self.addresses)
        )

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {
            "name": self.name,
            "networks": [str(n) for n in self.networks],
            "domains": list(self.domains),
            "exact_domains": list(self.exact_domains),
            "addresses": list(self.addresses),
        }


__all__ = ["AddressList"]
