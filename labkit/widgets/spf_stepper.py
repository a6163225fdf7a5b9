"""SPFStepper: walk through an SPF evaluation one step at a time.

The widget shows the trace that :func:`labkit.auth.spf.check` recorded -- each
mechanism tried and each DNS look-up with its answer -- and lets the learner move
through it with *Back* / *Next* (or by setting ``.value`` to a step number). The
steps up to the current one are shown; the current one is highlighted; a counter
shows how many DNS-querying terms have been spent against the limit of 10.

The widget computes nothing itself: it displays the result object it is given.
Introduced in lab 03 (SPF).
"""

from __future__ import annotations

import dataclasses
import html
import logging
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets
import traitlets

log = logging.getLogger(__name__)

LOOKUP_LIMIT = 10  # RFC 7208 section 4.6.4

__all__ = ["SPFStepper", "step_rows"]


def _as_mapping(step: Any) -> dict[str, Any]:
    """A step object (dataclass, mapping, object with to_dict, or text) as a dict."""
    if isinstance(step, Mapping):
        return dict(step)
    to_dict = getattr(step, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    if dataclasses.is_dataclass(step) and not isinstance(step, type):
        return dataclasses.asdict(step)
    return {"detail": str(step)}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def step_rows(result: Any) -> tuple[dict[str, str], ...]:
    """Flatten ``result.steps`` into rows of ``kind``, ``what`` and ``outcome`` strings.

    Understands the step fields of :mod:`labkit.auth.spf` (a kind, the term or the
    DNS query, the answer or outcome) and falls back to the step's text.
    Introduced in lab 03 (SPF).
    """
    rows = []
    for raw in getattr(result, "steps", ()) or ():
        step = _as_mapping(raw)
        kind = _text(step.get("kind") or step.get("action") or step.get("type") or "step")
        what_parts = [
            _text(step.get(k))
            for k in ("domain", "term", "mechanism", "query", "name", "rdtype")
            if step.get(k)
        ]
        outcome_parts = [
            _text(step.get(k))
            for k in ("answer", "answers", "rcode", "match", "result", "outcome")
            if step.get(k) not in (None, "", ())
        ]
        detail = _text(step.get("detail") or step.get("message") or step.get("note"))
        rows.append(
            {
                "kind": kind,
                "what": " ".join(what_parts) or detail,
                "outcome": " ".join(outcome_parts) if outcome_parts else "",
                "detail": detail if what_parts else "",
                "lookups": _text(step.get("lookups", "")),
            }
        )
    return tuple(rows)


class SPFStepper(widgets.VBox):
    """Step through an SPF check: ``SPFStepper(lk.auth.spf.check(...))``.

    ``.value`` is the number of steps revealed (0 = none yet, ``len(steps)`` = all,
    with the final result). ``.text`` is the plain-text form of what is shown.
    Introduced in lab 03 (SPF).
    """

    value = traitlets.Int(0)

    def __init__(self, result: Any, **kwargs: Any) -> None:
        self.result = result
        self.rows = step_rows(result)
        self._back = widgets.Button(description="◀ Back", layout=widgets.Layout(width="7em"))
        self._next = widgets.Button(description="Next ▶", layout=widgets.Layout(width="7em"))
        self._all = widgets.Button(description="Show all", layout=widgets.Layout(width="7em"))
        self._slider = widgets.IntSlider(
            min=0, max=len(self.rows), description="step", continuous_update=True
        )
        self._view = widgets.HTML()
        self._back.on_click(lambda _b: self._move(-1))
        self._next.on_click(lambda _b: self._move(+1))
        self._all.on_click(lambda _b: setattr(self, "value", len(self.rows)))
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

    # --- what is shown -------------------------------------------------------------

    def _header(self) -> str:
        r = self.result
        return (
            f"SPF check of {getattr(r, 'domain', '?')} "
            f"for client {getattr(r, 'ip', None) or '(ip)'}: {len(self.rows)} steps"
        )

    def _lookups_so_far(self) -> int | None:
        """DNS-querying terms spent up to the current step, if the trace says so."""
        counts = [row["lookups"] for row in self.rows[: self.value] if row["lookups"] != ""]
        if counts:
            try:
                return int(counts[-1])
            except ValueError:
                return None
        if self.value == len(self.rows):
            return getattr(self.result, "lookups", None) if isinstance(
                getattr(self.result, "lookups", None), int
            ) else None
        return None

    def _footer(self) -> str:
        parts = []
        spent = self._lookups_so_far()
        if spent is not None:
            parts.append(f"DNS-querying terms so far: {spent} of {LOOKUP_LIMIT}")
        if self.value == len(self.rows):
            result = getattr(self.result, "result", "?")
            parts.append(f"Result: {result}")
            explanation = getattr(self.result, "explanation", "")
            if explanation:
                parts.append(f"Why: {explanation}")
        else:
            parts.append("Result: (press Next)")
        return "\n".join(parts)

    @property
    def text(self) -> str:
        """Plain text of what the widget shows now (for logs, tests and screen readers)."""
        lines = [self._header()]
        for i, row in enumerate(self.rows[: self.value], start=1):
            marker = "▶" if i == self.value else " "
            line = f"{marker}{i:>3}. [{row['kind']}] {row['what']}"
            if row["outcome"]:
                line += f" -> {row['outcome']}"
            if row["detail"]:
                line += f"  ({row['detail']})"
            lines.append(line)
        lines.append(self._footer())
        return "\n".join(lines)

    def _render(self, _change: Any = None) -> None:
        self._back.disabled = self.value == 0
        self._next.disabled = self.value == len(self.rows)
        body = []
        for i, row in enumerate(self.rows[: self.value], start=1):
            style = ' style="background:#fff3c4;font-weight:bold"' if i == self.value else ""
            cells = (str(i), row["kind"], row["what"], row["outcome"], row["detail"])
            body.append(
                f"<tr{style}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
            )
        footer = "<br>".join(html.escape(line) for line in self._footer().splitlines())
        self._view.value = (
            f"<div><b>{html.escape(self._header())}</b>"
            "<table><thead><tr><th>#</th><th>kind</th><th>what</th><th>outcome</th>"
            f"<th>note</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<p>{footer}</p></div>"
        )
        log.debug("SPFStepper at step %d of %d", self.value, len(self.rows))

    def __repr__(self) -> str:
        return self.text
