"""Hostile messages for the tokenizer: a score, never an exception, in linear time.

No test measures time: where a test guards against slow code, its input is made large
enough that the old behaviour (measured before the fix, quoted in the docstring) runs
far past the test's own ``pytest.mark.timeout``, while the tokenizer now takes well
under a second on it.
"""

from __future__ import annotations

import base64
import encodings

import pytest

import labkit.filters as F
from labkit.filters import tokens
from labkit.filters.tokens import tokenize


def _punycode_message(parts: int) -> bytes:
    data = base64.encodebytes(b"-" + b"99" * 100_000).replace(b"\n", b"\r\n")
    part = (b"--p\r\nContent-Type: text/plain; charset=punycode\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n")
    return (b"Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n"
            + (part + data) * parts + b"--p--\r\n")


@pytest.mark.timeout(60)
def test_punycode_parts_are_read_as_latin_1():
    """Python's punycode decoder is quadratic: one 200 kB part declared
    ``charset=punycode`` took about 6 s, so these 16 parts about 100 s (and a message
    may have 64).  No mail charset is punycode: the parts are read as latin-1."""
    t = tokenize(_punycode_message(16))
    assert t.count("skip:9 194870") == 16  # each part: one long run of "9", summarised
    assert "tokenizer:error" not in t


def test_charset_names_longer_than_any_real_one_are_not_looked_up():
    """Every charset name looked up stays in the stdlib's codec cache for good (found
    or not), and our own memo held 256 of them: a message per megabyte-long name kept a
    megabyte each.  Names over MAX_CHARSET_NAME characters are read as latin-1 at once."""
    name = "unknown" + "a" * 1_000_000  # (no "-": the stdlib keeps names with "_" for it)
    raw = (f'Content-Type: text/plain; charset="{name}"\n\ncaf\xe9 text').encode("latin-1")
    memo = getattr(tokens, "_lookup_codec", None)
    before = memo.cache_info().currsize if memo else None
    t = tokenize(raw)
    assert "caf\xe9" in t and "text" in t
    assert name not in encodings._cache
    assert memo.cache_info().currsize == before
    assert tokenize(b"Content-Type: text/plain; charset=utf-8\n\ncaf\xc3\xa9")[-1] == "caf\xe9"


HOSTILE = {
    "NUL bytes": b"Subject: a\x00b\n\n\x00\x00 hello\x00world",
    "lone surrogates": "Subject: \ud800\udfff\n\n\udc80 text \ud800",
    "undecodable charset": b"Content-Type: text/plain; charset=utf-16\n\n\xff\xfe\x00\xd8x",
    "unknown charset": b"Content-Type: text/plain; charset=x-no-such-charset\n\nhello there",
    "idna charset": b"Content-Type: text/plain; charset=idna\n\nxn--" + b"a" * 5000,
    "utf-7 huge": b"Content-Type: text/plain; charset=utf-7\n\n+" + b"AGEAYgBj" * 200_000,
    "encoded words everywhere": b"Subject: " + b"=?x-bad?B?!!!?= =?utf-8?Q?=FF=FE?= " * 5000 + b"\n\nx",
    "multipart 10,000 deep": b"".join(
        b'Content-Type: multipart/mixed; boundary="n%d"\n\n--n%d\n' % (i, i) for i in range(10_000)
    ) + b"Content-Type: text/plain\n\ndeep",
    "message/rfc822 10,000 deep": b"Content-Type: message/rfc822\n\n" * 10_000 + b"Subject: in\n\nx",
    "100,000 parts": b"Content-Type: multipart/mixed; boundary=b\n\n" + b"--b\n\nx\n" * 100_000,
    "100,000 header fields": b"".join(b"X-%d: v %d\n" % (i, i) for i in range(100_000)) + b"\nx",
    "10 MB on one line": b"Subject: long\n\n" + b"a b" * 3_500_000,
    "10 MB base64": b"Content-Transfer-Encoding: base64\n\n" + base64.b64encode(bytes(range(256)) * 30_000),
    "boundary never closed": b'Content-Type: multipart/mixed; boundary=""\n\n--\n--\n--',
    "only white space": b" \r\n\t \r\n",
}


@pytest.fixture(scope="module")
def trained(subset):
    filters = [F.Fisher(), F.Graham()]
    for f in filters:
        f.train(subset[:150])
    return filters


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_message_gets_a_score(name, trained):
    raw = HOSTILE[name]
    t = tokenize(raw)
    assert isinstance(t, list) and "tokenizer:error" not in t
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "replace")
    for f in trained:
        assert 0.0 <= f.score(data) <= 1.0, type(f).__name__
    judged = F.SpamScorer(trained[0]).judge(data)
    assert judged.status in ("ham", "unsure", "spam")
