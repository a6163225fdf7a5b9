"""SenderRobinson: Robinson's rank moved by a learned sender reputation, by hand."""

from __future__ import annotations

import math

import pytest

import labkit.filters as F
from labkit.filters import evaluate as E
from labkit.filters.reputation import SenderRobinson, sender_identities
from tests.filters.hand import logit, train_tokens

HAM = [
    ["meeting", "agenda", "from:news@list.example", "list-id:dev.list.example"],
    ["meeting", "lunch", "from:news@list.example"],
    ["agenda", "notes", "from:bob@corp.example"],
]
SPAM = [
    ["free", "cash", "from:win@spam.example"],
    ["free", "offer", "from:win@spam.example"],
    ["cash", "offer", "from:bob@corp.example"],
]


def test_sender_identities_are_sender_fields_with_a_dot():
    toks = [
        "from:a@b.example",
        "from:alice",
        "list-id:dev.list.example",
        "to:x@y.example",
        "return-path:b.example",
        "sender:c.example",
        "received:mx.b.example",
        "received:ip:192.0.2",
        "received:esmtp",
        "subject:free",
        "free",
    ]
    assert sender_identities(toks) == {
        "from:a@b.example",
        "list-id:dev.list.example",
        "return-path:b.example",
        "sender:c.example",
        "received:mx.b.example",
        "received:ip:192.0.2",
    }


def test_without_reputation_it_is_robinson():
    f, r = train_tokens(SenderRobinson(reputation=0.0), HAM, SPAM), train_tokens(F.Robinson(), HAM, SPAM)
    for toks in (["free", "meeting"], ["cash", "from:news@list.example"], ["agenda"]):
        assert f.rank_tokens(toks) == r.rank_tokens(toks)
        assert f.score_tokens(toks) == pytest.approx(r.score_tokens(toks))


def test_known_good_and_bad_senders_shift_the_rank_by_hand():
    f, r = train_tokens(SenderRobinson(reputation=0.25), HAM, SPAM), train_tokens(F.Robinson(), HAM, SPAM)
    base = lambda toks: logit(r.score_tokens(toks))  # noqa: E731
    # news@list.example: 2 ham, 0 spam -> known good (min_sender 2)
    good = ["free", "cash", "from:news@list.example"]
    assert f.sender_standing(good) == (["from:news@list.example"], [])
    assert f.rank_tokens(good) == pytest.approx(base(good) - 0.25)
    # win@spam.example: 0 ham, 2 spam -> known bad
    bad = ["meeting", "from:win@spam.example"]
    assert f.rank_tokens(bad) == pytest.approx(base(bad) + 0.25)
    # bob@corp.example: 1 ham, 1 spam; dev.list.example: 1 ham only -> no standing
    neutral = ["agenda", "from:bob@corp.example", "list-id:dev.list.example"]
    assert f.sender_standing(neutral) == ([], [])
    assert f.rank_tokens(neutral) == pytest.approx(base(neutral))
    # a good and a bad identity together cancel
    both = ["offer", "from:news@list.example", "from:win@spam.example"]
    assert f.rank_tokens(both) == pytest.approx(base(both))
    # the score is the logistic of the rank
    assert f.score_tokens(good) == pytest.approx(1 / (1 + math.exp(-f.rank_tokens(good))))


def test_unlearning_and_a_spam_end_good_standing():
    f = train_tokens(SenderRobinson(), HAM, SPAM)
    toks = ["meeting", "from:news@list.example"]
    assert f.sender_standing(toks)[0]
    f.unlearn_tokens(HAM[1], False)
    assert f.sender_standing(toks) == ([], [])
    f.learn_tokens(HAM[1], False)
    assert f.sender_standing(toks)[0]
    f.learn_tokens(["cash", "from:news@list.example"], True)
    assert f.sender_standing(toks) == ([], [])


def test_save_load_round_trip(tmp_path):
    f = train_tokens(SenderRobinson(reputation=0.3, min_sender=1, min_dev=0.2), HAM, SPAM)
    for name in ("f.json", "f.json.gz"):
        g = SenderRobinson.load(f.save(tmp_path / name))
        assert g.kind == "sender-robinson" and g.reputation == 0.3 and g.min_sender == 1
        assert g.min_dev == 0.2 and (g.nham, g.nspam) == (3, 3)
        for toks in (["free", "from:news@list.example"], ["agenda", "from:bob@corp.example"]):
            assert g.rank_tokens(toks) == f.rank_tokens(toks)


def test_known_by_kind_name_to_make_and_load_filter(tmp_path):
    f = F.make("sender-robinson", reputation=0.3, min_sender=1)
    assert isinstance(f, SenderRobinson)
    train_tokens(f, HAM, SPAM)
    g = F.load_filter(f.save(tmp_path / "any.json"))
    assert isinstance(g, SenderRobinson) and g.reputation == 0.3
    toks = ["free", "from:news@list.example"]
    assert g.rank_tokens(toks) == f.rank_tokens(toks)


def test_score_and_rank_in_one_pass_equal_the_two_calls():
    f = train_tokens(SenderRobinson(reputation=0.3, min_sender=1, min_dev=0.2), HAM, SPAM)
    for toks in (["free", "from:news@list.example"], ["agenda", "from:win@spam.example"], []):
        assert f.score_and_rank_tokens(toks) == (f.score_tokens(toks), f.rank_tokens(toks))


