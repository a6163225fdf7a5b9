"""A throw-away nbgrader course for the grading tests: the course config, one lab's
source, and nbgrader's command run in it (shared by the tests that grade for real)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from labkit.grading import repo_root


def new_course(course: Path, lab: Any) -> Path:
    """``course`` made a course folder holding the repository's ``nbgrader_config.py`` and
    ``lab``'s source folder under ``labs/`` (as an instructor's checkout has them)."""
    (course / "labs").mkdir(parents=True, exist_ok=True)
    shutil.copy(repo_root() / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(lab.notebook.parent, course / "labs" / lab.assignment_id)
    return course


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run ``args`` in ``cwd`` with this Python's scripts first on PATH; it must succeed."""
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, (args, proc.stdout[-2000:], proc.stderr[-3000:])
    return proc


def nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` in the course folder ``cwd``; it must succeed."""
    bindir = str(Path(sys.executable).parent)
    return run([shutil.which("nbgrader", path=bindir) or "nbgrader", *args], cwd)
