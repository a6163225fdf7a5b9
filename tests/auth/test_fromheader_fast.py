"""``fromheader.split_message`` reads plain messages in one pass, with the same result.

The reference is the same function with the one-pass reader switched off (every message
read by the forgiving line loop), over seeded random header blocks and the course messages.
"""

from __future__ import annotations

import random
import re

import labkit.paths
from labkit.auth import fromheader


def _both(raw: bytes, monkeypatch) -> tuple[fromheader.Message, fromheader.Message]:
    fast = fromheader.split_message(raw)
    with monkeypatch.context() as patch:
        patch.setattr(fromheader, "_plain_split", lambda raw: None)
        slow = fromheader.split_message(raw)
    return fast, slow


def test_random_messages_read_the_same(monkeypatch):
    rnd = random.Random(2026)
    good = [b"From: Alice <alice@sender.example>", b"To: c", b" folded", b"\tfolded tab", b"Subject:x  ",
            b"X-A: \xe9t\xc3\xa9", b"a:b:c", b"Name \t: spaced", b"X-Empty:", b" ", b"\t x \x0b", b"X-Latin: \xe9"]
    odd = [b"bad header", b"Sp ace: v", b":colon", b"x\r", b"From x", b"From : y", b"From x Sat 09:00:00", b""]
    body = [b"body", b"", b" ", b"a\rb", b"\t"]
    plain = 0
    for _ in range(3000):
        head = [rnd.choice(good if rnd.random() < 0.9 else odd) for _ in range(rnd.randrange(1, 8))]
        lines = head + [b""] * rnd.choice((0, 1, 1, 1, 2)) + [rnd.choice(body) for _ in range(rnd.randrange(0, 4))]
        raw = b"".join(line + rnd.choice((b"\r\n", b"\r\n", b"\r\n", b"\n")) for line in lines)
        fast, slow = _both(raw, monkeypatch)
        assert fast == slow, raw
        plain += fromheader._plain_split(raw) is not None
    assert plain > 300


def test_course_messages_read_the_same(monkeypatch):
    folder = labkit.paths.data_dir() / "messages"
    for path in sorted(folder.glob("*.eml")):
        raw = re.sub(rb"\r?\n", b"\r\n", path.read_bytes())
        assert fromheader._plain_split(raw) is not None, path.name
        fast, slow = _both(raw, monkeypatch)
        assert fast == slow and fast.fields, path.name
        assert fast.get_all("From") == slow.get_all("From")
