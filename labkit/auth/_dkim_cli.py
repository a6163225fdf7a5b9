"""``labkit dkim keygen|sign|verify`` (registered by :mod:`labkit.auth._cli`).

Exit codes: 0 ok, 1 a signature failed, 2 bad usage or bad input.

Not used in the labs: the ``labkit dkim`` command does at a shell what lab 04 (DKIM) does
with :mod:`labkit.auth.dkim`.
"""

from __future__ import annotations

import argparse
import sys

from ..cli import atomic_path, domain_arg, out_dir, read_input, zones_arg
from ..errors import UsageError


def _keygen(args: argparse.Namespace) -> int:
    from . import dkim_keys

    if bool(args.selector) != bool(args.domain):
        raise UsageError("--selector and --domain go together")
    if args.bits is not None and args.type != "rsa":
        raise UsageError(f"--bits goes with --type rsa (an {args.type} key has a fixed size)")
    selector = args.selector and domain_arg(args.selector, "--selector")
    domain = args.domain and domain_arg(args.domain, "--domain")
    # the key first: a refused --bits leaves no folder behind
    pair = dkim_keys.generate_key(args.type, bits=args.bits or 2048)
    out = out_dir(args.out, "--out")
    stem = selector or f"dkim-{args.type}"
    pem_path, txt_path = out / f"{stem}.pem", out / f"{stem}.txt"
    there = [str(p) for p in (pem_path, txt_path) if p.exists()]
    if there and not args.force:
        raise UsageError(f"{' and '.join(there)} already there; nothing was written. Choose "
                         "another --selector or --out, or pass --force to replace the key")
    if selector:
        record = pair.zone_line(selector, domain)
    else:
        record = " ".join(f'"{s}"' for s in pair.txt_strings)
    try:  # both written beside their names and renamed: never half a key
        with atomic_path(pem_path, mode=0o600) as pem_tmp, atomic_path(txt_path) as txt_tmp:
            pem_tmp.write_bytes(pair.private_pem)
            txt_tmp.write_text(record + "\n")
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot write the key ({exc.strerror or exc})") from None
    print(f"private key: {pem_path} ({pair.key_type}, {pair.bits} bits; keep it secret)")
    print(record)
    return 0


def _sign(args: argparse.Namespace) -> int:
    from . import dkim

    raw = read_input(args.file)
    domain = domain_arg(args.domain, "--domain")
    selector = domain_arg(args.selector, "--selector")
    key = read_input(args.key, "key") if args.key else dkim.lab_key(domain, selector)
    headers = None
    if args.headers:
        headers = [h.strip() for part in args.headers for h in part.replace(",", ":").split(":") if h.strip()]
    signed = dkim.sign(
        raw,
        domain=domain,
        selector=selector,
        private_key=key,
        headers=headers,
        canonicalization=args.c,
        body_length=True if args.l else None,
        algorithm=args.algorithm,
    )
    sys.stdout.buffer.write(signed)
    sys.stdout.flush()
    return 0


def _verify(args: argparse.Namespace) -> int:
    import labkit.dns

    from ..cli import print_json
    from . import dkim

    raw = read_input(args.file)
    with labkit.dns.LabDNS(zones_arg(args.zones)) as lab:
        results = dkim.verify(raw, dns=lab, explain=args.explain)
    if args.json:
        print_json([r.to_dict() for r in results])
    elif not results:
        print("no DKIM-Signature header field: nothing to verify")
    else:
        for r in results:
            print(r.explain() if args.explain else str(r))
    # RFC 6376 6.1: one verifying signature is enough (a verifier may stop at the first);
    # a message without any is unsigned, not failed
    return 0 if not results or any(r.result == "pass" for r in results) else 1


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``labkit dkim keygen|sign|verify``."""
    top = sub.add_parser("dkim", help="DKIM keys, signing and verification (lab 04)")
    top.set_defaults(func=lambda args: (top.print_help(), 2)[1])
    cmds = top.add_subparsers(dest="dkim_command", metavar="ACTION", parser_class=type(top))

    p = cmds.add_parser("keygen", help="make a key pair and its DNS TXT record")
    p.add_argument("--type", choices=("rsa", "ed25519"), default="rsa", help="key type (default rsa)")
    p.add_argument("--bits", type=int, default=None,
                   help="RSA key size, 2048 to 8192 (default 2048; not for ed25519)")
    p.add_argument("--selector", help="selector, e.g. lab2026, for a ready-to-paste zone line")
    p.add_argument("--domain", help="signing domain (with --selector)")
    p.add_argument("--out", default=".",
                   help="folder for <selector>.pem and <selector>.txt (dkim-<type>.pem and "
                   ".txt without --selector); default: the current folder")
    p.add_argument("--force", action="store_true",
                   help="replace a key pair of the same name already in --out")
    p.set_defaults(func=_keygen)

    p = cmds.add_parser("sign", help="sign a message (writes the signed message to stdout)")
    p.add_argument("file", help="message file, or - for stdin")
    p.add_argument("--domain", "-d", required=True, help="signing domain (d=), e.g. corp.example")
    p.add_argument("--selector", "-s", required=True, help="selector (s=), e.g. lab2026")
    p.add_argument("--key", help="PEM private key (default: the lab key data/keys/<domain>/<selector>.pem)")
    # one value per --headers (not nargs="+"): the usage line puts the message file last,
    # and a list of names would take that file as one more header name
    p.add_argument("--headers", action="append", metavar="FIELDS",
                   help="header fields to sign, colon- or comma-separated, e.g. "
                   "from:from:to:subject (repeatable; default: the usual fields the message has, From listed twice)")
    p.add_argument("--c", default="relaxed/relaxed", help="canonicalization header/body (default relaxed/relaxed)")
    p.add_argument("--l", action="store_true", help="add l= (body length) -- see lab 04 on why not")
    p.add_argument("--algorithm", choices=("rsa-sha256", "ed25519-sha256", "rsa-sha1"),
                   help="signature algorithm (default: the one the key's type calls for)")
    p.set_defaults(func=_sign)

    p = cmds.add_parser("verify", help="verify every DKIM signature of a message",
                        description="Verify every DKIM signature of a message. Exit status 0 "
                        "when a signature verifies (or the message has none), 1 when every "
                        "signature fails (RFC 6376 6.1: one good signature is enough).")
    p.add_argument("file", help="message file, or - for stdin")
    p.add_argument("--zones", help="zone file or folder (default: the course zones)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--explain", action="store_true", help="show canonical forms and body hashes")
    p.set_defaults(func=_verify)


__all__ = ["register"]
