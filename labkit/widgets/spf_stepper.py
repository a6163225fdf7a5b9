"""SPFStepper: walk through an SPF evaluation one step at a time.

The widget replays what :func:`labkit.auth.spf.check` recorded: each record fetched,
each mechanism tried (with why it matched or not) and, under each step, the DNS
queries it needed with their answers. *Back* / *Next* (or setting ``.value``) move
through the steps; a counter shows the DNS-querying terms spent so far against
RFC 7208's limit of 10. The widget computes nothing itself: it displays the
result object it is given.

Introduced in lab 03 (SPF).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import traitlets

from labkit.errors import UsageError

from ._fallback import TextFallback

log = logging.getLogger(__name__)

__all__ = ["SPFStepper", "Row", "rows_of"]

# which DNS record types each kind of step may have asked for
_RDTYPES = {
    "(record)": ("TXT",),
    "a": ("A", "AAAA"),
    "mx": ("MX", "A", "AAAA"),
    "exists": ("A",),
    "ptr": ("PTR", "A", "AAAA"),
}


def _count(n: int, one: str, many: str = "") -> str:
    """``1 step``, ``2 steps`` (``many`` where the plural is not one + s)."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


@dataclass(frozen=True, kw_only=True)
class Row:
    """One step of the replay: the trace step, its DNS queries, and the count so far."""

    depth: int
    domain: str
    term: str
    outcome: str
    detail: str
    queries: tuple[str, ...]
    spent: int

    def text(self, number: int, current: bool) -> str:
        """This step as one line of the stepper (``>`` marks the current step)."""
        mark = ">" if current else " "
        line = f"{mark}{number:>3}. {'  ' * self.depth}[{self.domain}] {self.term}: {self.outcome}"
        if self.detail:
            line += f" — {self.detail}"
        return "\n".join([line, *(f"        DNS {q}" for q in self.queries)])


def _mechanism(term: str) -> str:
    """The mechanism name of a trace term ('-include:x' -> 'include'; '(record)' stays)."""
    if term.startswith("("):
        return term
    from labkit.auth.spf_record import parse_term

    try:
        return parse_term(term).name
    except ValueError:
        return term


def rows_of(result: Any) -> tuple[Row, ...]:
    """Pair each trace step of an SPFResult with the DNS queries it made.

    A query is attributed to the first step that could have asked it: a record step
    to the TXT query of its domain, an ``a``/``mx``/``exists``/``ptr`` step to queries
    of the types it needs for the names its note mentions.
    Introduced in lab 03 (SPF).
    """
    from labkit.auth.spf_record import DNS_MECHANISMS

    pending = list(getattr(result, "lookups", ()))
    rows: list[Row] = []
    spent = 0
    previous = ""
    for step in getattr(result, "steps", ()):
        mech = _mechanism(step.term)
        wanted = _RDTYPES.get(mech, ())
        mine = []
        asked = set()  # a step asks each (name, type) once: a repeat belongs to a later step
        for q in list(pending):
            name = q.name.rstrip(".").lower()
            if q.rdtype not in wanted or (name, q.rdtype) in asked:
                continue
            if mech == "(record)":
                hit = name == step.domain.lower()
            else:
                hit = name in step.detail.lower() or q.rdtype == "PTR"
            if hit:
                mine.append(str(q))
                asked.add((name, q.rdtype))
                pending.remove(q)
        # the terms RFC 7208 counts: an include (seen when its record is entered one
        # level deeper), a redirect, and the a/mx/ptr/exists mechanisms
        if mech == "(record)" and step.depth > 0 and previous != "follow":
            spent += 1
        elif step.outcome == "follow" or (
            mech in DNS_MECHANISMS and mech != "include" and step.outcome in ("match", "no match")
        ):
            spent += 1
        rows.append(
            Row(
                depth=step.depth,
                domain=step.domain,
                term=step.term,
                outcome=step.outcome,
                detail=step.detail,
                queries=tuple(mine),
                spent=spent,
            )
        )
        previous = step.outcome
    if rows and rows[-1].term == "(stop)":
        # the term that broke a limit was counted before the check stopped: the stop row
        # shows labkit's final count, as the footer does
        spent = max(spent, getattr(result, "dns_mechanisms", spent))
        rows[-1] = Row(**{**rows[-1].__dict__, "spent": spent})
    if pending and rows:
        last = rows[-1]
        rows[-1] = Row(**{**last.__dict__, "queries": last.queries + tuple(map(str, pending))})
    return tuple(rows)


