"""Every "Introduced in lab NN (<title>)." in labkit's docstrings is true.

The promise is that a newcomer finds a lab's machinery from its import line, and the
docstrings point back the other way: "Introduced in lab 04 (DKIM)". This test reads each
claim (module, class, function and method docstrings, found with ast) and checks it
against the code cells of the lab notebooks (labs/NN-*/NN-*.ipynb, hidden tests
included).

How a lab "uses" an object (the rule implemented here):

* The notebook's code is read with ast, cell after cell, and every name that leads into
  labkit is followed with real ``getattr`` on the imported package: ``lk.auth.spf.check``,
  ``import labkit.dns.live``, ``from labkit.filters import tokenize``. Each labkit module,
  class, function or method met on the way is *reached*; so is every object whose
  docstring sits behind a re-export (``lk.dns.LabDNS`` reaches the class defined in
  ``labkit.dns.server``).
* Objects made in the notebook are followed one step further, by their types as labkit
  declares them: ``lab = lk.Lab(...)`` makes ``lab`` a Lab, so ``lab.send(...)`` reaches
  ``Lab.send`` and, through its return annotation, the ``SendResult`` it gives back;
  ``lab.mailbox(...)`` reaches Maildir; ``lab.events`` reaches EventLog because Lab's code
  declares ``self.events: EventLog = ...`` (or assigns ``self.x = SomeClass(...)``). A
  value made in the notebook also counts as a use of its class. Only annotations that resolve to labkit classes
  count; nothing is guessed from a bare attribute name (``.check`` alone proves nothing).
* A *module* is used by a lab when the lab reaches the module itself or anything whose
  ``__module__`` it is. A class, function or method is used *directly* when the lab
  reaches that very object.

A claim "Introduced in lab N" is right when:

* the object is used directly by some lab, and N is the earliest such lab; or
* (a helper no lab names, such as a function called by a lab-facing one) the object is
  not used directly by any lab, is not a module, and lab N uses its module.

So a module no lab reaches, like ``labkit.filters.ensemble`` (no lab imports it or names
``SVMSenderRobinson``), fails however its package is used; its docstring must say
honestly that the labs do not use it ("Not used in the labs; ...").

The title in parentheses is the lab's short title from :data:`TITLES`, optionally
followed by ": <the part of the lab>"; each short title is checked to be the start of
that notebook's first heading, so one lab is named the same way everywhere.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
import re
import sys
import textwrap
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import labkit
from tests.conftest import ROOT

#: one short title per lab: the start of its notebook's heading "# Lab NN — <title>..."
TITLES = {
    "00": "set-up",
    "01": "anatomy of a mail",
    "02": "DNS",
    "03": "SPF",
    "04": "DKIM",
    "05": "DMARC",
    "06": "the receiver's verdict",
    "07": "sending side",
    "08": "judging the client",
    "09": "Bayesian filtering",
    "10": "capstone",
}

#: Claims known to be wrong in files another helper was editing at the same time (the lead
#: empties this set after merging both branches). Entries: "path:line". Nothing is skipped:
#: a listed claim that has become right fails too, so the set cannot go stale.
KNOWN_WRONG: set[str] = set()

CLAIM = re.compile(r"Introduced in lab (\d\d)\b(?: \(([^()]*)\))?")
LABS = ROOT / "labs"
PACKAGE = ROOT / "labkit"


# --------------------------------------------------------------------------- the claims


def _claims() -> list[tuple[str, str, str | None, str | None]]:
    """(file:line, dotted name of the object, claimed lab, title or None) per claim."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT)
        module = ".".join(rel.with_suffix("").parts)
        if module.endswith(".__init__"):
            module = module[: -len(".__init__")]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        todo: list[tuple[str, ast.AST]] = [(module, tree)]
        while todo:
            name, node = todo.pop()
            doc = ast.get_docstring(node, clean=False)
            if doc:
                start = node.body[0].lineno  # type: ignore[attr-defined]
                for match in CLAIM.finditer(doc):
                    line = start + doc[: match.start()].count("\n")
                    found.append((f"{rel}:{line}", name, match.group(1), match.group(2)))
            for child in getattr(node, "body", []):
                if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                    todo.append((f"{name}{':' if node is tree else '.'}{child.name}", child))
    return sorted(found)


