"""One learner's lab, run as its own process by test_two_learners.py.

Speaks JSON lines: prints ``ready`` (its ports), waits for the other learner's DNS
port, then looks its own tag up in its own DNS and the peer's tag in the peer's DNS,
sends one mail through its own lab (``--lab``), prints what it saw, and stops on
``stop``.
"""

from __future__ import annotations

import argparse
import email
import json
import sys

import dns.resolver

import labkit as lk
import labkit.dns

TAG_NAME = "learner-tag.corp.example"


def _say(**data) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def _hear() -> dict:
    line = sys.stdin.readline()
    if not line:
        raise SystemExit("parent went away")
    return json.loads(line)


def _txt(resolver: dns.resolver.Resolver) -> list[str]:
    answer = resolver.resolve(TAG_NAME, "TXT")
    return sorted(b"".join(r.strings).decode() for r in answer)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("tag")
    parser.add_argument("--lab", action="store_true", help="run the whole lab, not only its DNS")
    args = parser.parse_args()

    lab = lk.mta.Lab() if args.lab else None
    server = lab if lab is not None else labkit.dns.LabDNS()
    with server:
        dns_server = lab.dns if lab is not None else server
        dns_server.add(TAG_NAME, "TXT", f'"{args.tag}"')
        listeners = [d["listen"] for d in lab.listeners()] if lab is not None else []
        _say(ready=True, dns=f"{dns_server.host}:{dns_server.port}", listeners=listeners)

        peer = _hear()
        own = _txt(dns_server.resolver())
        peer_resolver = dns.resolver.Resolver(configure=False)
        peer_resolver.nameservers = [peer["host"]]
        peer_resolver.port = peer["port"]
        peer_resolver.lifetime = 5.0
        seen_at_peer = _txt(peer_resolver)
        subjects: list[str] = []
        if lab is not None:
            msg = lk.mta.make_message(from_="ceo@brand.example", to="alice@corp.example",
                                      subject=args.tag, body=f"mail of {args.tag}\n")
            lab.send(msg, from_host="mail.brand.example", dkim=True)
            subjects = [email.message_from_bytes(raw)["Subject"]
                        for raw in lab.mailbox("alice@corp.example").messages()]
        _say(own=own, peer=seen_at_peer, subjects=subjects)
        _hear()  # "stop"
    return 0


if __name__ == "__main__":
    sys.exit(main())
