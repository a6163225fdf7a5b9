"""The mailing list: tags the subject, appends a footer, ARC-seals, re-sends to members.

Editing the subject and body breaks the author's DKIM signature; the list puts its
own address in the envelope (so SPF passes for ``lists.example.org``, unaligned with
the author's From) and records what it saw in an ARC set, so a receiver that trusts
the list can accept the mail by local policy.  ``from_rewrite=True`` replaces the
From with the list's address (the DMARC mitigation many lists use) for every author,
whatever DMARC policy the author's domain publishes.

Bounces come back to that envelope sender, ``<list>-bounces@lists.example.org``; the
host accepts them and keeps them in that mailbox:
``lab.mailbox("lab-list-bounces@lists.example.org")``.

Mail for ``postmaster@lists.example.org`` (and a bare ``Postmaster``) is accepted, as
RFC 5321 section 4.5.1 requires, and kept in that mailbox on the host:
``lab.mailbox("postmaster@lists.example.org")``.

Not named in the labs: the Lab runs it as ``mail.lists.example.org``; lab 04 (DKIM: its
limits) and lab 06 (the receiver's verdict: ARC) send mail through it.
"""

from __future__ import annotations

import email.errors
import email.header
import email.utils
import re
from typing import Any

from .. import _coerce, _headerfields
from .policy import Context, Policy, is_postmaster, queue_id

# the fields this list writes itself: an incoming copy (from another list) is dropped,
# so each appears once (RFC 2919 2: one List-Id)
_LIST_FIELDS = (b"list-id", b"list-post", b"list-unsubscribe")
#: an RFC 2047 encoded word (charset, encoding, text: no "?" or white space inside)
_ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
#: characters of the author's name kept in a rewritten From
MAX_NAME = 200


def _untag(value: bytes, marker: bytes) -> bytes:
    """``value`` with each ``marker`` and the white space around it made one space.

    What ``re.sub(rb"\\s*" + re.escape(marker) + rb"[ \\t]*", b" ", value).strip()`` gives,
    without that pattern's rescan of a run of white space from each of its characters
    (a Subject folded over 40,000 blank lines took 15 s).
    """
    parts = value.split(marker)
    if len(parts) == 1:
        return value.strip()
    kept = [parts[0].rstrip()]
    kept += [p.lstrip(b" \t").rstrip() for p in parts[1:-1]]
    kept.append(parts[-1].lstrip(b" \t"))
    return b" ".join(kept).strip()


def _raw(text: str) -> bytes:
    """``text`` back to the octets it was read from (see the From rewrite below)."""
    return text.encode("utf-8", "surrogateescape")


def _parseaddr(value: str) -> tuple[str, str]:
    """``email.utils.parseaddr``, with ``("", "")`` (its answer to other unparsable
    text) for a value nested too deeply for it: it recurses once per ``(`` of a
    comment and per group, and raised RecursionError on a From of 990 ``(``."""
    try:
        return email.utils.parseaddr(value)
    except RecursionError:
        return "", ""


def _decoded(value: str) -> str:
    """``value`` with its RFC 2047 encoded words decoded (as it is if they are broken)."""
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (email.errors.HeaderParseError, LookupError, UnicodeError, ValueError):
        return value


def _phrase(text: str) -> bytes:
    """``text`` as a display name: a quoted string, or RFC 2047 encoded words when it is
    not ASCII (RFC 2047 section 5: an encoded word inside quotes is never decoded)."""
    if text.isascii() or any("\udc80" <= c <= "\udcff" for c in text):
        # (octets that are not UTF-8 go back out as they came: surrogateescape)
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}"'.encode("utf-8", "surrogateescape")
    return email.header.Header(text, "utf-8").encode(linesep="\r\n").encode("ascii")


