"""A ``labkit release --force`` that nbgrader refuses keeps the old student version and says why.

The mistake, as an instructor makes it: learners have submitted lab 00, then the instructor
removes a graded cell from ``labs/00-setup/00-setup.ipynb`` and runs ``labkit release
00-setup --force``. nbgrader refuses (a gradebook with submissions cannot lose or gain a
graded cell). Before this test, nbgrader's ``--force`` had already deleted
``release/00-setup/`` when it refused, so the course was left with no student version at
all, and labkit's last line was only ``nbgrader could not release 00-setup: Please see the
the above traceback for details``, the cause buried in a traceback above it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from labkit.cli import main
from labkit.grading import find_labs
from tests.grading.course import new_course

LAB = find_labs()[0]
AID = LAB.assignment_id


def _course(tmp_path: Path) -> Path:
    return new_course(tmp_path / "course", LAB)


def _submit(course: Path, student: str) -> None:
    """A learner's submission recorded in the gradebook, as ``nbgrader autograde`` records one."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_student(student)
        gb.add_submission(AID, student)


def _drop_a_graded_cell(course: Path) -> None:
    path = course / "labs" / AID / LAB.notebook.name
    nb = nbformat.read(str(path), as_version=4)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    nb.cells.remove(graded[-1])
    nbformat.write(nb, str(path))


# nbgrader's own SQLAlchemy warnings while it refuses (the instructor guide mentions them)
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_refused_forced_release_keeps_the_student_version_and_names_the_cause(
        tmp_path, monkeypatch, capsys):
    course = _course(tmp_path)
    monkeypatch.chdir(course)
    assert main(["release", AID]) == 0
    student = course / "release" / AID / LAB.notebook.name
    before = student.read_bytes()
    _submit(course, "jupyter-alice")
    _drop_a_graded_cell(course)
    capsys.readouterr()

    assert main(["release", AID, "--force"]) == 1
    err = capsys.readouterr().err
    assert "Cannot add or remove cells" in err, err
    assert "see the the above traceback" not in err, err
    assert student.read_bytes() == before, "the refused release deleted the student version"
    assert sorted(p.name for p in (course / "release").iterdir()) == [AID], "a staging folder was left"


def test_forced_release_still_replaces_the_folder(tmp_path, monkeypatch):
    """What --force promises stays true: the folder is replaced, a learner's extra files go."""
    course = _course(tmp_path)
    monkeypatch.chdir(course)
    assert main(["release", AID, "--no-db"]) == 0
    folder = course / "release" / AID
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    (folder / LAB.notebook.name).write_text("{}", encoding="utf-8")
    assert main(["release", AID, "--no-db", "--force"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [LAB.notebook.name]
    nbformat.read(str(folder / LAB.notebook.name), as_version=4)  # a real notebook again
    assert sorted(p.name for p in (course / "release").iterdir()) == [AID]


# nbgrader's own SQLAlchemy warnings while it refuses (the instructor guide mentions them)
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
def test_a_refused_first_release_leaves_no_release_folder(tmp_path, monkeypatch, capsys):
    """A lab that nbgrader cannot convert the first time leaves nothing behind."""
    course = _course(tmp_path)
    monkeypatch.chdir(course)
    assert main(["release", AID]) == 0
    shutil.rmtree(course / "release")
    _submit(course, "jupyter-alice")
    _drop_a_graded_cell(course)
    capsys.readouterr()
    assert main(["release", AID]) == 1
    assert "Cannot add or remove cells" in capsys.readouterr().err
    assert not (course / "release").exists()
