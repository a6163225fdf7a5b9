"""One large message through the lab: how long the sender waits for its 250.

Two paths, each with a fresh ``labkit.Lab`` and a DKIM-signed message of ``--mb``
megabytes of ordinary text lines (the lab's size limit is 10 MB):

- ``mx``: brand.example's server sends it straight to ``mx.corp.example`` (the full
  receiver pipeline: SPF, DKIM, DMARC, ARC, spam score, fsync'ed delivery);
- ``list``: it goes to the lab list, which authenticates, edits, ARC-seals and sends
  a copy to each member's MX *before* it answers (the lab delivers synchronously).

Wall time is what the sender waits; CPU is the whole process (the servers run in it,
as in a notebook). Compare code versions by running this script with ``PYTHONPATH``
pointing at each checkout, alternating, in the same minutes::

    python benchmarks/big_message.py --mb 10 --json
    PYTHONPATH=/path/to/other/checkout python benchmarks/big_message.py --mb 10 --json

Results are written up in ``benchmarks/RESULTS-mta.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

LINE = b"line of ordinary text for the list, nothing special here\r\n"


def message(size: int, to: str) -> bytes:
    """A plain-text message of about ``size`` bytes from alice@brand.example to ``to``."""
    head = (f"From: alice@brand.example\r\nTo: {to}\r\nSubject: a big one\r\n"
            f"Message-ID: <big-{time.time_ns()}@brand.example>\r\n"
            "Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n\r\n").encode()
    return head + LINE * max(1, (size - len(head)) // len(LINE))


def run(path: str, size: int) -> dict[str, Any]:
    """Send one message of ``size`` bytes along ``path`` ("mx" or "list") in a fresh Lab."""
    import labkit

    to = "lab-list@lists.example.org" if path == "list" else "bob@corp.example"
    with labkit.Lab() as lab:
        raw = message(size, to)
        wall, cpu = time.perf_counter(), time.process_time()
        res = labkit.mta.sender.send(raw, lab=lab, from_host="mail.brand.example", dkim=True,
                                     timeout=600)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        delivered = sum(len(lab.mailbox(a).messages()) for a in ("bob@corp.example", "carol@corp.example"))
    return {"path": path, "bytes": len(raw), "status": res.status, "reply": f"{res.code} {res.reply}",
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "copies_delivered": delivered}


def main(argv: list[str] | None = None) -> int:
    """Run both paths and print the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=10.0, help="message size in MB (default 10; at most 10)")
    ap.add_argument("--json", action="store_true", help="print JSON")
    args = ap.parse_args(argv)
    if not 0 < args.mb <= 10:
        ap.error("--mb must be more than 0 and at most 10 (the lab's message size limit)")
    import labkit

    size = int(args.mb * 1_000_000)
    rows = [run(path, size) for path in ("mx", "list")]
    out = {"labkit": os.path.dirname(labkit.__file__), "python": platform.python_version(),
           "cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2), "rows": rows}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"labkit from {out['labkit']}, load {out['load_1min']}")
        for r in rows:
            print(f"{r['path']:>5}: {r['bytes']:,} bytes, {r['status']} ({r['reply']}), "
                  f"{r['wall_s']} s wall, {r['cpu_s']} s CPU, {r['copies_delivered']} stored")
    return 0 if all(r["status"] == "sent" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
