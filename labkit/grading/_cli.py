"""``labkit release``: write student versions of the labs to release/."""

from __future__ import annotations

import argparse

from ..cli import out_dir, print_json


def _release(args: argparse.Namespace) -> int:
    from . import release

    dest = out_dir(args.dest, "--dest") if args.dest else None
    paths = release(args.labs or None, release_dir=dest, database=not args.no_db)
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
    p.add_argument("--dest", default=None, help="release directory (default: release/ in the repo)")
    p.add_argument("--no-db", action="store_true", help="do not record the labs in the gradebook")
    p.add_argument("--json", action="store_true", help="print the written paths as JSON")
    p.set_defaults(func=_release)
