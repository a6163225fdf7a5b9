"""Key terms in English and Japanese, as a searchable table.

The Japanese terms follow the vocabulary of the 情報処理安全確保支援士 exam and of
Japanese anti-spam bodies; an English term has the same Japanese rendering in every
lab (tests/widgets/test_key_terms_content.py reads each lab's list and checks it).
Type in the search box to filter; tick "hide Japanese" to test yourself.

Introduced in lab 00 (set-up); every lab has one.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from .. import _coerce as _checks
from ..errors import UsageError
from ._fallback import TextFallback

__all__ = ["Term", "KeyTerms"]

MISSING_JA = "(no Japanese term given)"


def _folded(text: str) -> str:
    """``text`` for searching: NFKC (full-width Latin and half-width kana to their usual
    forms) and case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True, kw_only=True)
class Term:
    """One key term: English, Japanese, and a one-line meaning."""

    en: str
    ja: str
    meaning: str = ""

    def matches(self, needle: str) -> bool:
        """Substring match on any of the three fields, blind to case and to full-width or
        half-width forms (a Japanese input method types ＳＰＦ and ﾍﾞｲｼﾞｱﾝ)."""
        needle = _folded(needle).strip()
        return not needle or any(needle in _folded(f) for f in (self.en, self.ja, self.meaning))

    def to_dict(self) -> dict[str, str]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"en": self.en, "ja": self.ja, "meaning": self.meaning}


_FIELDS = ("en", "ja", "meaning")


def _coerce(item: Term | str | Mapping[str, Any] | Sequence[str | None]) -> Term:
    """A Term from a Term, a bare English term, a dict as :meth:`Term.to_dict` gives, or a
    tuple missing its later fields."""
    if isinstance(item, Term):
        return item
    if isinstance(item, str):
        item = (item,)
    if isinstance(item, Mapping):  # (read as a sequence it gave its keys: "en / ja")
        unknown = sorted(k for k in item if k not in _FIELDS)
        if unknown or "en" not in item:
            raise UsageError(f"a term as a dict has the keys 'en' (required), 'ja' and "
                             f"'meaning', not {sorted(item)}")
        item = tuple(item.get(k) for k in _FIELDS)
    if not isinstance(item, Sequence):
        raise TypeError(f"each term is a Term, an English term or a tuple such as "
                        f"('SPF', 'SPF (送信ドメイン認証)', 'who may send'), not "
                        f"{type(item).__name__} {item!r}")
    if len(item) > len(_FIELDS):
        raise UsageError(f"a term has at most three fields (English, Japanese, meaning), "
                         f"not {len(item)}: {tuple(item)!r}")
    fields = ["" if f is None else str(f) for f in item]
    en, ja, meaning = fields + [""] * (3 - len(fields))
    return Term(en=en, ja=ja, meaning=meaning)


class KeyTerms(TextFallback, widgets.VBox):
    """A table of key terms (English, 日本語, meaning) with search and self-test.

    ``terms`` holds ``Term`` objects or tuples ``(english, japanese[, meaning])``.
    ``.search.value`` filters the rows; ``.hide_japanese.value = True`` blanks the
    Japanese column; ``.visible`` lists the terms shown.

    Introduced in lab 00 (set-up).
    """

    def __init__(self, terms: Iterable[Term | Sequence[str]], *, title: str = "Key terms") -> None:
        terms = _checks.sequence(terms, "terms", of="terms such as [('SPF', 'SPF (送信ドメイン認証)')]")
        self.terms: tuple[Term, ...] = tuple(_coerce(t) for t in terms)
        self.title = _checks.text(title, "title", example="Key terms")
        self.search = widgets.Text(placeholder="search (English or 日本語)", description="Find")
        self.hide_japanese = widgets.Checkbox(value=False, description="hide Japanese")
        self.table = widgets.HTML()
        self.search.observe(self._render, names="value")
        self.hide_japanese.observe(self._render, names="value")
        self._render()
        super().__init__([widgets.HBox([self.search, self.hide_japanese]), self.table])

    @property
    def visible(self) -> tuple[Term, ...]:
        """The terms that match the current search."""
        return tuple(t for t in self.terms if t.matches(self.search.value))

    def _render(self, _change: Any = None) -> None:
        self.table.value = self.to_html()

    def to_html(self) -> str:
        """The table as HTML, honouring the search box and the hide box."""
        rows = []
        for t in self.visible:
            ja = "&hellip;" if self.hide_japanese.value else html.escape(t.ja) or f"<i>{MISSING_JA}</i>"
            rows.append(
                f"<tr><td>{html.escape(t.en)}</td><td>{ja}</td>"
                f"<td>{html.escape(t.meaning)}</td></tr>"
            )
        if not rows:
            rows.append("<tr><td colspan='3'><i>no term matches</i></td></tr>")
        return (
            f"<b>{html.escape(self.title)}</b><table>"
            "<tr><th>English</th><th>日本語</th><th>meaning</th></tr>"
            + "".join(rows)
            + "</table>"
        )

    @property
    def text(self) -> str:
        """Every term as plain text, one a line (for logs and nbgrader feedback)."""
        return "\n".join(f"{t.en} / {t.ja or MISSING_JA}: {t.meaning}" for t in self.terms)
