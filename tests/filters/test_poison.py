"""Good-word attack and poisoned training."""

from __future__ import annotations

import base64

import labkit.filters as F
from labkit.filters import poison
from labkit.filters.evaluate import Split, split_md5
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


MARK = "zyxpoisonmark"  # a word no corpus message contains: it counts poisoned messages


def test_poisoned_training_poisons_exactly_the_asked_fraction(subset):
    sp = split_md5(subset[:240])
    n_spam = sum(1 for m in sp.train if m.spam)
    learned = []  # per filter built: how many ham / spam carrying MARK it was trained on

    class Watched(F.Fisher):
        """A real Fisher filter that also counts the poisoned messages it learns."""

        def __init__(self, **params):
            super().__init__(**params)
            self.seen = {True: 0, False: 0}
            learned.append(self.seen)

        def learn_tokens(self, tokens, spam, _delta=1):
            tokens = list(tokens)
            self.seen[spam] += MARK in tokens
            super().learn_tokens(tokens, spam, _delta)

    fractions = (0.0, 0.25, 0.5, 1.0)
    r = poison.poisoned_training({"fisher": Watched}, sp, [MARK], fractions, progress=False)
    wanted = [round(n_spam * f) for f in fractions]
    assert [seen[True] for seen in learned] == wanted
    assert [seen[False] for seen in learned] == [0] * len(fractions)  # ham never poisoned
    assert [x["poisoned"] for x in r.rows] == wanted
    assert wanted[1] < wanted[2] < wanted[3] == n_spam  # the fractions differ here


def test_poisoned_training_pushes_ham_up(subset):
    """Hammy words put in every training spam make them spammy: test ham scores rise.

    hm% at the spam cutoff need not move (see the module docstring); the share of ham
    judged unsure or spam, and the mean ham score, must.
    """
    sp = split_md5(subset)
    words = poison.hammy_words(
        [m for m in sp.train if not m.spam], [m for m in sp.train if m.spam], 200
    )
    r = poison.poisoned_training(
        {"fisher": F.Fisher}, sp, words, (0.0, 1.0), n_words=200, progress=False
    )
    clean, poisoned = r.rows
    assert poisoned["ham_flagged_pct"] > clean["ham_flagged_pct"]
    assert poisoned["ham_mean_score"] > clean["ham_mean_score"]


def test_counts_beyond_the_word_list_report_the_words_really_added():
    # with 5 words, count 200 appended 5 and its row said strength 200
    own = tuple(F.corpus.sample())  # the lab's own six messages: a very small corpus
    sp = Split(name="own", train=own, test=own)
    r = poison.good_word_attack({"fisher": F.Fisher}, sp, WORDS, progress=False)  # default counts
    assert [x["strength"] for x in r.rows] == [0, 5, 5, 5, 5]
    assert r.rows[1]["sm_pct"] == r.rows[4]["sm_pct"]  # the same 5 words each time
    # one string is its words (it was sliced into letters), so it counts words too
    text = poison.good_word_attack({"fisher": F.Fisher}, sp, " ".join(WORDS), progress=False)
    assert [x["strength"] for x in text.rows] == [0, 5, 5, 5, 5]
    pt = poison.poisoned_training({"fisher": F.Fisher}, sp, WORDS, (0.0, 1.0), progress=False)
    assert pt.attack == "poisoned training (5 ham words in training spam)"  # not the default 100