def _resolve(dotted: str) -> Any:
    """The object named ``pkg.module:Qual.name`` (a module when there is no colon)."""
    module, _, qual = dotted.partition(":")
    obj: Any = importlib.import_module(module)
    for part in filter(None, qual.split(".")):
        obj = inspect.getattr_static(obj, part)
    return _unwrap(obj)


def _unwrap(obj: Any) -> Any:
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    return inspect.unwrap(obj) if callable(obj) else obj


# ------------------------------------------------------------------- what a lab reaches


class _Instance:
    """A value made in a notebook whose labkit class is known."""

    def __init__(self, cls: type) -> None:
        self.cls = cls


def _is_labkit(obj: Any) -> bool:
    if isinstance(obj, ModuleType):
        return obj.__name__ == "labkit" or obj.__name__.startswith("labkit.")
    return str(getattr(obj, "__module__", "") or "").startswith("labkit")


def _returned(func: Any) -> type | None:
    """The labkit class ``func`` returns, when its return annotation names one."""
    try:
        hint = typing.get_type_hints(func).get("return")
    except Exception:  # an annotation only importable for type checkers: no type
        return None
    return hint if isinstance(hint, type) and _is_labkit(hint) else None


class _Reader(ast.NodeVisitor):
    """Walks a notebook's code, in order, collecting the labkit objects it reaches."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {}
        self.reached: list[Any] = []

    def _reach(self, obj: Any) -> Any:
        if _is_labkit(obj) or callable(obj) or isinstance(obj, ModuleType):
            self.reached.append(_unwrap(obj))
        return obj

    def _made(self, cls: type | None) -> _Instance | None:
        """A value of labkit class ``cls`` made in the notebook (the lab handles the class)."""
        if cls is None:
            return None
        self._reach(cls)
        return _Instance(cls)

    def value(self, node: ast.AST) -> Any:
        """What ``node`` evaluates to, as far as labkit is concerned (None: unknown)."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.value(node.value)
            if base is None:
                return None
            if isinstance(base, _Instance):
                try:
                    attr = inspect.getattr_static(base.cls, node.attr)
                except AttributeError:
                    return self._made(_field_type(base.cls, node.attr))
                if not _is_labkit(_unwrap(attr)):
                    return None
                self._reach(attr)
                if isinstance(attr, property):
                    return self._made(_returned(attr.fget))
                return ("bound", _unwrap(attr), base.cls)
            if isinstance(base, tuple):
                return None
            try:
                attr = getattr(base, node.attr)
            except AttributeError:
                if isinstance(base, ModuleType):  # a submodule not imported yet
                    try:
                        attr = importlib.import_module(f"{base.__name__}.{node.attr}")
                    except ImportError:
                        return None
                else:
                    return None
            if not _is_labkit(attr):
                return None
            return self._reach(attr)
        if isinstance(node, ast.Call):
            func = self.value(node.func)
            for sub in [*node.args, *(k.value for k in node.keywords)]:
                self.visit(sub)
            if isinstance(func, tuple):  # a method of a known instance
                got = _returned(func[1])
                if got is not None and issubclass(func[2], got):
                    return self._made(func[2])  # start() -> Service returns the Lab itself
                return self._made(got)
            if isinstance(func, type) and _is_labkit(func):
                return self._made(func)
            if callable(func):
                return self._made(_returned(func))
            return None
        self.generic_visit(node)
        return None

    # statements ----------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] != "labkit":
                continue
            module = importlib.import_module(alias.name)
            parts = alias.name.split(".")
            for i in range(1, len(parts) + 1):
                self._reach(importlib.import_module(".".join(parts[:i])))
            self.names[alias.asname or "labkit"] = module if alias.asname else labkit

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not (node.module or "").startswith("labkit"):
            return
        module = self._reach(importlib.import_module(node.module))
        for alias in node.names:
            try:
                obj = getattr(module, alias.name)
            except AttributeError:
                obj = importlib.import_module(f"{node.module}.{alias.name}")
            self.names[alias.asname or alias.name] = self._reach(obj)

    def visit_Assign(self, node: ast.Assign) -> None:
        got = self.value(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.names[target.id] = got
            else:
                self.visit(target)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            got = self.value(item.context_expr)
            if isinstance(item.optional_vars, ast.Name):
                self.names[item.optional_vars.id] = got
        for statement in node.body:
            self.visit(statement)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.value(node)

    def visit_Call(self, node: ast.Call) -> None:
        self.value(node)


def _field_type(cls: type, name: str) -> Any:
    """The labkit class of attribute ``name`` of ``cls``, when the class declares it: a
    class-level annotation (dataclass field), or in a method ``self.name: T = ...`` or
    ``self.name = T(...)`` with T a labkit class."""
    try:
        hint = typing.get_type_hints(cls).get(name)
    except Exception:  # an annotation only importable for type checkers: no type
        hint = None
    if isinstance(hint, type) and _is_labkit(hint):
        return hint
    for klass in cls.__mro__:
        if not _is_labkit(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        scope = vars(sys.modules[klass.__module__])
        for node in ast.walk(tree):
            if isinstance(node, ast.AnnAssign):
                target, expr = node.target, node.annotation
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.Call):
                target, expr = node.targets[0], node.value.func
            else:
                continue
            if not (isinstance(target, ast.Attribute) and target.attr == name
                    and isinstance(target.value, ast.Name) and target.value.id == "self"):
                continue
            try:
                found = eval(compile(ast.Expression(expr), "<annotation>", "eval"), scope)
                if isinstance(found, str):
                    found = eval(found, scope)  # a string annotation
            except Exception:  # a name only importable for type checkers: no type
                continue
            if isinstance(found, type) and _is_labkit(found):
                return found
    return None


def _notebooks() -> dict[str, Path]:
    return {path.name[:2]: path for path in sorted(LABS.glob("[0-9][0-9]-*/[0-9][0-9]-*.ipynb"))}


@functools.cache
def _reached_by_lab() -> dict[str, list[Any]]:
    """The labkit objects each lab's code reaches, by lab number (read once per run)."""
    found = {}
    for lab, path in _notebooks().items():
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        reader = _Reader()
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                               for line in source.splitlines())
            reader.visit(ast.parse(source))
        found[lab] = reader.reached
    return found


