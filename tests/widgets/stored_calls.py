"""The literal argument of a widget call in a stored notebook, read without running it.

The key-terms and quiz checks read the data a lab passes to ``KeyTerms([...])`` or
``Quiz([...])`` straight from the ``.ipynb`` file: ``ast`` finds the call and
``ast.literal_eval`` turns its argument into Python data, so nothing in the notebook runs.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Any

import nbformat


def _calls_named(source: str, name: str) -> list[ast.Call]:
    """Every call of ``name`` or ``something.name`` in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called == name:
                found.append(node)
    return found


def call_literal(notebook: Path, name: str, keyword: str) -> Any:
    """The first argument (or ``keyword=``) of the notebook's one ``name(...)`` call, as data.

    Fails the test when the notebook has no such call or more than one, and raises
    ``ValueError`` when the argument is not a literal.
    """
    nb = nbformat.read(str(notebook), as_version=4)
    calls = []
    for cell in nb.cells:
        if cell.cell_type == "code" and name in cell.source:
            calls.extend(_calls_named(cell.source, name))
    assert len(calls) == 1, f"{notebook.name}: expected one {name} call, found {len(calls)}"
    (call,) = calls
    arg = call.args[0] if call.args else next(k.value for k in call.keywords if k.arg == keyword)
    return ast.literal_eval(arg)


def copy_with_edit(notebook: Path, folder: Path, name: str, old: str, new: str) -> Path:
    """A copy of ``notebook`` in ``folder`` whose ``name(`` cell has ``old`` replaced once.

    For checking that a checker finds a fault: the copy differs from the real lab only
    in the edited text.
    """
    copy = folder / notebook.name
    shutil.copy(notebook, copy)
    nb = nbformat.read(str(copy), as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and f"{name}(" in c.source)
    assert cell.source.count(old) == 1, f"{old!r} not found once in {notebook.name}"
    cell.source = cell.source.replace(old, new)
    nbformat.write(nb, str(copy))
    return copy
