"""Text for frontends that cannot draw a widget (CI logs, nbgrader feedback, a terminal).

ipywidgets cuts a widget's ``text/plain`` to 110 characters of its repr; the explainer
widgets give their whole ``.text`` instead.
"""

from __future__ import annotations

from typing import Any


class TextFallback:
    """Mixin for a widget with a ``.text`` property: full ``text/plain`` and repr."""

    text: str

    def _plain_text(self) -> str:
        """What ``text/plain`` shows; by default what the widget shows now."""
        return self.text

    def _repr_mimebundle_(self, **kwargs: Any) -> dict | None:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if bundle is not None:
            bundle["text/plain"] = self._plain_text()
        return bundle

    def __repr__(self) -> str:
        return self.text
