"""Every lab notebook runs from a clean kernel without an error.

The notebooks are stored without outputs (nbstripout), so the executed notebook is
compared with the stored one ignoring outputs, execution counts and the kernel's
language_info (ARCHITECTURE.md, "Known gotchas"), with pytest-notebook's own diff. Each
lab gets its own kernel in its own folder and its own lab servers on ephemeral ports, so
the tests are independent of each other and of the order they run in.

A lab's notebook is not executed here a second time: the run is the ``source_run`` session
fixture (tests/conftest.py), nbgrader's Validator executing the notebook once for
tests/grading/test_release.py as well. The Validator goes on after an error (nbgrader
executes with errors allowed), so every error is found, not only the first. A notebook in
a lab folder that is not the lab's own is run here by pytest-notebook.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from pytest_notebook.diffing import diff_notebooks, diff_to_string, filter_diff
from pytest_notebook.nb_regression import NBRegressionFixture
from pytest_notebook.notebook import load_notebook_with_config

import labkit.grading
from tests.conftest import require_corpus_for

LABS = labkit.grading.find_labs()
# every notebook in a lab folder, not only the lab's main one
NOTEBOOKS = sorted((labkit.grading.repo_root() / "labs").glob("*/*.ipynb"))

# outputs, counts and language_info as ARCHITECTURE.md says; widget state is output too
IGNORE = (
    "/cells/*/outputs",
    "/cells/*/execution_count",
    "/metadata/language_info",
    "/metadata/widgets",
)
# nbgrader's executor records each cell's timing in its metadata (pytest-notebook's does not)
RUNNER = ("/cells/*/metadata/execution",)


def test_course_has_labs():
    assert LABS, "no labs/NN-slug/NN-slug.ipynb found"
    assert {lab.notebook for lab in LABS} <= set(NOTEBOOKS)


def _errors(executed: nbformat.NotebookNode) -> list[str]:
    """Every error a code cell raised, except in cells tagged to raise (as nbclient allows)."""
    return [f"cell {cell.get('id')}: {out.ename}: {out.evalue}"
            for cell in executed.cells if cell.cell_type == "code"
            and "raises-exception" not in cell.metadata.get("tags", [])
            for out in cell.outputs if out.output_type == "error"]


def check_run(notebook, executed: nbformat.NotebookNode | None) -> None:
    """``executed`` (a run of ``notebook``) ran every code cell, none raised, and it differs
    from the stored notebook only where IGNORE (and the runner's timings) say."""
    assert executed is not None, "nbgrader's Validator did not execute the notebook"
    errors = _errors(executed)
    assert not errors, errors
    skipped = [c.get("id") for c in executed.cells
               if c.cell_type == "code" and c.source.strip() and not c.get("execution_count")]
    assert not skipped, f"cells that did not run: {skipped}"
    stored, config = load_notebook_with_config(str(notebook))
    diff = filter_diff(diff_notebooks(stored, executed), {*IGNORE, *RUNNER, *config.diff_ignore})
    assert not diff, diff_to_string(stored, diff, use_color=False)


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lab_runs_clean(notebook, source_run):
    require_corpus_for(notebook)
    if notebook in {lab.notebook for lab in LABS}:
        check_run(notebook, source_run(notebook).executed)
        return
    fixture = NBRegressionFixture(
        diff_ignore=IGNORE,
        exec_timeout=120,
        exec_cwd=str(notebook.parent),
        exec_allow_errors=False,
        force_regen=False,
    )
    fixture.check(str(notebook), raise_errors=True)


def test_nothing_runs_otherwise_under_nbgrader():
    """The shared run is nbgrader's Validator's: it sets NBGRADER_VALIDATING and
    NBGRADER_EXECUTION for the kernel. It stands for a learner's run only while no lab
    and no labkit module reads them."""
    root = labkit.grading.repo_root()
    readers = [str(path.relative_to(root)) for path in
               [*(root / "labkit").rglob("*.py"), *NOTEBOOKS]
               if re.search(r"NBGRADER_[A-Z]", path.read_text(encoding="utf-8"))]
    assert readers == [], f"these read nbgrader's variables, so test_lab_runs_clean needs its own run: {readers}"


# --- check_run sees the problem when it is there ------------------------------------------


def _stored(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Lab", id="md"),
                nbformat.v4.new_code_cell("x = 1", id="one"),
                nbformat.v4.new_code_cell("print(x)", id="two")]
    path = tmp_path / "lab.ipynb"
    nbformat.write(nb, str(path))
    return path, nb


def _ran(nb):
    executed = nbformat.reads(nbformat.writes(nb), as_version=4)
    for n, cell in enumerate(c for c in executed.cells if c.cell_type == "code"):
        cell.execution_count = n + 1
        cell.metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
    executed.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    executed.metadata["language_info"] = {"name": "python"}
    return executed


def test_check_run_passes_a_clean_run_and_sees_what_goes_wrong(tmp_path):
    path, nb = _stored(tmp_path)
    check_run(path, _ran(nb))  # outputs, counts, timings and language_info differ: fine

    raised = _ran(nb)
    raised.cells[2].outputs = [nbformat.v4.new_output("error", ename="NameError", evalue="x",
                                                      traceback=[])]
    with pytest.raises(AssertionError, match="cell two: NameError"):
        check_run(path, raised)

    stopped = _ran(nb)
    stopped.cells[2].execution_count = None
    with pytest.raises(AssertionError, match="did not run: \\['two'\\]"):
        check_run(path, stopped)

    changed = _ran(nb)
    changed.cells[1].source = "x = 2"
    with pytest.raises(AssertionError, match="/cells/1/source"):
        check_run(path, changed)

    with pytest.raises(AssertionError, match="did not execute"):
        check_run(path, None)
