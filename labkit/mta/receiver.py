"""The receiver: our organisation's MX, deciding at each step of the SMTP dialogue.

=============  =============================================================
connect        allow / block lists, DNSBL (554 when listed), FCrDNS (noted)
MAIL FROM      SPF of the envelope sender (noted; DMARC decides later)
RCPT TO        unknown local user -> 550 5.1.1 *here*; other domains relay only
               for authenticated clients, POP-before-SMTP windows or
               ``relay_networks`` (never an open relay)
end of DATA    DKIM, DMARC, ARC (:func:`labkit.auth.evaluate`) and a spam score;
               Return-Path (MAIL FROM; any the sender wrote is removed) +
               Received + Authentication-Results headers; INBOX, Junk or
               550 5.7.1
=============  =============================================================

Override :meth:`Receiver.decide` to change local policy without touching SMTP.
The spam scorer gets ``dns=None`` unless ``scorer_dns=True``: the receiver already
asked the DNSBL and checked FCrDNS at connect time.
With ``backscatter=True`` the receiver accepts unknown recipients and bounces a
DSN to the (possibly forged) envelope sender afterwards, counting ``bounces``.

Each step writes an event with its decision and reason to the lab's event log; the
end of DATA writes one ``verdict`` event per message, with the fields listed in
:mod:`labkit.mta.events` (enough for a DMARC aggregate report:
``labkit.auth.reports.build(lab.verdicts(), policy_domain="brand.example")``).

Introduced in lab 03 (SPF: ``lab.receiver``); from lab 00 on, ``lab.send`` mails it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import re
from collections.abc import Iterable
from typing import Any

import dns.resolver

from .. import _coerce, _headerfields
from ..errors import LabkitError, UsageError
from ..net import client_address
from .policy import Context, Policy, _remove_fields, make_delivery_report, queue_id

log = logging.getLogger(__name__)


#: where :meth:`Receiver.decide` may send a message (the Maildir folders, or a 550)
ACTIONS = ("INBOX", "Junk", "reject")
_DECIDE_RETURNS = "a Decision(action='INBOX', 'Junk' or 'reject', reason=...)"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Decision:
    """Where a message goes: ``INBOX``, ``Junk`` or ``reject``, and why.

    ``action`` is read without regard to case (``"junk"`` is ``"Junk"``); anything
    else is a :class:`~labkit.errors.UsageError` that lists the three (a misspelt
    action must not make a new mail folder).
    """

    action: str
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", _coerce.choice(self.action, ACTIONS, "action"))

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return dataclasses.asdict(self)


class Receiver(Policy):
    """The MX policy of a lab domain (``mx.corp.example`` for ``corp.example``)."""

    kind = "receiver"
    # on/off switches: True or False only (``backscatter = "no"`` would switch it on)
    authenticate = _coerce.Flag()
    backscatter = _coerce.Flag()
    scorer_dns = _coerce.Flag()
    remove_forged_results = _coerce.Flag()

    def __init__(
        self,
        *,
        lab: Any,
        hostname: str,
        local_domains: Iterable[str],
        accounts: Any,
        mailstore: Any,
        scorer: Any = None,
        dnsbl_zones: Iterable[str] = ("bl.dnsbl.example",),
        allow: Iterable[str] = (),
        block: Iterable[str] = (),
        relay_networks: Iterable[str] = (),
        relay_window: Any = None,
        trusted_arc_sealers: Iterable[str] = ("lists.example.org",),
        authenticate: bool = True,
        backscatter: bool = False,
        scorer_dns: bool = False,
        remove_forged_results: bool = True,
        auth_pool: Any = None,
    ) -> None:
        super().__init__(lab=lab, hostname=hostname)
        self.local_domains = local_domains
        self.accounts = accounts
        self.mailstore = mailstore
        self.scorer = scorer
        self.dnsbl_zones = dnsbl_zones
        self.allow = allow
        self.block = block
        self.relay_networks = relay_networks
        self.relay_window = relay_window
        self.trusted_arc_sealers = trusted_arc_sealers
        self.authenticate = authenticate
        self.backscatter = backscatter
        self.scorer_dns = scorer_dns
        # RFC 8601 section 5: delete incoming Authentication-Results that claim our name
        self.remove_forged_results = remove_forged_results
        # labkit.mta.workers.AuthPool: end-of-DATA authentication in worker processes
        self.auth_pool = auth_pool
        self.bounces = 0

    # -- names and networks (checked when set: a lab cell assigns them) -----------------
    # One name alone is one name: ``dnsbl_zones = ("bl.dnsbl.example")`` (no comma, so a
    # str) would otherwise be queried letter by letter and never list anything.
    @property
    def local_domains(self) -> tuple[str, ...]:
        """The domains this MX accepts mail for (lower case)."""
        return self._local_domains

    @local_domains.setter
    def local_domains(self, value: Any) -> None:
        """Take one domain or a list of them."""
        self._local_domains = tuple(
            d.lower() for d in _coerce.names(value, "local_domains", example="corp.example"))

    @property
    def dnsbl_zones(self) -> tuple[str, ...]:
        """The DNSBL zones asked about each client address."""
        return self._dnsbl_zones

    @dnsbl_zones.setter
    def dnsbl_zones(self, value: Any) -> None:
        """Take one zone, a list of zones, or None for none."""
        self._dnsbl_zones = _coerce.names(value, "dnsbl_zones", example="bl.dnsbl.example")

    @property
    def trusted_arc_sealers(self) -> tuple[str, ...]:
        """ARC sealers whose recorded results may override a failing DMARC."""
        return self._trusted_arc_sealers

    @trusted_arc_sealers.setter
    def trusted_arc_sealers(self, value: Any) -> None:
        """Take one sealer's domain, a list of them, or None for none."""
        self._trusted_arc_sealers = _coerce.names(
            value, "trusted_arc_sealers", example="lists.example.org")

    @property
    def relay_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """Client networks allowed to relay without authenticating."""
        return self._relay_networks

    @relay_networks.setter
    def relay_networks(self, value: Any) -> None:
        """Take one network (``"192.0.2.0/24"`` or an :mod:`ipaddress` network), a list
        of them, or None for none."""
        net_types = (ipaddress.IPv4Network, ipaddress.IPv6Network)
        if value is None:
            items: tuple = ()
        elif isinstance(value, (str, *net_types)):
            items = (value,)
        else:
            items = _coerce.sequence(value, "relay_networks", of="networks such as '192.0.2.0/24'")
        nets = []
        for n in items:
            if isinstance(n, net_types):
                nets.append(n)
                continue
            text = _coerce.text(n, "each of relay_networks", example="192.0.2.0/24").strip()
            try:
                nets.append(ipaddress.ip_network(text))
            except ValueError as e:
                raise UsageError(f"relay_networks: {n!r} is not a network such as "
                                 f"'192.0.2.0/24' ({e})") from None
        self._relay_networks = tuple(nets)

    # -- lists ------------------------------------------------------------------------
    @property
    def allow(self) -> Any:
        """The allow list (an :class:`~labkit.filters.lists.AddressList`).

        Assign an AddressList, or a list of entries (``["192.0.2.0/24",
        "brand.example"]``, read by ``AddressList.from_entries``, as the constructor
        does), or None for an empty list.
        """
        return self._allow

    @allow.setter
    def allow(self, value: Any) -> None:
        """Take an AddressList, a list of entries, or None (checked here, not at connect)."""
        self._allow = _address_list(value, "allow")

    @property
    def block(self) -> Any:
        """The block list (an :class:`~labkit.filters.lists.AddressList`); assign as
        :attr:`allow`."""
        return self._block

    @block.setter
    def block(self, value: Any) -> None:
        """Take an AddressList, a list of entries, or None (checked here, not at connect)."""
        self._block = _address_list(value, "block")

    # -- helpers ----------------------------------------------------------------------
    @property
    def resolver(self) -> dns.resolver.Resolver:
        """The lab's caching resolver, which every check of this receiver asks."""
        return self.lab.resolver

    def is_local(self, address: str) -> bool:
        """True if ``address`` is in one of this host's domains."""
        return address.rpartition("@")[2].lower() in self.local_domains

    def _in(self, ip: str, nets: tuple) -> bool:
        addr = client_address(ip)  # an IPv4-mapped client is its IPv4 address
        return any(addr in n for n in nets)

    def may_relay(self, ctx: Context) -> tuple[bool, str]:
        """May this client send to other domains through us? (and why)"""
        if ctx.user:
            return True, f"authenticated as {ctx.user}"
        if self._in(ctx.client_ip, self.relay_networks):
            return True, f"{ctx.client_ip} is in relay_networks"
        if self.relay_window is not None and self.relay_window.is_open(ctx.client_ip):
            return True, f"POP before SMTP window open for {ctx.client_ip}"
        return False, "relay access denied (not authenticated, no POP-before-SMTP window)"

    # -- policy steps -----------------------------------------------------------------
    def on_connect(self, ctx: Context) -> str:
        """Block and allow lists, reverse DNS and the DNSBLs for the client address."""
        ip = ctx.client_ip
        hit = self.block.match(ip=ip)
        if hit:
            self.event(ctx, "block-list", decision="reject", reason=f"client matches {hit}")
            return f"554 5.7.1 {ip} is on the block list"
        hit = self.allow.match(ip=ip)
        if hit:
            ctx.notes["allowed"] = True
            self.event(ctx, "allow-list", decision="accept", reason=f"client matches {hit}")
            return "220 ok"
        import labkit.filters.dnsbl
        import labkit.filters.rdns

        rd = labkit.filters.rdns.check(ip, dns=self.resolver)
        ptr = rd.confirmed or (rd.names[0] if rd.names else None)
        ctx.notes["ptr"] = ptr  # for the log: a PTR name even when it does not point back
        ctx.notes["client_name"] = rd.confirmed  # for Received: only a confirmed one
        ctx.notes["fcrdns"] = rd.result
        self.event(ctx, "fcrdns", decision=rd.result, reason=str(rd), ptr=ptr)
        for zone in self.dnsbl_zones:
            bl = labkit.filters.dnsbl.lookup(ip, zone, dns=self.resolver)
            if bl.listed:
                self.event(ctx, "dnsbl", decision="reject", zone=zone, answer=list(bl.codes),
                           reason=str(bl))
                return f"554 5.7.1 Service unavailable; client [{ip}] blocked using {zone}"
            self.event(ctx, "dnsbl", decision=bl.status, zone=zone, reason=str(bl))
        return "220 ok"

    def on_mail(self, ctx: Context, address: str) -> str:
        """The sender block list, then SPF for the MAIL FROM domain (kept for the verdict)."""
        ctx.notes.pop("spf", None)
        hit = self.block.match(sender=address) if address else None
        if hit:
            self.event(ctx, "block-list", mail_from=address, decision="reject",
                       reason=f"sender matches {hit}")
            return f"554 5.7.1 <{address}>: Sender address rejected: on the block list"
        # an allow-listed envelope sender counts only once SPF has authenticated it:
        # anyone can write any MAIL FROM
        allowed_as = self.allow.match(sender=address) if address else None
        spf_mod = _auth_module("spf")
        spf = "not checked"
        if spf_mod is not None and self.authenticate:
            res = spf_mod.check(ctx.client_ip, address, ctx.helo, dns=self.resolver,
                                receiver=self.hostname)
            ctx.notes["spf"] = res
            self.event(ctx, "spf", mail_from=address, decision=res.result,
                       reason=getattr(res, "explanation", ""))
            spf = res.result
        if allowed_as:
            if spf == "pass":  # (an allow-listed client address may have set it already)
                ctx.notes["allowed"] = True
            self.event(ctx, "allow-list", mail_from=address,
                       decision="accept" if spf == "pass" else "ignore",
                       reason=f"sender matches {allowed_as}, SPF {spf}"
                       + ("" if spf == "pass" else ": not applied"))
        return "250 OK"

    def runs_inline(self, step: str) -> bool:
        """RCPT runs on the event loop (a user look-up, no DNS) unless a subclass changed it."""
        cls = type(self)
        return (step == "rcpt" and cls.on_rcpt is Receiver.on_rcpt
                and cls.may_relay is Receiver.may_relay and cls.is_local is Receiver.is_local)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        """``RCPT TO:<Postmaster>`` without a domain is this host's postmaster (RFC 5321
        section 4.5.1 says it MUST be accepted); every other address goes on unchanged."""
        if address.lower() == "postmaster" and self.local_domains:
            address = f"postmaster@{self.local_domains[0]}"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    def on_rcpt(self, ctx: Context, address: str, accepted: list[str]) -> str:
        """Local users only (550 at RCPT for unknown ones, or accept and bounce in backscatter mode); other domains only for clients allowed to relay."""
        if self.is_local(address):
            if self.accounts.exists(address):
                self.event(ctx, "rcpt", rcpt=address, decision="accept", reason="local user")
                return "250 OK"
            if self.backscatter:
                self.event(ctx, "rcpt", rcpt=address, decision="accept",
                           reason="unknown user accepted (backscatter mode: bounce later)")
                return "250 OK"
            self.event(ctx, "rcpt", rcpt=address, decision="reject", reason="unknown user")
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        ok, why = self.may_relay(ctx)
        self.event(ctx, "rcpt", rcpt=address, decision="relay" if ok else "reject", reason=why)
        if ok:
            return "250 OK"
        return f"554 5.7.1 <{address}>: Relay access denied"

    def decide(self, verdict: Any, judgement: Any, ctx: Context) -> Decision:
        """Local policy: DMARC's disposition first, then the spam score.

        An allow-list entry (the client, or an SPF-authenticated MAIL FROM) keeps spam
        out of Junk, except when the scorer's judgement comes from a *block* list entry
        (``judgement.blocked``): a block entry wins over an allow entry, here as at
        connect and MAIL FROM (see :mod:`labkit.filters.combined` for why).

        Override in a subclass (or an exercise) to change where mail goes.
        """
        disposition = getattr(verdict, "disposition", "accept") if verdict else "accept"
        if disposition == "reject":
            return Decision(action="reject", reason="DMARC policy reject")
        if disposition == "quarantine":
            return Decision(action="Junk", reason="DMARC policy quarantine")
        trusted = bool(getattr(verdict, "arc_override", False))
        blocked = getattr(judgement, "blocked", None) if judgement is not None else None
        if judgement is not None and judgement.status == "spam" and (
                blocked or not ctx.notes.get("allowed")):
            why = f"block list entry {blocked}" if blocked else f"spam score {judgement.score:.2f}"
            return Decision(action="Junk", reason=why)
        if trusted:
            return Decision(action="INBOX", reason="DMARC failed, but a trusted ARC sealer "
                            "recorded a pass: accepted by local policy")
        return Decision(action="INBOX", reason="authentication and content checks passed")

    def _decision(self, verdict: Any, judgement: Any, ctx: Context, qid: str) -> Decision | None:
        """:meth:`decide`'s answer, or None (with one ``error`` event and one log line)
        when it is no :class:`Decision` or a labkit error stopped it: a broken hook
        defers the mail with 451, it never loses it.  Other exceptions go up as before
        (a 451 and a traceback, for a bug worth its traceback)."""
        try:
            decision = self.decide(verdict, judgement, ctx)
        except LabkitError as exc:
            problem = f"decide() failed: {exc}; it must return {_DECIDE_RETURNS}"
        else:
            if isinstance(decision, Decision):
                return decision
            action = getattr(decision, "action", None)
            if isinstance(action, str) and hasattr(decision, "reason"):
                try:  # a Decision-like object (as a reloaded module makes): checked the same
                    return Decision(action=action, reason=decision.reason)
                except LabkitError as exc:
                    problem = f"decide() returned {exc}; it must return {_DECIDE_RETURNS}"
            else:
                got = ("None (did it forget to return?)" if decision is None
                       else f"{type(decision).__name__} {decision!r}"[:200])
                problem = f"decide() must return {_DECIDE_RETURNS}, not {got}"
        log.warning("%s: %s; the message is deferred (451)", self.hostname, problem)
        self.event(ctx, "error", step="decide", qid=qid, decision="defer", reason=problem)
        return None

    def evaluate(self, ctx: Context, mail_from: str, data: bytes) -> Any:
        """Run SPF, DKIM, DMARC and ARC on the message (None when auth is off/missing).

        The SPF result of the MAIL FROM stage is reused (the same check, not run twice).
        With an ``auth_pool`` the same call runs in a worker process (unless
        ``labkit.auth.evaluate`` was replaced in this process: then it runs here).
        """
        import labkit.auth
        import labkit.auth.verdict

        evaluate = getattr(labkit.auth, "evaluate", None)
        if evaluate is None or not self.authenticate:
            return None
        kwargs = {"ip": ctx.client_ip, "mail_from": mail_from, "helo": ctx.helo,
                  "authserv_id": self.hostname,
                  "trusted_arc_sealers": self.trusted_arc_sealers, "spf": ctx.notes.get("spf")}
        pool = self.auth_pool
        if pool is not None and pool.usable() and evaluate is labkit.auth.verdict.evaluate:
            return pool.evaluate(data, **kwargs)
        return evaluate(data, dns=self.resolver, **kwargs)

    def on_data(self, ctx: Context, mail_from: str, rcpts: list[str], data: bytes) -> str:
        """Authenticate (SPF, DKIM, DMARC, ARC), score, add Received and Authentication-Results, then deliver to INBOX or Junk, or reject."""
        qid = queue_id()
        verdict = self.evaluate(ctx, mail_from, data)
        judgement = None
        if self.scorer is not None:
            # a trusted ARC sealer vouched for the original authentication: do not let
            # the DMARC failure the intermediary caused count against the content score
            trusted = getattr(verdict, "arc_override", False)
            judgement = self.scorer.judge(data, client_ip=ctx.client_ip,
                                          verdict=None if trusted else verdict,
                                          dns=self.resolver if self.scorer_dns else None)
        decision = self._decision(verdict, judgement, ctx, qid)
        if decision is None:  # a decide() that returned no Decision: the mail waits
            return "451 4.3.0 Local error in processing; try again later"
        message_id = _message_id(data)
        self.event(
            ctx, "verdict", qid=qid, message_id=message_id, mail_from=mail_from, rcpts=rcpts,
            helo=ctx.helo, decision=decision.action, reason=decision.reason, **_verdict_fields(verdict),
            spam_score=None if judgement is None else round(judgement.score, 4),
            spam_status=None if judgement is None else judgement.status,
        )
        if decision.action == "reject":
            return "550 5.7.1 Message rejected: " + decision.reason
        if self.remove_forged_results:
            data, removed = remove_results(data, self.hostname)
            if removed:
                self.event(ctx, "forged-results", qid=qid, removed=removed, decision="remove",
                           reason=f"{removed} incoming Authentication-Results claimed to come "
                           f"from {self.hostname} (RFC 8601 section 5)")
        extra = b""
        if verdict is not None and getattr(verdict, "header", None):
            extra += _as_header(verdict.header)
        if judgement is not None:
            # the sender's own X-Spam-Status: No (say) must not stand beside ours: we are
            # the only writer of the fields we write (as SpamAssassin removes incoming ones)
            names = {k.lower().encode("ascii", "replace") for k in judgement.headers}
            data, removed = _remove_fields(data, lambda name, value: name in names)
            if removed:
                self.event(ctx, "forged-spam-headers", qid=qid, removed=removed, decision="remove",
                           reason=f"{removed} incoming {', '.join(sorted(judgement.headers))} "
                           "field(s): only this server writes them")
            for k, v in judgement.headers.items():
                extra += f"{k}: {v}\r\n".encode("utf-8", "replace")
        local = [r for r in rcpts if self.is_local(r)]
        remote = [r for r in rcpts if not self.is_local(r)]
        unknown = [r for r in local if not self.accounts.exists(r)]
        known = [r for r in local if r not in unknown]
        # final delivery writes our Return-Path; relayed copies keep theirs (a relay must not touch it)
        if known and not self.deliver_final(
                self.mailstore, ctx, known, qid, mail_from, extra + data,
                folder=decision.action, reason=decision.reason, message_id=message_id):
            return "451 4.3.0 Local error in processing; try again later"
        if unknown:
            self._bounce(ctx, mail_from, unknown, data, qid)
        if remote:
            self._relay(ctx, mail_from, remote, data, qid)
        return f"250 2.0.0 Ok: queued as {qid}"

    # -- onward ----------------------------------------------------------------------
    def _relay(self, ctx: Context, mail_from: str, rcpts: list[str], data: bytes, qid: str) -> None:
        stamped = self.received_header(ctx, None, qid, self.client_name(ctx)) + data
        self.relay(ctx, qid, stamped, mail_from, rcpts)

    def _bounce(self, ctx: Context, mail_from: str, unknown: list[str], data: bytes,
                qid: str) -> None:
        from . import sender

        self.bounces += 1
        if not mail_from.strip("<> "):  # aiosmtpd hands the null reverse-path over as "<>"
            self.event(ctx, "bounce", qid=qid, decision="drop",
                       reason="null reverse-path: a bounce is never bounced (RFC 5321 4.5.5)")
            return
        dsn = make_dsn(self.hostname, mail_from, unknown, data, self.lab.clock.now())
        res = sender.send(dsn, lab=self.lab, from_host=self.hostname, mail_from="",
                          rcpt_to=[mail_from])
        self.event(ctx, "bounce", qid=qid, to=mail_from, rcpts=unknown, decision=res.status,
                   reason=f"DSN for unknown users sent to the envelope sender ({res.reply})")


