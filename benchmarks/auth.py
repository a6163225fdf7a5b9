"""How fast the authentication engine runs through the lab DNS (real UDP on loopback).

Measures, each for a fixed number of operations on one thread:

- SPF checks/s: ``labkit.auth.spf.check`` for a one-record domain (brand.example) and
  for an include chain (shop.example -> _spf.esp.example.com);
- DKIM signs/s (RSA 2048 and Ed25519) and verifies/s, with ``labkit.auth.dkim``;
- whole-message evaluations/s: ``labkit.auth.evaluate`` (SPF + HELO + DKIM + DMARC);
- peers measured in the same run on the same LabDNS: bare pyspf (``spf.check2``, the
  library under labkit's SPF, without labkit's trace) and bare dkimpy (``dkim.sign`` /
  ``dkim.verify``, whose RSA arithmetic is pure Python).

Run::

    python benchmarks/auth.py              # prints a table, writes benchmarks/RESULTS-auth.md
    python benchmarks/auth.py --quick      # fewer rounds
    python benchmarks/auth.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dkim as dkimpy
import spf as pyspf

import labkit.auth
import labkit.dns
from labkit.auth import dkim
from labkit.auth import spf as lspf
from labkit.auth.dkim_keys import dkimpy_dnsfunc

MESSAGE = (b"From: Brand News <news@brand.example>\r\nTo: alice@corp.example\r\n"
           b"Subject: Benchmark\r\nMessage-ID: <bench@brand.example>\r\n\r\n" + b"Hello.\r\n" * 40)


def _rate(fn: Callable[[], object], n: int) -> tuple[float, float]:
    fn()  # warm up (imports, key parsing)
    start = time.perf_counter()
    for _ in range(n):
        fn()
    elapsed = time.perf_counter() - start
    return n / elapsed, elapsed


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
        rsa_signed = dkim.sign(MESSAGE, domain="brand.example", selector="s2026", private_key=rsa_key)
        ed_signed = dkim.sign(MESSAGE, domain="brand.example", selector="ed2026", private_key=ed_key)
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
    return {
        "command": "python benchmarks/auth.py" + (f" --rounds {rounds}" if rounds != 200 else ""),
        "machine": {"nproc": os.cpu_count(), "cpu": _cpu_model(), "python": sys.version.split()[0],
                    "platform": platform.platform()},
        "sanity": checks,
        "results": rows,
    }


def write_markdown(data: dict, path: Path) -> None:
    m = data["machine"]
    lines = [
        "# Authentication engine benchmark",
        "",
        f"Command: `{data['command']}` (single thread; DNS is a real LabDNS over UDP on loopback,",
        "so every SPF look-up and DKIM key fetch is a real query).",
        "",
        f"Machine: {m['nproc']} CPUs (nproc), {m['cpu']}, Python {m['python']}, {m['platform']}.",
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
              "precise reasons, and does the RSA step in OpenSSL (via `cryptography`).", ""]
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 rounds")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS-auth.md")
    args = parser.parse_args(argv)
    data = run(20 if args.quick else args.rounds)
    if args.quick:
        data["command"] = "python benchmarks/auth.py --quick"
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for r in data["results"]:
            print(f"{r['operation']:55} {r['per_second']:>9.1f}/s  (n={r['n']})")
    if not args.no_write:
        write_markdown(data, Path(__file__).with_name("RESULTS-auth.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
