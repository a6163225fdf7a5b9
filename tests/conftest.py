"""Shared fixtures: the lab DNS with the course zones, tool checks, the corpus, the
student versions of the labs (made and executed once per session), and one execution of
each lab's source notebook."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Tests never ask the real DNS: live look-ups are tested against loopback resolvers.
os.environ.setdefault("LABKIT_OFFLINE", "1")

# The corpus beside the project (../shared) serves tests and executed notebooks offline.
_SHARED_CORPUS = ROOT.parent / "shared" / "corpora" / "spamassassin"
if "LABKIT_CORPUS" not in os.environ and _SHARED_CORPUS.is_dir():
    os.environ["LABKIT_CORPUS"] = str(_SHARED_CORPUS)


def unavailable(message: str) -> None:
    """Something a test needs is missing: skip on a developer's machine, fail in CI."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_tool(name: str) -> str:
    """Return the path of an external tool; skip without it, but fail in CI."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"the tool {name!r} is not installed (.ci/run installs it)")
    return path


def require_corpus_for(notebook: Path) -> None:
    """A notebook that loads the SpamAssassin corpus needs a local copy of it.

    Without one (``labkit corpus fetch`` or ``LABKIT_CORPUS``) the test is skipped on a
    developer's machine and fails in CI, where ``../shared`` provides it.
    """
    if "corpus.load(" not in notebook.read_text(encoding="utf-8"):
        return
    from labkit.errors import CorpusError
    from labkit.filters import corpus

    try:
        corpus.locate()
    except CorpusError as exc:
        unavailable(f"{notebook.name} needs the corpus: {exc}")


@pytest.fixture(scope="session")
def lab_dns():
    """A LabDNS serving the course zones (data/zones) for the whole test session."""
    import labkit.dns

    with labkit.dns.LabDNS() as server:
        yield server


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The SpamAssassin corpus where labkit finds it (``LABKIT_CORPUS``, else a copy
    ``labkit corpus fetch`` left in the cache folder); skip without it, fail in CI."""
    from labkit.errors import CorpusError
    from labkit.filters import corpus

    try:
        path = corpus.locate()
    except CorpusError:
        path = None
    if path is not None and path.is_dir():
        return path
    unavailable("SpamAssassin corpus not found (run `labkit corpus fetch`, or set LABKIT_CORPUS)")


@pytest.fixture(scope="session")
def student_versions(tmp_path_factory) -> dict[str, Path]:
    """Lab id -> its student version, all made by one ``labkit.grading.release`` call."""
    import labkit.grading

    out = tmp_path_factory.mktemp("release")
    paths = labkit.grading.release(release_dir=out / "release", database=False)
    return {p.parent.name: p for p in paths}


@dataclass(frozen=True)
class ValidatorRun:
    """One execution of a notebook by nbgrader's Validator.

    ``validation`` is what ``labkit.grading.validate`` returned; ``executed`` is the
    notebook of that same run with its outputs (errors allowed, as nbgrader executes), or
    None when the Validator stopped before executing (cells whose type was changed).
    """

    notebook: Path
    validation: Any
    executed: Any


def _validate_keeping_the_run(notebook: Path) -> ValidatorRun:
    """``labkit.grading.validate(notebook)``, also keeping the notebook nbgrader executed.

    nbgrader's ``Validator.validate`` executes through ``Validator._preprocess``, which
    returns the executed notebook; it is wrapped for the call to keep that notebook. If a
    later nbgrader drops the method, ``setattr`` raises instead of silently keeping nothing.
    """
    from nbgrader.validator import Validator

    import labkit.grading

    kept = []
    execute = Validator._preprocess

    def keep(self, nb):
        nb = execute(self, nb)
        kept.append(nb)
        return nb

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Validator, "_preprocess", keep)
        validation = labkit.grading.validate(notebook)
    return ValidatorRun(notebook=notebook, validation=validation, executed=kept[-1] if kept else None)


@pytest.fixture(scope="session")
def student_run(student_versions):
    """A function: lab id -> the ValidatorRun of its student version.

    Each student version runs once per session, however many tests read the run:
    tests/grading/test_release.py reads the Validator's verdict, and
    tests/notebooks/test_student_version_says_why.py the executed cells.
    """
    runs: dict[str, ValidatorRun] = {}

    def run(assignment_id: str) -> ValidatorRun:
        if assignment_id not in runs:
            runs[assignment_id] = _validate_keeping_the_run(student_versions[assignment_id])
        return runs[assignment_id]

    return run


@pytest.fixture(scope="session")
def source_run():
    """A function: a lab's source notebook (its path in labs/) -> the ValidatorRun of it.

    Each source notebook runs once per session, in a fresh kernel in its own folder:
    tests/grading/test_release.py reads the Validator's verdict (every graded test
    passes), tests/notebooks/test_execute.py the executed cells (no cell raised, and the
    run changed nothing but outputs), tests/notebooks/test_lab07_tools.py what lab 07's
    section 6 printed. The run is a learner's run because nothing in labkit or the labs
    reads the variables nbgrader sets while validating (test_execute.py checks that).
    """
    runs: dict[Path, ValidatorRun] = {}

    def run(notebook: Path) -> ValidatorRun:
        notebook = Path(notebook).resolve()
        if notebook not in runs:
            runs[notebook] = _validate_keeping_the_run(notebook)
        return runs[notebook]

    return run
