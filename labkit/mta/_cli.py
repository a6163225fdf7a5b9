"""Sub-commands of ``labkit`` for the mail lab: ``labkit demo``."""

from __future__ import annotations

import argparse

from ..cli import EXIT_FAIL, EXIT_OK, print_json


def _demo(args: argparse.Namespace) -> int:
    from . import demo

    result = demo.run(client_addressing=args.addressing)
    if args.json:
        print_json(result.to_dict())
    else:
        print(result.table())
    return EXIT_OK if result.ok else EXIT_FAIL


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``labkit demo`` to the ``labkit`` parser."""
    p = sub.add_parser("demo", help="start the lab and play the course's story (a few seconds)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--addressing", choices=("auto", "alias", "proxy"), default="auto",
                   help="how hosts get their client address (default: aliases where possible)")
    p.set_defaults(func=_demo)
