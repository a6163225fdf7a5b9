"""The lab notebooks are stored the way the course expects them.

Stripped of outputs, kernel python3, nbgrader cell metadata schema 3, unique grade
ids, at least two graded exercises, each solution marked for nbgrader.
"""

from __future__ import annotations

import re

import nbformat
import pytest

import labkit.grading

LABS = labkit.grading.find_labs()


@pytest.mark.parametrize("lab", LABS, ids=[lab.assignment_id for lab in LABS])
def test_notebook_is_stored_clean(lab):
    nb = nbformat.read(str(lab.notebook), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{lab.assignment_id}: outputs stored in cell {cell.id}"
            assert cell.execution_count is None


@pytest.mark.parametrize("lab", LABS, ids=[lab.assignment_id for lab in LABS])
def test_notebook_has_graded_exercises(lab):
    nb = nbformat.read(str(lab.notebook), as_version=4)
    metas = [c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata]
    assert all(m.get("schema_version") == 3 for m in metas)
    ids = [m["grade_id"] for m in metas]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    graded = [m for m in metas if m.get("grade") and m.get("points", 0) > 0]
    assert len(graded) >= 2, "each lab needs at least two graded exercises"
    solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solutions
    for cell in solutions:
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
            assert "### BEGIN HIDDEN TESTS" in cell.source, f"{cell.metadata['nbgrader']['grade_id']}"


@pytest.mark.parametrize("lab", LABS, ids=[lab.assignment_id for lab in LABS])
def test_notebook_has_the_course_furniture(lab):
    """Time estimate, self-check quiz, key terms EN/JA, what you learned, RFC links."""
    nb = nbformat.read(str(lab.notebook), as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert re.search(r"\*\*Time:?\*\*", text), "a time estimate at the top"
    assert "lk.widgets.Quiz(" in text, "a self-check quiz"
    assert "lk.widgets.KeyTerms(" in text or re.search(r"\|[^\n]*[\u3040-\u30ff\u4e00-\u9fff]", text), \
        "key terms in English and Japanese"
    assert re.search(r"what you learned", text, re.I)
    assert re.search(r"https://(www\.rfc-editor\.org|datatracker\.ietf\.org)/", text), "RFC links"
