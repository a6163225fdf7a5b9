"""All compiled loops at once against all Python code, on damaged corpus messages.

The per-module tests compare each C function with its Python reference on the corpus
and on hand-made cases.  Here whole messages are damaged at random (bytes flipped,
cut, repeated; encoded words, URLs, tags, entities, NULs and non-ASCII bytes put in at
random places), so the C paths meet each other's odd outputs and the hand-offs between
C and Python (a part that turns non-ASCII half-way, a header that stops qualifying).
Each message is tokenized and ranked twice in one process: with every compiled module
in use, and with every module handle set to None (the switch the code itself reads).
Tokens must be equal list for list, ranks and SVM margins float for float.  Seeded,
so a failure names a message that can be rebuilt.  Skipped unless every module is built.
"""

from __future__ import annotations

import random

import pytest

from labkit.filters import bayes, compiled, grams, reputation
from labkit.filters import tokens as T

pytestmark = pytest.mark.skipif(
    not all(compiled.status().values()), reason="not every compiled module is built"
)

#: what the damage puts in: pieces every scan reacts to
_PIECES = [
    b"=?utf-8?B?w6k=?=", b"=?iso-8859-1?q?caf=E9?=", b"http://", b"https://a.b.example/x-y_z",
    b"ftp://1.2.3.4.", b"://", b"<a href=\"http://x.example/p\">", b"<script>", b"</script >",
    b"<!--", b"-->", b"&#233;", b"&#x110000;", b"&amp", b"&nbsp;", b"\x00", b"\xe9", b"\xc3\xa9",
    b"\xe6\x97\xa5\xe6\x9c\xac", b"\r\n", b"\n\n", b"\n ", b"Received: from x ([10.0.0.1])\n",
    b"Received: from y ([198.51.100.7])\n", b"From: a@b.example, c@d.example\n",
    b"Content-Type: text/html; charset=\"us-ascii\"\n", b"Content-Transfer-Encoding: base64\n",
    b"--", b"boundary=\"b1\"", b"@", b"'", b"\x1c", b"\x85", b"\xa0",
]


def _damage(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw[:6000])
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        at = rng.randint(0, len(data)) if data else 0
        if kind < 0.4:
            data[at:at] = rng.choice(_PIECES)
        elif kind < 0.6 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif kind < 0.75:
            del data[at : at + rng.randint(1, 200)]
        elif kind < 0.9 and data:
            piece = data[at : at + rng.randint(1, 80)]
            data[at:at] = piece * rng.randint(2, 5)
        else:
            data = data[:at]
    return bytes(data)


@pytest.fixture(scope="module")
def damaged(full_corpus):
    rng = random.Random(20261129)
    messages = sorted(full_corpus, key=lambda m: m.md5)[::6]
    return [_damage(m.raw, rng) for m in messages]


@pytest.fixture
def pure_python(monkeypatch):
    """A function that runs ``fn()`` with every compiled module handle set to None."""

    def run(fn):
        with monkeypatch.context() as m:
            m.setattr(T, "_c", None)
            m.setattr(T, "_ch", None)
            m.setattr(grams, "_c", None)
            m.setattr(bayes, "_cclues", None)
            return fn()

    return run


def test_damaged_messages_tokenize_the_same(damaged, pure_python):
    fast = [T.tokenize(raw) for raw in damaged]
    slow = pure_python(lambda: [T.tokenize(raw) for raw in damaged])
    differ = [i for i, (a, b) in enumerate(zip(fast, slow, strict=True)) if a != b]
    assert not differ, f"{len(differ)} of {len(damaged)} differ, first {differ[0]}"


def test_damaged_messages_rank_the_same(full_corpus, damaged, pure_python):
    from labkit.filters.ensemble import SVMSenderRobinson

    train = sorted(full_corpus, key=lambda m: m.md5)[1::8]
    f = SVMSenderRobinson(strength=0.0178, prior=0.52, min_dev=0.45,
                          max_discriminators=2000, reputation=0.2).train(train)
    fast = list(f.log_odds_many(damaged))
    margins = list(f.svm_margins(damaged))
    f.words._changed()  # the Python path builds its own memo
    slow = pure_python(lambda: list(f.log_odds_many(damaged)))
    slow_margins = pure_python(lambda: list(f.svm_margins(damaged)))
    assert fast == slow
    assert margins == slow_margins
    assert isinstance(f.words, reputation.SenderRobinson)