def _address_list(value: Any, name: str) -> Any:
    """``value`` as an AddressList named ``name`` (entries are read, None is empty)."""
    from labkit.filters.lists import AddressList

    if isinstance(value, AddressList):
        return value
    if value is None:
        return AddressList(name=name)
    if isinstance(value, (str, list, tuple, set, frozenset)):
        return AddressList.from_entries(value, name)
    raise TypeError(f"{name} must be an AddressList (lk.filters.AddressList.from_entries"
                    f"([...], {name!r})) or a list of entries such as ['192.0.2.0/24', "
                    f"'attacker.test'], not {type(value).__name__}")


def make_dsn(hostname: str, to: str, unknown: list[str], original: bytes, when: float) -> bytes:
    """A delivery status notification (RFC 3464) for ``unknown`` recipients: the
    backscatter a receiver that accepts first and checks later sends to the (often
    forged) envelope sender.  Built by :func:`labkit.mta.policy.make_delivery_report`."""
    failures = {u: "550 5.1.1 user unknown" for u in unknown}
    return make_delivery_report(hostname, to, failures, original, when)


def remove_results(data: bytes, authserv_id: str) -> tuple[bytes, int]:
    """Delete the Authentication-Results fields of ``data`` that name ``authserv_id``.

    A border MTA must not let incoming mail carry results that look like its own
    (RFC 8601 section 5). Returns the message and how many fields were removed.
    Other servers' results, and everything else, stay byte for byte.

    Introduced in lab 06 (the receiver's verdict: Authentication-Results).
    """
    ours = authserv_id.strip().lower().encode("ascii", "replace")

    def claims_ours(name: bytes, value: bytes) -> bool:
        if name != b"authentication-results":
            return False
        first = value.split(b";", 1)[0]
        # comments end at the last ")": an unclosed "(" after it is left as it is, and
        # no "(" is left to scan to the end of a long value (that was quadratic)
        cut = first.rfind(b")") + 1
        served_by = (re.sub(rb"\([^)]*\)", b"", first[:cut]) + first[cut:]).split()
        return bool(served_by) and served_by[0].lower() == ours

    return _remove_fields(data, claims_ours)



