"""How fast the authentication engine runs through the lab DNS (real UDP on loopback).

Measures, each for a fixed number of operations on one thread:

- SPF checks/s: ``labkit.auth.spf.check`` for a one-record domain (brand.example) and
  for an include chain (shop.example -> _spf.esp.example.com);
- DKIM signs/s (RSA 2048 and Ed25519) and verifies/s, with ``labkit.auth.dkim``;
- whole-message evaluations/s: ``labkit.auth.evaluate`` (SPF + HELO + DKIM + DMARC);
- DKIM verify/s and ``evaluate`` CPU per message with a cached resolver (as the lab's
  receiver runs them), with the DKIM fast path (``labkit.auth.dkim_fast``) and with it
  switched off (dkimpy's parsing and canonicalisation), alternating in the same run;
- peers measured in the same run on the same LabDNS: bare pyspf (``spf.check2``, the
  library under labkit's SPF, without labkit's trace) and bare dkimpy (``dkim.sign`` /
  ``dkim.verify``, whose RSA arithmetic is pure Python).

Run::

    python benchmarks/auth.py              # prints a table, writes benchmarks/RESULTS-auth.md
    python benchmarks/auth.py --quick --no-write   # 20 rounds, the published file left alone
    python benchmarks/auth.py --json --no-write
    python benchmarks/auth.py --baseline DIR   # also: CPU per call of another labkit checkout
                                               # (e.g. `git archive <commit> labkit | tar -x -C DIR`)

Every run rewrites ``benchmarks/RESULTS-auth.md`` unless ``--no-write`` is given, with
``--quick`` or ``--json`` too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import dkim as dkimpy
import spf as pyspf

import labkit.auth
import labkit.dns
from labkit.auth import dkim
from labkit.auth import spf as lspf
from labkit.auth.dkim_keys import dkimpy_dnsfunc

try:
    from labkit.auth import dkim_fast
except ImportError:  # an older labkit measured with --cpu-json (see --baseline)
    dkim_fast = None

MESSAGE = (b"From: Brand News <news@brand.example>\r\nTo: alice@corp.example\r\n"
           b"Subject: Benchmark\r\nMessage-ID: <bench@brand.example>\r\n\r\n" + b"Hello.\r\n" * 40)


def _rate(fn: Callable[[], object], n: int) -> tuple[float, float]:
    fn()  # warm up (imports, key parsing)
    start = time.perf_counter()
    for _ in range(n):
        fn()
    elapsed = time.perf_counter() - start
    return n / elapsed, elapsed


@contextlib.contextmanager
def dkimpy_path() -> Iterator[None]:
    """``dkim.verify`` without the fast path (every message read as not plain)."""
    with mock.patch.object(dkim_fast, "parse", lambda raw: None):
        yield


def _cpu_per_call(fn: Callable[[], object], n: int, rounds: int = 5) -> float:
    """Best of ``rounds`` process-CPU microseconds per call (the least disturbed by other load)."""
    fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - start) / n * 1e6)
    return best


def receiver_cases(lab, rsa_signed: bytes, ed_signed: bytes) -> list[tuple[str, Callable[[], object]]]:
    """verify and evaluate as the lab's receiver calls them: cached resolver, SPF result reused."""
    cached = lab.resolver(cache=True)
    spf = lspf.check("192.0.2.10", "news@brand.example", "mail.brand.example", dns=cached,
                     receiver="mx.corp.example")

    def evaluate():
        return labkit.auth.evaluate(rsa_signed, ip="192.0.2.10", mail_from="news@brand.example",
                                    helo="mail.brand.example", dns=cached, spf=spf)

    return [("DKIM verify, RSA 2048", lambda: dkim.verify(rsa_signed, dns=cached)),
            ("DKIM verify, Ed25519", lambda: dkim.verify(ed_signed, dns=cached)),
            ("evaluate() (SPF result reused, as the receiver does)", evaluate)]


def _signed_messages() -> tuple[bytes, bytes]:
    rsa_key = dkim.lab_key("brand.example", "s2026")
    ed_key = dkim.lab_key("brand.example", "ed2026")
    return (dkim.sign(MESSAGE, domain="brand.example", selector="s2026", private_key=rsa_key),
            dkim.sign(MESSAGE, domain="brand.example", selector="ed2026", private_key=ed_key))


