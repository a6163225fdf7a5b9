"""Fixing a test after learners submitted: what the instructor guide (§5, step 6) says to run.

The guide used to suggest that ``nbgrader autograde 03-spf --force`` grades again "say after
fixing a test". Run here, that alone grades with the OLD test: autograde puts the test cells
back from the gradebook, and only generating the assignment again (``labkit release 03-spf
--force``) stores the edited ones there. One submission of lab 03 whose ``count_lookups``
ignores ``redirect=`` fails the hidden tests of that exercise; the instructor then drops
those hidden checks from the source. Takes about 15 s (three autograde runs of lab 03).
"""

from __future__ import annotations

import re
import sys

import nbformat
import pytest

from labkit.grading import repo_root
from tests.grading.course import new_course
from tests.grading.test_autograde import LAB, _nbgrader, _run

pytestmark = pytest.mark.slow

AID = LAB.assignment_id
TEST_ID = "ex2-count-lookups-tests"
WRONG = '''def count_lookups(domain: str, records: dict[str, str]) -> int:
    """A learner's try: counts include, a, mx, ptr, exists; forgets redirect= and 'all'."""
    record = records.get(domain)
    if record is None:
        return 0
    total = 0
    for term in record.split()[1:]:
        name = term.lstrip("+-~?")
        mech = name.split(":", 1)[0].split("/", 1)[0].lower()
        if mech == "include":
            total += 1 + count_lookups(name.split(":", 1)[1], records)
        elif mech in ("a", "mx", "ptr", "exists"):
            total += 1
    return total
'''


def _answered(student: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version with every solution filled in, and the wrong ``count_lookups``."""
    answers = {c.metadata["nbgrader"]["grade_id"]:
               re.sub(r"(?m)^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "", c.source)
               for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")}
    answers["ex2-count-lookups"] = WRONG
    for cell in student.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return student


def _score(course) -> float:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return gb.find_grade(TEST_ID, LAB.notebook.stem, AID, "learner").score


def test_a_fixed_test_counts_only_after_the_assignment_is_generated_again(tmp_path):
    course = new_course(tmp_path / "course", LAB)
    source_path = course / "labs" / AID / LAB.notebook.name
    release = [sys.executable, "-m", "labkit.cli", "release", AID]
    _run(release, course)
    (course / "students.csv").write_text("id,first_name,last_name,email\nlearner,L,Test,\n",
                                         encoding="utf-8")
    _nbgrader("db", "student", "import", "students.csv", cwd=course)
    submitted = course / "submitted" / "learner" / AID
    submitted.mkdir(parents=True)
    source = nbformat.read(str(source_path), as_version=4)
    student = nbformat.read(str(course / "release" / AID / LAB.notebook.name), as_version=4)
    nbformat.write(_answered(student, source), str(submitted / LAB.notebook.name))

    _nbgrader("autograde", AID, cwd=course)
    assert _score(course) == 0, "the wrong count_lookups should fail the hidden tests"

    # the instructor decides the redirect= checks are too strict and removes them
    for cell in source.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == TEST_ID:
            visible = cell.source.split("### BEGIN HIDDEN TESTS")[0]
            cell.source = visible + "### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS"
    nbformat.write(source, str(source_path))

    _nbgrader("autograde", AID, "--force", cwd=course)
    assert _score(course) == 0, "autograde --force alone now uses the edited test: reread the guide"

    _run([*release, "--force"], course)
    _nbgrader("autograde", AID, "--force", cwd=course)
    assert _score(course) == 2

    guide = (repo_root() / "docs" / "instructor-guide.md").read_text(encoding="utf-8")
    step6 = guide.split("6. **Autograde**")[1].split("7. Review")[0]
    assert f"labkit release {AID} --force" in step6 and f"nbgrader autograde {AID} --force" in step6
    assert step6.index(f"labkit release {AID} --force") < step6.index(f"nbgrader autograde {AID} --force")
    assert "say after fixing a test" not in guide
