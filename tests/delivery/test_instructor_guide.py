"""docs/instructor-guide.md and docs/binder.md, followed as an instructor would.

- The nbgrader exchange of §5, run with the commands the guide prints: release to an
  exchange folder, a learner fetches and submits, the instructor collects and autogrades;
  then the learner submits again: plain ``collect`` keeps the first submission, the
  guide's ``nbgrader collect --update`` takes the new one and ``autograde`` then grades
  it again; feedback goes back and lands
  where the guide says; fetching again over an existing folder is refused, which is why
  the guide's "fresh copy" advice moves the folder first.
- ``binder/pin_requirements.py``, which §3 tells TLJH admins to run on their own Python,
  also runs where ``tomllib`` is missing (Python 3.10).
- docs/binder.md names every file in ``binder/``.

The learner is simulated in the same account: its own home, Jupyter data folder (where
nbgrader keeps the learner's copy of each submission) and ``--student`` id.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labkit.grading import find_labs, graded_cells, repo_root

ROOT = repo_root()
GUIDE = ROOT / "docs" / "instructor-guide.md"
LAB = next(lab for lab in find_labs() if lab.assignment_id == "03-spf")
AID = LAB.assignment_id
STUDENT = "jupyter-alice"


def _env(base: Path, who: str, exchange_config: Path) -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    home = base / who
    home.mkdir(exist_ok=True)
    env.update(
        PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
        HOME=str(home),
        JUPYTER_CONFIG_PATH=str(exchange_config),  # stands in for /etc/jupyter
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_DATA_DIR=str(home / ".local-share-jupyter"),
        JUPYTER_RUNTIME_DIR=str(home / ".jupyter-runtime"),
    )
    return env


def _sh(command: str, cwd: Path, env: dict[str, str]) -> str:
    """Run one command line as quoted in the guide; return stdout + stderr."""
    proc = subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=240)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, (command, out[-3000:])
    return out


def _solve(path: Path) -> None:
    """What a learner who gets everything right types into the solution cells."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source
               for c in nbformat.read(str(LAB.notebook), as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = re.sub(r"(?m)^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "",
                                 answers[grade_id])
    nbformat.write(nb, str(path))


def _score(course: Path) -> tuple[float, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        (sub,) = gb.assignment_submissions(AID)
        return sub.code_score, sub.max_code_score


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    """A course folder, an exchange, a learner; the assignment released and fetched."""
    base = tmp_path_factory.mktemp("guide")
    course = base / "course"
    (course / "labs").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(LAB.notebook.parent, course / "labs" / AID)
    root = base / "exchange"
    root.mkdir()
    config = base / "etc-jupyter"
    config.mkdir()
    # the guide's /etc/jupyter/nbgrader_config.py, with the exchange under tmp
    (config / "nbgrader_config.py").write_text(
        f'c = get_config()\nc.Exchange.root = "{root}"\n'
        'c.CourseDirectory.course_id = "antispam-labs"\n', encoding="utf-8")
    teacher = _env(base, "instructor", config)
    learner = _env(base, "alice", config)
    (course / "students.csv").write_text(
        f"id,first_name,last_name,email\n{STUDENT},Alice,Example,\n", encoding="utf-8")
    _sh(f"labkit release {AID} --force", course, teacher)
    _sh("nbgrader db student import students.csv", course, teacher)
    _sh(f"nbgrader release_assignment {AID}", course, teacher)
    home = base / "alice"
    _sh(f"nbgrader fetch_assignment {AID} --course antispam-labs", home, learner)
    return {"teacher": teacher, "learner": learner, "home": home, "course": course}


def test_resubmission_needs_collect_update(exchange):
    teacher, learner, home = exchange["teacher"], exchange["learner"], exchange["home"]
    course = exchange["course"]
    submit = f"nbgrader submit {AID} --course antispam-labs --student {STUDENT}"
    points = sum(c.points for c in graded_cells(LAB.notebook))

    _sh(submit, home, learner)  # the untouched student version, by mistake
    _sh(f"nbgrader collect {AID}", course, teacher)
    _sh(f"nbgrader autograde {AID}", course, teacher)
    assert _score(course) == (0.0, points)

    _solve(home / AID / LAB.notebook.name)
    _sh(submit, home, learner)  # the real answer, before the deadline
    out = _sh(f"nbgrader collect {AID}", course, teacher)
    assert "use --update" in out, out[-2000:]
    _sh(f"nbgrader autograde {AID}", course, teacher)
    assert _score(course) == (0.0, points), "plain collect picked up the new submission"
    out = _sh(f"nbgrader collect --update {AID}", course, teacher)
    assert "Updating submission" in out, out[-2000:]
    _sh(f"nbgrader autograde {AID}", course, teacher)  # grades the newer submission again
    assert _score(course) == (points, points)

    guide = GUIDE.read_text(encoding="utf-8")
    assert f"nbgrader collect --update {AID}" in guide, "the guide should say how to collect again"


def test_feedback_reaches_the_learner_where_the_guide_says(exchange):
    teacher, learner, home = exchange["teacher"], exchange["learner"], exchange["home"]
    course = exchange["course"]
    _sh(f"nbgrader generate_feedback {AID} --force", course, teacher)
    _sh(f"nbgrader release_feedback {AID}", course, teacher)
    _sh(f"nbgrader fetch_feedback {AID} --course antispam-labs --student {STUDENT}", home,
        learner)
    pages = sorted((home / AID / "feedback").glob(f"*/{LAB.notebook.stem}.html"))
    assert pages, "no feedback page in the learner's <lab>/feedback/<timestamp>/"
    assert "Score:" in pages[-1].read_text(encoding="utf-8")
    assert f"{AID}/feedback/<submission time>/{LAB.notebook.stem}.html" in GUIDE.read_text(
        encoding="utf-8")


def test_fetching_over_an_existing_copy_is_refused(exchange):
    learner, home = exchange["learner"], exchange["home"]
    proc = subprocess.run(f"nbgrader fetch_assignment {AID} --course antispam-labs", shell=True,
                          cwd=home, env=learner, capture_output=True, text=True, timeout=120)
    assert "already have a copy" in proc.stdout + proc.stderr
    (home / AID).rename(home / f"{AID}.old")
    _sh(f"nbgrader fetch_assignment {AID} --course antispam-labs", home, learner)
    assert (home / AID / LAB.notebook.name).is_file()
    assert f"mv {AID} {AID}.old" in GUIDE.read_text(encoding="utf-8")


def test_pin_requirements_runs_without_tomllib():
    """The guide has TLJH admins run it on TLJH's own Python, which may be 3.10."""
    script = ROOT / "binder" / "pin_requirements.py"
    run = ("import runpy, sys\n"
           "if sys.argv[1] == 'hide': sys.modules['tomllib'] = None  # as on Python 3.10\n"
           f"runpy.run_path({str(script)!r}, run_name='__main__')\n")
    outs = []
    for mode in ("keep", "hide"):
        proc = subprocess.run([sys.executable, "-c", run, mode], capture_output=True, text=True,
                              timeout=120, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs.append(proc.stdout)
    assert outs[0] == outs[1] and "nbgrader==" in outs[0]


def test_binder_md_names_every_file_in_binder():
    text = (ROOT / "docs" / "binder.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in (ROOT / "binder").iterdir()
                   if p.is_file() and not p.name.startswith("."))
    missing = [name for name in files if f"| `{name}` |" not in text]
    assert files and not missing, f"docs/binder.md's table leaves out {missing}"
