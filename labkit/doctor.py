"""``labkit doctor``: what works on this machine, and what degrades.

One table: Python and package versions, loopback aliases (distinct client
addresses) or the fallback in use, a lab DNS round trip, live DNS, the corpus.
Exit 0 when the labs can run.

Introduced in lab 00 (set-up).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import sys
import time
from collections.abc import Callable

OK, DEGRADED, FAIL = "ok", "degraded", "FAIL"

PACKAGES = ("dnspython", "dkimpy", "pyspf", "aiosmtpd", "cryptography", "authres",
            "jupyterlab", "ipywidgets", "nbgrader", "scikit-learn")


@dataclasses.dataclass(frozen=True)
class Check:
    """One line of the doctor's table."""

    name: str
    status: str
    detail: str

    def to_dict(self) -> dict:
        """Plain data for ``--json``."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Report:
    """Every check, and whether the labs can run."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when no check failed (degraded is fine)."""
        return all(c.status != FAIL for c in self.checks)

    def to_dict(self) -> dict:
        """Plain data for ``--json``."""
        return {"ok": self.ok, "checks": [c.to_dict() for c in self.checks]}

    def to_text(self) -> str:
        """The table as plain text."""
        w = max(len(c.name) for c in self.checks)
        lines = [f"{'check':<{w}}  {'status':<8}  detail", f"{'-' * w}  {'-' * 8}  {'-' * 40}"]
        lines += [f"{c.name:<{w}}  {c.status:<8}  {c.detail}" for c in self.checks]
        verdict = "the labs can run" if self.ok else "the labs cannot run: fix the FAIL lines"
        return "\n".join(lines + ["", verdict])

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td>{html.escape(c.name)}</td><td>{html.escape(c.status)}</td>"
            f"<td>{html.escape(c.detail)}</td></tr>"
            for c in self.checks
        )
        return f"<table><tr><th>check</th><th>status</th><th>detail</th></tr>{rows}</table>"

    def __str__(self) -> str:
        return self.to_text()


def _python() -> Check:
    v = sys.version_info
    status = OK if v >= (3, 10) else FAIL
    return Check("python", status, f"{sys.version.split()[0]} ({sys.executable})")


def _packages() -> Check:
    found, missing = [], []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return Check("packages", FAIL, "missing: " + ", ".join(missing))
    return Check("packages", OK, ", ".join(found))


def _aliases() -> Check:
    from .net import aliases_available

    if aliases_available():
        return Check("client addresses", OK, "loopback aliases 127.x.y.z bind: each lab host "
                     "has its own source address")
    return Check("client addresses", DEGRADED, "only 127.0.0.1 binds: lab hosts announce their "
                 "address with the PROXY protocol instead")


def _lab_dns() -> Check:
    from .dns import LabDNS

    t0 = time.perf_counter()
    try:
        with LabDNS() as lab:
            res = lab.resolver()
            txt = res.resolve("corp.example", "TXT", search=False)
            big = res.resolve("corp.example", "SOA", tcp=True, search=False)
            n = len(lab.authority.rrsets())
    except Exception as exc:  # noqa: BLE001 - the doctor reports, it does not crash
        return Check("lab DNS", FAIL, f"{type(exc).__name__}: {exc}")
    ms = (time.perf_counter() - t0) * 1000
    return Check("lab DNS", OK, f"{n} RRsets served over UDP and TCP; start, 2 queries and stop "
                 f"in {ms:.0f} ms ({len(txt)} TXT, {len(big)} SOA for corp.example)")


def _live_dns() -> Check:
    from .dns import live

    resolver = live.live_resolver(timeout=1.5)
    if resolver is None:
        why = "LABKIT_OFFLINE is set" if live.offline() else "no resolver configured"
        return Check("live DNS", DEGRADED, f"not used ({why}); labs use the recorded snapshots")
    reachable, why = live.internet_reachable(resolver)
    if not reachable:
        return Check("live DNS", DEGRADED, f"{why}; labs use the recorded snapshots")
    return Check("live DNS", OK, f"{why}: labs can compare with live data")


def _corpus() -> Check:
    from .errors import CorpusError
    from .filters import corpus

    try:
        where = corpus.locate()
    except CorpusError as exc:  # it says how to get the corpus
        return Check("corpus", DEGRADED, f"not found: {exc} (lab 09 needs it)")
    found = corpus.folders_present(where)
    if not found:
        return Check("corpus", DEGRADED, f"{where} holds none of the corpus folders "
                     f"({', '.join(corpus.FOLDERS)}) nor their .tar.bz2 archives (lab 09 needs them); "
                     "`labkit corpus fetch` gets them")
    if len(found) < len(corpus.FOLDERS):
        missing = [f for f in corpus.FOLDERS if f not in found]
        return Check("corpus", DEGRADED, f"SpamAssassin corpus at {where} lacks {', '.join(missing)}; "
                     "`labkit corpus verify` says more")
    return Check("corpus", OK, f"SpamAssassin corpus at {where} (all {len(found)} folders)")


def _speedups() -> Check:
    from .filters import compiled

    state = compiled.status()
    built = [name for name, ok in state.items() if ok]
    if len(built) == len(state):
        return Check("speed-ups", OK, f"compiled filter loops in use: {', '.join(built)}")
    if compiled.pure_python():
        return Check("speed-ups", DEGRADED, "compiled filter loops switched off (LABKIT_PURE_PYTHON "
                     "is set): the filters run their Python code (same scores, slower)")
    missing = [name for name, ok in state.items() if not ok]
    return Check("speed-ups", DEGRADED, f"{', '.join(missing)} not built, or built from older C "
                 "code (no C compiler when labkit was installed, or not installed again after an "
                 "update?): those loops run in Python (same scores, slower); `pip install -e .` "
                 "with a C compiler builds them")


CHECKS: tuple[Callable[[], Check], ...] = (
    _python, _packages, _aliases, _lab_dns, _live_dns, _corpus, _speedups,
)


def run(*, live: bool = True) -> Report:
    """Run every check and return the :class:`Report`."""
    from ._coerce import flag

    live = flag(live, "live")
    checks = []
    for fn in CHECKS:
        if fn is _live_dns and not live:
            checks.append(Check("live DNS", DEGRADED, "not checked (live=False, or --offline on the command line)"))
            continue
        checks.append(fn())
    return Report(tuple(checks))


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``labkit doctor`` to the parser."""
    p = sub.add_parser("doctor", help="check that this machine can run the labs")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--offline", action="store_true", help="do not try the real DNS")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    report = run(live=not args.offline)
    if args.json:
        from .cli import print_json

        print_json(report.to_dict())
    else:
        print(report.to_text())
    return 0 if report.ok else 1


__all__ = ["Check", "Report", "run"]