def _tag_subject(value: bytes, marker: bytes) -> bytes:
    """The Subject value with ``marker`` once, in front (see :func:`edit_message`)."""
    if value.startswith(marker) and value.count(marker) == 1:
        return value
    if marker in value and value.count(marker) == _ENCODED_WORD.sub(b"", value).count(marker):
        # each tag stands in the text itself, none inside an encoded word
        return marker + b" " + _untag(value, marker)
    text = value.decode("utf-8", "surrogateescape")
    decoded = _decoded(text)
    tag = marker.decode("utf-8", "surrogateescape")
    if decoded is text or tag not in decoded:
        return marker + b" " + value  # encoded words kept as they are
    # the tag is inside an encoded word (a reply to a subject with non-ASCII text)
    rest = _untag(decoded.encode("utf-8", "surrogateescape"), marker)
    rest_text = rest.decode("utf-8", "surrogateescape")
    if rest_text.isascii():
        return marker + b" " + rest
    try:
        return marker + b" " + email.header.Header(rest_text, "utf-8").encode(
            linesep="\r\n").encode("ascii")
    except UnicodeError:  # octets of no charset in the words: keep them as they came
        return marker + b" " + value


def edit_message(data: bytes, *, list_address: str, tag: str, footer: str,
                 from_rewrite: bool = False, unsubscribe: str | None = None) -> bytes:
    """The list's edits: ``[tag]`` subject, List-* fields, footer, optional From rewrite.

    The subject carries the tag once, in front: a reply's ``Re: [tag] x`` becomes
    ``[tag] Re: x``, never ``[tag] Re: [tag] x``.  With ``from_rewrite`` the From
    becomes ``"Name via tag" <list address>`` and the author's From goes into the
    (single) Reply-To.  List-Id, List-Post and List-Unsubscribe follow RFC 2919 and
    RFC 2369 (each value in angle brackets).
    """
    head, sep, body = data.partition(b"\r\n\r\n")
    fields = _headerfields.split(head)
    marker = f"[{tag}]".encode()
    out: list[bytes] = []
    author = None
    for line in fields:
        # (a line without a colon is no field, whatever it starts with: kept as it is)
        name = line.split(b":", 1)[0].strip().lower() if b":" in line else b""
        if name in _LIST_FIELDS:
            continue
        if name == b"subject":
            value = line.split(b":", 1)[1].strip()
            line = b"Subject: " + _tag_subject(value, marker)
        elif name == b"from" and from_rewrite:
            # (surrogateescape: octets that are not UTF-8 go back out as they came)
            author = line.split(b":", 1)[1].strip().decode("utf-8", "surrogateescape")
            display, addr = author_address = _parseaddr(author)
            # (the name cut to MAX_NAME: a folded From may hold a name of megabytes, and
            # the new From line must stay under 998 octets for the next hop to take it)
            who = _decoded((display or addr)[:8 * MAX_NAME])[:MAX_NAME]
            line = (b"From: " + _phrase(f"{who} via {tag}")
                    + f" <{list_address}>".encode("utf-8", "surrogateescape"))
        out.append(line)
    if author is not None:
        replies = [i for i, f in enumerate(out) if f.split(b":", 1)[0].strip().lower() == b"reply-to"]
        if replies:  # RFC 5322 3.6: at most one Reply-To: add the author to it
            value = out[replies[0]].split(b":", 1)[1].strip()
            if _raw(author_address[1]).lower() not in value.lower():
                out[replies[0]] = b"Reply-To: " + value + b",\r\n " + _raw(author)
        else:
            reply_to = b"Reply-To: " + _raw(author)
            if len(reply_to.split(b"\r\n", 1)[0]) > 998:  # fold before a From line this long
                reply_to = b"Reply-To:\r\n " + _raw(author)
            out.append(reply_to)
    local, _, domain = list_address.partition("@")
    out.append(f"List-Id: <{local}.{domain}>".encode())
    out.append(f"List-Post: <mailto:{list_address}>".encode())
    if unsubscribe:
        out.append(f"List-Unsubscribe: <{unsubscribe}>".encode())
    if not sep:
        body = b""
    if body and not body.endswith(b"\r\n"):
        body += b"\r\n"
    body += b"-- \r\n" + footer.replace("\n", "\r\n").encode("utf-8") + b"\r\n"
    return b"\r\n".join(out) + b"\r\n\r\n" + body


