"""The From header read strictly, for DMARC (RFC 9989 / RFC 7489 6.6.1).

DMARC protects the domain a reader sees in From, so this is where phishers try tricks:
two From fields, two addresses, no From, a field no parser agrees on, an encoded word
hiding the real domain, a display name that *looks* like an address. None of those may
become a DMARC pass for a domain that did not authorise the mail. :func:`parse_from`
returns the one From domain only when there is exactly one unambiguous address, and
says what it found otherwise.

:func:`split_message` is the forgiving message splitter the rest of ``labkit.auth``
uses: it never raises on malformed input and reports what was odd.

Not named in the labs: DMARC (lab 05), Sender ID and the receiver's verdict call it.
"""

from __future__ import annotations

import functools
import html
import logging
import re
from dataclasses import dataclass
from email.errors import NonASCIILocalPartDefect, ObsoleteHeaderDefect
from email.headerregistry import HeaderRegistry

from .. import _coerce
from .orgdomain import is_address_literal

log = logging.getLogger(__name__)

MAX_FROM_LENGTH = 2000
_REGISTRY = HeaderRegistry()
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?\s]*\?=")
_ADDRESS_LIKE = re.compile(r"[A-Za-z0-9._%+\-]+@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)")
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9\-]{1,63}(?<!-)(\.(?!-)[a-z0-9\-]{1,63}(?<!-))+$")
_FIELD_NAME = re.compile(rb"^[\x21-\x39\x3b-\x7e]+[ \t]*$")


@dataclass(frozen=True)
class Message:
    """A message split into header fields and body, with what was odd about it."""

    fields: tuple[tuple[str, str], ...]  # (name, unfolded value) in order
    body: bytes
    problems: tuple[str, ...]

    def get_all(self, name: str) -> list[str]:
        """All values of a field, case-insensitively."""
        low = name.lower()
        return [v for n, v in self.fields if n.lower() == low]


def _decode(raw: bytes) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("latin-1"), False


def split_message(raw: bytes | str) -> Message:
    """Split a raw message into header fields and body; never raises.

    Tolerates a missing blank line, bare LF, 8-bit bytes, continuation lines without a
    field and lines without a colon (each noted in ``problems``).

    Not named in the labs: the checks of :mod:`labkit.auth` split messages with it.
    """
    try:  # str, an EmailMessage, bytes-like: the bytes (labkit._coerce says how)
        raw = _coerce.message_bytes(raw)
    except TypeError:
        return Message(fields=(), body=b"", problems=(f"not a message: {type(raw).__name__}",))
    plain = _plain_split(raw)
    if plain is not None:
        fields, body = plain
        problems: list[str] = []
    else:
        fields, body, problems = _forgiving_split(raw)
    decoded: list[tuple[str, str]] = []
    eight_bit = False
    for name, value in fields:
        text, ok = _decode(value)
        eight_bit = eight_bit or not value.isascii()
        if not ok:
            problems.append(f"{name.decode('ascii', 'replace')}: 8-bit bytes that are not UTF-8")
        decoded.append((name.decode("ascii", "replace"), text))
    if eight_bit:
        problems.append("8-bit characters in header fields")
    return Message(fields=tuple(decoded), body=body, problems=tuple(problems))


# a header field as the forgiving loop accepts it: name, WSP, colon, value with its
# continuation lines; CRLF line ends only.  A name starts a line (the look-behind):
# otherwise a long line without a colon is scanned again from each of its characters
# (quadratic: a 1.6 MB header block of 990-character junk lines took 16 s)
_PLAIN_FIELD = re.compile(
    rb"(?<![^\n])([\x21-\x39\x3b-\x7e]+)([ \t]*):([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)\r\n")