def cpu_only(rounds: int) -> dict[str, float]:
    """CPU microseconds per call of :func:`receiver_cases` with whatever labkit is imported."""
    with labkit.dns.LabDNS() as lab:
        rsa_signed, ed_signed = _signed_messages()
        return {name: round(_cpu_per_call(fn, rounds), 1) for name, fn in receiver_cases(lab, rsa_signed, ed_signed)}


def baseline_rows(directory: str, rounds: int) -> list[dict]:
    """This checkout vs the labkit in ``directory``, alternating twice, each in its own process."""
    here = str(Path(__file__).resolve().parent.parent)
    best: dict[str, dict[str, float]] = {"baseline": {}, "this": {}}
    for _ in range(2):
        for label, path in (("baseline", directory), ("this", here)):
            env = dict(os.environ, PYTHONPATH=path, LABKIT_DATA=str(Path(here) / "data"))
            out = json.loads(subprocess.run([sys.executable, __file__, "--cpu-json", "--rounds", str(rounds)],
                                            env=env, capture_output=True, text=True, check=True, cwd="/").stdout)
            if Path(out["labkit"]) != Path(path).resolve():
                raise SystemExit(f"--baseline: asked for the labkit in {path}, the child imported {out['labkit']}")
            for name, us in out["us"].items():
                best[label][name] = min(best[label].get(name, float("inf")), us)
    return [{"operation": name, "n": rounds, "baseline_us": best["baseline"][name], "this_us": us,
             "speedup": round(best["baseline"][name] / us, 2)} for name, us in best["this"].items()]


