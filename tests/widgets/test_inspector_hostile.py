"""A hostile message pasted into the message inspector: an answer, never a stall or a crash.

No test measures time: the slow inputs are made large enough that the old behaviour
(quadratic, measured before the fix and quoted in each docstring) runs far past the
test's own ``pytest.mark.timeout``, while the inspector now needs well under a second.
"""

from __future__ import annotations

import random
import re

import pytest

from labkit.widgets import inspector
from labkit.widgets.inspector import MessageInspector, decode_words, inspect, received_chain

HEAD = "From: a@brand.example\r\nSubject: x\r\n"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("run", [":" * 200_000, "a:" * 100_000], ids=["colons", "hex-colons"])
def test_received_comment_with_a_long_run_of_colons(run):
    """The IPv6 form ``[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*`` tried every split of a run of
    ":" after a "[" with no "]": quadratic (40,000 characters: 6 s; these 200,000,
    about 150 s).  It is written with a look-ahead now."""
    raw = HEAD + "Received: from x ([" + run + ") by mx.corp.example; date\r\n\r\nbody"
    (hop,) = received_chain(raw)
    assert hop.by == "mx.corp.example" and hop.client_ip is None
    ok = HEAD + "Received: from x (h.example [2001:db8::1]) by mx.corp.example; d\r\n\r\nb"
    assert received_chain(ok)[0].client_ip == "2001:db8::1"


def test_address_pattern_matches_what_the_old_one_matched():
    """The look-ahead form finds the same bracketed addresses as the old pattern (written
    out here) on random text."""
    old_ip = r"(?:\d{1,3}(?:\.\d{1,3}){3}|IPv6:[0-9A-Fa-f:.]+|[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*)"
    old = re.compile(r"\[(?P<ip>" + old_ip + r")\]")
    rnd = random.Random(4291)
    alphabet = list("[]:.aF09xI ") + ["IPv6:", "1.2.3.4", "::"]
    for _ in range(50_000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(14)))
        a, b = old.search(text), inspector._BRACKET_IP.search(text)
        assert (a and (a.span(), a.group("ip"))) == (b and (b.span(), b.group("ip"))), text


@pytest.mark.parametrize("nesting", [
    "".join(f'Content-Type: multipart/mixed; boundary="n{i}"\r\n\r\n--n{i}\r\n' for i in range(3000)),
    "Content-Type: message/rfc822\r\n\r\n" * 3000,
], ids=["multipart", "rfc822"])
def test_deeply_nested_mime_is_not_parsed(nesting):
    """The stdlib parser recursed once per nested part: 1,000 levels raised
    RecursionError from inspect() and the widget.  Only the header is read now."""
    raw = HEAD + "Received: from h ([192.0.2.1]) by mx.corp.example; d\r\n" + nesting + "x"
    result = inspect(raw)
    assert result.client_ip == "192.0.2.1" and result.headers["Subject"] == "x"
    assert "ours: trust" in MessageInspector(raw).text


@pytest.mark.timeout(60)
def test_punycode_word_is_read_as_utf_8():
    """Python's punycode decoder is quadratic (a 100 kB encoded word: 1.2 s; this
    1 MB one, about 2 minutes).  No mail charset is punycode: it is read like an
    unknown charset.  Charset names longer than any real one are not looked up."""
    word = "=?punycode?Q?-" + "9" * 1_000_000 + "?="
    assert decode_words(word) == "-" + "9" * 1_000_000
    assert decode_words("=?" + "x" * 100 + "?Q?caf=C3=A9?=") == "caf\xe9"
    raw = "From: " + word + " <a@brand.example>\r\nSubject: x\r\n\r\nbody"
    assert "a@brand.example" in MessageInspector(raw).text