def _plain_split(raw: bytes) -> tuple[list[list[bytes]], bytes] | None:
    """Fields and body of a message whose header block is plain (CRLF only, every line a
    field or a continuation), exactly as :func:`_forgiving_split` reads it
    without problems; None for anything else."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        return None  # (an mbox "From " line never fits _PLAIN_FIELD: a space before any colon)
    head = raw[: end + 2]
    breaks = head.count(b"\n")
    if head.count(b"\r") != breaks or head.count(b"\r\n") != breaks:
        return None
    found = _PLAIN_FIELD.findall(head)
    if sum(len(name) + len(space) + len(value) + 3 for name, space, value in found) != len(head):
        return None
    fields = [[name, b" ".join(line.strip() for line in value.split(b"\r\n"))] for name, _, value in found]
    return fields, raw[end + 4 :]


def _forgiving_split(raw: bytes) -> tuple[list[list[bytes]], bytes, list[str]]:
    problems: list[str] = []
    m = re.search(rb"\r?\n\r?\n", raw)
    if m is None:
        head, body = raw, b""
        problems.append("no blank line between header and body")
    else:
        head, body = raw[:m.start()], raw[m.end():]
    if raw.startswith((b"\r\n", b"\n")):
        head, body = b"", raw.lstrip(b"\r\n")
        problems.append("message starts with a blank line: no header fields")
    # each field as [name, [value, continuation, ...]]: the pieces are joined once at the
    # end (adding each continuation line to the value was quadratic in their number)
    fields: list[list] = []
    for i, line in enumerate(re.split(rb"\r?\n", head) if head else []):
        if i == 0 and line.startswith(b"From ") and not re.match(rb"^From[ \t]*:", line):
            continue  # mbox separator line
        if line[:1] in (b" ", b"\t"):
            if not fields:
                problems.append("continuation line before any field")
                continue
            fields[-1][1].append(line.strip())
            continue
        name, sep, value = line.partition(b":")
        if not sep or not _FIELD_NAME.match(name):
            problems.append(f"line {i + 1} is not a header field: {line[:40]!r}")
            continue
        fields.append([name.strip(), [value.strip()]])
    return [[name, b" ".join(pieces)] for name, pieces in fields], body, problems


@dataclass(frozen=True, kw_only=True)
class FromHeader:
    """What the From field gave. ``domain`` is set only when it is safe to use.

    ``kind``: ok | none | several-fields | several-addresses | group | unparsable.
    ``notes`` are things worth seeing that do not block (a display name showing
    another address).
    """

    kind: str
    domain: str | None = None
    address: str | None = None
    display_name: str | None = None
    fields: tuple[str, ...] = ()
    problem: str = ""
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the message has exactly one usable From address."""
        return self.kind == "ok"

    @property
    def disposition(self) -> str:
        """What an unusable From earns (RFC 9989: reject several From fields)."""
        if self.kind in ("several-fields", "several-addresses"):
            return "reject"
        return "none" if self.ok else "quarantine"

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"kind": self.kind, "domain": self.domain, "address": self.address,
                "display_name": self.display_name, "fields": list(self.fields),
                "problem": self.problem, "notes": list(self.notes)}

    def __str__(self) -> str:
        if self.ok:
            extra = "".join(f"\n  note: {n}" for n in self.notes)
            return f"From {self.address} (domain {self.domain}){extra}"
        return f"From unusable ({self.kind}): {self.problem}"

    def _repr_html_(self) -> str:
        return f"<div>{html.escape(str(self)).replace(chr(10), '<br>')}</div>"


def _idna(domain: str) -> str | None:
    d = domain.strip().rstrip(".").lower()
    if not d.isascii():
        try:
            d = d.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return d if _DOMAIN.match(d) else None


def parse_from_value(value: str) -> FromHeader:
    """Strictly parse one From field value (already unfolded).

    Results are remembered per value (the parse is a pure function of the text and
    the stdlib parser is slow; senders repeat their From fields), except for values
    over :data:`MAX_FROM_LENGTH`, which are refused at once and not kept.
    """
    value = _coerce.text(value, "value", example="Brand News <news@brand.example>")
    if len(value) > MAX_FROM_LENGTH:  # (1,024 remembered values of megabytes each: no)
        return _parse_from_value.__wrapped__(value)
    return _parse_from_value(value)


