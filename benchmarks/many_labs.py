"""Many Labs on one host (the JupyterHub case): N processes each start a whole Lab at once.

Each child process plays one learner's kernel: it imports labkit, starts a
``labkit.Lab()`` (its own LabDNS, its own temp folder), sends one mail with the
lab's sender, checks that it was stored, reports what it holds (RSS, file
descriptors, threads, listening sockets, temp folder), waits until every child is
up (so all N Labs run at the same time), stops its Lab and reports what is left.

    python benchmarks/many_labs.py 10 30      # prints one block per N, plus one Lab alone

The parent checks that no two Labs shared a listening socket or a temp folder and
that every mail was delivered to its own lab only.  Nothing leaves loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time

CHILD = textwrap.dedent(
    r"""
    import json, os, sys, threading, time
    t0 = time.perf_counter()
    import labkit
    from labkit.mta import make_message
    t_import = time.perf_counter() - t0

    def status():
        out = {}
        with open("/proc/self/status") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "Threads"):
                    out[key] = int(value.split()[0])
        out["fds"] = len(os.listdir("/proc/self/fd"))
        out["py_threads"] = threading.active_count()
        return out

    before = status()
    t1, c1 = time.perf_counter(), time.process_time()
    lab = labkit.Lab()  # as a notebook does: course zones, default scorer
    lab.start()
    t_start, c_start = time.perf_counter() - t1, time.process_time() - c1
    tag = f"pid {os.getpid()}"
    t2 = time.perf_counter()
    res = lab.send(make_message(from_="news@brand.example", to="bob@corp.example",
                                subject=tag, body="x\n"), from_host="mail.brand.example", dkim=True)
    t_send = time.perf_counter() - t2
    stored = [m for m in lab.mailbox("bob@corp.example").messages()]
    running = status()
    report = {
        "pid": os.getpid(), "import_s": t_import, "start_s": t_start, "start_cpu_s": c_start, "send_s": t_send,
        "status": res.status, "stored": len(stored),
        "own": sum(tag.encode() in m for m in stored),
        "listen": [d["listen"] for d in lab.listeners()] + [f"{lab.dns.host}:{lab.dns.port}"],
        "root": str(lab.root), "before": before, "running": running,
    }
    print(json.dumps(report), flush=True)
    sys.stdin.readline()  # every child is up: stop now
    root = lab.root
    t3 = time.perf_counter()
    lab.stop()
    after = status()
    print(json.dumps({"stop_s": time.perf_counter() - t3, "after": after,
                      "root_left": root.exists(),
                      "threads_left": [t.name for t in threading.enumerate()
                                       if t is not threading.main_thread()]}), flush=True)
    """
)


def run(n: int) -> dict:
    """Start ``n`` child Labs at once; return the measurements and the problems seen."""
    t0 = time.perf_counter()
    kids = [subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(n)]
    up, problems = [], []
    for k in kids:
        line = k.stdout.readline()
        if not line:
            problems.append(f"child {k.pid} died: {k.stderr.read()[-2000:]}")
            continue
        up.append(json.loads(line))
    all_up = time.perf_counter() - t0
    downs = []
    for k in kids:
        if k.poll() is None:
            k.stdin.write("stop\n")
            k.stdin.flush()
    for k in kids:
        line = k.stdout.readline()
        if line:
            downs.append(json.loads(line))
        k.wait(60)
        if k.returncode != 0:
            problems.append(f"child {k.pid} exit {k.returncode}: {k.stderr.read()[-2000:]}")
    sockets = [s for r in up for s in r["listen"]]
    if len(sockets) != len(set(sockets)):
        problems.append("two Labs listened on the same socket")
    roots = [r["root"] for r in up]
    if len(roots) != len(set(roots)):
        problems.append("two Labs shared a temp folder")
    for r in up:
        if r["status"] != "sent" or r["stored"] != 1 or r["own"] != 1:
            problems.append(f"pid {r['pid']}: {r['status']}, {r['stored']} stored, {r['own']} own")
    for d in downs:
        if d["root_left"] or d["threads_left"]:
            problems.append(f"after stop: root left {d['root_left']}, threads {d['threads_left']}")
    return {"n": n, "up": up, "downs": downs, "all_up_s": all_up, "problems": problems}


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    line = f"median {statistics.median(values):.2f}, max {max(values):.2f}"
    if len(values) >= 10:
        line += f", p90 {statistics.quantiles(values, n=10)[-1]:.2f}"
    return line


def show(result: dict) -> None:
    up, downs = result["up"], result["downs"]
    label = "one Lab alone" if result["n"] == 1 else f"N = {result['n']} at once"
    print(f"## {label}")
    print(f"  all up after        {result['all_up_s']:.2f} s (wall, from the first spawn)")
    print(f"  import labkit  s    {_stats([r['import_s'] for r in up])}")
    print(f"  Lab.start()    s    {_stats([r['start_s'] for r in up])}")
    print(f"  Lab.start() CPU s   {_stats([r['start_cpu_s'] for r in up])} (its process, all threads)")
    print(f"  first send     s    {_stats([r['send_s'] for r in up])}")
    print(f"  stop()         s    {_stats([d['stop_s'] for d in downs])}")
    rss = [r["running"]["VmRSS"] / 1024 for r in up]
    grow = [(r["running"]["VmRSS"] - r["before"]["VmRSS"]) / 1024 for r in up]
    print(f"  RSS running   MiB   {_stats(rss)}")
    print(f"  RSS the Lab adds    {_stats(grow)} (MiB over the imported process)")
    print(f"  fds running         {_stats([r['running']['fds'] for r in up])} "
          f"(before start {_stats([r['before']['fds'] for r in up])}, "
          f"after stop {_stats([d['after']['fds'] for d in downs])})")
    print(f"  threads running     {_stats([r['running']['Threads'] for r in up])} "
          f"(before start {_stats([r['before']['Threads'] for r in up])}, "
          f"after stop {_stats([d['after']['Threads'] for d in downs])})")
    print(f"  delivered           {sum(r['own'] == 1 and r['stored'] == 1 for r in up)}/{result['n']}")
    print(f"  problems            {result['problems'] or 'none'}")


def main() -> None:
    """One Lab alone, then each size given; print one block per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10, 30],
                        help="how many Labs to start at once, one run per number (default 10 30: "
                             "up to 30 processes); one Lab alone always runs first, as the peer")
    args = parser.parse_args()
    print(f"nproc {os.cpu_count()}, load average at start {os.getloadavg()}, "
          f"python {sys.version.split()[0]}")
    show(run(1))
    for n in args.sizes:
        show(run(n))
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
