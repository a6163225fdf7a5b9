"""Session 17 audit of the spam-filter side: what a researcher or a lab instructor hit.

Each test names the call that went wrong before its fix.
"""

from __future__ import annotations

import logging

import pytest

import labkit.filters as F
from labkit.filters import evaluate as E
from labkit.filters import poison
from labkit.filters.corpus import Message, message_date


def _msg(name: str, spam: bool, body: str, date: str) -> Message:
    raw = f"Date: {date}\nSubject: {body}\n\n{body}\n".encode()
    return Message(name=name, folder="lab", label="spam" if spam else "ham", raw=raw)


MESSAGES = [
    _msg("a", False, "lunch meeting agenda", "Mon, 01 Jan 2024 09:00:00 +0000"),
    _msg("b", True, "cheap pills online", "Mon, 01 Jan 2024 10:00:00 +0000"),
    _msg("c", False, "meeting notes attached", "Tue, 02 Jan 2024 09:00:00 +0000"),
    _msg("d", True, "cheap watches free", "Tue, 02 Jan 2024 10:00:00 +0000"),
    _msg("e", False, "agenda for lunch", "Wed, 03 Jan 2024 09:00:00 +0000"),
    _msg("f", True, "free pills cheap", "Wed, 03 Jan 2024 10:00:00 +0000"),
]


class KeywordFilter:
    """A filter with only what the contract asks for: ``learn`` and ``score`` (what a
    learner writes, or a researcher's wrapper of another program)."""

    def __init__(self) -> None:
        self.learned: list[bool] = []

    def learn(self, message: bytes, spam: bool) -> None:
        self.learned.append(spam)

    def score(self, message: bytes) -> float:
        return 0.9 if b"cheap" in message else 0.1


# -- evaluation of a filter that has only learn() and score() ------------------------------
# Before: E.run(KeywordFilter(), ...) raised AttributeError 'KeywordFilter' object has no
# attribute 'train', and E.online(...) AttributeError ... no attribute 'spam_cutoff', although
# the TypeError for a non-filter says "a filter with learn() and score()" is what it takes.


def test_run_trains_a_learn_score_filter_message_by_message():
    f = KeywordFilter()
    ev = E.run(f, MESSAGES[:4], MESSAGES[4:])
    assert f.learned == [False, True, False, True]  # learned in order, with the true labels
    assert ev.scores == (0.1, 0.9)
    assert (ev.fp, ev.fn) == (0, 0)
    assert ev.n_train == 4


def test_a_filter_without_cutoffs_is_judged_at_one_half():
    ev = E.online(KeywordFilter(), MESSAGES)
    assert (ev.spam_cutoff, ev.ham_cutoff) == (0.5, 0.5)
    assert ev.names == ("a", "b", "c", "d", "e", "f")
    # "free pills cheap" and the others with "cheap" score 0.9: spam; no ham says "cheap"
    assert (ev.fp, ev.fn, ev.unsure) == (0, 0, 0)


def test_split_cross_validation_and_attacks_take_a_learn_score_filter():
    split = E.Split(name="hand", train=tuple(MESSAGES[:4]), test=tuple(MESSAGES[4:]))
    assert E.evaluate_split(KeywordFilter, split).n_train == 4
    assert len(E.cross_validate(KeywordFilter, MESSAGES, 2).labels) == len(MESSAGES)
    result = poison.good_word_attack({"kw": KeywordFilter}, split, ["lunch"], (0, 1))
    assert [r["sm_pct"] for r in result.rows] == [0.0, 0.0]


def test_a_filter_with_its_own_cutoffs_keeps_them():
    f = KeywordFilter()
    f.spam_cutoff, f.ham_cutoff = 0.95, 0.05
    ev = E.online(f, MESSAGES)
    assert (ev.spam_cutoff, ev.ham_cutoff) == (0.95, 0.05)
    assert ev.fn == 3  # 0.9 is below 0.95
    f = KeywordFilter()
    f.spam_cutoff = 0.95  # no ham cutoff: no unsure band
    assert E.online(f, MESSAGES).ham_cutoff == 0.95


