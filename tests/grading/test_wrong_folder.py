"""nbgrader run outside the course folder: what the guide's §8 row about it says happens.

An instructor who runs ``nbgrader autograde 03-spf`` or ``nbgrader export`` in another
folder gets no error exit: nbgrader makes an empty ``gradebook.db`` there, autograde finds
no notebooks under that folder's ``submitted/``, and export writes a ``grades.csv`` with a
header and no rows. The guide's table of failures names these symptoms and the fix.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from labkit.grading import repo_root

GUIDE = repo_root() / "docs" / "instructor-guide.md"


def _nbgrader(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    bindir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update(PATH=bindir + os.pathsep + os.environ.get("PATH", ""), HOME=str(cwd),
               JUPYTER_CONFIG_DIR=str(cwd / ".jupyter"), JUPYTER_CONFIG_PATH=str(cwd / ".jupyter"))
    return subprocess.run([shutil.which("nbgrader", path=bindir) or "nbgrader", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=240)


def test_nbgrader_outside_the_course_folder_is_what_the_guide_describes(tmp_path):
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    proc = _nbgrader("autograde", "03-spf", cwd=elsewhere)
    assert f"No notebooks were matched by '{elsewhere}/submitted/*/03-spf'" in proc.stderr, proc.stderr
    proc = _nbgrader("export", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    rows = (elsewhere / "grades.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 and rows[0].startswith("assignment,")
    assert (elsewhere / "gradebook.db").is_file()

    row = next(line for line in GUIDE.read_text(encoding="utf-8").splitlines()
               if line.startswith("| `nbgrader autograde`: `No notebooks were matched by"))
    assert "'.../submitted/*/03-spf'" in row and "header and no rows" in row
    assert "course folder" in row and "gradebook.db" in row