@functools.lru_cache(maxsize=1024)
def _parse_from_value(value: str) -> FromHeader:
    fields = (value,)
    if len(value) > MAX_FROM_LENGTH:
        return FromHeader(kind="unparsable", fields=(value[:200] + "...",),
                          problem=f"From field is {len(value)} characters long")
    if "\x00" in value or any(ord(c) < 32 and c != "\t" for c in value):
        return FromHeader(kind="unparsable", fields=fields, problem="control characters in From")
    try:
        header = _REGISTRY("from", value)
    except Exception as exc:  # the stdlib parser has raised on hostile input before
        return FromHeader(kind="unparsable", fields=fields, problem=f"the parser gave up: {exc}")
    defects = [d for d in header.defects
               if not isinstance(d, (ObsoleteHeaderDefect, NonASCIILocalPartDefect))]
    if defects:
        return FromHeader(kind="unparsable", fields=fields,
                          problem="; ".join(str(d) for d in defects))
    if any(g.display_name is not None for g in header.groups):
        return FromHeader(kind="group", fields=fields, problem="From uses group syntax")
    addresses = header.addresses
    if not addresses:
        return FromHeader(kind="unparsable", fields=fields, problem="no address in From")
    if len(addresses) > 1:
        found = ", ".join(a.addr_spec for a in addresses)
        return FromHeader(kind="several-addresses", fields=fields,
                          problem=f"{len(addresses)} addresses in From: {found}")
    addr = addresses[0]
    raw_domain = addr.domain
    if not raw_domain or is_address_literal(raw_domain):  # [192.0.2.1], or 192.0.2.1 bare
        return FromHeader(kind="unparsable", fields=fields, problem=f"no usable domain in {addr.addr_spec!r}")
    # The decoded domain must be written literally after an '@': an encoded word
    # that decodes to a domain is a trick, not an address.
    literal = re.search(r"@\s*" + re.escape(raw_domain) + r"(?![A-Za-z0-9.\-])", value, re.I)
    if literal is None:
        tricks = _ENCODED_WORD.findall(value)
        why = f"encoded word {tricks[0]!r} used inside the address" if tricks else \
            f"domain {raw_domain!r} is not written literally in the field"
        return FromHeader(kind="unparsable", fields=fields, problem=why)
    domain = _idna(raw_domain)
    if domain is None:
        return FromHeader(kind="unparsable", fields=fields, problem=f"invalid domain {raw_domain!r}")
    notes = []
    shown = addr.display_name or ""
    for other in _ADDRESS_LIKE.findall(shown):
        if other.lower() != domain:
            notes.append(f"display name {shown!r} shows an address at {other.lower()}, "
                         f"but the mail is from {domain} — DMARC checks {domain}")
    if _ENCODED_WORD.search(value):
        notes.append(f"display name uses encoded words (decoded: {shown!r})")
    return FromHeader(kind="ok", domain=domain, address=f"{addr.username}@{domain}",
                      display_name=shown or None, fields=fields, notes=tuple(notes))


def parse_from(message: bytes | str | Message) -> FromHeader:
    """Find the one From domain of a message, or say why there is none.

    Not named in the labs: :func:`labkit.auth.dmarc.check` (lab 05) reads the From domain with it.
    """
    msg = message if isinstance(message, Message) else split_message(message)
    values = msg.get_all("From")
    if not values:
        return FromHeader(kind="none", problem="no From field")
    if len(values) > 1:
        return FromHeader(kind="several-fields", fields=tuple(values),
                          problem=f"{len(values)} From fields: " + " | ".join(v[:80] for v in values))
    return parse_from_value(values[0])


__all__ = ["Message", "FromHeader", "split_message", "parse_from", "parse_from_value"]
