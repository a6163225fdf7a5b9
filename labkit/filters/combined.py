"""The receiver's spam verdict: Bayes + DNSBL + reverse DNS + authentication results.

:class:`SpamScorer` is what the lab receiver calls for each accepted message::

    scorer = lk.filters.SpamScorer(filter=trained_fisher)
    j = scorer.judge(raw, client_ip="198.51.100.150", verdict=auth_verdict, dns=lab)
    j.status    # "ham" | "unsure" | "spam"  (spam -> Junk folder)
    j.headers   # {"X-Spam-Score": "0.998",
                #  "X-Spam-Status": "Yes, score=0.998 required=0.900 tests=... status=spam"}

``X-Spam-Status`` follows SpamAssassin's layout (``Yes``/``No``, ``score=``, then
``required=``, the threshold, then ``tests=``); our score is a probability, so
``required=`` is ``spam_cutoff`` and both have three decimals.  One field of ours
comes last: ``status=`` (ham, unsure or spam; SpamAssassin has no unsure band).

Evidence is added in log-odds space (logit of the Bayes score plus a weight per
signal) and turned back into a score in [0, 1] with the logistic function, so
every signal's share can be shown as a step.  Allowlist and blocklist hits decide
outright.  With an untrained filter and no other signal the score is 0.5 and the
status ``ham``: an unconfigured receiver never junks or flags mail for no reason.

Which identity the lists see (anyone can write any From address, so a list of
names is only as good as the authentication behind them):

* an address or network entry matches the connecting client's IP address, which a
  TCP client cannot forge;
* a domain or mail-address entry on the **allowlist** matches the From address
  (``alice@corp.example`` the whole address, ``corp.example`` its domain) *only
  when the message authenticates that From domain*: DMARC ``pass``, or, when the
  domain publishes no DMARC record (``none``) or its record could not be fetched
  (``temperror``), an SPF or DKIM ``pass`` for a domain aligned with it (same
  organisational domain).  A DMARC ``fail`` is final: the domain's owner has said
  what aligned mail looks like and this message is not it.  A forged From of an
  allowlisted domain is therefore scored like any other mail, and the reasons say
  why the entry was not applied;
* a domain or mail-address entry on the **blocklist** matches the From address and
  the envelope sender (MAIL FROM) whether or not they are authenticated: refusing
  mail that merely *claims* a blocked name costs nothing.

When both lists match, **the blocklist wins**, whichever identity each entry
matched: the client address on both lists, an allowlisted client (a partner's
relay, a mailing list, a forwarder) carrying a From or MAIL FROM on the blocklist,
or an authenticated allowlisted From arriving from a blocked network.  The two kinds
of entry fail differently.  A block entry matched by a mere claim can only hurt
whoever writes that claim (the blocked sender, or someone pretending to be it), so
nobody can use it against mail the administrator wants.  An allow entry that beat
it would let any blocked sender through every allowlisted relay.  And the receiver
decides in the same order in time: it refuses a blocked client at connect and a
blocked MAIL FROM at ``MAIL``, before any From can be read, let alone
authenticated.  An exception to a block is made by narrowing the block entry
(``=domain`` for one domain only, a smaller network), not by an allow entry.

:func:`measure` runs a scorer over a labelled stream and counts FP / FN.

Introduced in lab 10 (capstone: putting it together).
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import _coerce
from ..errors import UsageError
from . import dnsbl, rdns
from .lists import AddressList

log = logging.getLogger(__name__)

#: log-odds added per signal (positive = spammier)
DEFAULT_WEIGHTS: dict[str, float] = {
    "bayes": 1.0,  # multiplies logit(bayes score)
    "dnsbl": 4.0,
    "rdns_none": 1.0,
    "rdns_fail": 1.0,
    "rdns_generic": 0.5,
    "dmarc_fail": 3.0,
    "dmarc_pass": -2.0,
    "spf_fail": 1.5,
    "spf_softfail": 0.5,
    "spf_pass": -0.5,
    "dkim_pass": -0.5,
    "dkim_fail": 0.5,
}


@dataclass(frozen=True, kw_only=True)
class SpamJudgement:
    """The receiver's spam verdict: score in [0, 1], status, headers to add, reasons."""

    score: float
    status: str
    headers: dict[str, str]
    reasons: tuple[str, ...] = ()
    bayes: float | None = None
    steps: tuple[str, ...] = field(default=())
    #: the blocklist entry that decided (a block entry wins over any allow entry), else None
    blocked: str | None = None

    @property
    def spam(self) -> bool:
        """True when the message goes to Junk."""
        return self.status == "spam"

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {
            "score": self.score,
            "status": self.status,
            "headers": dict(self.headers),
            "reasons": list(self.reasons),
            "bayes": self.bayes,
            "steps": list(self.steps),
            "blocked": self.blocked,
        }

    def __str__(self) -> str:
        return f"{self.status} ({self.score:.3f}): " + ("; ".join(self.reasons) or "no evidence")

    def _repr_html_(self) -> str:
        steps = "".join(f"<li>{s}</li>" for s in self.steps)
        return f"<b>{self.status}</b> score {self.score:.3f}<ol>{steps}</ol>"


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _test_name(reason: str) -> str:
    """``reason`` as one name of X-Spam-Status's comma-separated ``tests=`` list, which
    readers split at commas and end at white space (SpamAssassin's layout): the detail in
    brackets dropped (``explain`` keeps it), spaces as ``_``, commas inside as ``+``."""
    name = reason.split(" (", 1)[0]
    return "_".join(name.split()).replace(",", "+")


