"""Where each defence sits on the path of a mail: click a hop, see what acts there.

Introduced in lab 00 (set-up: a tour).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from labkit import _coerce
from labkit.errors import UsageError

from ._fallback import TextFallback

__all__ = ["Hop", "Defence", "HOPS", "DefenceMap"]


@dataclass(frozen=True, kw_only=True)
class Defence:
    """One defence: its name, the Japanese term, what it checks, the lab that teaches it."""

    name: str
    ja: str
    checks: str
    lab: str


@dataclass(frozen=True, kw_only=True)
class Hop:
    """One place on the mail path and the defences that act there."""

    name: str
    role: str
    defences: tuple[Defence, ...]


HOPS: tuple[Hop, ...] = (
    Hop(name="sender's PC", role="writes the mail; may be a bot", defences=()),
    Hop(name="sending server", role="the user's own mail server (submission)", defences=(
        Defence(name="SMTP-AUTH", ja="SMTP認証", lab="07",
                checks="the user logs in before the server relays the mail"),
        Defence(name="POP before SMTP", ja="POP before SMTP", lab="07",
                checks="a recent POP3 login from the same address opens a short sending window"),
    )),
    Hop(name="ISP network", role="carries packets from the customer line", defences=(
        Defence(name="OP25B", ja="OP25B (Outbound Port 25 Blocking)", lab="07",
                checks="dynamic addresses may not reach outside mail servers on port 25; use 587 with AUTH"),
    )),
    Hop(name="filter", role="judges the client and the content before the mailbox", defences=(
        Defence(name="allowlist / blocklist", ja="許可リスト / ブラックリスト (拒否リスト)", lab="08",
                checks="known good or known bad senders"),
        Defence(name="DNSBL (RBL)", ja="DNSBL (RBL)", lab="08",
                checks="is the client address listed in a DNS blocklist?"),
        Defence(name="Bayesian filter", ja="ベイジアンフィルタ", lab="09",
                checks="do the words look like the spam this user has sorted?"),
    )),
    Hop(name="receiving server", role="our MX: decides to accept, quarantine or reject", defences=(
        Defence(name="SPF / Sender ID", ja="SPF / Sender ID (送信ドメイン認証)", lab="03",
                checks="may the client IP send for the envelope (or header) domain?"),
        Defence(name="DKIM / DomainKeys", ja="DKIM (デジタル署名)", lab="04",
                checks="does the signature of the signing domain verify?"),
        Defence(name="DMARC", ja="DMARC", lab="05",
                checks="does SPF or DKIM pass for the From domain, and what does its owner ask?"),
    )),
    Hop(name="inbox", role="after delivery", defences=(
        Defence(name="URL filtering / virus scanning", ja="URLフィルタリング / ウイルス対策", lab="08",
                checks="links and attachments of mail that got through"),
    )),
)


class DefenceMap(TextFallback, widgets.VBox):
    """The mail path as buttons; ``.hop.value`` (a hop name) shows that hop's defences.

    ``.diagram`` shows the path with the chosen hop highlighted, ``.detail`` lists
    the defences acting there with the lab that teaches each.

    Introduced in lab 00 (set-up: a tour).
    """

    def __init__(self, hops: tuple[Hop, ...] = HOPS) -> None:
        hops = _coerce.sequence(hops, "hops", of="Hop objects (DefenceMap() shows the course's own path)")
        for h in hops:
            if not isinstance(h, Hop):
                raise TypeError(f"hops must be Hop objects such as lk.widgets.defence_map.HOPS[0], "
                                f"not {type(h).__name__} {h!r}")
        if not hops:
            raise UsageError(
                "DefenceMap needs at least one hop on the mail path; "
                "DefenceMap() shows the course's own path"
            )
        self.hops = {h.name: h for h in hops}
        self.hop = widgets.ToggleButtons(
            options=list(self.hops), value=hops[0].name, description="hop"
        )
        self.diagram = widgets.HTML()
        self.detail = widgets.HTML()
        self.hop.observe(self._show, names="value")
        self._show()
        super().__init__([self.hop, self.diagram, self.detail])

    @property
    def defences(self) -> tuple[Defence, ...]:
        """The defences at the chosen hop."""
        return self.hops[self.hop.value].defences

    def _show(self, _change: Any = None) -> None:
        parts = []
        for name in self.hops:
            label = html.escape(name)
            if name == self.hop.value:
                label = f"<b style='background:#ffd'>[{label}]</b>"
            parts.append(label)
        self.diagram.value = " &rarr; ".join(parts)
        hop = self.hops[self.hop.value]
        if hop.defences:
            rows = "".join(
                f"<li><b>{html.escape(d.name)}</b> ({html.escape(d.ja)}): "
                f"{html.escape(d.checks)} <i>(lab {d.lab})</i></li>"
                for d in hop.defences
            )
        else:
            rows = "<li><i>no defence acts here: the sender's own machine is not ours</i></li>"
        self.detail.value = f"<p>{html.escape(hop.role)}</p><ul>{rows}</ul>"

    @property
    def text(self) -> str:
        """Every hop and the defences acting there, as plain text."""
        return "\n".join(
            f"{h.name}: " + (", ".join(d.name for d in h.defences) or "-") for h in self.hops.values()
        )

    def _plain_text(self) -> str:
        # where no widget can be drawn, every hop as a click would show it (what each
        # defence checks, the lab that teaches it), then the one-line-per-hop summary
        lines = ["The mail path: " + " -> ".join(self.hops), ""]
        for h in self.hops.values():
            lines.append(f"{h.name} ({h.role})")
            lines.extend(f"  - {d.name} ({d.ja}), lab {d.lab}: {d.checks}" for d in h.defences)
            if not h.defences:
                lines.append("  - no defence acts here: the sender's own machine is not ours")
        return "\n".join([*lines, "", "In short:", self.text])
