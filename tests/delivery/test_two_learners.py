"""Two learners on one host: their labs run side by side in separate processes.

Each learner's process starts its own lab (the DNS alone, then the whole mail lab)
on ports the OS picks. While both run, each looks up a record only it published,
in its own DNS and in the other's, and sends a mail through its own lab: the
answers and mailboxes must stay apart, and no port may be shared.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT

LEARNER = Path(__file__).with_name("learner.py")


def _start(tag: str, lab: bool) -> subprocess.Popen:
    cmd = [sys.executable, str(LEARNER), tag] + (["--lab"] if lab else [])
    return subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _read(proc: subprocess.Popen) -> dict:
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        pytest.fail(f"a learner's process died (exit {proc.returncode}):\n{proc.stderr.read()}")
    return json.loads(line)


def _send(proc: subprocess.Popen, **data) -> None:
    proc.stdin.write(json.dumps(data) + "\n")
    proc.stdin.flush()


def _side_by_side(lab: bool) -> tuple[dict, dict, dict, dict, list[str]]:
    tags = [f"learner-{n}-{uuid.uuid4().hex[:8]}" for n in ("a", "b")]
    procs = [_start(tag, lab) for tag in tags]
    try:
        ready = [_read(p) for p in procs]  # both labs are up at the same time from here
        for proc, other in zip(procs, reversed(ready), strict=True):
            host, port = other["dns"].rsplit(":", 1)
            _send(proc, host=host, port=int(port))
        seen = [_read(p) for p in procs]
        for proc in procs:
            _send(proc, stop=True)
        for proc in procs:
            assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return ready[0], ready[1], seen[0], seen[1], tags


def _check(lab: bool) -> tuple[dict, dict, dict, dict, list[str]]:
    ready_a, ready_b, seen_a, seen_b, (tag_a, tag_b) = _side_by_side(lab)
    assert ready_a["dns"] != ready_b["dns"], "the two labs' DNS servers share an address"
    assert seen_a["own"] == [tag_a] and seen_b["own"] == [tag_b], "a learner saw the other's record"
    assert seen_a["peer"] == [tag_b] and seen_b["peer"] == [tag_a], "a lab was not answering"
    return ready_a, ready_b, seen_a, seen_b, [tag_a, tag_b]


def test_two_lab_dns_side_by_side():
    """Two LabDNS in two processes: both answer, each with its own records."""
    _check(lab=False)


def test_two_labs_side_by_side():
    """Two whole labs (DNS and every mail host) in two processes: no port, no mailbox shared."""
    import labkit.mta

    if not hasattr(labkit.mta, "Lab"):
        pytest.skip("labkit.mta.Lab is not there yet")
    ready_a, ready_b, seen_a, seen_b, (tag_a, tag_b) = _check(lab=True)
    ports_a, ports_b = set(ready_a["listeners"]), set(ready_b["listeners"])
    assert ports_a and ports_b
    assert not ports_a & ports_b, f"both labs listen on {sorted(ports_a & ports_b)}"
    assert seen_a["subjects"] == [tag_a], seen_a
    assert seen_b["subjects"] == [tag_b], seen_b