class SpamScorer:
    """Combine a Bayes filter, DNSBLs, FCrDNS, allow/block lists and auth results.

    All arguments are optional: ``SpamScorer()`` works (untrained: neutral 0.5, "ham").
    ``filter``: any labkit filter (``lk.filters.Fisher()`` ...); ``dnsbl_zones``: zones
    to ask (when ``dns`` is given to :meth:`judge`); ``allowlist`` / ``blocklist``:
    :class:`~labkit.filters.lists.AddressList` or iterables of entries; ``weights``:
    overrides of :data:`DEFAULT_WEIGHTS`.

    Introduced in lab 10 (capstone: putting it together).
    """

    check_rdns = _coerce.Flag()  # checked on every assignment: "no" must not check

    def __init__(
        self,
        filter: Any = None,
        *,
        dnsbl_zones: Iterable[str] = (dnsbl.LAB_ZONE,),
        allowlist: AddressList | Iterable[str] | None = None,
        blocklist: AddressList | Iterable[str] | None = None,
        ham_cutoff: float = 0.2,
        spam_cutoff: float = 0.9,
        weights: Mapping[str, float] | None = None,
        check_rdns: bool = True,
    ) -> None:
        if filter is not None:
            from .evaluate import _check_filter

            _check_filter(filter)
        self.filter = filter
        # one zone alone is one zone (not its letters), None none
        self.dnsbl_zones = _coerce.names(dnsbl_zones, "dnsbl_zones", example=dnsbl.LAB_ZONE)
        self.allowlist = _as_list(allowlist, "allowlist")
        self.blocklist = _as_list(blocklist, "blocklist")
        self.ham_cutoff = _cutoff(ham_cutoff, "ham_cutoff", 0.2)
        self.spam_cutoff = _cutoff(spam_cutoff, "spam_cutoff", 0.9)
        self.weights = {**DEFAULT_WEIGHTS, **_weights(weights)}
        self.check_rdns = check_rdns

    def __repr__(self) -> str:
        return (
            f"<SpamScorer filter={self.filter!r} dnsbl={list(self.dnsbl_zones)} "
            f"cutoffs={self.ham_cutoff}/{self.spam_cutoff}>"
        )

    def learn(self, message: bytes, spam: bool) -> None:
        """Train the Bayes filter (creates a Fisher filter on first use)."""
        if self.filter is None:
            from .bayes import Fisher

            self.filter = Fisher()
        self.filter.learn(message, spam)

    def judge(
        self, message: bytes, *, client_ip: str | None = None, verdict: Any = None, dns: Any = None
    ) -> SpamJudgement:
        """Score one message; never raises on bad input or DNS trouble.

        ``message``: the raw mail as bytes (or text, an email message, a corpus message).
        Anything else (``None``, a number, a list of messages) is a ``TypeError`` here,
        not a message scored without its content.
        """
        message = _coerce.message_bytes(message)
        steps: list[str] = []
        reasons: list[str] = []
        author = _author(verdict)
        # the blocklist first: a block entry wins over an allow entry (module docstring)
        blocked = self._blocked(client_ip, author, verdict, steps)
        if blocked:
            also = self._allowed(client_ip, author, [], [])
            if also:
                steps.append(f"{self.allowlist.name} entry {also} also matches, not applied: "
                             f"a block entry wins over an allow entry")
            return self._result(1.0, "spam", [f"{self.blocklist.name}:{blocked}"], steps, None,
                                blocked=blocked)
        hit = self._allowed(client_ip, author, steps, reasons)
        if hit:
            return self._result(0.0, "ham", [*reasons, f"{self.allowlist.name}:{hit}"], steps, None)
        z = 0.0
        bayes_score = None
        w = self.weights
        trained = bool(self.filter is not None and getattr(self.filter, "trained", True))
        if trained:
            try:
                bayes_score = float(self.filter.score(message))
            except Exception:  # noqa: BLE001 - a filter bug must not lose mail
                log.exception("filter failed; scoring without it")
            if bayes_score is not None:
                z += w["bayes"] * _logit(bayes_score)
                reasons.append(f"bayes={bayes_score:.3f}")
                steps.append(f"Bayes {bayes_score:.4f} -> log-odds {z:+.2f}")
        else:
            steps.append("no trained filter: Bayes is neutral")
        if client_ip and dns is not None:
            z += self._network(client_ip, dns, steps, reasons)
        z += self._auth(verdict, steps, reasons)
        score = 1.0 / (1.0 + math.exp(-max(min(z, 700), -700)))
        if score >= self.spam_cutoff:
            status = "spam"
        elif score < self.ham_cutoff or bayes_score is None:
            status = "ham"  # without Bayes evidence there is no unsure band
        else:
            status = "unsure"
        steps.append(f"total log-odds {z:+.2f} -> score {score:.4f}: {status}")
        return self._result(score, status, reasons, steps, bayes_score)

    def _allowed(
        self, ip: str | None, author: _Author, steps: list[str], reasons: list[str]
    ) -> str | None:
        """The allowlist entry that applies: the client address, or the authenticated From."""
        lst = self.allowlist
        if lst is None:
            return None
        hit = lst.match(ip=ip)
        if hit:
            steps.append(f"{lst.name} entry {hit} matches client {ip}: ham")
            return hit
        claimed = author.address or author.domain
        hit = lst.match(sender=claimed) if claimed else None
        if hit and not author.authenticated:
            reasons.append(f"{lst.name}:{hit} not applied (From not authenticated: {author.how})")
            steps.append(
                f"{lst.name} entry {hit} matches From {claimed}, which is not authenticated "
                f"({author.how}): entry not applied"
            )
            return None
        if hit:
            steps.append(
                f"{lst.name} entry {hit} matches authenticated From {claimed} ({author.how}): ham"
            )
        return hit

    def _blocked(
        self, ip: str | None, author: _Author, verdict: Any, steps: list[str]
    ) -> str | None:
        """The blocklist entry that matches the client, the From or the MAIL FROM (claimed)."""
        lst = self.blocklist
        if lst is None:
            return None
        spf = _get(verdict, "spf")
        envelope = _get(spf, "mail_from") or _get(spf, "domain")
        for what, value in (
            ("client", ip),
            ("From", author.address or author.domain),
            ("MAIL FROM", envelope),
        ):
            if not value:
                continue
            hit = lst.match(ip=value) if what == "client" else lst.match(sender=str(value))
            if hit:
                steps.append(f"{lst.name} entry {hit} matches {what} {value}: spam")
                return hit
        return None

    def _network(self, ip: str, dns: Any, steps: list[str], reasons: list[str]) -> float:
        w = self.weights
        z = 0.0
        for zone in self.dnsbl_zones:
            try:
                res = dnsbl.lookup(ip, zone, dns=dns)
            except Exception as exc:  # noqa: BLE001 - bad address or resolver: no evidence
                steps.append(f"DNSBL {zone}: skipped ({exc})")
                continue
            if res.listed:
                z += w["dnsbl"]
                reasons.append(f"dnsbl:{zone}={','.join(res.codes)}")
            steps.append(
                f"DNSBL {zone}: {res.status}" + (f" {w['dnsbl']:+.1f}" if res.listed else "")
            )
        if self.check_rdns:
            try:
                fc = rdns.check(ip, dns=dns)
            except Exception as exc:  # noqa: BLE001
                steps.append(f"FCrDNS skipped ({exc})")
                return z
            add = {"none": w["rdns_none"], "fail": w["rdns_fail"]}.get(fc.result, 0.0)
            if fc.generic:
                add += w["rdns_generic"]
            if add:
                reasons.append(f"fcrdns={fc.result}" + (",generic" if fc.generic else ""))
            steps.append(f"FCrDNS {fc.result}{' (generic name)' if fc.generic else ''}: {add:+.1f}")
            z += add
        return z

    def _auth(self, verdict: Any, steps: list[str], reasons: list[str]) -> float:
        if verdict is None:
            return 0.0
        w = self.weights
        z = 0.0
        dmarc = _get(_get(verdict, "dmarc"), "result")
        spf = _get(_get(verdict, "spf"), "result")
        dkims = [_get(d, "result") for d in (_get(verdict, "dkim") or ())]
        key = {"fail": "dmarc_fail", "pass": "dmarc_pass"}.get(dmarc or "")
        if key:
            z += w[key]
            reasons.append(f"dmarc={dmarc}")
            steps.append(f"DMARC {dmarc}: {w[key]:+.1f}")
        if dmarc not in ("pass", "fail"):
            key = {"fail": "spf_fail", "softfail": "spf_softfail", "pass": "spf_pass"}.get(
                spf or ""
            )
            if key:
                z += w[key]
                reasons.append(f"spf={spf}")
                steps.append(f"SPF {spf}: {w[key]:+.1f}")
            if "pass" in dkims:
                z += w["dkim_pass"]
                reasons.append("dkim=pass")
                steps.append(f"DKIM pass: {w['dkim_pass']:+.1f}")
            elif "fail" in dkims:
                z += w["dkim_fail"]
                reasons.append("dkim=fail")
                steps.append(f"DKIM fail: {w['dkim_fail']:+.1f}")
        return z

    def _result(
        self,
        score: float,
        status: str,
        reasons: list[str],
        steps: list[str],
        bayes_score: float | None,
        blocked: str | None = None,
    ) -> SpamJudgement:
        spam = status == "spam"
        flag = "Yes" if spam else "No"
        tests = ",".join(_test_name(r) for r in reasons) or "none"
        required = f"{self.spam_cutoff:.3f}"
        shown = _shown_score(score, required, spam)
        headers = {
            "X-Spam-Score": shown,
            # SpamAssassin's order: flag, score, required (the threshold), tests; ours last
            "X-Spam-Status": f"{flag}, score={shown} required={required} tests={tests} "
                             f"status={status}",
        }
        return SpamJudgement(
            score=score,
            status=status,
            headers=headers,
            reasons=tuple(reasons),
            bayes=bayes_score,
            steps=tuple(steps),
            blocked=blocked,
        )


