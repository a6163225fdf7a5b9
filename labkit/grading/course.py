"""Where the course lives: the labs in ``labs/NN-slug/NN-slug.ipynb``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..paths import repo_root

_LAB_DIR = re.compile(r"^(?P<number>\d{2})-(?P<slug>[a-z0-9-]+)$")


@dataclass(frozen=True, kw_only=True)
class Lab:
    """One lab: its nbgrader assignment id (the folder name) and its notebook."""

    assignment_id: str
    number: int
    notebook: Path

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {
            "assignment_id": self.assignment_id,
            "number": self.number,
            "notebook": str(self.notebook),
        }


def find_labs(root: Path | str | None = None) -> tuple[Lab, ...]:
    """Every lab under ``<root>/labs`` that has its ``NN-slug/NN-slug.ipynb``, in order."""
    base = Path(root) if root is not None else repo_root()
    labs = []
    for folder in sorted((base / "labs").glob("*")):
        m = _LAB_DIR.match(folder.name)
        notebook = folder / f"{folder.name}.ipynb"
        if folder.is_dir() and m and notebook.is_file():
            labs.append(
                Lab(assignment_id=folder.name, number=int(m["number"]), notebook=notebook)
            )
    return tuple(labs)


def select_labs(names: list[str] | tuple[str, ...] | None, root: Path | str | None = None) -> tuple[Lab, ...]:
    """Pick labs by assignment id (``03-spf``), number (``3``, ``03``) or all when empty."""
    labs = find_labs(root)
    if not names:
        return labs
    chosen = []
    for name in names:
        hits = [
            lab for lab in labs
            if name == lab.assignment_id or (name.isdigit() and int(name) == lab.number)
        ]
        if not hits:
            known = ", ".join(lab.assignment_id for lab in labs) or "none"
            raise UsageError(f"no lab called {name!r} (labs: {known})")
        chosen.extend(h for h in hits if h not in chosen)
    return tuple(chosen)


def lab_notebooks(root: Path | str | None = None) -> tuple[Path, ...]:
    """The instructor notebook of every lab."""
    return tuple(lab.notebook for lab in find_labs(root))
