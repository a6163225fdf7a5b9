"""GradedSenderRobinson: the reputation shift grows with the number of known identities."""

from __future__ import annotations

import math
import statistics

import pytest

import labkit.filters as F
from labkit.filters import graded
from labkit.filters.graded import GradedSenderRobinson
from labkit.filters.reputation import SenderRobinson
from tests.filters.hand import logit, train_tokens

# news@list.example writes through relay.list.example from 192.0.2.x; three hams each
NEWS = ["from:news@list.example", "received:relay.list.example", "received:ip:192.0.2"]
HAM = [
    ["meeting", "agenda", *NEWS],
    ["meeting", "lunch", *NEWS],
    ["agenda", "notes", *NEWS],
    ["agenda", "notes", "from:bob@corp.example"],
]
WIN = ["from:win@spam.example", "received:ip:203.0.113"]
SPAM = [
    ["free", "cash", *WIN],
    ["free", "offer", *WIN],
    ["cash", "offer", *WIN],
    ["cash", "offer", "from:bob@corp.example"],
]


def test_one_witness_is_sender_robinson():
    f = train_tokens(GradedSenderRobinson(reputation=0.25, witnesses=1, min_sender=2), HAM, SPAM)
    s = train_tokens(SenderRobinson(reputation=0.25, min_sender=2), HAM, SPAM)
    for toks in (["free", *NEWS], ["meeting", *WIN], ["agenda", "from:bob@corp.example"], []):
        assert f.rank_tokens(toks) == pytest.approx(s.rank_tokens(toks), abs=1e-12)


def test_each_known_identity_adds_a_share_of_the_shift_by_hand():
    f = train_tokens(GradedSenderRobinson(reputation=0.3, witnesses=2, min_sender=3), HAM, SPAM)
    r = train_tokens(F.Robinson(), HAM, SPAM)
    base = lambda toks: logit(r.score_tokens(toks))  # noqa: E731
    # each NEWS identity: 3 ham, 0 spam -> known good (min_sender 3); shift 0.3 * min(n, 2) / 2
    for n, want in ((1, -0.15), (2, -0.3), (3, -0.3)):
        toks = ["free", "cash", *NEWS[:n]]
        assert len(f.sender_standing(toks)[0]) == n
        assert f.rank_tokens(toks) == pytest.approx(base(toks) + want)
    # WIN identities: 0 ham, 3 spam -> known bad
    assert f.rank_tokens(["meeting", WIN[0]]) == pytest.approx(base(["meeting", WIN[0]]) + 0.15)
    # one good and one bad cancel; bob (1 ham, 1 spam) has no standing
    mixed = ["offer", NEWS[0], WIN[1], "from:bob@corp.example"]
    assert f.sender_standing(mixed) == ([NEWS[0]], [WIN[1]])
    assert f.rank_tokens(mixed) == pytest.approx(base(mixed))
    # the score is the logistic of the rank
    toks = ["free", *NEWS]
    assert f.score_tokens(toks) == pytest.approx(1 / (1 + math.exp(-f.rank_tokens(toks))))
    assert f.score_and_rank_tokens(toks) == (f.score_tokens(toks), f.rank_tokens(toks))


def test_min_sender_counts_learned_messages():
    f = train_tokens(GradedSenderRobinson(min_sender=4), HAM, SPAM)
    assert f.sender_standing(["free", *NEWS]) == ([], [])  # only 3 hams each
    f.learn_tokens(["minutes", *NEWS], False)
    assert sorted(f.sender_standing(["free", *NEWS])[0]) == sorted(NEWS)
    f.learn_tokens(["cash", NEWS[2]], True)  # one spam from that network ends its standing
    assert sorted(f.sender_standing(["free", *NEWS])[0]) == sorted(NEWS[:2])


def test_reputation_shift_formula():
    f = GradedSenderRobinson(reputation=0.4, witnesses=3)
    for good, bad in ((0, 0), (1, 0), (5, 0), (0, 2), (2, 1), (4, 4)):
        want = 0.4 * (min(bad, 3) - min(good, 3)) / 3
        assert f.reputation_shift(good, bad) == pytest.approx(want)
    assert GradedSenderRobinson().rank_tokens(["free", *NEWS]) == 0.0  # untrained


def test_save_load_round_trip_and_kind_name(tmp_path):
    f = train_tokens(GradedSenderRobinson(reputation=0.3, witnesses=2, min_sender=3, min_dev=0.2), HAM, SPAM)
    for name in ("f.json", "f.json.gz"):
        g = F.load_filter(f.save(tmp_path / name))
        assert isinstance(g, GradedSenderRobinson) and g.kind == "graded-sender-robinson"
        assert (g.reputation, g.witnesses, g.min_sender, g.min_dev) == (0.3, 2, 3, 0.2)
        for toks in (["free", *NEWS], ["agenda", *WIN], ["notes"]):
            assert g.rank_tokens(toks) == f.rank_tokens(toks)
    assert isinstance(F.make("graded-sender-robinson", witnesses=2), GradedSenderRobinson)


def _raw(sender: str, subject: str, body: str) -> bytes:
    return f"From: {sender}\nSubject: {subject}\n\n{body}\n".encode()


def test_raw_messages_and_bad_input():
    f = GradedSenderRobinson(min_sender=2)
    for i in range(2):
        f.learn(_raw("Weekly <news@letters.example>", f"deals {i}", "big deals on tents"), False)
        f.learn(_raw("Win <win@prize.example>", f"you won {i}", "claim your cash prize"), True)
    msg = _raw("Weekly <news@letters.example>", "free cash", "claim free cash deals")
    good = f.sender_standing(F.tokenize(msg))[0]
    assert "from:news@letters.example" in good
    plain = logit(F.Robinson.score_tokens(f, set(F.tokenize(msg))))
    assert f.rank_tokens(F.tokenize(msg)) == pytest.approx(
        plain - f.reputation * min(len(good), f.witnesses) / f.witnesses
    )
    for junk in (b"", b"\x00\xff" * 500, b"Content-Type: multipart/mixed\n\n--"):
        assert 0.0 <= f.score(junk) <= 1.0


def test_choose_picks_the_lowest_mean_cv_row(subset):
    train = [m for m in subset if int(m.md5[0], 16) < 8]
    tokens = {m.name: F.tokenize(m.raw) for m in train}
    base = {"strength": 0.0178, "prior": 0.52, "min_dev": 0.47, "max_discriminators": 2000}
    grid = ((0.1, 1, 2), (0.4, 3, 3))
    c = graded.choose(train, tokens, base=base, grid=grid, seeds=(0,))
    assert c.filter == "graded-sender-robinson" and len(c.rows) == 2
    assert c.margin == graded.MARGIN
    best = min(c.rows, key=lambda r: statistics.fmean(r.one_minus_auc_pct))
    assert c.params == best.params
    assert {(r.params["reputation"], r.params["witnesses"]) for r in c.rows} == {(0.1, 1), (0.4, 3)}
    # the cutoff is the filter's score at the chosen rank
    f = GradedSenderRobinson(**c.params)
    assert c.cutoff == pytest.approx(f.score_from_rank(c.cutoff_rank))
