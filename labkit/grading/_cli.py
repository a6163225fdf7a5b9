"""``labkit release``: write student versions of the labs to release/."""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from pathlib import Path

from ..cli import new_folder, print_json
from ..errors import UsageError

#: what makes a folder a course folder (an nbgrader course directory of these labs)
_COURSE_FILES = ("labs", "nbgrader_config.py")


def _is_course(folder: Path) -> bool:
    return (folder / "labs").is_dir() and (folder / "nbgrader_config.py").is_file()


def course_root(value: str | None) -> Path | None:
    """The course folder ``labkit release`` works on: ``--root``, else the current folder
    or the nearest folder above it that is a course folder (an instructor's private copy,
    also from inside ``labs/03-spf/``), else None (the checkout labkit was installed from)."""
    if value is not None:
        root = Path(value).expanduser()
        if not _is_course(root):
            raise UsageError(
                f"--root {value} is not a course folder (it needs {' and '.join(_COURSE_FILES)})"
            )
        return root.resolve()
    here = Path.cwd()
    return next((folder for folder in (here, *here.parents) if _is_course(folder)), None)


def _release(args: argparse.Namespace) -> int:
    from . import release

    root = course_root(args.root)
    # a refused release (an unknown lab, a folder already there) leaves no empty --dest
    with new_folder(args.dest, "--dest") if args.dest else nullcontext() as dest:
        paths = release(args.labs or None, root=root, release_dir=dest, database=not args.no_db,
                        force=args.force)
    if args.json:
        print_json([str(p) for p in paths])
    else:
        for path in paths:
            print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``labkit release`` to the ``labkit`` parser."""
    p = sub.add_parser(
        "release",
        help="write student versions of the labs (nbgrader generate_assignment) to release/",
    )
    p.add_argument("labs", nargs="*", metavar="LAB", help="lab id (03-spf) or number (3); default all")
    p.add_argument(
        "--root",
        default=None,
        help="the course folder (holding labs/ and nbgrader_config.py); default: the current "
        "folder or the nearest one above it that is one, else the checkout labkit was installed from",
    )
    p.add_argument("--dest", default=None, help="release directory (default: release/ in the course folder)")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a lab's release folder that already exists (a learner's edits in it are lost)",
    )
    p.add_argument("--no-db", action="store_true", help="do not record the labs in the gradebook")
    p.add_argument("--json", action="store_true", help="print the written paths as JSON")
    p.set_defaults(func=_release)
