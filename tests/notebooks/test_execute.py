"""Every lab notebook runs from a clean kernel without an error.

The notebooks are stored without outputs (nbstripout), so pytest-notebook is told
to ignore outputs, execution counts and the kernel's language_info when it compares
the executed notebook with the stored one (ARCHITECTURE.md, "Known gotchas"). Each
lab gets its own kernel in its own folder and its own lab servers on ephemeral
ports, so the tests are independent of each other and of the order they run in.
"""

from __future__ import annotations

import pytest
from pytest_notebook.nb_regression import NBRegressionFixture

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


def test_course_has_labs():
    assert LABS, "no labs/NN-slug/NN-slug.ipynb found"
    assert {lab.notebook for lab in LABS} <= set(NOTEBOOKS)


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_lab_runs_clean(notebook):
    require_corpus_for(notebook)
    fixture = NBRegressionFixture(
        diff_ignore=IGNORE,
        exec_timeout=120,
        exec_cwd=str(notebook.parent),
        exec_allow_errors=False,
        force_regen=False,
    )
    fixture.check(str(notebook), raise_errors=True)
