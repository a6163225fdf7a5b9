"""``labkit dns serve | dig | record``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from ..cli import ip_arg, zones_arg
from ..errors import ServiceError, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``labkit dns ...`` to the parser."""
    p = sub.add_parser("dns", help="the lab DNS: serve it, query it, record real DNS")
    dsub = p.add_subparsers(dest="dns_command", metavar="ACTION", parser_class=type(p))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    s = dsub.add_parser("serve", help="run the lab DNS in the foreground (for dig)")
    s.add_argument("--zones", help="zone file or folder of *.zone (default: the course zones)")
    s.add_argument("--port", type=int, default=0, help="port for UDP and TCP (default: a free one)")
    s.add_argument("--host", default="127.0.0.1", help="IPv4 loopback address to bind, e.g. 127.0.0.53 (default 127.0.0.1)")
    s.add_argument("--fault", action="append", default=[], metavar="NAME[/TYPE]=KIND",
                   help="make NAME misbehave: KIND is timeout, servfail or refused, e.g. "
                   "corp.example/TXT=timeout (repeatable)")
    s.add_argument("--log", action="store_true", help="print each query as it is answered")
    s.set_defaults(func=_serve)

    d = dsub.add_parser(
        "dig",
        help="look a name up: live, in the lab, or from a recording",
        description="Look a name up. Without --live, --lab or --snapshot: the real DNS, and "
        "the recording in data/snapshots when the real DNS cannot answer (offline, "
        "LABKIT_OFFLINE set, or no resolver); a recording is always labelled as one.",
    )
    d.add_argument("name", help="the name to look up, e.g. _dmarc.gmail.com")
    d.add_argument("rdtype", nargs="?", default="A", metavar="TYPE",
                   help="record type: A, AAAA, MX, TXT, PTR, NS ... (default A)")
    mode = d.add_mutually_exclusive_group()
    mode.add_argument("--live", dest="mode", action="store_const", const="live",
                      help="ask the real DNS (fails offline)")
    mode.add_argument("--lab", dest="mode", action="store_const", const="lab",
                      help="ask the lab DNS (the fictional Internet)")
    mode.add_argument("--snapshot", dest="mode", action="store_const", const="snapshot",
                      help="read the recorded answer in data/snapshots")
    d.add_argument("--zones", help="zone file or folder for --lab (default: the course zones)")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=_dig, mode="auto")

    r = dsub.add_parser("record", help="re-record data/snapshots from the real DNS (needs network)")
    r.add_argument("names", nargs="*", metavar="NAME/TYPE",
                   help="what to record, e.g. _dmarc.gmail.com/TXT (default: every snapshot already there)")
    r.set_defaults(func=_record)


def _serve(args: argparse.Namespace) -> int:
    from .server import LabDNS, parse_fault

    faults = dict(parse_fault(spec) for spec in args.fault)
    host = _loopback_host(args.host)
    lab = LabDNS(zones=zones_arg(args.zones), faults=faults, host=host, port=args.port)
    try:
        lab.start()
    except ServiceError as exc:
        raise UsageError(str(exc)) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"LabDNS serving {len(lab.authority.rrsets())} RRsets on {lab.host} port {lab.port} "
          "(UDP and TCP)", flush=True)
    print(f"try: dig @{lab.host} -p {lab.port} corp.example TXT    (Ctrl-C to stop)", flush=True)
    for key, kind in faults.items():
        print(f"fault: {key} -> {kind}", flush=True)
    seen = 0
    try:  # SIGTERM stops with 0; Ctrl-C reaches labkit.cli.main (exit 130)
        while not stop.wait(0.2):
            if args.log:
                queries = lab.queries
                for q in queries[seen:]:
                    print(q, flush=True)
                seen = len(queries)
    finally:
        lab.stop()
    return 0


def _loopback_host(text: str) -> str:
    """``--host`` checked: an IPv4 loopback address (127.0.0.0/8), the only kind the lab
    DNS serves on (it answers this machine, never the network); :class:`UsageError` if not."""
    import ipaddress

    host = ip_arg(text, "--host")
    if ipaddress.ip_address(host).version != 4 or not ipaddress.ip_address(host).is_loopback:
        raise UsageError(f"--host {text} is not an IPv4 loopback address: the lab DNS serves "
                         "this machine only (use 127.0.0.1, or another 127.x.y.z)")
    return host


def _dig(args: argparse.Namespace) -> int:
    from . import live

    lab = None
    zones = zones_arg(args.zones)
    if zones:
        if args.mode not in ("lab", "auto"):
            raise UsageError("--zones goes with --lab")
        args.mode = "lab"
    if args.mode == "lab":
        from .server import LabDNS

        lab = LabDNS(zones=zones).start()
    try:
        result = live.dig(args.name, args.rdtype, mode=args.mode, lab=lab)
    finally:
        if lab is not None:
            lab.stop()
    if args.mode == "live" and result.rcode != "NOERROR":
        _no_live_dns(args.name, args.rdtype)
    if args.json:
        from ..cli import print_json

        print_json(result.to_dict())
    else:
        sys.stdout.write(result.to_text().rstrip("\n") + "\n")
    return 0 if result.ok else 1


def _no_live_dns(name: str, rdtype: str) -> None:
    """For ``dig --live`` without an answer: a :class:`LabkitError` (exit 1) saying
    plainly that live DNS is off or unreachable, and what to do; nothing if live DNS
    works (the name then simply has no records, and the answer is shown).

    A TIMEOUT here used to look like a slow server when the look-up was never sent
    (``LABKIT_OFFLINE``), and a sandbox resolver's NXDOMAIN like a real answer.
    """
    from ..errors import LabkitError
    from . import live

    instead = (f"Without live DNS, 'labkit dns dig {name} {rdtype} --snapshot' reads the "
               "recorded answer, and --lab asks the lab DNS.")
    if live.offline():
        raise LabkitError("live DNS is off: LABKIT_OFFLINE is set, so nothing asks the real "
                          "DNS. To look names up live, unset LABKIT_OFFLINE (e.g. 'env -u "
                          "LABKIT_OFFLINE labkit dns dig --live ...') on a machine that "
                          f"reaches the Internet. {instead}")
    resolver = live.live_resolver()
    if resolver is None:
        raise LabkitError("live DNS is unreachable: no DNS resolver is configured on this "
                          "machine (no nameserver in /etc/resolv.conf). Connect to a network "
                          f"(or configure a resolver) to look names up live. {instead}")
    reachable, why = live.internet_reachable(resolver)
    if not reachable:
        raise LabkitError(f"live DNS is unreachable: {why}. Connect to a network whose DNS "
                          f"resolves Internet names to look them up live. {instead}")


def _record(args: argparse.Namespace) -> int:
    from ..errors import LabkitError
    from . import live, snapshots

    if live.offline():  # record_snapshots would blame a missing resolver
        snapshots.parse_targets(args.names)  # a malformed NAME/TYPE stays bad usage (2)
        raise LabkitError("cannot record snapshots: LABKIT_OFFLINE is set, so nothing asks "
                          "the real DNS; the recordings were left unchanged. Run it without "
                          "LABKIT_OFFLINE where the Internet is reachable")
    paths = live.record_snapshots(args.names or None)
    for path in paths:
        print(f"recorded {path}")
    return 0