class SPFStepper(TextFallback, widgets.VBox):
    """Step through an SPF check: ``SPFStepper(lk.auth.spf.check(...))``.

    ``.value`` is the number of steps revealed (0 = none yet; ``len(.rows)`` = all,
    with the final result). ``.text`` is the plain-text form of what is shown.
    Introduced in lab 03 (SPF).
    """

    value = traitlets.Int(0)

    def __init__(self, result: Any, **kwargs: Any) -> None:
        if not all(hasattr(result, a) for a in ("steps", "lookups", "result")):
            raise UsageError(
                f"SPFStepper shows the result of lk.auth.spf.check(...), not a "
                f"{type(result).__name__}; try SPFStepper.check(ip, mail_from, helo, dns=lab_dns)"
            )
        self.result = result
        self.rows = rows_of(result)
        button = {"layout": widgets.Layout(width="7em")}
        self._back = widgets.Button(description="◀ Back", **button)
        self._next = widgets.Button(description="Next ▶", **button)
        self._all = widgets.Button(description="Show all", **button)
        self._slider = widgets.IntSlider(min=0, max=len(self.rows), description="step")
        self._view = widgets.HTML()
        self._back.on_click(lambda _b: self._move(-1))
        self._next.on_click(lambda _b: self._move(+1))
        self._all.on_click(lambda _b: self._move(len(self.rows)))
        traitlets.link((self, "value"), (self._slider, "value"))
        controls = widgets.HBox([self._back, self._next, self._all, self._slider])
        super().__init__([controls, self._view], **kwargs)
        self.observe(self._render, names="value")
        self._render()

    @classmethod
    def check(cls, ip: str, mail_from: str, helo: str, *, dns: Any) -> SPFStepper:
        """Run :func:`labkit.auth.spf.check` and wrap its result. Introduced in lab 03 (SPF)."""
        import labkit.auth.spf

        return cls(labkit.auth.spf.check(ip, mail_from, helo, dns=dns))

    @traitlets.validate("value")
    def _clamp(self, proposal: Any) -> int:
        return max(0, min(int(proposal["value"]), len(self.rows)))

    def _move(self, delta: int) -> None:
        self.value = self.value + delta

    @property
    def finished(self) -> bool:
        """True when every step is shown (and with it the result)."""
        return self.value == len(self.rows)

    # --- what is shown -------------------------------------------------------------

    def _header(self) -> str:
        r = self.result
        return (
            f"SPF check: may {r.ip} send for {r.domain or '(no domain)'}? "
            f"({_count(len(self.rows), 'step')}, {_count(len(r.lookups), 'DNS query', 'DNS queries')})"
        )

    def _footer(self, value: int | None = None) -> list[str]:
        from labkit.auth.spf_record import MAX_DNS_MECHANISMS

        r = self.result
        value = self.value if value is None else value
        if value == len(self.rows):
            return [
                f"DNS-querying terms: {r.dns_mechanisms} of {MAX_DNS_MECHANISMS} allowed; "
                f"void look-ups: {r.void_lookups}",
                f"Result: {r.result}" + (f" ({r.reason})" if r.reason else ""),
            ]
        spent = self.rows[value - 1].spent if value else 0
        return [
            f"DNS-querying terms so far: {spent} of {MAX_DNS_MECHANISMS} allowed",
            "Result: (not decided yet: press Next)",
        ]

    @property
    def text(self) -> str:
        """Plain text of what the widget shows now (for logs, tests and screen readers)."""
        return self._text_at(self.value)

    def _text_at(self, value: int) -> str:
        shown = [row.text(i, i == value) for i, row in enumerate(self.rows[:value], 1)]
        return "\n".join([self._header(), *shown, *self._footer(value)])

    def _plain_text(self) -> str:
        # where no widget can be drawn (CI logs, nbgrader feedback), show every step
        return self._text_at(len(self.rows))

    def _render(self, _change: Any = None) -> None:
        self._back.disabled = self.value == 0
        self._next.disabled = self.finished
        body = []
        for i, row in enumerate(self.rows[: self.value], start=1):
            style = "background:#fff3c4;font-weight:bold" if i == self.value else ""
            queries = "".join(f"<div><code>DNS {html.escape(q)}</code></div>" for q in row.queries)
            body.append(
                f"<tr style='{style}'><td>{i}</td>"
                f"<td style='padding-left:{0.3 + 1.5 * row.depth}em'>{html.escape(row.domain)}</td>"
                f"<td><code>{html.escape(row.term)}</code></td><td>{html.escape(row.outcome)}</td>"
                f"<td>{html.escape(row.detail)}{queries}</td><td>{row.spent}</td></tr>"
            )
        footer = "<br>".join(html.escape(line) for line in self._footer())
        self._view.value = (
            f"<div><b>{html.escape(self._header())}</b><table>"
            "<tr><th>#</th><th>record of</th><th>term</th><th>outcome</th>"
            "<th>why, and DNS queries</th><th>look-ups</th></tr>"
            f"{''.join(body)}</table><p>{footer}</p></div>"
        )
        log.debug("SPFStepper at step %d of %d", self.value, len(self.rows))
