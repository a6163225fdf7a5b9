"""The ``labkit`` command.

Each area registers its own sub-commands from a small ``_cli`` module next to its
code (``labkit/dns/_cli.py``, ``labkit/auth/_cli.py`` ...), so a newcomer finds a
command's machinery beside the concept it belongs to.

Exit codes: 0 ok, 1 a check failed, 2 bad usage or bad input.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from .errors import LabkitError, UsageError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

# modules that define ``register(subparsers)``; each sets ``func`` on its parsers
_AREAS = (
    "labkit.doctor",
    "labkit.dns._cli",
    "labkit.auth._cli",
    "labkit.mta._cli",
    "labkit.filters._cli",
    "labkit.grading._cli",
)


class _Parser(argparse.ArgumentParser):
    """argparse that exits with 2 and a one-line hint on bad usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser from every area's ``register``."""
    parser = _Parser(prog="labkit", description="Anti-Spam Labs: the lab Internet and its tools.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _AREAS:
        module = importlib.import_module(name)
        module.register(sub)
    return parser


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON (for ``--json``)."""
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``labkit`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code = func(args)
    except UsageError as exc:
        print(f"labkit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LabkitError as exc:
        print(f"labkit: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    return EXIT_OK if code is None else int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