# -- dates of CRLF messages ---------------------------------------------------------------
# Before: message_date looked for the end of the header at b"\n\n" only, so a CRLF message
# (as SMTP delivers it) without a Date field took the Date line of a forwarded message in its
# body: 1990 here, and by_date / split_chronological / online put it among the oldest.

FORWARDED = (
    b"From: a@corp.example\r\nSubject: fwd\r\n\r\n"
    b"---- Forwarded message ----\r\nDate: Mon, 01 Jan 1990 00:00:00 +0000\r\n\r\nhello\r\n"
)


def test_a_date_in_the_body_of_a_crlf_message_is_not_its_date():
    assert message_date(FORWARDED.replace(b"\r\n", b"\n")) is None
    assert message_date(FORWARDED) is None


def test_crlf_headers_still_give_their_date():
    raw = b"Subject: x\r\nDate: Tue, 02 Jan 2024 10:00:00 +0200\r\n\r\nDate: 1990\r\n"
    assert message_date(raw).isoformat() == "2024-01-02T08:00:00+00:00"
    folded = b"Subject: x\r\nDate: Tue, 02 Jan 2024\r\n 10:00:00 +0000\r\n\r\nbody\r\n"
    assert message_date(folded).isoformat() == "2024-01-02T10:00:00+00:00"


def test_an_undated_crlf_message_goes_last_in_date_order():
    undated = Message(name="z0", folder="lab", label="ham", raw=FORWARDED)
    order = E.by_date([undated, *MESSAGES])
    assert order[-1] is undated


# -- the receiver's scorer given no message --------------------------------------------------
# Before: SpamScorer(trained).judge(None) logged "filter failed; scoring without it" with a
# traceback and returned a ham verdict; SpamScorer().judge(None) returned ham silently.


@pytest.mark.parametrize("trained", [False, True])
@pytest.mark.parametrize("bad", [None, 42, ["Subject: x"]])
def test_judge_refuses_what_is_not_a_message(trained, bad, caplog):
    scorer = F.SpamScorer()
    if trained:
        for m in MESSAGES:
            scorer.learn(m.raw, m.spam)
    with caplog.at_level(logging.ERROR), pytest.raises(TypeError, match="message"):
        scorer.judge(bad)
    assert not caplog.records


def test_judge_still_scores_bad_bytes_and_text():
    scorer = F.SpamScorer()
    for m in MESSAGES:
        scorer.learn(m.raw, m.spam)
    for raw in (b"", b"\x00\xff" * 50, "Subject: cheap\n\ncheap pills"):
        j = scorer.judge(raw)
        assert 0.0 <= j.score <= 1.0 and j.status in ("ham", "unsure", "spam")


# -- a progress bar on long training ----------------------------------------------------------
# Before: train() defaulted to progress=False, so Fisher().train(corpus) (4 s on the whole
# corpus) and SVMSenderRobinson().train(corpus) (10 s) ran without a bar, unlike the
# evaluation calls, whose progress=None shows one for more than AUTO_BAR_WORK messages.


@pytest.mark.parametrize("kind", [F.Fisher, F.Multinomial, F.SVMSenderRobinson])
def test_training_many_messages_shows_a_bar(kind, subset, capsys):
    many = list(subset) * (E.AUTO_BAR_WORK // len(subset) + 1)
    assert len(many) > E.AUTO_BAR_WORK
    kind().train(many)
    err = capsys.readouterr().err
    assert f"{len(many)}/{len(many)}" in err
    kind().train(subset[:50])  # a few messages: no bar
    kind().train(many, progress=False)
    assert capsys.readouterr().err == ""


def test_run_draws_one_bar_not_one_inside_another(subset, capsys):
    many = list(subset) * (E.AUTO_BAR_WORK // len(subset) + 1)
    E.run(F.SVMSenderRobinson(), many, subset[:20], progress=False)
    assert capsys.readouterr().err == ""
