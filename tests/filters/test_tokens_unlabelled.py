"""Text whose charset is not named: read as UTF-8 when it is UTF-8, else as latin-1.

A learner types ``tokenize("Subject: 未承諾広告 ...")`` or scores a ``str`` message: it
is encoded as UTF-8 with no charset label, and used to be read back as latin-1
("cafã©", no CJK pairs).  Header fields may be UTF-8 too (RFC 6532).
"""

from __future__ import annotations

from labkit.filters.tokens import tokenize

JA = "未承諾広告"  # "unsolicited advertisement", the label Japanese law asks of such mail


def test_str_message_keeps_accents_and_japanese():
    t = tokenize(f"Subject: café {JA}\n\ncafé crème {JA}")
    for token in ("subject:café", "subject:未承", "subject:広告", "café", "crème", "承諾"):
        assert token in t, (token, t)
    assert not any("ã" in x or "æ" in x for x in t), t


def test_unlabelled_utf8_bytes_read_like_labelled_ones():
    body = f"café crème {JA}\n".encode()
    bare = tokenize(b"Subject: hello\n\n" + body)
    labelled = tokenize(b"Subject: hello\nContent-Type: text/plain; charset=utf-8\n\n" + body)
    words = [x for x in labelled if not x.startswith(("header:", "content-type:", "charset:"))]
    assert [x for x in bare if not x.startswith("header:")] == words


def test_unlabelled_latin1_bytes_still_read_as_latin1():
    raw = "Subject: caf\u00e9 na\u00efve\n\ncaf\u00e9 cr\u00e8me".encode("latin-1")
    t = tokenize(raw)
    assert {"subject:café", "subject:naïve", "café", "crème"} <= set(t), t


def test_utf8_text_cut_inside_a_character_is_still_utf8():
    # "é" is two bytes: a cut after an odd number of bytes splits one
    body = ("café " * 50).encode()
    raw = b"Subject: x\n\n" + body
    cut = len("café ".encode()) * 10 + 4  # inside the 11th "é"
    t = tokenize(raw, max_bytes=cut)
    assert t.count("café") == 10, t
    assert not any("Ã" in x or "ã" in x for x in t), t
