"""The optional compiled speed-ups: built in CI, switched off by LABKIT_PURE_PYTHON.

The tests that the compiled and the Python code give the same tokens and scores live
beside each module's own tests (test_compiled_*.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from labkit.filters import compiled


def test_every_compiled_module_is_built_in_ci():
    # In CI a module that failed to build is a failure, not a silent fallback to Python.
    if not os.environ.get("CI"):
        pytest.skip("outside CI the speed-ups are optional (no C compiler is fine)")
    if compiled.pure_python():
        pytest.fail("LABKIT_PURE_PYTHON is set in CI: the compiled modules go untested")
    missing = [name for name, ok in compiled.status().items() if not ok]
    assert not missing, f"not built: {missing} (pip install -e . needs a C compiler)"


def test_pure_python_switch_turns_every_module_off():
    code = "from labkit.filters import compiled; print(compiled.status())"
    env = dict(os.environ, LABKIT_PURE_PYTHON="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == str({name: False for name in compiled.MODULES})


def test_unknown_module_name_is_refused():
    with pytest.raises(KeyError, match="_cgrams"):
        compiled.load("_nope")
