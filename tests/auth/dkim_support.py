"""Shared material for the DKIM/ARC/report tests: keys, zones, messages, RFC 8463 vectors."""

from __future__ import annotations

import functools

from labkit.auth import dkim_keys

SOA = "@ IN SOA ns hostmaster 1 3600 600 86400 300\n@ IN NS ns\nns IN A 192.0.2.53\n"

MESSAGE = (
    b"From: Alice <alice@sender.example>\r\n"
    b"To: Bob <bob@corp.example>\r\n"
    b"Subject: Quarterly figures\r\n"
    b"Date: Sat, 28 Nov 2026 09:00:00 +0000\r\n"
    b"Message-ID: <figures-1@sender.example>\r\n"
    b"\r\n"
    b"Hello Bob,\r\n"
    b"\r\n"
    b"the   figures are attached.  \r\n"
    b"\r\n"
    b"\r\n"
)


@functools.cache
def keypair(kind: str, tag: str = "") -> dkim_keys.KeyPair:
    """One key per (kind, tag) for the whole test session (RSA generation is slow)."""
    return dkim_keys.generate_key(kind)


def zone(domain: str, records: dict[str, str]) -> str:
    """Zone text for ``domain`` with ``selector -> TXT text`` key records."""
    lines = [f"$ORIGIN {domain}.", "$TTL 300", SOA]
    for selector, text in records.items():
        strings = " ".join(f'"{s}"' for s in dkim_keys.split_txt(text)) if text else '""'
        lines.append(f"{selector}._domainkey IN TXT {strings}")
    return "\n".join(lines) + "\n"


# RFC 8463 Appendix A: keys and the example message signed with Ed25519 and RSA.
RFC8463_SEED_B64 = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
RFC8463_ED_TXT = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
RFC8463_RSA_TXT = (
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhd"
    "R6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5"
    "QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
)
RFC8463_ZONE = zone("football.example.com", {"brisbane": RFC8463_ED_TXT, "test": RFC8463_RSA_TXT})
RFC8463_MESSAGE = (
    b"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    b" d=football.example.com; i=@football.example.com;\r\n"
    b" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    b" subject : date : message-id : from : subject : date;\r\n"
    b" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    b" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    b" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    b" d=football.example.com; i=@football.example.com;\r\n"
    b" q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    b" date : message-id : from : subject : date;\r\n"
    b" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    b" b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    b" DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    b" dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n"
    b"From: Joe SixPack <joe@football.example.com>\r\n"
    b"To: Suzie Q <suzie@shopping.example.net>\r\n"
    b"Subject: Is dinner ready?\r\n"
    b"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    b"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    b"\r\n"
    b"Hi.\r\n"
    b"\r\n"
    b"We lost the game.  Are you hungry yet?\r\n"
    b"\r\n"
    b"Joe.\r\n"
)
