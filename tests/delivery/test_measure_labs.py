"""docs/measure_labs.py, the instructor guide's timing script: help, and a lab that stops."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = ROOT / "docs" / "measure_labs.py"


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=600)


def test_help_prints_the_usage_instead_of_taking_it_for_a_lab():
    out = _run("--help")
    assert out.returncode == 0, out.stderr
    assert "python docs/measure_labs.py [03-spf ...]" in out.stdout, out.stdout


def test_a_lab_that_stops_is_named_in_one_line_without_colour_codes(tmp_path):
    """Lab 09 without its corpus (an empty LABKIT_CORPUS folder) stops at the corpus cell."""
    out = _run("09-bayes", env={"LABKIT_CORPUS": str(tmp_path)})
    assert out.returncode == 1, out.stderr
    line = [ln for ln in out.stderr.splitlines() if ln.startswith("measure_labs: ")]
    assert len(line) == 1 and "09-bayes stopped with an error" in line[0], out.stderr
    assert "CorpusError" in line[0] and "\x1b[" not in line[0], line
    assert "Traceback" not in out.stderr, out.stderr
