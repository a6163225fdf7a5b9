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

Not named in the labs: the Lab runs it as ``mx.fwd.example.net``; lab 03 (SPF: forwarding)
and lab 06 send mail through it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from .. import _coerce
from .policy import Context, Policy, is_postmaster, queue_id

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


class Forwarder(Policy):
    """Policy of ``mx.fwd.example.net``: aliases -> real addresses."""

    kind = "forwarder"
    # on/off switches: True or False only (text such as "no" is refused)
    srs = _coerce.Flag()

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
        reason = None
        if address.lower() in self.aliases:
            reason = f"alias for {', '.join(self.aliases[address.lower()])}"
        elif self.targets(address):
            reason = "valid SRS address: returns to the original sender"
        return self.rcpt_by_name(ctx, address, reason, domain=self.domain, unknown="alias")

    def on_data(self, ctx: Context, mail_from: str, rcpts: list[str], data: bytes) -> str:
        """Add a Received line and resend to the alias targets, keeping the envelope sender (or rewriting it with SRS); keep mail for the postmaster."""
        qid = queue_id()
        if (any(not self.targets(r) and is_postmaster(r, self.domain) for r in rcpts)
                and not self.deliver_to_postmaster(ctx, qid, mail_from, data, self.domain)):
            return "451 4.3.0 Local error in processing; try again later"
        message = self.received_header(ctx, None, qid, self.client_name(ctx)) + data
        envelope = mail_from
        if self.srs and mail_from:
            envelope = srs_forward(mail_from, self.domain, self.secret, self.lab.clock.now())
        targets = [t for r in rcpts for t in self.targets(r)]
        self.relay(ctx, qid, message, envelope, targets, event="forward")
        return f"250 2.0.0 Ok: queued as {qid}"


__all__ = ["Forwarder", "srs_forward", "srs_reverse"]
