"""Measure each lab: wall time to run it from a fresh kernel, and the kernel's peak memory.

Runs every ``labs/NN-slug/NN-slug.ipynb`` (or those named) top to bottom with nbclient,
as the notebook tests do, and prints a Markdown table for docs/instructor-guide.md::

    python docs/measure_labs.py [03-spf ...]

The peak memory is the kernel's own maximum resident set size (``ru_maxrss``, Linux),
read by one extra cell appended to the run; the lab's servers are threads of that
kernel, so they are included. Times include starting the kernel.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import labkit.grading

PROBE = "import resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def measure(lab: labkit.grading.course.Lab) -> tuple[float, int]:
    """(seconds, peak kernel RSS in MiB) for one run of ``lab`` in a fresh kernel."""
    nb = nbformat.read(lab.notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(lab.notebook.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    kib = int("".join(o.get("text", "") for o in nb.cells[-1].outputs).strip())
    return seconds, kib // 1024


def main(argv: list[str]) -> int:
    if any(arg in ("-h", "--help") for arg in argv):
        print(__doc__)
        return 0
    labs = labkit.grading.course.select_labs(argv) if argv else labkit.grading.find_labs()
    print(f"<!-- python docs/measure_labs.py on {platform.node() or 'this machine'}: "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at start -->")
    print("| lab | run time from a fresh kernel | kernel peak memory |")
    print("|---|---:|---:|")
    total = 0.0
    for lab in labs:
        try:
            seconds, mib = measure(lab)
        except CellExecutionError as exc:  # say which lab and why, not the kernel's traceback
            last = re.sub(r"\x1b\[[0-9;]*m", "", str(exc).strip().splitlines()[-1])  # no colour codes
            print(f"measure_labs: {lab.assignment_id} stopped with an error: {last}", file=sys.stderr)
            return 1
        total += seconds
        print(f"| {lab.assignment_id} | {seconds:.1f} s | {mib} MiB |", flush=True)
    print(f"| all | {total:.1f} s | |")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"<!-- this script itself peaked at {own} MiB -->")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
