"""The alias forwarder: re-sends mail for its aliases, keeping the envelope sender.

Because the forwarder's own address (198.51.100.40) is not in the original sender's
SPF record, SPF fails at the final receiver, while an untouched DKIM signature still
passes, so DMARC passes through DKIM.  With ``srs=True`` the forwarder rewrites the
envelope sender (Sender Rewriting Scheme) into its own domain, so SPF passes for
``fwd.example.net`` instead (but is then not aligned with the From domain).
When the final MX refuses a forwarded message, the forwarder sends a DSN to the
envelope sender it was given (see :mod:`labkit.mta.policy`).

Like every host that accepts mail, the forwarder takes mail for
``postmaster@fwd.example.net`` (and a bare ``Postmaster``; RFC 5321 section 4.5.1)
and keeps it in that mailbox of its own: ``lab.mailbox("postmaster@fwd.example.net")``.

Introduced in lab 03 (SPF results: forwarding) and used in lab 06.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from .policy import Context, Policy, queue_id
from .receiver import remove_return_path

_SRS_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def srs_forward(address: str, forwarder_domain: str, secret: bytes, now: float) -> str:
    """SRS0 rewrite of ``address`` into ``forwarder_domain`` (hash, day stamp, domain, local)."""
    local, _, domain = address.rpartition("@")
    if not local or not domain:
        return address
    day = int(now // 86400) % (32 * 32)
    stamp = _SRS_ALPHABET[day // 32] + _SRS_ALPHABET[day % 32]
    digest = hmac.new(secret, f"{stamp}{domain}{local}".lower().encode(), hashlib.sha1).digest()
    h = base64.b32encode(digest).decode()[:4]
    return f"SRS0={h}={stamp}={domain}={local}@{forwarder_domain}"


def srs_reverse(address: str, secret: bytes) -> str | None:
    """The original address inside an SRS0 address, or None if its hash does not verify."""
    local, _, _ = address.rpartition("@")
    parts = local.split("=", 4)
    if len(parts) != 5 or parts[0].upper() != "SRS0":
        return None
    _, h, stamp, domain, orig_local = parts
    digest = hmac.new(secret, f"{stamp}{domain}{orig_local}".lower().encode(), hashlib.sha1).digest()
    if not hmac.compare_digest(h.upper(), base64.b32encode(digest).decode()[:4]):
        return None
    return f"{orig_local}@{domain}"


def is_postmaster(address: str, domain: str) -> bool:
    """True for ``postmaster@domain`` and for a bare ``postmaster``, in any case: the
    mailbox that RFC 5321 section 4.5.1 says a host that accepts mail MUST accept."""
    local, at, where = address.strip("<> ").rpartition("@")
    if not at:
        return where.lower() == "postmaster"
    return local.lower() == "postmaster" and where.lower().rstrip(".") == domain.lower()


def accept_postmaster(policy: Any, ctx: Context, address: str) -> bool:
    """At RCPT: True, with an ``accept`` event, if ``address`` is this host's postmaster."""
    if not is_postmaster(address, policy.domain):
        return False
    policy.event(ctx, "rcpt", rcpt=address, decision="accept",
                 reason="postmaster: kept in this host's mailbox (RFC 5321 section 4.5.1)")
    return True


def deliver_to_postmaster(policy: Any, ctx: Context, qid: str, mail_from: str,
                          data: bytes) -> str | None:
    """Store ``data`` in ``postmaster@<policy.domain>`` (its INBOX in the lab's mail store),
    with Return-Path and this host's Received line, as the receiver stores a user's mail.

    Records a ``deliver`` event; returns None once stored, or the 451 reply to give
    when the store failed (the client tries again later).  Used by the forwarder and
    the mailing list, whose only local mailbox this is.
    """
    address = f"postmaster@{policy.domain}"
    path = mail_from.strip()  # aiosmtpd gives the null sender as "<>"
    path = path if path.startswith("<") and path.endswith(">") else f"<{path}>"
    data, _ = remove_return_path(data)  # only the final delivery writes one (RFC 5321 4.4)
    message = (f"Return-Path: {path}\r\n".encode("utf-8", "surrogateescape")
               + policy.received_header(ctx, address, qid, policy.client_name(ctx)) + data)
    [result] = policy.lab.mailstore.deliver([(address, message, "INBOX")])
    if isinstance(result, OSError):
        policy.event(ctx, "error", step="deliver", qid=qid, rcpt=address, folder="INBOX",
                     decision="defer", reason=f"{type(result).__name__}: {result}")
        return "451 4.3.0 Local error in processing; try again later"
    policy.event(ctx, "deliver", qid=qid, rcpt=address, folder="INBOX", key=result,
                 decision="deliver", reason="this host's postmaster mailbox")
    return None


class Forwarder(Policy):
    """Policy of ``mx.fwd.example.net``: aliases -> real addresses."""

    kind = "forwarder"

    def __init__(self, *, lab: Any, hostname: str, domain: str,
                 aliases: dict[str, list[str]], srs: bool = False,
                 secret: bytes = b"labkit-srs") -> None:
        super().__init__(lab=lab, hostname=hostname)
        self.domain = domain
        self.aliases = {k.lower(): list(v) for k, v in aliases.items()}
        self.srs = srs
        self.secret = secret

    def targets(self, address: str) -> list[str]:
        """Where mail for ``address`` goes: its alias targets, or the original sender
        inside a valid SRS0 address (a bounce coming back)."""
        if address.lower() in self.aliases:
            return self.aliases[address.lower()]
        if self.srs and address.rpartition("@")[2].lower() == self.domain:
            original = srs_reverse(address, self.secret)
            if original:
                return [original]
        return []

    def on_rcpt(self, ctx: Context, address: str, accepted: list[str]) -> str:
        """Alias addresses, and (with SRS) valid SRS addresses that lead back to an original sender."""
        if address.lower() not in self.aliases and self.targets(address):
            self.event(ctx, "rcpt", rcpt=address, decision="accept",
                       reason="valid SRS address: returns to the original sender")
            return "250 OK"
        if address.lower() in self.aliases:
            self.event(ctx, "rcpt", rcpt=address, decision="accept",
                       reason=f"alias for {', '.join(self.aliases[address.lower()])}")
            return "250 OK"
        if accept_postmaster(self, ctx, address):
            return "250 OK"
        self.event(ctx, "rcpt", rcpt=address, decision="reject", reason="no such alias")
        return f"550 5.1.1 <{address}>: no such alias"

    def on_data(self, ctx: Context, mail_from: str, rcpts: list[str], data: bytes) -> str:
        """Add a Received line and resend to the alias targets, keeping the envelope sender (or rewriting it with SRS); keep mail for the postmaster."""
        qid = queue_id()
        if any(not self.targets(r) and is_postmaster(r, self.domain) for r in rcpts):
            refused = deliver_to_postmaster(self, ctx, qid, mail_from, data)
            if refused:
                return refused
        message = self.received_header(ctx, None, qid, self.client_name(ctx)) + data
        envelope = mail_from
        if self.srs and mail_from:
            envelope = srs_forward(mail_from, self.domain, self.secret, self.lab.clock.now())
        targets = [t for r in rcpts for t in self.targets(r)]
        self.relay(ctx, qid, message, envelope, targets, event="forward")
        return f"250 2.0.0 Ok: queued as {qid}"


__all__ = ["Forwarder", "srs_forward", "srs_reverse", "is_postmaster",
           "accept_postmaster", "deliver_to_postmaster"]
