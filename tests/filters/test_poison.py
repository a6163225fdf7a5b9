"""Good-word attack and poisoned training."""

from __future__ import annotations

import base64

import labkit.filters as F
from labkit.filters import poison
from labkit.filters.evaluate import split_md5
from labkit.filters.tokens import tokenize

WORDS = ["meeting", "agenda", "thursday", "kernel", "patch"]


def test_add_words_single_part():
    out = poison.add_words(b"Subject: buy\n\ncheap pills", WORDS)
    assert set(WORDS) <= set(tokenize(out)) and "pills" in tokenize(out)


def test_add_words_base64_body_is_reencoded():
    body = base64.encodebytes(b"cheap pills here").decode()
    raw = f"Subject: x\nContent-Transfer-Encoding: base64\n\n{body}".encode()
    t = tokenize(poison.add_words(raw, WORDS))
    assert set(WORDS) <= set(t) and "pills" in t


def test_add_words_multipart_adds_a_part():
    raw = (
        b'Content-Type: multipart/alternative; boundary="q"\n\n--q\nContent-Type: text/html\n\n'
        b"<b>cheap pills</b>\n--q--\n"
    )
    t = tokenize(poison.add_words(raw, WORDS))
    assert set(WORDS) <= set(t) and "pills" in t


def test_hammy_words_are_ham_words(subset):
    ham = [m for m in subset if not m.spam]
    spam = [m for m in subset if m.spam]
    words = poison.hammy_words(ham, spam, 30)
    assert len(words) == 30 and all(":" not in w for w in words)
    ham_df = sum(1 for m in ham if words[0] in set(tokenize(m.raw))) / len(ham)
    spam_df = sum(1 for m in spam if words[0] in set(tokenize(m.raw))) / len(spam)
    assert ham_df > spam_df


def test_good_word_attack_raises_sm(subset):
    sp = split_md5(subset)
    words = poison.hammy_words(
        [m for m in sp.train if not m.spam], [m for m in sp.train if m.spam], 200
    )
    r = poison.good_word_attack(
        {"graham": F.Graham, "fisher": F.Fisher}, sp, words, (0, 200), progress=False
    )
    rows = {(x["filter"], x["strength"]): x for x in r.rows}
    for name in ("graham", "fisher"):
        assert rows[(name, 200)]["sm_pct"] > rows[(name, 0)]["sm_pct"]
        assert rows[(name, 200)]["hm_pct"] == rows[(name, 0)]["hm_pct"]  # ham untouched
    assert len(r.table()) == 4


def test_poisoned_training_runs(subset):
    sp = split_md5(subset[:240])
    words = ["meeting", "agenda", "wrote", "thanks"]
    r = poison.poisoned_training(
        {"fisher": F.Fisher}, sp, words, (0.0, 1.0), n_words=4, progress=False
    )
    assert [x["strength"] for x in r.rows] == [0.0, 1.0]
    assert all(0 <= x["hm_pct"] <= 100 for x in r.rows)
