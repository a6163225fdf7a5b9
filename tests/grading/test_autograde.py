"""The real nbgrader round trip on one lab: generate, autograde, read the gradebook.

What docs/instructor-guide.md §5 tells an instructor to do, in a course folder of
its own under ``tmp_path`` (a copy of ``nbgrader_config.py`` and one lab): the student
version comes from ``labkit release``, the students from ``nbgrader db student
import``, the grades from the real ``nbgrader autograde`` command, and the scores
from nbgrader's ``Gradebook``. Three submissions of lab 03:

- ``solver`` hands in the worked (source) notebook: every graded test cell scores
  its full points, hidden tests included;
- ``learner`` hands in the student version untouched: every graded test cell scores 0;
- ``cheater`` hands in the student version with every test cell emptied: nbgrader
  puts the locked tests back from the gradebook, so it scores 0 as well.

It also checks that autograde puts the hidden tests back into the notebooks it runs,
that the gradebook holds them, that no kernel (with its lab servers) is left running
in the course folder afterwards, and what the guide says about feedback: nbgrader's
feedback shows the hidden tests, and the guide's ``GenerateFeedback`` setting hides them.
Lab 03 is one of the shortest labs: the module takes 25 to 40 s on the 2-core
development machine (three autograded submissions, then feedback twice).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from labkit.grading import find_labs, graded_cells, repo_root
from tests.grading.course import nbgrader, new_course, run

pytestmark = pytest.mark.slow

LAB = next(lab for lab in find_labs() if lab.assignment_id == "03-spf")
HIDDEN = "### BEGIN HIDDEN TESTS"
STUDENTS = ("solver", "learner", "cheater")


_run, _nbgrader = run, nbgrader  # (the names the other grading tests import)


def _kernels_in(folder: Path) -> list[int]:
    """Processes whose working folder is inside ``folder`` (a kernel runs in the notebook's)."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if cwd == folder or folder in cwd.parents:
            pids.append(int(entry.name))
    return pids


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course folder after ``nbgrader autograde`` of the three submissions."""
    course = new_course(tmp_path_factory.mktemp("course"), LAB)
    aid, name = LAB.assignment_id, LAB.notebook.name

    _run([sys.executable, "-m", "labkit.cli", "release", aid], course)
    student = course / "release" / aid / name
    (course / "students.csv").write_text(
        "id,first_name,last_name,email\n" + "".join(f"{s},{s},Test,\n" for s in STUDENTS),
        encoding="utf-8")
    _nbgrader("db", "student", "import", "students.csv", cwd=course)

    cheat = nbformat.read(str(student), as_version=4)
    for cell in cheat.cells:
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
            cell.source = "pass"
    for who, nb in (("solver", LAB.notebook), ("learner", student), ("cheater", None)):
        folder = course / "submitted" / who / aid
        folder.mkdir(parents=True)
        if nb is None:
            nbformat.write(cheat, str(folder / name))
        else:
            shutil.copy(nb, folder / name)

    proc = _nbgrader("autograde", aid, cwd=course)
    return course, proc


def _scores(course: Path) -> tuple[float, dict[str, dict[str, float]], dict[str, str]]:
    from nbgrader.api import Gradebook

    notebook = LAB.notebook.stem
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        max_code = gb.find_assignment(LAB.assignment_id).max_code_score
        scores = {}
        for sub in gb.assignment_submissions(LAB.assignment_id):
            (nb,) = sub.notebooks
            scores[sub.student.id] = {g.name: g.auto_score for g in nb.grades}
        stored = {c.grade_id: gb.find_source_cell(c.grade_id, notebook, LAB.assignment_id).source
                  for c in graded_cells(LAB.notebook)}
    return max_code, scores, stored


def test_autograde_scores_the_solution_full_and_the_student_version_zero(graded):
    course, _ = graded
    cells = {c.grade_id: c.points for c in graded_cells(LAB.notebook)}
    assert cells and all(p > 0 for p in cells.values())
    max_code, scores, _ = _scores(course)
    assert max_code == sum(cells.values())
    assert sorted(scores) == sorted(STUDENTS)
    assert scores["solver"] == cells, "the worked notebook must earn every point"
    assert scores["learner"] == dict.fromkeys(cells, 0.0), "an untouched student version passed a test"
    assert scores["cheater"] == dict.fromkeys(cells, 0.0), "emptied test cells were not put back"


def test_autograde_runs_the_hidden_tests(graded):
    course, _ = graded
    source = {c.grade_id: c.source for c in graded_cells(LAB.notebook)}
    with_hidden = {gid for gid, text in source.items() if HIDDEN in text}
    assert with_hidden, f"{LAB.assignment_id} has no hidden tests to check"
    _, _, stored = _scores(course)
    for gid in with_hidden:
        assert stored[gid].strip() == source[gid], f"the gradebook lost the hidden tests of {gid}"
    for who in STUDENTS:
        ran = {c.grade_id: c.source for c in
               graded_cells(course / "autograded" / who / LAB.assignment_id / LAB.notebook.name)}
        assert ran == source, f"{who}'s notebook was not graded with the instructor's tests"


def test_autograde_leaves_no_kernel_or_lab_server_behind(graded):
    course, _ = graded
    if not Path("/proc/self/cwd").exists():
        pytest.skip("needs /proc to find processes")
    assert _kernels_in(course.resolve()) == []


def _guide_feedback_setting() -> str:
    """The ``nbgrader_config.py`` lines the instructor guide gives for hiding hidden tests."""
    guide = (repo_root() / "docs" / "instructor-guide.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.S)
    (block,) = [b for b in blocks if "c.GenerateFeedback.preprocessors" in b]
    return textwrap.dedent(block)


def _hidden_only_strings(student: Path) -> list[str]:
    """String literals of the hidden tests that the student version never shows."""
    shown = "\n".join(c.source for c in nbformat.read(str(student), as_version=4).cells)
    found = []
    for cell in graded_cells(LAB.notebook):
        for hidden in re.findall(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", cell.source, re.S):
            # plain literals only: an f-string or a literal with brackets is split by the
            # highlighter of the HTML page, so it would never be found there
            found += [s for s in re.findall(r'(?<![\w"])"([\w .:,=+-]{10,})"', hidden)
                      if s not in shown]
    return found


def test_feedback_shows_hidden_tests_unless_the_guides_setting_is_used(graded):
    course, _ = graded
    secrets = _hidden_only_strings(course / "release" / LAB.assignment_id / LAB.notebook.name)
    assert secrets, f"{LAB.assignment_id}'s hidden tests have no string literal to look for"
    feedback = course / "feedback" / "solver" / LAB.assignment_id / f"{LAB.notebook.stem}.html"

    _nbgrader("generate_feedback", LAB.assignment_id, cwd=course)
    page = feedback.read_text(encoding="utf-8")
    assert "Score: " in page
    assert all(html.escape(s) in page for s in secrets), "nbgrader's feedback changed: reread the guide"

    config = course / "nbgrader_config.py"
    original = config.read_text(encoding="utf-8")
    try:
        config.write_text(original + "\n" + _guide_feedback_setting(), encoding="utf-8")
        _nbgrader("generate_feedback", LAB.assignment_id, "--force", cwd=course)
    finally:
        config.write_text(original, encoding="utf-8")
    page = feedback.read_text(encoding="utf-8")
    assert "Score: " in page
    assert not [s for s in secrets if html.escape(s) in page]
    assert "BEGIN HIDDEN TESTS" not in page
