"""DKIMCanonViewer: what a DKIM verifier actually hashes.

Give it a signed message and the lab DNS. For each ``DKIM-Signature`` it shows the
canonicalisation named in ``c=``, the signed header fields after header
canonicalisation (in hashing order), the body after body canonicalisation, and the
body hash declared in ``bh=`` next to the one computed now. Edit the message in the
text box (or set ``.value``) and watch which part stops matching: a changed body
breaks ``bh=``, a changed signed header breaks ``b=``, and whitespace that relaxed
canonicalisation folds away breaks nothing. All of it comes from
``labkit.auth.dkim.verify(..., explain=True)``; the widget computes nothing itself.

Introduced in lab 04 (DKIM).
"""

from __future__ import annotations

import html
import logging
from typing import Any

import ipywidgets as widgets
import traitlets

from .. import _coerce
from ._fallback import TextFallback

log = logging.getLogger(__name__)

__all__ = ["DKIMCanonViewer", "visible"]

BODY_PREVIEW = 1500  # characters of canonical body shown


def visible(text: str) -> str:
    """Make whitespace visible: space ·, tab →, CR ␍, LF ␊ (the line still breaks)."""
    return (
        text.replace(" ", "·").replace("\t", "→").replace("\r", "␍").replace("\n", "␊\n")
    )


def _wire(value: str) -> bytes:
    """The text box's message as bytes on the wire (CRLF line ends)."""
    raw = value.encode("utf-8", "surrogateescape")
    if b"\r\n" not in raw:
        raw = raw.replace(b"\n", b"\r\n")
    return raw


class DKIMCanonViewer(TextFallback, widgets.VBox):
    """Show the canonical headers and body of each DKIM signature, and both body hashes.

    ``DKIMCanonViewer(signed_message, dns=lab_dns)``. ``.value`` is the message text
    (edit it to tamper); ``.results`` the current :class:`labkit.auth.dkim.DKIMResult`
    tuple; ``.show_whitespace`` toggles the visible-whitespace view; ``.text`` is
    the plain-text form of what is shown.
    Introduced in lab 04 (DKIM).
    """

    value = traitlets.Unicode("")
    show_whitespace = traitlets.Bool(True)

    def __init__(self, message: bytes | str, *, dns: Any, **kwargs: Any) -> None:
        self.dns = dns
        self.results: tuple = ()
        if not isinstance(message, str):  # bytes, an email message, a corpus message
            message = _coerce.message_bytes(message).decode("utf-8", "surrogateescape")
        text = message
        self._editor = widgets.Textarea(
            description="message",
            layout=widgets.Layout(width="100%", height="14em"),
            continuous_update=False,
        )
        self._ws = widgets.Checkbox(description="show whitespace (· space, → tab, ␍␊ CRLF)")
        self._view = widgets.HTML()
        traitlets.link((self, "value"), (self._editor, "value"))
        traitlets.link((self, "show_whitespace"), (self._ws, "value"))
        super().__init__([self._editor, self._ws, self._view], **kwargs)
        self.observe(self._on_value, names="value")
        self.observe(self._render, names="show_whitespace")
        self.value = text

    def _on_value(self, _change: Any = None) -> None:
        import labkit.auth.dkim

        self.results = labkit.auth.dkim.verify(_wire(self.value), dns=self.dns, explain=True)
        self._render()

    # --- what is shown ---------------------------------------------------------------

    def _show(self, text: str) -> str:
        return visible(text) if self.show_whitespace else text

    def sections(self) -> list[tuple[str, str]]:
        """(title, text) pairs, one group per signature: what the widget shows."""
        if not self.results:
            return [("no DKIM-Signature", "This message carries no DKIM signature.")]
        out = []
        for r in self.results:
            head = f"signature {r.index + 1}: d={r.domain} s={r.selector} -> dkim={r.result}"
            out.append((head, r.reason))
            ex = r.explanation
            if ex is None:
                continue
            names = ", ".join(n for n, _v in ex.canonical_headers)
            out.append((f"header data hashed for b= (c={ex.canonicalization}; fields: {names})",
                        self._show(ex.signed_data.decode("utf-8", "replace"))))
            body = ex.canonical_body.decode("utf-8", "replace")
            if len(body) > BODY_PREVIEW:
                body = body[:BODY_PREVIEW] + f"... ({len(ex.canonical_body)} bytes)"
            out.append(("body after canonicalisation (body part)", self._show(body)))
            verdict = "match" if ex.body_hash_matches else "MISMATCH: the body changed"
            hashes = f"bh= declared : {ex.body_hash_declared}\nbh= computed : {ex.body_hash_computed}  ({verdict})"
            if ex.unsigned_body_bytes:
                hashes += f"\n{ex.unsigned_body_bytes} body bytes after l= are not signed"
            out.append(("body hash", hashes))
        return out

    @property
    def text(self) -> str:
        """Plain text of what the widget shows now."""
        return "\n\n".join(f"== {title}\n{body}" for title, body in self.sections())

    def _render(self, _change: Any = None) -> None:
        parts = []
        for title, body in self.sections():
            parts.append(
                f"<div><b>{html.escape(title)}</b><pre style='white-space:pre-wrap;margin:0.2em 0 0.8em'>"
                f"{html.escape(body)}</pre></div>"
            )
        self._view.value = "".join(parts)
        log.debug("DKIMCanonViewer: %s", [r.result for r in self.results])
