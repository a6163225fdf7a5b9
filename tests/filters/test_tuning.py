"""Choosing parameters and a threshold by repeated CV: folds, margin rule, choose()."""

from __future__ import annotations

import hashlib
import statistics

import pytest

import labkit.filters as F
from labkit.filters import evaluate as E
from labkit.filters import tuning as T
from labkit.filters.corpus import Message


def _msg(i: int, spam: bool) -> Message:
    md5 = hashlib.md5(str(i).encode()).hexdigest()
    return Message(
        name=f"{i:05d}.{md5}",
        folder="spam" if spam else "easy_ham",
        label="spam" if spam else "ham",
        raw=b"",
    )


# a toy training set: ham talk about meetings, spam about free cash, a few shared words
HAM_WORDS = ["meeting", "agenda", "lunch", "minutes", "project", "notes"]
SPAM_WORDS = ["free", "cash", "viagra", "offer", "click", "winner"]
SHARED = ["money", "today", "please"]


def _toy(n: int = 40):
    msgs, tokens = [], {}
    for i in range(n):
        spam = i % 2 == 1
        m = _msg(i, spam)
        own = SPAM_WORDS if spam else HAM_WORDS
        # each message: three of its class's words, one shared word; a rare oddity
        toks = [own[i % 6], own[(i + 1) % 6], own[(i + 3) % 6], SHARED[i % 3]]
        if i in (4, 10):  # two hams that talk like spam
            toks += ["free", "offer", "click"]
        msgs.append(m)
        tokens[m.name] = toks
    return tuple(msgs), tokens


def test_seeded_folds_partition_and_follow_the_hash():
    msgs, _ = _toy(30)
    for seed in (0, 7, "x"):
        folds = T.seeded_folds(msgs, 4, seed)
        tested = sorted(m.name for s in folds for m in s.test)
        assert tested == sorted(m.name for m in msgs)
        for s in folds:
            assert not {m.name for m in s.train} & {m.name for m in s.test}
            assert len(s.train) + len(s.test) == len(msgs)
        # message -> fold index by hand: MD5 of "seed:name" modulo k
        m = msgs[5]
        want = int(hashlib.md5(f"{seed}:{m.name}".encode()).hexdigest(), 16) % 4
        assert m in folds[want].test
    deal = lambda seed: [tuple(s.test) for s in T.seeded_folds(msgs, 4, seed)]  # noqa: E731
    assert deal(0) == deal(0) and deal(0) != deal(1)


def test_margin_rank_by_hand():
    labels = [False, False, True, True, True]
    ranks = [0.1, 0.5, 0.6, 1.0, 2.0]
    # top ham 0.5, median spam 1.0: 0.2 of the way is 0.5 + 0.2 * 0.5
    assert T.margin_rank(labels, ranks, 0.2) == pytest.approx(0.6)
    assert T.margin_rank(labels, ranks, 0.0) == 0.5
    # median spam below the top ham: the threshold stays on the top ham
    assert T.margin_rank([False, True, True, True], [3.0, 0.0, 1.0, 5.0], 0.5) == 3.0


def test_cv_ranks_are_out_of_fold():
    msgs, tokens = _toy()
    ranks = T.cv_ranks(F.Robinson, msgs, tokens, k=4, seed=3)
    assert set(ranks) == {m.name for m in msgs}
    # rebuild one fold by hand: a filter that learned every other fold
    fold = T.seeded_folds(msgs, 4, 3)[2]
    f = F.Robinson()
    for m in msgs:
        if m not in fold.test:
            f.learn_tokens(tokens[m.name], m.spam)
    for m in fold.test:
        assert ranks[m.name] == f.rank_tokens(tokens[m.name])


def test_cross_validate_figures_from_the_ranks():
    msgs, tokens = _toy()
    row = T.cross_validate(F.Robinson, {"min_dev": 0.2}, msgs, tokens, k=4, seeds=(0, 1))
    for i, seed in enumerate((0, 1)):
        r = T.cv_ranks(lambda: F.Robinson(min_dev=0.2), msgs, tokens, k=4, seed=seed)
        labels = [m.spam for m in msgs]
        ranks = [r[m.name] for m in msgs]
        assert row.one_minus_auc_pct[i] == pytest.approx(100 * (1 - E.auc(labels, ranks)))
        hams = [r[m.name] for m in msgs if not m.spam]
        spam = sorted(r[m.name] for m in msgs if m.spam)
        assert row.top_ham[i] == max(hams)
        assert row.median_spam[i] == spam[(len(spam) - 1) // 2]
        assert row.sm_at_zero_fp[i] == pytest.approx(
            100 * sum(1 for x in spam if x <= max(hams)) / len(spam)
        )
    assert row.mean_pct == pytest.approx(statistics.fmean(row.one_minus_auc_pct))


def test_choose_picks_the_lowest_mean_and_sets_the_threshold_above_cv_ham():
    msgs, tokens = _toy()
    grid = ({}, {"min_dev": 0.3, "strength": 0.1})
    c = T.choose(F.Robinson, msgs, tokens, grid=grid, seeds=(0, 1), k=4, margin=0.25)
    assert len(c.rows) == 2
    best = min(c.rows, key=lambda r: r.mean_pct)
    assert c.params == best.params
    top, med = max(best.top_ham), statistics.median(best.median_spam)
    assert c.cutoff_rank == pytest.approx(top + 0.25 * max(med - top, 0.0))
    assert c.cutoff == pytest.approx(1 / (1 + pow(2.718281828459045, -c.cutoff_rank)))
    # every out-of-fold ham of every seed is below the cutoff
    for seed in (0, 1):
        r = T.cv_ranks(lambda: F.Robinson(**c.params), msgs, tokens, k=4, seed=seed)
        assert all(r[m.name] < c.cutoff_rank or r[m.name] == top for m in msgs if not m.spam)
    assert c.to_dict()["params"] == c.params and "chosen" in str(c)
    assert "<table>" in c._repr_html_()


def test_choose_reads_only_the_training_tokens(subset):
    train = E.split_md5(subset).train
    # tokens for the training messages only: any look-up of another message fails
    tokens = {m.name: F.tokenize(m.raw) for m in train}
    params, cutoff = T.choose_robinson(train, tokens, grid=(T.GRID[-1],), seeds=(0,), k=3)
    assert params == T.GRID[-1] and 0.0 < cutoff < 1.0
    f = F.Robinson(**params, spam_cutoff=cutoff, ham_cutoff=cutoff)
    assert f.status(cutoff) == "spam"
    c = T.choose(F.Fisher, train, tokens, grid=({},), seeds=(1,), k=3, margin=0.0)
    assert c.params == {} and c.cutoff_rank == max(c.rows[0].top_ham)