def _as_header(text: str) -> bytes:
    from labkit.auth.results import fold

    text = text.strip()
    if not text.lower().startswith("authentication-results:"):
        text = "Authentication-Results: " + text
    if "\n" not in text:  # one line per result: no line over 998 octets (RFC 5322 2.1.1)
        text = fold(text)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8") + b"\r\n"


_FIELD_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
_UNSURE = object()


def _message_id_plain(data: bytes) -> Any:
    """The Message-ID of a plain message (CRLF, ASCII, well-formed fields, unfolded ID).

    Gives what the stdlib parser below would; anything unusual returns ``_UNSURE``.
    """
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return _UNSURE
    head = data[:end]
    if not head.isascii() or head.count(b"\n") != head.count(b"\r\n") or head.count(b"\r") != head.count(b"\n"):
        return _UNSURE
    fields = _headerfields.split(head)
    if not fields or fields[0][:5] == b"From " or fields[0][:1] in (b" ", b"\t"):
        return _UNSURE
    found: Any = None
    for field in fields:
        if not _FIELD_LINE.match(field):
            return _UNSURE
        if found is None and field.split(b":", 1)[0].lower() == b"message-id":
            if b"\r\n" in field:
                return _UNSURE  # folded: leave it to the parser
            found = field.split(b":", 1)[1].strip().decode("ascii") or None
    return found


