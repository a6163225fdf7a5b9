"""The submission service (port 587 semantics): STARTTLS, then SMTP-AUTH, then relay.

The server refuses every command but EHLO/STARTTLS/QUIT before TLS (aiosmtpd's
``require_starttls``), offers AUTH PLAIN/LOGIN only over TLS, demands AUTH before
MAIL, lets a user send only as their own address, makes every envelope address fully
qualified (RFC 6409 section 4.2: a bare local part gets the ISP's domain, a one-label
domain such as ``carol@corp`` is refused with 554), DKIM-signs with the user's domain
key when the lab has one, and relays to the recipient domain's MX from its own
address.  The Received line names the authenticated user: abuse is traceable.
Customers of ``isp.example`` are signed with the ISP's own key (selector ``isp2026``).
After its 250 the message is the service's to deliver: a later refusal comes back
to the user as a DSN, a temporary one is retried (see :mod:`labkit.mta.policy`).

Not named in the labs: the Lab runs it as ``smtp.isp.example`` port 587; ``lab.submit``
(lab 00, then lab 07: sending side) sends to it.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterable
from typing import Any

from .. import _coerce
from . import hosts as _hosts
from .policy import Context, Policy, queue_id

log = logging.getLogger(__name__)


class Submission(Policy):
    """Policy of a submission host (``smtp.isp.example``)."""

    kind = "submission"
    sign = _coerce.Flag()  # checked on every assignment: sign="no" must not sign
    enforce_sender = _coerce.Flag()

    def __init__(self, *, lab: Any, hostname: str, domains: Iterable[str] = (),
                 sign: bool = True, enforce_sender: bool = True) -> None:
        super().__init__(lab=lab, hostname=hostname)
        self.domains = tuple(d.lower() for d in domains)
        self.sign = sign
        self.enforce_sender = enforce_sender

    def qualify(self, address: str) -> tuple[str, str | None]:
        """``address`` made fully qualified (RFC 6409 section 4.2), and the refusal if it cannot be.

        Section 4.2 makes the MSA ensure that every envelope domain is fully qualified,
        by completing it or by refusing the command with 554 (4.1).  A bare local part
        gets the ISP's (first) domain, as Postfix's ``append_at_myorigin`` does (``taro``
        -> ``taro@isp.example``; ``Postmaster`` -> ``postmaster@isp.example``, RFC 5321
        section 4.5.1).  A domain of one label (``carol@corp``) is refused rather than
        expanded: the lab cannot know which domain it abbreviates (4.2 allows expanding
        one-label names by local convention, and asks to refuse incomplete multi-level
        ones).  The null sender and address literals (``[192.0.2.1]``) are left as they are.
        """
        if address in ("", "<>") or not self.domains:
            return address, None
        local, at, domain = address.rpartition("@")
        if not at:
            if address.lower() == "postmaster":
                address = "postmaster"
            return f"{address}@{self.domains[0]}", None
        if domain.startswith("[") or "." in domain.strip("."):
            return address, None
        return address, f"<{address}>: the domain {domain!r} is not fully qualified"

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        """MAIL with a fully qualified sender (see :meth:`qualify`), then :meth:`on_mail`."""
        address, refusal = self.qualify(address)
        if refusal:
            self.event(self._sync_auth(server, session), "mail", mail_from=address,
                       decision="reject", reason="sender domain not fully qualified (RFC 6409)")
            return f"554 5.1.8 {refusal}: Sender address rejected"  # RFC 3463: bad sender's system
        return await super().handle_MAIL(server, session, envelope, address, mail_options)

    def on_mail(self, ctx: Context, address: str) -> str:
        """Only after AUTH (530 otherwise); the envelope sender must be the user's own when ``enforce_sender``."""
        if not ctx.user:
            self.event(ctx, "mail", mail_from=address, decision="reject",
                       reason="authentication required before MAIL")
            return "530 5.7.0 Authentication required"
        if self.enforce_sender and address.lower() != ctx.user.lower():
            self.event(ctx, "mail", mail_from=address, user=ctx.user, decision="reject",
                       reason="envelope sender not owned by the authenticated user")
            shown = "<>" if address in ("", "<>") else f"<{address}>"  # the null sender as is
            return f"553 5.7.1 {shown}: Sender address rejected: not owned by user {ctx.user}"
        self.event(ctx, "mail", mail_from=address, user=ctx.user, decision="accept",
                   reason=f"authenticated as {ctx.user}")
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        """RCPT with a fully qualified recipient (see :meth:`qualify`), then the
        base class's checks and :meth:`on_rcpt`.

        ``RCPT TO:<Postmaster>`` without a domain is the postmaster of the ISP's
        (first) domain, whom RFC 5321 section 4.5.1 says MUST be accepted; any other bare
        local part is the ISP's user of that name.  Relayed without a domain, such a
        recipient had no destination and came back to the user as a DSN.
        """
        address, refusal = self.qualify(address)
        if refusal:
            self.event(self._sync_auth(server, session), "rcpt", rcpt=address, decision="reject",
                       reason="recipient domain not fully qualified (RFC 6409)")
            # RFC 3463 X.1.2: bad destination system address
            return f"554 5.1.2 {refusal}: Recipient address rejected"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    def on_rcpt(self, ctx: Context, address: str, accepted: list[str]) -> str:
        """Any recipient, for an authenticated user."""
        if not ctx.user:
            return "530 5.7.0 Authentication required"
        self.event(ctx, "rcpt", rcpt=address, decision="relay", reason=f"authenticated as {ctx.user}")
        return "250 OK"

    def on_data(self, ctx: Context, mail_from: str, rcpts: list[str], data: bytes) -> str:
        """Add a Received line, DKIM-sign for the user's domain when it has a lab key, and relay."""
        from . import sender

        qid = queue_id()
        message = self.received_header(ctx, None, qid, self.client_name(ctx)) + data
        domain = (ctx.user or mail_from).rpartition("@")[2].lower()
        if self.sign and domain in _hosts.SIGNING_SELECTORS:
            message = sender.dkim_sign(message, domain)
            self.event(ctx, "dkim-sign", qid=qid, domain=domain, decision="signed",
                       reason=f"signed with the lab key of {domain}")
        self.relay(ctx, qid, message, mail_from, rcpts)
        return f"250 2.0.0 Ok: queued as {qid}"


def make_certificates(names: Iterable[str]) -> tuple[ssl.SSLContext, ssl.SSLContext, bytes]:
    """A throw-away lab CA and one server certificate for ``names`` (and 127.0.0.1).

    Returns (server context, client context trusting only the lab CA, CA PEM).
    """
    import trustme

    ca = trustme.CA(organization_name="labkit lab CA")
    cert = ca.issue_cert("127.0.0.1", *names)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(client)
    return server, client, ca.cert_pem.bytes()


__all__ = ["Submission", "make_certificates"]
