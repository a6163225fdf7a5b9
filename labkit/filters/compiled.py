"""The spam filters' optional compiled speed-ups, and whether this install has them.

Four small C modules do the hot inner loops of classification:

* ``_cgrams``: the SVM's hashed character 4-grams (:mod:`labkit.filters.grams`);
* ``_cclues``: the Robinson clue look-up and sums (:mod:`labkit.filters.bayes`);
* ``_cwords``: the tokenizer's word, pair, URL and header scans on ASCII text
  (:mod:`labkit.filters.tokens`);
* ``_chtml``: the tokenizer's HTML-to-text passes on ASCII HTML (the same module).

They are built by ``pip install -e .`` when a C compiler is there; without one the
install still succeeds and every filter runs its Python code.  The two give the same
tokens and the same scores to the last bit (``tests/filters/test_compiled*.py`` run
both on the whole corpus); the Python code is the one to read, the C code only makes
it faster.  ``LABKIT_PURE_PYTHON=1`` makes labkit ignore the compiled modules (to
compare, or to rule them out).  ``labkit doctor`` says which are in use.

Not used in the labs directly: lab 09's filters call it.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

#: the compiled modules, each named after what it speeds up
MODULES: dict[str, str] = {
    "_cgrams": "hashed character 4-grams (the SVM's features)",
    "_cclues": "Robinson's clue look-up and sums",
    "_cwords": "the tokenizer's word, pair, URL and header scans",
    "_chtml": "the tokenizer's HTML-to-text passes",
}


#: what each module must have for this version of labkit: one built from older C code (an
#: editable install not rebuilt after an update) would give other tokens, so it is not used
NEEDS: dict[str, tuple[str, ...]] = {"_chtml": ("html_to_text", "set_entities", "set_legacy")}


def pure_python() -> bool:
    """True when ``LABKIT_PURE_PYTHON`` asks for the Python code only."""
    return os.environ.get("LABKIT_PURE_PYTHON", "").strip().lower() not in ("", "0", "false", "no")


def load(name: str) -> ModuleType | None:
    """The compiled module ``name`` (one of :data:`MODULES`), or None when it was not
    built, was built from older C code (:data:`NEEDS`), or ``LABKIT_PURE_PYTHON`` is set."""
    if name not in MODULES:
        raise KeyError(f"no compiled module {name!r}; there are {', '.join(MODULES)}")
    if pure_python():
        return None
    try:
        module = importlib.import_module(f"{__package__}.{name}")
    except ImportError:
        return None
    return module if usable(module, name) else None


def usable(module: object, name: str) -> bool:
    """True when ``module`` has every function :data:`NEEDS` names for ``name``."""
    return all(hasattr(module, attr) for attr in NEEDS.get(name, ()))


def status() -> dict[str, bool]:
    """``{module name: True when it is built and in use}`` for each of :data:`MODULES`."""
    return {name: load(name) is not None for name in MODULES}


__all__ = ["MODULES", "NEEDS", "load", "pure_python", "status", "usable"]
