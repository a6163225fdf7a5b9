"""``labkit spf check|lint`` and ``labkit auth check`` (plus ``labkit dkim ...``).

Exit codes: 0 ok, 1 the check failed (SPF fail/softfail/error, lint errors, a message
not accepted), 2 bad usage or bad input.
"""

from __future__ import annotations

import argparse
import importlib
import ipaddress
from contextlib import contextmanager

from ..cli import domain_arg, ip_arg, read_input, zones_arg
from ..errors import UsageError

_SPF_FAILING = ("fail", "softfail", "permerror", "temperror")


@contextmanager
def _lab(zones: str | None):
    import labkit.dns

    with labkit.dns.LabDNS(zones=zones_arg(zones)) as lab:
        yield lab


def _identities(mail_from: str, helo: str) -> tuple[str, str]:
    """MAIL FROM and HELO with their domains checked and normalised (IDN to A-labels, no
    final dot); the null sender, an empty HELO and an address-literal HELO stay as they are.

    MAIL FROM may be written as SMTP writes it, in angle brackets (``<>`` is the null
    sender, RFC 5321 4.5.5), as :func:`labkit.auth.spf.check` also reads it. An ``@``
    in the local part must be inside a quoted string (RFC 5321 4.1.2).
    """
    mail_from = mail_from.strip()
    if mail_from.startswith("<") and mail_from.endswith(">"):
        mail_from = mail_from[1:-1].strip()
    if mail_from:
        local, at, domain = mail_from.rpartition("@")
        if "@" in local and not (local.startswith('"') and local.endswith('"')):
            raise UsageError(f"MAIL FROM: {mail_from!r} has more than one '@'; an '@' in "
                             'the local part must be quoted, e.g. "a@b"@brand.example')
        mail_from = local + at + domain_arg(domain, "MAIL FROM domain")
    literal = helo[1:-1] if helo.startswith("[") and helo.endswith("]") else helo
    try:
        ipaddress.ip_address(literal)
    except ValueError:
        helo = domain_arg(helo, "HELO") if helo else helo
    return mail_from, helo


def _spf_check(args: argparse.Namespace) -> int:
    import labkit.auth.spf
    from labkit.cli import print_json

    ip = ip_arg(args.ip, "IP")
    mail_from, helo = _identities(args.mail_from, args.helo)
    with _lab(args.zones) as lab:
        res = labkit.auth.spf.check(ip, mail_from, helo, dns=lab)
    if args.json:
        print_json(res.to_dict())
    else:
        print(res.explain())
        print(res.header)
    return 1 if res.result in _SPF_FAILING else 0


def _spf_lint(args: argparse.Namespace) -> int:
    import labkit.auth.spf_lint
    from labkit.cli import print_json

    with _lab(args.zones) as lab:
        report = labkit.auth.spf_lint.lint(domain_arg(args.domain, "DOMAIN"), dns=lab)
    if args.json:
        print_json(report.to_dict())
    else:
        print(report)
    return 0 if report.ok else 1


def _auth_check(args: argparse.Namespace) -> int:
    import labkit.auth
    from labkit.cli import print_json

    ip = ip_arg(args.ip, "--ip")
    mail_from, helo = _identities(args.mail_from, args.helo)
    sealers = tuple(domain_arg(d, "--trust-arc") for d in args.trust_arc or ())
    raw = read_input(args.file)
    with _lab(args.zones) as lab:
        verdict = labkit.auth.evaluate(raw, ip=ip, mail_from=mail_from, helo=helo, dns=lab,
                                       trusted_arc_sealers=sealers,
                                       dmarc_method=args.method)
    if args.json:
        print_json(verdict.to_dict())
    else:
        print(verdict.explain())
    return 0 if verdict.disposition == "accept" else 1


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``labkit spf check|lint`` and ``labkit auth check`` (and ``labkit dkim``)."""
    top = sub.add_parser("spf", help="SPF checks and record linting (lab 03)")
    top.set_defaults(func=lambda args, top=top: (top.print_help(), 2)[1])
    cmds = top.add_subparsers(dest="spf_command", metavar="ACTION", parser_class=type(top))
    p = cmds.add_parser("check", help="may IP send for MAIL_FROM (or HELO)? with the trace")
    p.add_argument("ip", metavar="IP", help="the SMTP client's address, e.g. 192.0.2.10")
    p.add_argument("mail_from", metavar="MAIL_FROM",
                   help="envelope sender, e.g. news@brand.example ('' or '<>' for the null sender)")
    p.add_argument("helo", metavar="HELO", help="HELO/EHLO name, e.g. mail.brand.example")
    p.add_argument("--zones", help="zone file or folder (default: the course zones)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_spf_check)
    p = cmds.add_parser("lint", help="find problems in a domain's SPF record tree")
    p.add_argument("domain", metavar="DOMAIN", help="the domain whose SPF record to lint, e.g. brand.example")
    p.add_argument("--zones", help="zone file or folder (default: the course zones)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_spf_lint)

    top = sub.add_parser("auth", help="authenticate a whole message: SPF, DKIM, DMARC, ARC (lab 06)")
    top.set_defaults(func=lambda args: (top.print_help(), 2)[1])
    cmds = top.add_subparsers(dest="auth_command", metavar="ACTION", parser_class=type(top))
    p = cmds.add_parser("check", help="evaluate a message file as the receiver would")
    p.add_argument("file", metavar="FILE", help="the message (RFC 5322 bytes); '-' reads stdin")
    p.add_argument("--ip", required=True, help="the SMTP client address, e.g. 192.0.2.10")
    p.add_argument("--mail-from", required=True, dest="mail_from", help="envelope sender, e.g. news@brand.example ('' or '<>' for the null sender)")
    p.add_argument("--helo", required=True, help="HELO/EHLO name, e.g. mail.brand.example")
    p.add_argument("--zones", help="zone file or folder (default: the course zones)")
    p.add_argument("--method", choices=("treewalk", "psl"), default="treewalk",
                   help="DMARC organisational domain: RFC 9989 tree walk (default) or RFC 7489 PSL")
    p.add_argument("--trust-arc", action="append", metavar="DOMAIN",
                   help="trust this ARC sealer's recorded DMARC pass (repeatable)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_auth_check)

    try:
        dkim_cli = importlib.import_module("labkit.auth._dkim_cli")
    except ImportError:
        return
    dkim_cli.register(sub)
