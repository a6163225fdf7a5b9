"""The receiver's spam verdict: Bayes + DNSBL + reverse DNS + authentication results.

:class:`SpamScorer` is what the lab receiver calls for each accepted message::

    scorer = lk.filters.SpamScorer(filter=trained_fisher)
    j = scorer.judge(raw, client_ip="198.51.100.150", verdict=auth_verdict, dns=lab)
    j.status    # "ham" | "unsure" | "spam"  (spam -> Junk folder)
    j.headers   # {"X-Spam-Score": "0.998", "X-Spam-Status": "Yes, ..."}

Evidence is added in log-odds space (logit of the Bayes score plus a weight per
signal) and turned back into a score in [0, 1] with the logistic function, so
every signal's share can be shown as a step.  Allowlist and blocklist hits decide
outright.  With an untrained filter and no other signal the score is 0.5 and the
status ``ham``: an unconfigured receiver never junks or flags mail for no reason.

:func:`measure` runs a scorer over a labelled stream and counts FP / FN.

Introduced in lab 10 (capstone: putting it together).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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


class SpamScorer:
    """Combine a Bayes filter, DNSBLs, FCrDNS, allow/block lists and auth results.

    All arguments are optional: ``SpamScorer()`` works (untrained: neutral 0.5, "ham").
    ``filter``: any labkit filter (``lk.filters.Fisher()`` ...); ``dnsbl_zones``: zones
    to ask (when ``dns`` is given to :meth:`judge`); ``allowlist`` / ``blocklist``:
    :class:`~labkit.filters.lists.AddressList` or iterables of entries; ``weights``:
    overrides of :data:`DEFAULT_WEIGHTS`.

    Introduced in lab 10 (capstone: putting it together).
    """

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
        self.filter = filter
        self.dnsbl_zones = tuple(dnsbl_zones)
        self.allowlist = _as_list(allowlist, "allowlist")
        self.blocklist = _as_list(blocklist, "blocklist")
        self.ham_cutoff = ham_cutoff
        self.spam_cutoff = spam_cutoff
        self.weights = {**DEFAULT_WEIGHTS, **(weights or {})}
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
        """Score one message; never raises on bad input or DNS trouble."""
        steps: list[str] = []
        reasons: list[str] = []
        sender = _sender(verdict)
        for lst, score, status in ((self.allowlist, 0.0, "ham"), (self.blocklist, 1.0, "spam")):
            hit = lst.match(ip=client_ip, sender=sender) if lst is not None else None
            if hit:
                reasons.append(f"{lst.name}:{hit}")
                steps.append(f"{lst.name} entry {hit} matches: {status}")
                return self._result(score, status, reasons, steps, None)
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
    ) -> SpamJudgement:
        flag = "Yes" if status == "spam" else "No"
        tests = ",".join(reasons) or "none"
        headers = {
            "X-Spam-Score": f"{score:.3f}",
            "X-Spam-Status": f"{flag}, status={status} score={score:.3f} tests={tests}",
        }
        return SpamJudgement(
            score=score,
            status=status,
            headers=headers,
            reasons=tuple(reasons),
            bayes=bayes_score,
            steps=tuple(steps),
        )


def _as_list(value: Any, name: str) -> AddressList | None:
    if value is None or isinstance(value, AddressList):
        return value
    return AddressList.from_entries(value, name)


def _sender(verdict: Any) -> str | None:
    dmarc = _get(verdict, "dmarc")
    sender = _get(dmarc, "header_from") or _get(_get(verdict, "spf"), "domain")
    return str(sender) if sender else None


@dataclass(frozen=True, kw_only=True)
class Labelled:
    """One message of a labelled stream, with what the receiver knew about it."""

    message: bytes = field(repr=False)
    spam: bool
    client_ip: str | None = None
    verdict: Any = None


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
    judgements = []
    ham = spam = fp = fn = unsure = 0
    for item in stream:
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