def _message_id(data: bytes) -> str | None:
    plain = _message_id_plain(data)
    if plain is not _UNSURE:
        return plain
    import email.parser
    import email.policy

    msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(data)
    mid = msg.get("Message-ID")
    return str(mid).strip() if mid else None


def _verdict_fields(verdict: Any) -> dict[str, Any]:
    """The verdict event's authentication fields (see :mod:`labkit.mta.events`).

    ``spf``, ``dkim`` (``"result:domain"`` strings), ``dmarc``, ``arc`` and
    ``disposition`` are the short forms a notebook table shows; the others carry
    what a DMARC aggregate report needs (:func:`labkit.auth.reports.build`).
    """
    if verdict is None:
        return {"spf": None, "dkim": [], "dmarc": None, "arc": None}
    spf, dm = verdict.spf, verdict.dmarc
    return {
        "spf": spf.result,
        "spf_domain": getattr(spf, "domain", None),
        "dkim": [f"{d.result}:{d.domain}" for d in verdict.dkim],
        "dkim_results": [{"domain": d.domain, "selector": getattr(d, "selector", ""), "result": d.result}
                         for d in verdict.dkim],
        "dmarc": dm.result,
        "dmarc_policy": getattr(dm, "policy", None),
        # "" (not left out) when no DMARC record was found: tells a report "no policy"
        "dmarc_policy_domain": getattr(dm, "policy_domain", None) or "",
        "dmarc_disposition": getattr(dm, "disposition", None),
        "dmarc_testing": getattr(dm, "testing", None),
        # the record's tags (p, sp, np, adkim, aspf, testing, fo, discovery_method): a
        # report built from the log states the policy as published, not only as applied
        "dmarc_published": _published(dm),
        "spf_aligned": getattr(dm, "spf_aligned", None),
        "dkim_aligned": getattr(dm, "dkim_aligned", None),
        "header_from": getattr(dm, "header_from", None),
        "arc": verdict.arc.result,
        "arc_override": getattr(verdict, "arc_override", None),
        "disposition": verdict.disposition,
    }


def _published(dmarc: Any) -> dict[str, str]:
    """The DMARC record's tags for the verdict event (:func:`labkit.auth.reports.published_tags`)."""
    reports = _auth_module("reports")
    if reports is None or getattr(dmarc, "record", None) is None:
        return {}
    return reports.published_tags(dmarc.record, getattr(dmarc, "method", None))


def _auth_module(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"labkit.auth.{name}")
    except ImportError:
        return None


__all__ = ["Receiver", "Decision", "ACTIONS", "make_dsn"]