def _heading(path: Path) -> str:
    """The title in the notebook's first heading, after "Lab NN — "."""
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for line in "".join(cell["source"]).splitlines():
            if cell["cell_type"] == "markdown" and line.startswith("# "):
                return re.sub(r"^# Lab \d\d\s*[—-]\s*", "", line).strip()
    return ""


# ----------------------------------------------------------------------------- the tests


def _used(obj: Any, reached: list[Any]) -> bool:
    return any(x is obj for x in reached)


def _module_used(module: ModuleType, reached: list[Any]) -> bool:
    return any(x is module or getattr(x, "__module__", None) == module.__name__ for x in reached)


def _wrong_claims(claims: list[tuple[str, str, str | None, str | None]] | None = None) -> list[str]:
    """One line per wrong claim of ``claims`` (default: every claim in labkit)."""
    by_lab = _reached_by_lab()
    wrong = []
    for where, dotted, claimed, _title in _claims() if claims is None else claims:
        obj = _resolve(dotted)
        direct = [lab for lab, reached in by_lab.items()
                  if (_module_used(obj, reached) if isinstance(obj, ModuleType) else _used(obj, reached))]
        name = dotted.replace(":", ".")
        if direct:
            if claimed != direct[0]:
                wrong.append(f"{where}: {name} claims lab {claimed}; used by labs {', '.join(direct)}")
            continue
        if isinstance(obj, ModuleType):
            wrong.append(f"{where}: {name} claims lab {claimed}; no lab uses this module")
            continue
        module = importlib.import_module(dotted.partition(":")[0])
        via = [lab for lab, reached in by_lab.items() if _module_used(module, reached)]
        if claimed not in via:
            wrong.append(f"{where}: {name} claims lab {claimed}; no lab names it, and its module"
                         f" {module.__name__} is used by labs {', '.join(via) or 'none'}")
    return wrong


