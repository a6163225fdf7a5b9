"""Explainer widgets for the labs (ipywidgets).

Widgets display, they don't compute: each one calls the labkit function that does
the work and shows its result. Every widget builds without a browser, so the tests
set ``.value`` or click buttons in plain Python and read what the widget shows.

Names load lazily (importing :mod:`labkit.widgets` does not import ipywidgets until
a widget is used):

- :class:`Quiz` -- multiple-choice self-check with feedback (every lab)
- :class:`KeyTerms` -- English/Japanese key-terms table (every lab)
- :class:`MessageInspector` -- envelope vs headers, Received chain (lab 01)
- :class:`ROCExplorer` -- threshold, confusion matrix and ROC curve (lab 09)
- :class:`DefenceMap` -- where each defence sits on the mail path (lab 00)
- :class:`SPFStepper` -- each SPF mechanism and DNS look-up in turn (lab 03)
- :class:`AlignmentExplorer` -- DMARC identifier alignment (lab 05)
- :class:`DKIMCanonViewer` -- DKIM simple/relaxed canonicalisation (lab 04)
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module (inside this package) that defines it
_EXPORTS = {
    "Quiz": "quiz",
    "Question": "quiz",
    "KeyTerms": "terms",
    "MessageInspector": "inspector",
    "ROCExplorer": "roc",
    "DefenceMap": "defence_map",
    "SPFStepper": "spf_stepper",
    "AlignmentExplorer": "alignment",
    "DKIMCanonViewer": "dkim_canon",
}


def __getattr__(name: str) -> Any:
    if name in set(_EXPORTS.values()):  # the modules themselves, e.g. widgets.inspector
        return importlib.import_module(f".{name}", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'labkit.widgets' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)
