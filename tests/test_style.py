"""The code base stays ruff clean (package, tests, benchmarks and the notebooks), runs on
Python 3.10, and types every public function of labkit."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, unavailable


def test_ruff_check_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        unavailable("ruff is not installed (it is in the test extra)")
    out = subprocess.run([ruff, "check", "--output-format", "concise", "."], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


# Python 3.11+ features that ruff's py310 target does not flag, each of which broke or would
# break labkit on Python 3.10 (pyproject: requires-python >= 3.10). Found at this stop:
# binascii's strict_mode= and a possessive quantifier in a regex (both fixed).
_NEWER_THAN_310 = {
    "strict_mode=": "binascii.a2b_base64(strict_mode=...) is Python 3.11+",
    "import tomllib": "tomllib is Python 3.11+ (guard it with try/except ImportError)",
    "except*": "except* is Python 3.11+",
    "ExceptionGroup": "ExceptionGroup is Python 3.11+",
    "StrEnum": "enum.StrEnum is Python 3.11+",
    "datetime.UTC": "datetime.UTC is Python 3.11+ (use timezone.utc)",
    "(?>": "atomic groups in re are Python 3.11+",
}
_POSSESSIVE = re.compile(r"""r[b]?["'][^"'\n]*[\]\)\w.][*+?}]\+""")


def test_labkit_uses_nothing_newer_than_python_310():
    found = []
    for path in sorted((ROOT / "labkit").rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            found += [f"{path.relative_to(ROOT)}:{n}: {why}"
                      for token, why in _NEWER_THAN_310.items() if token in code]
            if _POSSESSIVE.search(code):
                found.append(f"{path.relative_to(ROOT)}:{n}: a possessive quantifier (Python 3.11+)")
    assert not found, "\n".join(found)


def _public_functions(package: Path) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """(label, node) of every public function and method of ``package`` outside
    ``_private`` modules and classes."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.name.startswith("_") and path.name != "__init__.py":
            continue
        todo: list[tuple[str, ast.AST]] = [("", node) for node in ast.parse(path.read_text(encoding="utf-8")).body]
        while todo:
            owner, node = todo.pop()
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                todo += [(f"{node.name}.", child) for child in node.body]
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                found.append((f"{path.name}:{node.lineno} {owner}{node.name}", node))
    return found


def _untyped_public_functions(package: Path) -> list[str]:
    """Public functions with a parameter or a return value that has no annotation."""
    found = []
    for label, node in _public_functions(package):
        params = [a for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                  if a.arg not in ("self", "cls")]
        params += [a for a in (node.args.vararg, node.args.kwarg) if a is not None]
        bare = [a.arg for a in params if a.annotation is None] + (["return"] if node.returns is None else [])
        if bare:
            found.append(f"{label}: {', '.join(bare)}")
    return found


def test_public_functions_of_labkit_have_type_hints():
    untyped = _untyped_public_functions(ROOT / "labkit")
    assert not untyped, "\n".join(untyped)


def test_public_functions_of_labkit_have_docstrings():
    bare = [label for label, node in _public_functions(ROOT / "labkit") if not ast.get_docstring(node)]
    assert not bare, "\n".join(bare)