def test_the_claims_are_found():
    claims = _claims()
    assert len(claims) > 100, f"only {len(claims)} claims found: is the pattern still right?"
    # the reader follows re-exports and notebook-made objects, or nothing here could pass
    by_lab = _reached_by_lab()
    assert _used(_resolve("labkit.dns.server:LabDNS"), by_lab["00"])
    assert _used(_resolve("labkit.mta.lab:Lab.send"), by_lab["00"])
    assert not any(_module_used(_resolve("labkit.filters.ensemble"), r) for r in by_lab.values())


def test_the_rule_catches_a_module_no_lab_uses():
    # the claim that was once in ensemble.py: its package is used by lab 09, the module is not
    wrong = _wrong_claims([("ensemble.py:1", "labkit.filters.ensemble", "09", None),
                           ("ensemble.py:2", "labkit.filters.ensemble:SVMSenderRobinson", "09", None)])
    assert len(wrong) == 2, wrong
    # a re-exported class first used in lab 00 may not claim lab 02
    assert _wrong_claims([("server.py:1", "labkit.dns.server:LabDNS", "02", None)]) == [
        "server.py:1: labkit.dns.server.LabDNS claims lab 02; used by labs 00, 01, 02, 03, 04, 05"]
    # a method reached only through a notebook-made Lab (lab = lk.Lab(...); lab.send(...))
    assert _wrong_claims([("lab.py:1", "labkit.mta.lab:Lab.send", "00", None)]) == []


def test_each_introduced_in_names_the_first_lab_that_uses_it():
    wrong = _wrong_claims()
    unexpected = [w for w in wrong if w.split(": ")[0] not in KNOWN_WRONG]
    fixed = sorted(KNOWN_WRONG - {w.split(": ")[0] for w in wrong})
    assert not unexpected and not fixed, (
        "wrong 'Introduced in lab NN' claims:\n" + "\n".join(unexpected)
        + ("\nright now, so drop them from KNOWN_WRONG: " + ", ".join(fixed) if fixed else ""))


def test_lab_titles_are_the_same_everywhere():
    notebooks = _notebooks()
    assert sorted(notebooks) == sorted(TITLES), "a lab was added or removed: update TITLES"
    for lab, title in TITLES.items():
        heading = _heading(notebooks[lab])
        assert re.match(re.escape(title) + r"\b", heading, re.IGNORECASE), (
            f"TITLES[{lab!r}] = {title!r} is not the start of the lab's heading {heading!r}")
    wrong = []
    for where, dotted, claimed, title in _claims():
        want = TITLES.get(claimed or "")
        if want is None or title is None or not (title == want or title.startswith(f"{want}: ")):
            wrong.append(f"{where}: {dotted.replace(':', '.')} says lab {claimed} ({title}); "
                         f"write 'Introduced in lab {claimed} ({want})' or '({want}: <part>)'")
    unexpected = [w for w in wrong if w.split(": ")[0] not in KNOWN_WRONG]
    assert not unexpected, "lab titles that differ from TITLES:\n" + "\n".join(unexpected)
