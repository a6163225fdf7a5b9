"""The alias forwarder: re-sends mail for its aliases, keeping the envelope sender.

Because the forwarder's own address (198.51.100.40) is not in the original sender's
SPF record, SPF fails at the final receiver, while an untouched DKIM signature still
passes, so DMARC passes through DKIM.  With ``srs=True`` the forwarder rewrites the
envelope sender (Sender Rewriting Scheme) into its own domain, so SPF passes for
``fwd.example.net`` instead (but is then not aligned with the From domain).
A sender that is already another forwarder's SRS0 address becomes an SRS1 address, and
a bounce to an SRS address is taken only while its hash verifies and its day stamp is
at most :data:`SRS_MAX_AGE_DAYS` old on the lab clock; a null sender is never rewritten.
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
import time
from typing import Any

from .. import _coerce
from .policy import Context, Policy, is_postmaster, queue_id

_SRS_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#: days an SRS0 address stays valid for a bounce (libsrs2's and postsrsd's default)
SRS_MAX_AGE_DAYS = 21


def _srs_hash(secret: bytes, *fields: str) -> str:
    """Four base32 characters of the HMAC-SHA1 of ``fields`` (lower-cased) under ``secret``."""
    digest = hmac.new(secret, "".join(fields).lower().encode(), hashlib.sha1).digest()
    return base64.b32encode(digest).decode()[:4]


def _srs_tag(local: str, tag: str) -> bool:
    """Whether ``local`` starts with ``tag`` (SRS0 or SRS1, any case) and a separator."""
    return local[:4].upper() == tag and local[4:5] == "="


def _srs1_fields(local: str) -> tuple[str, str, str] | None:
    """(hash, first forwarder, rest) of an ``SRS1=HHHH=first==rest`` local part, or None."""
    if not _srs_tag(local, "SRS1"):
        return None
    parts = local.split("=", 3)
    if len(parts) != 4 or not parts[2] or not parts[3]:
        return None
    return parts[1], parts[2], parts[3]


def srs_forward(address: str, forwarder_domain: str, secret: bytes, now: float) -> str:
    """The envelope sender a forwarder in ``forwarder_domain`` uses for ``address``.

    A plain address becomes ``SRS0=HHHH=TT=domain=local@forwarder_domain`` (TT: the day
    number in two base32 characters, HHHH: a keyed hash of TT, domain and local).  An
    SRS0 address of another forwarder becomes ``SRS1=HHHH=thatdomain==rest@...``, and an
    SRS1 address keeps its first forwarder and rest under a new hash, so the address does
    not grow at each hop (the guarded scheme of Shevek's paper and libsrs2).  An address
    already in ``forwarder_domain``, or without a domain, is left as it is.
    """
    local, _, domain = address.rpartition("@")
    if not local or not domain or domain.lower() == forwarder_domain.lower():
        return address
    srs1 = _srs1_fields(local)
    if srs1 is not None:
        _, first, rest = srs1
        return f"SRS1={_srs_hash(secret, first, rest)}={first}={rest}@{forwarder_domain}"
    if _srs_tag(local, "SRS0"):
        rest = local[4:]  # "=HHHH=TT=domain=local": kept whole, behind the first forwarder
        return f"SRS1={_srs_hash(secret, domain, rest)}={domain}={rest}@{forwarder_domain}"
    day = int(now // 86400) % (32 * 32)
    stamp = _SRS_ALPHABET[day // 32] + _SRS_ALPHABET[day % 32]
    return f"SRS0={_srs_hash(secret, stamp, domain, local)}={stamp}={domain}={local}@{forwarder_domain}"


def _same(given: str, expected: str) -> bool:
    """Constant-time, case-insensitive comparison of a hash (any text, even non-ASCII)."""
    return hmac.compare_digest(given.upper().encode("utf-8", "surrogateescape"), expected.encode())


def _stamp_fresh(stamp: str, now: float, max_age_days: int) -> bool:
    """Whether the two-character base32 day ``stamp`` is at most ``max_age_days`` old."""
    if len(stamp) != 2 or any(c not in _SRS_ALPHABET for c in stamp.upper()):
        return False
    then = _SRS_ALPHABET.index(stamp[0].upper()) * 32 + _SRS_ALPHABET.index(stamp[1].upper())
    today = int(now // 86400) % (32 * 32)
    return (today - then) % (32 * 32) <= max_age_days


def srs_reverse(address: str, secret: bytes, *, now: float | None = None,
                max_age_days: int = SRS_MAX_AGE_DAYS) -> str | None:
    """Where a bounce to the SRS ``address`` goes back to, or None if it is refused.

    SRS0: the original sender, if the hash verifies (in any case) and the day stamp is
    at most ``max_age_days`` old at ``now`` (default: the current time).  SRS1: the
    first forwarder's SRS0 address, if the hash verifies.  A forged or expired address,
    or one that is no SRS address, gives None.
    """
    local, _, _ = address.rpartition("@")
    if _srs_tag(local, "SRS1"):
        srs1 = _srs1_fields(local)
        if srs1 is None:
            return None
        h, first, rest = srs1
        if not _same(h, _srs_hash(secret, first, rest)):
            return None
        return f"SRS0{rest}@{first}"
    parts = local.split("=", 4)
    if len(parts) != 5 or not _srs_tag(local, "SRS0") or not parts[3] or not parts[4]:
        return None
    _, h, stamp, domain, orig_local = parts
    if not _same(h, _srs_hash(secret, stamp, domain, orig_local)):
        return None
    if not _stamp_fresh(stamp, time.time() if now is None else now, max_age_days):
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
        inside a valid, unexpired SRS0 address (a bounce coming back; an SRS1 address
        leads to the first forwarder's SRS0 address)."""
        if address.lower() in self.aliases:
            return self.aliases[address.lower()]
        local, _, domain = address.rpartition("@")
        if (self.srs and domain.lower() == self.domain
                and (_srs_tag(local, "SRS0") or _srs_tag(local, "SRS1"))):
            original = srs_reverse(address, self.secret, now=self.lab.clock.now())
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


__all__ = ["SRS_MAX_AGE_DAYS", "Forwarder", "srs_forward", "srs_reverse"]
