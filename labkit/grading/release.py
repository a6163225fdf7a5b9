"""Student versions: nbgrader's ``generate_assignment`` with the repository's config."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from ..errors import LabkitError, UsageError
from .course import find_labs, repo_root, select_labs

log = logging.getLogger(__name__)


def load_config(root: Path | str | None = None) -> Config:
    """Load ``<root>/nbgrader_config.py`` (the course's nbgrader settings)."""
    base = Path(root) if root is not None else repo_root()
    path = base / "nbgrader_config.py"
    if not path.is_file():
        raise LabkitError(f"{path} is missing: the course's nbgrader configuration")
    try:
        cfg = PyFileConfigLoader(path.name, path=str(base)).load_config()
    except Exception as exc:  # the file is Python: any error it raises means it is broken
        raise UsageError(f"{path} does not load: {type(exc).__name__}: {exc}") from exc
    cfg.CourseDirectory.root = str(base)
    return cfg


def _nbgrader_tools_on_path() -> None:
    # nbgrader's gradebook runs the ``alembic`` command; find it beside this Python
    # when the virtual environment's bin/ is not on PATH (e.g. /venv/bin/pytest).
    if shutil.which("alembic") is None:
        here = os.path.dirname(sys.executable)
        if os.path.exists(os.path.join(here, "alembic")):
            os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")


def release(
    labs: Sequence[str] | None = None,
    *,
    root: Path | str | None = None,
    release_dir: Path | str | None = None,
    db_url: str | None = None,
    database: bool = True,
    force: bool = False,
) -> tuple[Path, ...]:
    """Write the student version of each lab (all labs when ``labs`` is empty).

    Runs nbgrader's ``GenerateAssignment`` converter: solutions become
    ``raise NotImplementedError()``, hidden tests disappear, outputs are cleared,
    graded cells get checksums. ``release_dir`` (default ``<root>/release``) and
    ``db_url`` (default the config's gradebook) let tests write elsewhere;
    ``database=False`` skips the gradebook (nbgrader's ``--no-db``), which is faster
    and enough for a student copy that nobody will autograde.

    A lab whose release folder already holds files is not touched unless ``force``
    (nbgrader's ``--force``), because learners may work there (on Binder they open
    ``release/``): then :class:`UsageError` names the folders and nothing is written.
    With ``force`` the folder is replaced, files a learner added included.
    A ``root`` without labs is a :class:`UsageError` (never an empty success).
    Returns the paths of the student notebooks written.
    """
    from nbgrader.coursedir import CourseDirectory

    base = Path(root) if root is not None else repo_root()
    if not find_labs(base):
        # e.g. labkit installed from a wheel (no checkout) and run outside any course folder
        raise UsageError(
            f"{base} holds no labs to release (labs/NN-name/NN-name.ipynb): run labkit release "
            "in the course folder (the one holding labs/ and nbgrader_config.py) or name it "
            "with --root DIR"
        )
    _nbgrader_tools_on_path()
    jobs = []
    for lab in select_labs(list(labs or ()), base):
        cfg = load_config(base)
        if release_dir is not None:
            cfg.CourseDirectory.release_directory = str(Path(release_dir).resolve())
        if db_url is not None:
            cfg.CourseDirectory.db_url = db_url
        cfg.CourseDirectory.assignment_id = lab.assignment_id
        cfg.GenerateAssignment.force = True
        if not database:
            cfg.GenerateAssignment.no_database = True
            cfg.SaveCells.enabled = False
        coursedir = CourseDirectory(config=cfg)
        out = Path(coursedir.format_path(coursedir.release_directory, ".", lab.assignment_id))
        jobs.append((lab, cfg, out))
    existing = [str(out) for _, _, out in jobs if out.is_dir() and any(out.iterdir())]
    if existing and not force:
        raise UsageError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''} and may hold "
            "a learner's work; nothing was written. Move it away, or pass --force "
            "to replace it with a fresh student version"
        )
    written = []
    for lab, cfg, out in jobs:
        _generate(lab.assignment_id, cfg, out)
        written.append(out / lab.notebook.name)
    return tuple(written)


class _ErrorLog(logging.Handler):
    """Keeps what nbgrader logs at ERROR: it logs the cause, then raises a bare 'see above'."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def cause(self) -> str | None:
        """The last line of the last traceback nbgrader logged (``RuntimeError: ...``)."""
        for message in reversed(self.messages):
            if message.startswith("Traceback"):
                return message.strip().splitlines()[-1]
        return None


def _generate(assignment_id: str, cfg: Config, out: Path) -> None:
    # nbgrader's --force deletes the old folder before it converts: when it then refuses
    # (say, a graded cell removed after learners submitted), no student version is left.
    # So it writes into a staging folder beside ``out``, which replaces ``out`` only on success.
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    made = [p for p in (out.parent, *out.parent.parents) if not p.exists()]
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".labkit-release-", dir=out.parent))
    errors = _ErrorLog()
    try:
        cfg.CourseDirectory.release_directory = str(staging)
        converter = GenerateAssignment(coursedir=CourseDirectory(config=cfg), config=cfg)
        log.info("generating the student version of %s", assignment_id)
        converter.log.addHandler(errors)
        try:
            converter.start()
        except Exception as exc:  # nbgrader raises its own exception types
            raise LabkitError(
                f"nbgrader could not release {assignment_id}: {errors.cause() or exc}"
                + (f" ({out} was left as it was)" if out.exists() else "")
            ) from exc
        finally:
            converter.log.removeHandler(errors)
        if out.exists():
            out.rename(staging / ".replaced")
        (staging / assignment_id).rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in made:  # folders made for this release, if it wrote nothing
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