def _shown_score(score: float, required: str, spam: bool) -> str:
    """``score`` with three decimals, never on the wrong side of the shown ``required``.

    0.8996 rounds to 0.900; beside ``required=0.900`` on a ``No`` that reads as a
    threshold met and ignored, so it is shown as 0.899 (SpamAssassin likewise avoids
    printing ``score=5.0 required=5.0`` on a message below the threshold)."""
    shown = f"{score:.3f}"
    if not spam and float(shown) >= float(required):
        shown = f"{math.floor(score * 1000) / 1000:.3f}"
    elif spam and float(shown) < float(required):
        shown = f"{math.ceil(score * 1000) / 1000:.3f}"
    return shown


def _cutoff(value: Any, name: str, default: float) -> float:
    """A cutoff checked at construction: a score in [0, 1] (``judge`` compares scores with
    it and never raises, so "0.9" or 90 must fail here, not junk nothing silently)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"SpamScorer: {name} must be a number (default {default}), not "
                        f"{type(value).__name__}")
    if not 0.0 <= value <= 1.0:  # NaN too
        raise UsageError(f"SpamScorer: {name} is a score between 0 and 1 (default {default}), "
                         f"not {value!r}")
    return value


def _weights(weights: Any) -> dict[str, float]:
    """``weights`` overrides checked: a misspelt signal name would be ignored silently."""
    if weights is None:
        return {}
    if not isinstance(weights, Mapping):
        raise TypeError(f"SpamScorer: weights must be a dict of signal name -> log-odds, such "
                        f"as {{'dnsbl': 4.0}}, not {type(weights).__name__}")
    for key, value in weights.items():
        if key not in DEFAULT_WEIGHTS:
            near = difflib.get_close_matches(str(key), list(DEFAULT_WEIGHTS), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise UsageError(f"SpamScorer: no signal named {key!r}{hint}; the weights are "
                             f"{', '.join(DEFAULT_WEIGHTS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise TypeError(f"SpamScorer: weight {key!r} must be a number of log-odds such as "
                            f"{DEFAULT_WEIGHTS[key]}, not {value!r}")
    return dict(weights)


def _as_list(value: Any, name: str) -> AddressList | None:
    if value is None or isinstance(value, AddressList):
        return value
    return AddressList.from_entries(value, name)


@dataclass(frozen=True, kw_only=True)
class _Author:
    """The From identity of a message and whether its authentication vouches for it."""

    address: str | None = None
    domain: str | None = None
    authenticated: bool = False
    how: str = "no authentication verdict"


def _author(verdict: Any) -> _Author:
    """Who the From field names, and whether DMARC (or an aligned SPF/DKIM pass) confirms it.

    Authenticated: DMARC ``pass``; or DMARC ``none`` / ``temperror`` (no policy to
    apply) with an SPF or DKIM pass aligned with the From domain (relaxed alignment).
    """
    if verdict is None:
        return _Author()
    dmarc = _get(verdict, "dmarc")
    result = _get(dmarc, "result")
    from_header = _get(verdict, "from_header")
    domain = _get(dmarc, "header_from") or _get(from_header, "domain")
    if not domain:
        return _Author(how=f"no usable From (dmarc={result})")
    domain = str(domain).lower()
    address = _get(from_header, "address")
    address = str(address).lower() if address else None
    if address and address.rsplit("@", 1)[-1] != domain:
        address = None  # not the identity DMARC judged
    if result == "pass":
        return _Author(address=address, domain=domain, authenticated=True, how="dmarc=pass")
    if result in (None, "none", "temperror"):
        via = _aligned_pass(verdict, domain)
        shown = result or "not checked"
        if via:
            return _Author(
                address=address,
                domain=domain,
                authenticated=True,
                how=f"dmarc={shown} but aligned {via}",
            )
        return _Author(
            address=address, domain=domain, how=f"dmarc={shown} and no aligned SPF or DKIM pass"
        )
    return _Author(address=address, domain=domain, how=f"dmarc={result}")


def _aligned_pass(verdict: Any, domain: str) -> str | None:
    """``dkim=pass d=...`` or ``spf=pass ...`` for a pass aligned (relaxed) with ``domain``.

    The names come from the message, so they go to dmarc's unchecked ``_aligned`` (odd
    names: not aligned), not to ``aligned``, which refuses an address from a caller."""
    from ..auth.dmarc import _aligned

    for sig in _get(verdict, "dkim") or ():
        d = _get(sig, "domain")
        if _get(sig, "result") == "pass" and _aligned(d, domain, "r", method="psl"):
            return f"dkim=pass d={d}"
    spf = _get(verdict, "spf")
    d = _get(spf, "domain")
    if _get(spf, "result") == "pass" and _aligned(d, domain, "r", method="psl"):
        return f"spf=pass {d}"
    return None


@dataclass(frozen=True, kw_only=True)
class Labelled:
    """One message of a labelled stream, with what the receiver knew about it."""

    message: bytes = field(repr=False)
    spam: bool
    client_ip: str | None = None
    verdict: Any = None

    def __post_init__(self) -> None:
        # spam="ham" would be counted as spam by measure() (bool("ham") is True)
        try:
            object.__setattr__(self, "spam", _coerce.spam_label(self.spam))
        except TypeError:
            raise TypeError(f"Labelled: spam must be True (spam) or False (ham), not "
                            f"{self.spam!r}") from None


@dataclass(frozen=True, kw_only=True)
class StreamResult:
    """FP / FN / unsure counts of a scorer over a labelled stream."""

    total: int
    ham: int
    spam: int
    fp: int
    fn: int
    unsure: int
    judgements: tuple[SpamJudgement, ...] = field(default=(), repr=False)

    @property
    def fp_rate(self) -> float:
        """Fraction of ham judged spam."""
        return self.fp / self.ham if self.ham else 0.0

    @property
    def fn_rate(self) -> float:
        """Fraction of spam not judged spam (ham or unsure)."""
        return self.fn / self.spam if self.spam else 0.0

    def to_dict(self) -> dict:
        """Counts and rates."""
        return {
            "total": self.total,
            "ham": self.ham,
            "spam": self.spam,
            "fp": self.fp,
            "fn": self.fn,
            "unsure": self.unsure,
            "fp_rate": self.fp_rate,
            "fn_rate": self.fn_rate,
        }


def measure(scorer: SpamScorer, stream: Iterable[Labelled], *, dns: Any = None) -> StreamResult:
    """Judge every message of a labelled stream and count false positives and negatives.

    FP: ham judged spam.  FN: spam judged ham or unsure (it reached the inbox).

    Introduced in lab 10 (capstone: putting it together).
    """
    if not isinstance(scorer, SpamScorer):
        raise TypeError(f"measure: scorer must be a SpamScorer, not {type(scorer).__name__}")
    judgements = []
    ham = spam = fp = fn = unsure = 0
    for item in stream:
        if not isinstance(item, Labelled):
            raise TypeError(f"measure: the stream must hold Labelled(message=..., spam=...) "
                            f"items, not {type(item).__name__}")
        j = scorer.judge(item.message, client_ip=item.client_ip, verdict=item.verdict, dns=dns)
        judgements.append(j)
        unsure += j.status == "unsure"
        if item.spam:
            spam += 1
            fn += j.status != "spam"
        else:
            ham += 1
            fp += j.status == "spam"
    return StreamResult(
        total=ham + spam,
        ham=ham,
        spam=spam,
        fp=fp,
        fn=fn,
        unsure=unsure,
        judgements=tuple(judgements),
    )


__all__ = ["SpamScorer", "SpamJudgement", "Labelled", "StreamResult", "measure", "DEFAULT_WEIGHTS"]