def fast_path_rows(lab, rsa_signed: bytes, ed_signed: bytes, rounds: int) -> list[dict]:
    """Fast path vs dkimpy path, alternating, with the receiver's cached resolver."""
    cases = receiver_cases(lab, rsa_signed, ed_signed)
    rows = []
    for name, fn in cases:
        with dkimpy_path():
            same = fn() if "evaluate" not in name else fn().to_dict()
        again = fn() if "evaluate" not in name else fn().to_dict()
        if same != again:
            raise RuntimeError(f"{name}: the two paths disagree")
        cpu = {}
        for _ in range(2):  # alternate: dkimpy path, fast path, dkimpy path, fast path
            with dkimpy_path():
                cpu["dkimpy"] = min(cpu.get("dkimpy", float("inf")), _cpu_per_call(fn, rounds))
            cpu["fast"] = min(cpu.get("fast", float("inf")), _cpu_per_call(fn, rounds))
        rows.append({"operation": name, "n": rounds, "dkimpy_path_us": round(cpu["dkimpy"], 1),
                     "fast_path_us": round(cpu["fast"], 1),
                     "speedup": round(cpu["dkimpy"] / cpu["fast"], 2)})
    return rows


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run(rounds: int) -> dict:
    rows = []
    with labkit.dns.LabDNS() as lab:
        rsa_key = dkim.lab_key("brand.example", "s2026")
        ed_key = dkim.lab_key("brand.example", "ed2026")
        rsa_signed, ed_signed = _signed_messages()
        dnsfunc = dkimpy_dnsfunc(labkit.dns.as_resolver(lab))

        def bare_pyspf():
            with lspf.routed(lab):
                return pyspf.check2(i="192.0.2.10", s="news@brand.example", h="mail.brand.example")

        cases = [
            ("SPF check, one record (brand.example, pass)", rounds,
             lambda: lspf.check("192.0.2.10", "news@brand.example", "mail.brand.example", dns=lab)),
            ("SPF check, include chain (shop.example, pass)", rounds,
             lambda: lspf.check("203.0.113.80", "orders@shop.example", "out.esp.example.com", dns=lab)),
            ("SPF check, 11 look-ups (toomany.spf.test, permerror)", max(rounds // 4, 10),
             lambda: lspf.check("192.0.2.109", "x@toomany.spf.test", "h.example", dns=lab)),
            ("DKIM sign, RSA 2048", rounds,
             lambda: dkim.sign(MESSAGE, domain="brand.example", selector="s2026", private_key=rsa_key)),
            ("DKIM sign, Ed25519", rounds,
             lambda: dkim.sign(MESSAGE, domain="brand.example", selector="ed2026", private_key=ed_key)),
            ("DKIM verify, RSA 2048 (key via LabDNS)", rounds, lambda: dkim.verify(rsa_signed, dns=lab)),
            ("DKIM verify, Ed25519 (key via LabDNS)", rounds, lambda: dkim.verify(ed_signed, dns=lab)),
            ("peer: bare pyspf check2, one record (same LabDNS)", rounds, bare_pyspf),
            ("peer: bare dkimpy sign, RSA 2048", rounds,
             lambda: dkimpy.sign(MESSAGE, b"s2026", b"brand.example", rsa_key)),
            ("peer: bare dkimpy verify, RSA 2048 (same LabDNS)", rounds,
             lambda: dkimpy.verify(rsa_signed, dnsfunc=dnsfunc)),
            ("evaluate(): SPF + HELO + DKIM + DMARC", max(rounds // 2, 10),
             lambda: labkit.auth.evaluate(rsa_signed, ip="192.0.2.10", mail_from="news@brand.example",
                                          helo="mail.brand.example", dns=lab)),
        ]
        for name, n, fn in cases:
            rate, elapsed = _rate(fn, n)
            rows.append({"operation": name, "n": n, "per_second": round(rate, 1), "seconds": round(elapsed, 3)})
        checks = {
            "spf": lspf.check("192.0.2.10", "news@brand.example", "mail.brand.example", dns=lab).result,
            "dkim_rsa": [r.result for r in dkim.verify(rsa_signed, dns=lab)],
            "dkim_ed25519": [r.result for r in dkim.verify(ed_signed, dns=lab)],
            "peer_pyspf": bare_pyspf()[0],
            "peer_dkimpy_verify": bool(dkimpy.verify(rsa_signed, dnsfunc=dnsfunc)),
        }
        fast_rows = fast_path_rows(lab, rsa_signed, ed_signed, rounds * 2)
    return {
        "command": "python benchmarks/auth.py" + (f" --rounds {rounds}" if rounds != 200 else ""),
        "machine": {"nproc": os.cpu_count(), "cpu": _cpu_model(), "python": sys.version.split()[0],
                    "platform": platform.platform()},
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "sanity": checks,
        "results": rows,
        "fast_path": fast_rows,
    }


def write_markdown(data: dict, path: Path) -> None:
    m = data["machine"]
    lines = [
        "# Authentication engine benchmark",
        "",
        f"Command: `{data['command']}` (single thread; DNS is a real LabDNS over UDP on loopback,",
        "so every SPF look-up and DKIM key fetch is a real query).",
        "",
        f"Machine: {m['nproc']} CPUs (nproc), {m['cpu']}, Python {m['python']}, {m['platform']}; "
        f"load average at the end of the run {', '.join(str(x) for x in data['load_average'])}.",
        "",
        f"Sanity: SPF {data['sanity']['spf']}, DKIM RSA {data['sanity']['dkim_rsa']}, "
        f"DKIM Ed25519 {data['sanity']['dkim_ed25519']}; peers: pyspf {data['sanity']['peer_pyspf']}, "
        f"dkimpy verify {data['sanity']['peer_dkimpy_verify']}.",
        "",
        "| operation | n | per second | seconds |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {r['operation']} | {r['n']} | {r['per_second']} | {r['seconds']} |" for r in data["results"]]
    lines += ["", "Numbers vary with the machine and its load; compare rows within one run.",
              "The peer rows show the libraries labkit builds on, bare: labkit's SPF adds its",
              "trace and Received-SPF to pyspf; labkit's DKIM adds a result per signature with",
              "precise reasons, and does the RSA step in OpenSSL (via `cryptography`).", "",
              "## DKIM fast path",
              "",
              "Process CPU per call (best of 5 x n, the two paths alternating twice in the same run), "
              "key look-ups through the receiver's cached resolver. *dkimpy path*: the same `verify` "
              "with `labkit.auth.dkim_fast` switched off (dkimpy parses, checks tags and "
              "canonicalises; RSA in OpenSSL either way). Both paths gave the same results.",
              "",
              "| operation | n | dkimpy path, us (per s) | fast path, us (per s) | speed-up |",
              "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['operation']} | {r['n']} | {r['dkimpy_path_us']} ({1e6 / r['dkimpy_path_us']:,.0f}) | "
              f"{r['fast_path_us']} ({1e6 / r['fast_path_us']:,.0f}) | {r['speedup']}x |"
              for r in data["fast_path"]]
    lines += ["", "The fast path (`labkit/auth/dkim_fast.py`) reads the plain case itself: one regular",
              "expression over the header block, its own tag-list reading and checks, relaxed/simple",
              "canonicalisation of only the signed fields, `hashlib`, and `b=` checked with",
              "`cryptography` (RSA) or the Ed25519 key dkimpy parsed. Anything unusual (another line-end",
              "style, an unknown or repeated tag, t=/x= out of range, an odd signature length, any",
              "exception) goes to dkimpy's path, so results, reasons and warnings are the same;",
              "`tests/auth/test_dkim_fast.py` compares both paths field by field on about 2,200",
              "generated variants and the course messages. The table above switches only the DKIM",
              "fast path; the `--baseline` table below also includes `Authentication-Results` text",
              "remembered per clause values and a one-pass `fromheader.split_message` for plain",
              "header blocks (each tested against the code it replaces)."]
    if data.get("baseline"):
        lines += ["", f"### Against an earlier labkit ({data['baseline_label']})", "",
                  "Same measurement, each version in its own process, alternating twice "
                  "(`--baseline DIR`, DIR made with `git archive <commit> labkit | tar -x -C DIR`).", "",
                  "| operation | n | earlier, us | this checkout, us | speed-up |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {r['operation']} | {r['n']} | {r['baseline_us']} | {r['this_us']} | {r['speedup']}x |"
                  for r in data["baseline"]]
    lines.append("")
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="benchmarks/RESULTS-auth.md is rewritten unless --no-write is given, with --quick "
               "and --json too.")
    parser.add_argument("--rounds", type=int, default=200,
                        help="operations per row (default 200; fewer for the 11-look-up SPF and evaluate "
                             "rows, twice as many for the fast-path and --baseline tables)")
    parser.add_argument("--quick", action="store_true",
                        help="20 rounds instead of --rounds (the fast-path table 40, --baseline 20)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of lines")
    parser.add_argument("--no-write", action="store_true",
                        help="leave benchmarks/RESULTS-auth.md as it is")
    parser.add_argument("--baseline", metavar="DIR", help="a directory holding another labkit/ to compare")
    parser.add_argument("--baseline-label", default=None, help="how to name --baseline in the report")
    parser.add_argument("--cpu-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cpu_json:
        print(json.dumps({"labkit": str(Path(labkit.__file__).resolve().parent.parent),
                          "us": cpu_only(args.rounds)}))
        return 0
    if args.baseline and not (Path(args.baseline) / "labkit" / "__init__.py").is_file():
        parser.error(f"--baseline: no labkit package in {args.baseline} "
                     "(make one with `git archive <commit> labkit | tar -x -C DIR`)")
    data = run(20 if args.quick else args.rounds)
    if args.quick:
        data["command"] = "python benchmarks/auth.py --quick"
    if args.baseline:
        data["baseline"] = baseline_rows(args.baseline, 20 if args.quick else args.rounds * 2)
        data["baseline_label"] = args.baseline_label or args.baseline
        data["command"] += f" --baseline {args.baseline}"
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for r in data["results"]:
            print(f"{r['operation']:55} {r['per_second']:>9.1f}/s  (n={r['n']})")
        for r in data["fast_path"]:
            print(f"{r['operation']:55} dkimpy path {r['dkimpy_path_us']:>7.1f} us, "
                  f"fast path {r['fast_path_us']:>7.1f} us ({r['speedup']}x)")
        for r in data.get("baseline", ()):
            print(f"{r['operation']:55} earlier {r['baseline_us']:>7.1f} us, "
                  f"this {r['this_us']:>7.1f} us ({r['speedup']}x)")
    bad = sanity_problems(data["sanity"])
    for line in bad:
        print(f"sanity check failed: {line}", file=sys.stderr)
    if bad:
        return 1  # rates of checks that fail are not worth publishing
    if not args.no_write:
        write_markdown(data, Path(__file__).with_name("RESULTS-auth.md"))
    return 0


def sanity_problems(checks: dict) -> list[str]:
    """The sanity checks that did not give the expected pass (each an SPF result, a list
    of DKIM results, or the peer's True)."""
    expected = {"spf": "pass", "dkim_rsa": ["pass"], "dkim_ed25519": ["pass"],
                "peer_pyspf": "pass", "peer_dkimpy_verify": True}
    return [f"{name}: {checks.get(name)!r}, expected {want!r}"
            for name, want in expected.items() if checks.get(name) != want]


if __name__ == "__main__":
    sys.exit(main())