class MailingList(Policy):
    """Policy of ``mail.lists.example.org``: list address -> members."""

    kind = "mailing-list"
    # on/off switches: True or False only (text such as "no" is refused)
    arc = _coerce.Flag()
    sign = _coerce.Flag()
    from_rewrite = _coerce.Flag()

    def __init__(self, *, lab: Any, hostname: str, domain: str, lists: dict[str, list[str]],
                 selector: str = "list", arc: bool = True, sign: bool = False,
                 from_rewrite: bool = False) -> None:
        super().__init__(lab=lab, hostname=hostname)
        self.domain = domain
        self.lists = {k.lower(): list(v) for k, v in lists.items()}
        self.selector = selector
        self.arc = arc
        self.sign = sign
        self.from_rewrite = from_rewrite

    def on_rcpt(self, ctx: Context, address: str, accepted: list[str]) -> str:
        """The list addresses this host serves, their bounce addresses, and its postmaster."""
        reason = ("list address" if address.lower() in self.lists
                  else "the list's bounce address (its envelope sender)"
                  if address.lower() in self.bounce_addresses() else None)
        return self.rcpt_by_name(ctx, address, reason, domain=self.domain, unknown="list")

    def bounce_address(self, list_address: str) -> str:
        """The envelope sender of ``list_address``'s copies: ``<list>-bounces@domain``."""
        return f"{list_address.partition('@')[0]}-bounces@{self.domain}"

    def bounce_addresses(self) -> set[str]:
        """Every list's bounce address (lower case): mail to them is kept on this host."""
        return {self.bounce_address(a).lower() for a in self.lists}

    def on_data(self, ctx: Context, mail_from: str, rcpts: list[str], data: bytes) -> str:
        """Authenticate, edit (subject tag, footer, optional From rewrite), optionally sign and ARC-seal, and send to every member before replying; keep mail for the postmaster."""
        import labkit.auth

        from . import sender

        qid = queue_id()
        if any(r.lower() not in self.lists and is_postmaster(r, self.domain) for r in rcpts):
            if not self.deliver_to_postmaster(ctx, qid, mail_from, data, self.domain):
                return "451 4.3.0 Local error in processing; try again later"
        # bounces come back to the list's own envelope sender (RFC 5321 3.10): kept in
        # that mailbox, lab.mailbox("lab-list-bounces@lists.example.org")
        bounces = sorted({r.lower() for r in rcpts} & self.bounce_addresses())
        if bounces and not self.deliver_final(self.lab.mailstore, ctx, bounces, qid, mail_from,
                                              data, folder="INBOX",
                                              reason="the list's bounce mailbox"):
            return "451 4.3.0 Local error in processing; try again later"
        rcpts = [r for r in rcpts if r.lower() in self.lists]
        if not rcpts:
            return f"250 2.0.0 Ok: queued as {qid}"
        results = None
        evaluate = getattr(labkit.auth, "evaluate", None)
        if evaluate is not None:
            verdict = evaluate(data, ip=ctx.client_ip, mail_from=mail_from, helo=ctx.helo,
                               dns=self.lab.resolver, authserv_id=self.hostname)
            results = verdict.header
        for list_address in rcpts:
            local = list_address.partition("@")[0]
            tag = local
            page = f"https://lists.example.org/{local}"
            message = edit_message(
                data, list_address=list_address, tag=tag, from_rewrite=self.from_rewrite,
                footer=f"{list_address} mailing list\n{page}", unsubscribe=page,
            )
            message = self.received_header(ctx, None, qid, self.client_name(ctx)) + message
            if self.sign:
                message = sender.dkim_sign(message, self.domain, self.selector)
            if self.arc:
                message = self._seal(message, results)
            bounce = self.bounce_address(list_address)
            for member in self.lists.get(list_address.lower(), []):
                res = sender.send(message, lab=self.lab, from_host=self.hostname,
                                  mail_from=bounce, rcpt_to=[member])
                self.event(ctx, "distribute", qid=qid, list=list_address, rcpt=member,
                           decision=res.status, reason=f"{res.code or ''} {res.reply}".strip())
        return f"250 2.0.0 Ok: queued as {qid}"

    def _seal(self, message: bytes, results: str | None) -> bytes:
        import labkit.auth.arc
        import labkit.auth.dkim

        key = labkit.auth.dkim.lab_key(self.domain, self.selector)
        if results is not None:
            results = re.sub(r"(?i)^authentication-results:\s*", "", results.strip())
        return labkit.auth.arc.seal(
            message, domain=self.domain, selector=self.selector, private_key=key,
            authserv_id=self.hostname, results_header=results, dns=self.lab.resolver,
        )


__all__ = ["MailingList", "edit_message"]
