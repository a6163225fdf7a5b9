"""Run a notebook through nbgrader's Validator and report each graded cell."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, kw_only=True)
class GradedCell:
    """An autograder-tests cell: its grade id, points and source."""

    grade_id: str
    points: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"grade_id": self.grade_id, "points": self.points}


def graded_cells(notebook: Path | str) -> tuple[GradedCell, ...]:
    """The cells with nbgrader ``grade: true`` and points, in notebook order."""
    import nbformat  # slow to import: only when grading

    nb = nbformat.read(str(notebook), as_version=4)
    cells = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            cells.append(
                GradedCell(
                    grade_id=meta["grade_id"],
                    points=float(meta.get("points", 0)),
                    source=cell.source.strip(),
                )
            )
    return tuple(cells)


@dataclass(frozen=True, kw_only=True)
class Validation:
    """Outcome of validating one notebook: which graded cells passed and failed."""

    notebook: Path
    passed: tuple[str, ...]
    failed: tuple[str, ...]
    changed: tuple[str, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every graded cell passed and no locked cell was changed."""
        return not self.failed and not self.changed

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {
            "notebook": str(self.notebook),
            "ok": self.ok,
            "passed": list(self.passed),
            "failed": list(self.failed),
            "changed": list(self.changed),
            "errors": dict(self.errors),
        }


def validate(notebook: Path | str, *, timeout: int = 120) -> Validation:
    """Execute ``notebook`` in a fresh kernel with nbgrader's Validator.

    nbgrader's ``validate`` command exits 0 even when tests fail; this returns the
    grade ids of the graded cells that failed, so a test can assert on them.
    """
    from nbgrader.validator import Validator
    from traitlets.config import Config

    path = Path(notebook).resolve()
    cfg = Config()
    cfg.Execute.timeout = timeout
    results = Validator(config=cfg).validate(str(path))
    cells = graded_cells(path)
    by_source = {c.source: c.grade_id for c in cells}
    failed = {by_source.get(f["source"], f["source"][:40]): f.get("raw_error", "")
              for f in results.get("failed", [])}
    changed = tuple(by_source.get(c["source"], c["source"][:40]) for c in results.get("changed", []))
    passed = tuple(c.grade_id for c in cells if c.grade_id not in failed and c.grade_id not in changed)
    return Validation(
        notebook=path,
        passed=passed,
        failed=tuple(failed),
        changed=changed,
        errors=failed,
    )