def _raw(sender: str, subject: str, body: str) -> bytes:
    return f"From: {sender}\nSubject: {subject}\n\n{body}\n".encode()


def test_raw_messages_run_and_bad_input_scores():
    train = [
        (_raw("Weekly <news@letters.example>", "Deals this week", "big deals on tents"), False),
        (_raw("Weekly <news@letters.example>", "Our news", "camping tents and deals"), False),
        (_raw("Ann <ann@corp.example>", "lunch", "see you at lunch tomorrow"), False),
        (_raw("Win <win@prize.example>", "You won", "claim your prize cash now"), True),
        (_raw("Win <win@prize.example>", "Cash", "free cash prize claim"), True),
    ]
    f, r = SenderRobinson(), F.Robinson()
    for raw, spam in train:
        f.learn(raw, spam)
        r.learn(raw, spam)
    msg = _raw("Weekly <news@letters.example>", "free cash deals", "claim free cash deals")
    assert "from:news@letters.example" in f.sender_standing(F.tokenize(msg))[0]
    assert f.score(msg) < r.score(msg)
    for junk in (b"", b"\x00\xff" * 500, b"Content-Type: multipart/mixed\n\n--"):
        assert 0.0 <= f.score(junk) <= 1.0
    assert f.status(f.score(msg)) in ("ham", "spam", "unsure")


def test_evaluate_run_accepts_it(subset):
    split = E.split_md5(subset)
    ev = E.run(SenderRobinson(), split.train[:120], split.train[120:200], progress=False)
    assert ev.filter == "sender-robinson" and len(ev.scores) == 80
    assert all(0.0 <= s <= 1.0 for s in ev.scores)


def test_standing_follows_learning_after_many_scorings_and_min_sender():
    """The known-good/bad sets are kept with the f(w) memo: learning, unlearning and a new
    min_sender must all show in the next score, even after the memo was complete."""
    f = train_tokens(SenderRobinson(reputation=0.25), HAM, SPAM)
    toks = ["meeting", "from:news@list.example"]
    for _ in range(40):  # past the point where the memo is filled for every token
        before = f.rank_tokens(toks)
    assert f._memo["full"]
    r = train_tokens(F.Robinson(), HAM, SPAM)
    assert before == pytest.approx(logit(r.score_tokens(toks)) - 0.25)
    f.learn_tokens(["cash", "from:news@list.example"], True)  # a spam from it: no standing
    r.learn_tokens(["cash", "from:news@list.example"], True)
    assert f.rank_tokens(toks) == pytest.approx(logit(r.score_tokens(toks)))
    f.unlearn_tokens(["cash", "from:news@list.example"], True)
    assert f.rank_tokens(toks) == before
    # dev.list.example: one ham only -> known good once min_sender is 1
    dev = ["agenda", "list-id:dev.list.example"]
    assert f.sender_standing(dev) == ([], [])
    f.min_sender = 1
    assert f.sender_standing(dev) == (["list-id:dev.list.example"], [])


def _named_sender(t: str) -> bool:
    """The identity rule, restated: sender fields with a dot; from Received only host
    names, IPv4 addresses and client networks (no e-mail addresses, no version numbers)."""
    field, _, value = t.partition(":")
    if field not in ("from", "sender", "return-path", "list-id", "received") or "." not in value:
        return False
    if field != "received" or value.startswith("ip:"):
        return True
    labels = value.split(".")
    is_ipv4 = len(labels) == 4 and all(x.isdigit() and len(x) <= 3 for x in labels)
    return "@" not in value and (not labels[-1].isdigit() or is_ipv4)


def test_received_gives_relays_and_networks_not_addresses_or_versions():
    toks = ["received:mail.list.example", "received:192.0.2.7", "received:ip:192.0.2",
            "received:trap@corp.example", "received:v2.1.3", "received:1.30", "received:8.9.3/8.9.3",
            "from:news@list.example", "subject:v2.1.3"]
    assert sender_identities(toks) == {t for t in toks if _named_sender(t)} == {
        "received:mail.list.example", "received:192.0.2.7", "received:ip:192.0.2", "from:news@list.example"}


def test_rank_is_robinson_plus_the_standing_counted_here(subset):
    """On real mail: rank = Robinson's logit -/+ reputation, with the known-good and
    known-bad identities found here straight from the counts."""
    from labkit.filters.tokens import tokenize

    params = {"strength": 0.1, "min_dev": 0.2}
    f = SenderRobinson(**params, reputation=0.3).train(subset[:350])
    r = F.Robinson(**params).train(subset[:350])
    seen = {"good": 0, "bad": 0}
    for m in subset[350:]:
        toks = tokenize(m.raw)
        ids = [t for t in set(toks) if _named_sender(t)]
        good = any(f.counts[t][0] >= 2 and f.counts[t][1] == 0 for t in ids if t in f.counts)
        bad = any(f.counts[t][1] >= 2 and f.counts[t][0] == 0 for t in ids if t in f.counts)
        seen["good"] += good
        seen["bad"] += bad
        expected = logit(r.score_tokens(toks)) - 0.3 * good + 0.3 * bad
        assert f.rank_tokens(toks) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert seen["good"] > 5 and seen["bad"] > 5
