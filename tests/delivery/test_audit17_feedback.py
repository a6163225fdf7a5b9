"""One learner's graded lab 03, as docs/instructor-guide.md §5 has the instructor grade it
(session-17 instructor audit): the student version from ``labkit release``, a submission
with exercise 1 solved, exercise 2 answered wrongly (redirect= not counted: it passes the
visible asserts and fails a hidden one) and exercises 3 and 4 left blank, the real
``nbgrader autograde``, then ``generate_feedback`` with the guide's setting that clears
the hidden tests.

- the points: exercise 1's only, out of the sum of the lab's points;
- the feedback says why each lost exercise scored 0 (the hidden assert's message,
  NotImplementedError), and what the guide says a traceback still shows is what it shows:
  IPython quoted the lines around the failing assert, so the ``### BEGIN HIDDEN TESTS``
  marker and the next hidden test's line showed too; the course's nbgrader_config.py now
  has autograde print tracebacks in IPython's Minimal mode (message only, no code);
- every warning autograde logs is one the guide explains (``Kernel is running over TCP
  without encryption``, logged once per graded submission, was not).

Takes about 15 s on the 2-core development machine (one autograded submission).
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from labkit.grading import find_labs, graded_cells, repo_root
from tests.grading.course import nbgrader, new_course
from tests.grading.test_regrade_after_fixing_a_test import WRONG as WRONG_ANSWER

pytestmark = pytest.mark.slow

LAB = next(lab for lab in find_labs() if lab.assignment_id == "03-spf")
GUIDE = repo_root() / "docs" / "instructor-guide.md"
STUDENT = "alice"
SOLVED = "ex1-spf-record"
WRONG = "ex2-count-lookups"


def _nbgrader(*args: str, cwd: Path) -> str:
    """``nbgrader ARGS`` in ``cwd`` (it must succeed); what it printed, both streams."""
    proc = nbgrader(*args, cwd=cwd)
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(course folder, autograde's log) after grading alice's submission."""
    course = new_course(tmp_path_factory.mktemp("course"), LAB)
    aid, name = LAB.assignment_id, LAB.notebook.name
    subprocess.run([sys.executable, "-m", "labkit.cli", "release", aid], cwd=course, check=True,
                   capture_output=True)
    (course / "students.csv").write_text(f"id,first_name,last_name,email\n{STUDENT},Alice,A,\n",
                                         encoding="utf-8")
    _nbgrader("db", "student", "import", "students.csv", cwd=course)

    answers = {c.metadata["nbgrader"]["grade_id"]: c.source
               for c in nbformat.read(str(LAB.notebook), as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(str(course / "release" / aid / name), as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == SOLVED:
            cell.source = re.sub(r"(?m)^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "",
                                 answers[grade_id])
        elif grade_id == WRONG:
            cell.source = WRONG_ANSWER
    folder = course / "submitted" / STUDENT / aid
    folder.mkdir(parents=True)
    nbformat.write(nb, str(folder / name))
    return course, _nbgrader("autograde", aid, cwd=course)


def test_only_the_solved_exercise_earns_its_points(graded):
    from nbgrader.api import Gradebook

    course, _ = graded
    points = {c.grade_id: c.points for c in graded_cells(LAB.notebook)}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        (sub,) = gb.assignment_submissions(LAB.assignment_id)
        (nb,) = sub.notebooks
        scores = {g.name: g.auto_score for g in nb.grades}
        total = (sub.code_score, sub.max_code_score)
    want = {gid: (p if gid == f"{SOLVED}-tests" else 0.0) for gid, p in points.items()}
    assert scores == want
    assert total == (points[f"{SOLVED}-tests"], sum(points.values()))


def _guide_feedback_setting() -> str:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    (block,) = [b for b in blocks if "c.GenerateFeedback.preprocessors" in b]
    return textwrap.dedent(block)


@pytest.fixture(scope="module")
def feedback_text(graded) -> str:
    """alice's feedback page as text, made with the guide's hidden-test-clearing setting."""
    course, _ = graded
    config = course / "nbgrader_config.py"
    original = config.read_text(encoding="utf-8")
    try:
        config.write_text(original + "\n" + _guide_feedback_setting(), encoding="utf-8")
        _nbgrader("generate_feedback", LAB.assignment_id, cwd=course)
    finally:
        config.write_text(original, encoding="utf-8")
    page = course / "feedback" / STUDENT / LAB.assignment_id / f"{LAB.notebook.stem}.html"
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


def test_feedback_says_why_each_lost_exercise_scored_zero(feedback_text):
    assert "AssertionError: three.example: got 5;" in feedback_text  # the hidden assert's message
    assert "redirect=" in feedback_text
    assert feedback_text.count("NotImplementedError") >= 2  # exercises 3 and 4


def test_cleared_feedback_quotes_no_hidden_line_around_a_failed_assert(feedback_text):
    """With IPython's default traceback mode the page quoted the lines around the failing
    hidden assert: the ``### BEGIN HIDDEN TESTS`` marker and the next hidden test's call.
    The course config's Minimal mode leaves the exception and its message only."""
    assert "### BEGIN HIDDEN TESTS" not in feedback_text
    assert 'count_lookups("none.example", _recs)' not in feedback_text  # the next hidden test
    assert 'count_lookups("three.example", _recs)' not in feedback_text  # the failing one
    guide = re.sub(r"\s+", " ", GUIDE.read_text(encoding="utf-8"))
    assert 'c.Execute.extra_arguments = ["--InteractiveShell.xmode=Minimal"]' in guide
    config = (repo_root() / "nbgrader_config.py").read_text(encoding="utf-8")
    assert 'c.Execute.extra_arguments = ["--InteractiveShell.xmode=Minimal"]' in config


def _warnings(log: str) -> set[str]:
    """The opening words of each warning in a log of nbgrader's (its own, its kernels',
    and Python warnings raised in nbgrader's code)."""
    found = set()
    for line in log.splitlines():
        m = (re.search(r"\[\w+ \| WARNING\] (.*)", line) or re.search(r"\[\w+\] WARNING \| (.*)", line)
             or re.search(r"/nbgrader/\S+: (\w+Warning: .*)", line))
        if m:
            found.add(" ".join(m.group(1).split()[:4]))
    return found


def test_warning_reader_finds_the_three_kinds():
    log = ("[AutogradeApp | WARNING] Attribute 'checksum' for cell x-tests has changed! (...)\n"
           "[IPKernelApp] WARNING | Kernel is running over TCP without encryption.\n"
           "/v/lib/python3.11/site-packages/nbgrader/api.py:2229: SAWarning: Object of type"
           " <SubmittedAssignment> not in session\n[AutogradeApp | INFO] fine\n")
    assert _warnings(log) == {"Attribute 'checksum' for cell", "Kernel is running over",
                              "SAWarning: Object of type"}


def test_every_warning_autograde_logs_is_explained_in_the_guide(graded):
    _, log = graded
    guide = re.sub(r"\s+", " ", GUIDE.read_text(encoding="utf-8"))
    seen = _warnings(log)
    assert any(w.startswith("Attribute 'checksum'") for w in seen), "no warning seen: reread"
    missing = sorted(w for w in seen if w not in guide)
    assert not missing, f"autograde logs warnings the guide does not explain: {missing}"
