"""The ``labkit`` command.

Each area registers its own sub-commands from a small ``_cli`` module next to its
code (``labkit/dns/_cli.py``, ``labkit/auth/_cli.py`` ...; ``labkit doctor`` from
``labkit/doctor.py``), so a newcomer finds a command's machinery beside the concept it
belongs to.

Exit codes: 0 ok, 1 a check failed, 2 bad usage or bad input, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import json
import logging
import math
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import LabkitError, UsageError
from .paths import atomic_path  # noqa: F401 - the subcommands import it from here

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


#: what exit status 1 means for each command (None: it never exits 1); shown by --help
EXIT_1: dict[str, str | None] = {
    "doctor": "something the labs need is missing or broken",
    "dns serve": None,
    "dns dig": "no answer (NXDOMAIN, no data, a time-out, or no recording)",
    "dns record": "the real DNS could not be asked",
    "spf check": "the result is fail, softfail, permerror or temperror",
    "spf lint": "the record tree has errors",
    "auth check": "the receiver would not accept the message (disposition not accept)",
    "dkim keygen": None,
    "dkim sign": None,
    "dkim verify": "a signature did not pass",
    "demo": "a scenario did not get its expected outcome",
    "corpus fetch": "a download failed, or a file is corrupted, an archive cannot be read "
    "to its end or a folder is missing",
    "corpus verify": "a file is corrupted, an archive cannot be read to its end or a folder "
    "is missing",
    "corpus info": "no corpus was found",
    "bayes train": "the corpus is missing or cannot be read",
    "bayes score": None,
    "bayes evaluate": "the corpus is missing or cannot be read",
    "release": "nbgrader could not make a student version",
}


def exit_status(command: str) -> str:
    """The ``--help`` epilog of ``command`` (``"spf check"``): its exit codes."""
    fail = EXIT_1.get(command, "a check or an operation failed")
    return ("exit status: 0 ok" + (f"; 1 {fail}" if fail else "")
            + "; 2 bad usage or bad input; 130 interrupted (Ctrl-C)")


def _leaves(parser: argparse.ArgumentParser, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every command that does something, as ("spf check", its parser)."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups and path:
        yield path, parser
    for group in groups:
        for name, child in group.choices.items():
            yield from _leaves(child, f"{path} {name}".strip())


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser from every area's ``register``."""
    parser = _Parser(prog="labkit", description="Anti-Spam Labs: the lab Internet and its tools.",
                     epilog="exit status: 0 ok; 1 a check failed; 2 bad usage or bad input; "
                     "130 interrupted (Ctrl-C). `labkit COMMAND --help` says what each "
                     "command's 1 means.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _AREAS:
        module = importlib.import_module(name)
        module.register(sub)
    for path, leaf in _leaves(parser):
        if leaf.epilog is None:
            leaf.epilog = exit_status(path)
    return parser


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON (for ``--json``).

    An undefined number (NaN, such as the AUC of a test set with one class) or an
    infinite one is written as ``null``: strict JSON has no literal for either.
    """
    json.dump(_finite(data), sys.stdout, indent=2, ensure_ascii=False, default=str,
              allow_nan=False)
    sys.stdout.write("\n")


def _finite(data: Any) -> Any:
    """``data`` with every NaN or infinite float (at any depth) replaced by None."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    return data


_LDH_LABEL = re.compile(r"[A-Za-z0-9_-]+")


def domain_arg(text: str, what: str) -> str:
    """``text`` as a domain name for a check: A-labels (an IDN is converted), no final dot.

    Raises :class:`UsageError` (exit 2) when it cannot be a host or mail domain: a
    space or other character outside letters, digits, ``-`` and ``_``, an empty label,
    a label over 63 octets or a name over 255.
    """
    import dns.exception
    import dns.name

    name = text[:-1] if text.endswith(".") else text
    try:
        ascii_name = dns.name.from_unicode(name, origin=None).to_text(omit_final_dot=True)
    except (dns.exception.DNSException, UnicodeError) as exc:
        raise UsageError(f"{what}: {text!r} is not a domain name ({exc})") from None
    if not name or not all(_LDH_LABEL.fullmatch(label) for label in ascii_name.split(".")):
        raise UsageError(f"{what}: {text!r} is not a domain name "
                         "(letters, digits, '-' and '_' in dot-separated labels)")
    return ascii_name


def ip_arg(text: str, what: str) -> str:
    """``text`` as an IP address (v4 or v6), normalised; :class:`UsageError` if it is not one.

    An IPv6 address with a zone index (``fe80::1%eth0``) is refused too: the index names
    an interface of this machine, never part of the address an SMTP client connects from.
    """
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not an IP address") from None
    if getattr(address, "scope_id", None):
        raise UsageError(f"{what}: {text!r} has a zone index (%{address.scope_id}), which "
                         "names an interface of this machine; give the address alone")
    return str(address)


def zones_arg(value: str | None) -> Path | None:
    """``--zones`` as a path (never zone text); :class:`UsageError` if it does not exist."""
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.exists():
        raise UsageError(f"--zones: {value} does not exist (give a zone file or a folder of *.zone)")
    return path


def read_input(name: str, what: str = "message file", *, allow_empty: bool = False) -> bytes:
    """The bytes of file ``name`` (``-``: standard input); :class:`UsageError` if unreadable
    or (unless ``allow_empty``) empty.

    Nothing at all is no message and no key: it is what a shell leaves when the step that
    should have written it failed (``labkit dkim sign ... > signed.eml``, or ``... | labkit
    dkim verify -``), so it is named as bad input rather than checked as a message.
    ``allow_empty``: a command that scores many files (``bayes score``) gives an empty one
    its score, with a warning, rather than stopping the batch.
    """
    if name == "-":
        data = sys.stdin.buffer.read()
        if not data and not allow_empty:
            raise UsageError(f"standard input is empty: no {what.replace(' file', '')} was "
                             "piped in (did the command before the | fail?)")
    else:
        try:
            data = Path(name).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {what} {name}: {exc.strerror or exc}") from None
        if not data and not allow_empty:
            raise UsageError(f"{what} {name} is empty (0 bytes): nothing to read")
    if not data:
        where = "standard input" if name == "-" else name
        print(f"labkit: warning: {where} is empty (0 bytes); scored as an empty message",
              file=sys.stderr)
    return data


def out_dir(value: str, what: str) -> Path:
    """Make output folder ``value`` (and its parents); :class:`UsageError` if it cannot be."""
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {value} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{what} {value}: cannot make this folder ({exc.strerror or exc})") from None
    return path


@contextmanager
def new_folder(value: str, what: str) -> Iterator[Path]:
    """Make output folder ``value`` (and its parents) as :func:`out_dir` does, for the
    ``with`` block; if the block fails, the folders it made are removed again while empty
    (a refused or failed command leaves no empty folder behind)."""
    path = Path(value).expanduser()
    made = [p for p in (path, *path.parents) if not p.exists()]  # deepest first
    out_dir(value, what)
    try:
        yield path
    except BaseException:
        for folder in made:
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``labkit`` console script; returns the exit code.

    Ctrl-C exits with 130 and a reader that goes away (``labkit ... | head -1``) with
    141, both without a traceback.  A file name that is not UTF-8 is printed with its
    bytes as they are, whatever the locale (Python would stop at it in a UTF-8 locale
    other than C).
    """
    _pass_undecodable_bytes()
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in Python's flush at exit
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit: point it at devnull
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141


def _pass_undecodable_bytes() -> None:
    """Let stdout write back the bytes of a name that did not decode (``surrogateescape``,
    as Python itself does in the C locale), instead of raising UnicodeEncodeError."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None and getattr(sys.stdout, "errors", None) == "strict":
        try:
            reconfigure(errors="surrogateescape")
        except (ValueError, OSError):  # a stream that cannot change its error handler
            pass


class _LogLines(logging.Formatter):
    """Log lines shaped like the error lines: ``labkit: warning: ...``; with ``-v`` also
    which part of labkit speaks (``labkit: info [labkit.service]: ...``)."""

    def __init__(self, *, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        where = f" [{record.name}]" if self.verbose else ""
        text = f"labkit: {record.levelname.lower()}{where}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    root = logging.getLogger()
    if not root.handlers:  # a console run; inside another program (pytest) its logging stays
        handler = logging.StreamHandler()
        handler.setFormatter(_LogLines(verbose=args.verbose))
        root.addHandler(handler)
        root.setLevel(logging.INFO if args.verbose else logging.WARNING)
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
    return EXIT_OK if code is None else int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
