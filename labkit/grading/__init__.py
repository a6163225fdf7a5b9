"""Grading: find the labs, make student versions, check graded cells.

The instructor notebooks in ``labs/`` are nbgrader "source" notebooks: solution
cells hold the answer between ``### BEGIN SOLUTION`` / ``### END SOLUTION``, test
cells hold visible asserts plus ``### BEGIN HIDDEN TESTS``. :func:`release` runs
nbgrader's ``generate_assignment`` with the repository's ``nbgrader_config.py`` and
writes the student versions to ``release/``. :func:`validate` runs a notebook in a
fresh kernel through nbgrader's ``Validator`` and says which graded cells passed.

Used by ``labkit release`` and by the tests in ``tests/grading``.
"""

from __future__ import annotations

from .course import Lab, find_labs, lab_notebooks, repo_root
from .release import load_config, release
from .validate import GradedCell, Validation, graded_cells, validate

__all__ = [
    "Lab",
    "find_labs",
    "lab_notebooks",
    "repo_root",
    "load_config",
    "release",
    "GradedCell",
    "Validation",
    "graded_cells",
    "validate",
]
