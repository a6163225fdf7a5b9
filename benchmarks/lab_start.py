"""What starting a LabDNS or a whole Lab costs, in CPU and wall time, per checkout.

For each checkout given (default: this one) a fresh child process runs with
``PYTHONPATH=<checkout>`` (so it imports that checkout's ``labkit`` and serves
its ``data/zones``) and measures:

- ``import labkit``;
- the first start in the process (``LabDNS().start()`` or ``Lab().start()``),
  which pays for everything done once per process;
- then N more starts, one after the other, each stopped before the next
  (``time.process_time`` for CPU, the whole process's, server threads included;
  ``time.perf_counter`` for wall);
- the stop.

Checkouts are run alternately, round after round, so that before and after meet
the same load:

    git worktree add /tmp/ls-before <commit>
    python benchmarks/lab_start.py --n 20 --rounds 3 /tmp/ls-before .

With no checkout named it measures the one this script is in.  A folder without a
``labkit`` package is refused (the child would import whatever labkit is installed).
Nothing leaves loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _child(what: str, n: int) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    import labkit
    import labkit.dns

    out: dict = {"labkit": str(Path(labkit.__file__).resolve().parent.parent),
                 "import_s": time.perf_counter() - t0, "import_cpu_s": time.process_time() - c0}

    def make():
        return labkit.dns.LabDNS() if what == "dns" else labkit.Lab()

    def one() -> tuple[float, float, float]:
        t, c = time.perf_counter(), time.process_time()
        service = make()
        service.start()
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        t = time.perf_counter()
        service.stop()
        return wall, cpu, time.perf_counter() - t

    out["first_wall_s"], out["first_cpu_s"], out["first_stop_s"] = one()
    walls, cpus, stops = zip(*(one() for _ in range(n)), strict=True)
    out["n"] = n
    out["wall_s"] = statistics.median(walls)
    out["cpu_s"] = statistics.median(cpus)
    out["cpu_mean_s"] = statistics.fmean(cpus)
    out["stop_s"] = statistics.median(stops)
    return out


def _run(checkout: Path, what: str, n: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    proc = subprocess.run(
        [sys.executable, __file__, "--child", "--what", what, "--n", str(n)],
        env=env, capture_output=True, text=True, check=True, cwd=str(checkout),
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if Path(out["labkit"]) != checkout:
        raise SystemExit(f"asked to measure {checkout}, but the child imported labkit from {out['labkit']}")
    return out


HERE = Path(__file__).resolve().parent.parent


def main() -> None:
    """Measure each checkout's start-up, alternating, and print one row per run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkouts", nargs="*", default=[str(HERE)],
                    help="checkouts to compare, each a folder holding labkit/ (PYTHONPATH for "
                         f"each; default: this script's checkout, {HERE})")
    ap.add_argument("--what", choices=("dns", "lab", "both"), default="both",
                    help="start a LabDNS, a whole Lab, or both (default both)")
    ap.add_argument("--n", type=int, default=20, help="starts after the first, in one process")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds over the checkouts")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.what, args.n)))
        return
    whats = ("dns", "lab") if args.what == "both" else (args.what,)
    checkouts = [Path(c).resolve() for c in args.checkouts]
    for checkout in checkouts:
        if not (checkout / "labkit" / "__init__.py").is_file():
            ap.error(f"no labkit package in {checkout} (give a checkout: a folder holding labkit/)")
    print(f"nproc {os.cpu_count()}, load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} at start")
    print(f"{'what':4} {'checkout':28} {'round':>5} | {'import':>6} | {'1st CPU':>7} {'1st wall':>8} | "
          f"{'CPU med':>7} {'CPU mean':>8} {'wall med':>8} | {'stop med':>8}   (seconds; N={args.n})")
    for r in range(1, args.rounds + 1):
        for what in whats:
            for checkout in checkouts:
                m = _run(checkout, what, args.n)
                print(f"{what:4} {str(checkout)[-28:]:28} {r:>5} | {m['import_s']:6.3f} | "
                      f"{m['first_cpu_s']:7.3f} {m['first_wall_s']:8.3f} | {m['cpu_s']:7.3f} "
                      f"{m['cpu_mean_s']:8.3f} {m['wall_s']:8.3f} | {m['stop_s']:8.3f}", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
