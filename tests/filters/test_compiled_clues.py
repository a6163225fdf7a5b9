"""The compiled clue look-up and sums (labkit/filters/_c/clues.c) against the Python path.

Every rank and score must be the same float (==, not approx) whichever path computed
it: on the whole corpus (train on the MD5 half below "8", score the other half), for
Robinson, Fisher, SenderRobinson (with and without reputation), GradedSenderRobinson,
a small ``max_discriminators`` (where the Python pick takes over), an untrained filter,
messages without clues, and tokens given as a list, tuple, set or frozenset.  The
Python path is reached by setting ``bayes._cclues`` to None (what LABKIT_PURE_PYTHON=1
does at import), so both run in one process on the same trained filter.
"""

from __future__ import annotations

import math

import pytest

from labkit.filters import Fisher, Robinson, bayes
from labkit.filters.graded import GradedSenderRobinson
from labkit.filters.reputation import SenderRobinson
from labkit.filters.tokens import tokenize

C = bayes._cclues
pytestmark = pytest.mark.skipif(C is None, reason="labkit.filters._cclues is not built "
                                "(or LABKIT_PURE_PYTHON is set)")

#: the benchmark's sender-robinson-cv parameters
BENCH = dict(strength=0.0178, prior=0.52, min_dev=0.45, max_discriminators=2000, reputation=0.2)

FILTERS = {
    "robinson": lambda: Robinson(),
    "fisher": lambda: Fisher(),
    "sender-robinson-bench": lambda: SenderRobinson(**BENCH),
    "sender-robinson-no-reputation": lambda: SenderRobinson(**{**BENCH, "reputation": 0.0}),
    "sender-robinson-few-discriminators": lambda: SenderRobinson(**{**BENCH, "max_discriminators": 40}),
    "fisher-few-discriminators": lambda: Fisher(max_discriminators=60),
    "graded-sender-robinson": lambda: GradedSenderRobinson(),
}


@pytest.fixture(scope="module")
def halves(full_corpus):
    """(training messages' tokens and labels, test messages' tokens): the MD5 split."""
    train = [(tokenize(m.raw), m.spam) for m in full_corpus if m.md5[0] < "8"]
    test = [tokenize(m.raw) for m in full_corpus if m.md5[0] >= "8"]
    return train, test


@pytest.fixture(scope="module")
def bench(halves):
    """SenderRobinson with the benchmark's parameters, trained, its f(w) table complete
    (shared: the tests below only score with it)."""
    f = _trained(FILTERS["sender-robinson-bench"], halves[0])
    f._warm()
    return f


def _trained(make, train):
    f = make()
    for toks, spam in train:
        f.learn_tokens(toks, spam)
    return f


def _ranks_and_scores(f, messages):
    return [f.rank_tokens(t) for t in messages], [f.score_tokens(t) for t in messages]


@pytest.mark.parametrize("name", list(FILTERS))
def test_corpus_ranks_and_scores_are_the_same_floats(name, halves, monkeypatch):
    train, test = halves
    f = _trained(FILTERS[name], train)
    f._warm()  # the complete f(w) table: the compiled path's case
    used = sum(f._c_clue_sums(t) is not None for t in test)
    compiled = _ranks_and_scores(f, test)
    monkeypatch.setattr(bayes, "_cclues", None)
    assert f._c_clue_sums(test[0]) is None
    python = _ranks_and_scores(f, test)
    assert compiled[0] == python[0]
    assert compiled[1] == python[1]
    # the compiled path answered for every message with at most max_discriminators
    # clues (the others went to Python's pick), and both kinds occur
    table = f._current_memo()["f"]
    few = sum(len(table.keys() & set(t)) <= f.max_discriminators for t in test)
    assert used == few
    assert 0 < used < len(test)


def test_clue_sums_equal_python_for_every_test_message(halves, bench):
    f, test = bench, halves[1]
    compiled = [f._clue_sums(t) for t in test]
    python = [f._py_clue_sums(t) for t in test]
    assert compiled == python


def test_lazy_memo_then_compiled_gives_the_python_ranks(halves, monkeypatch):
    # the first scorings after training fill the memo lazily (Python), then it is complete
    train, test = halves
    f = _trained(FILTERS["sender-robinson-bench"], train)
    first = [f.rank_tokens(t) for t in test[:40]]
    assert f._current_memo()["full"]
    monkeypatch.setattr(bayes, "_cclues", None)
    g = _trained(FILTERS["sender-robinson-bench"], train)
    assert [g.rank_tokens(t) for t in test[:40]] == first


@pytest.mark.parametrize("container", [list, tuple, set, frozenset])
def test_tokens_as_list_tuple_set(container, halves, bench, monkeypatch):
    f, test = bench, halves[1]
    some = [container(t) for t in test[::25]]
    assert all(f._c_clue_sums(t) is not None for t in some)
    compiled = _ranks_and_scores(f, some)
    monkeypatch.setattr(bayes, "_cclues", None)
    assert _ranks_and_scores(f, some) == compiled
    # and the same as the message given as a list
    assert compiled == _ranks_and_scores(f, [list(t) for t in test[::25]])


@pytest.mark.parametrize("name", ["robinson", "fisher", "sender-robinson-bench"])
def test_untrained_and_clueless(name, halves, monkeypatch):
    train, test = halves
    untrained = FILTERS[name]()
    trained = _trained(FILTERS[name], train[::10])  # (ham and spam)
    trained._warm()
    clueless = [[], ["zz-no-such-token-1", "zz-no-such-token-2"], ("zz-no-such-token-1",)]
    assert trained._c_clue_sums(clueless[1])[0] == 0
    cases = [(untrained, test[:5] + clueless), (trained, clueless)]
    compiled = [_ranks_and_scores(f, msgs) for f, msgs in cases]
    monkeypatch.setattr(bayes, "_cclues", None)
    assert [_ranks_and_scores(f, msgs) for f, msgs in cases] == compiled


@pytest.mark.parametrize("make", [lambda: SenderRobinson(min_dev=0.1, reputation=0.3),
                                  lambda: Fisher(min_dev=0.1)])
def test_edge_tokens_non_ascii_nul_repeats_and_other_types(make, monkeypatch):
    f = make()
    other = not isinstance(f, SenderRobinson)  # (its sender test reads str tokens only)
    ham = [["caf\u00e9", "nul\x00byte", "\U0001f600", "from:a@good.example", "same"]
           + [7] * other] * 3
    spam = [["\u00fcber", "cash", "from:b@bad.example", "same"] + [8.5] * other] * 3
    for toks in ham:
        f.learn_tokens(toks, False)
    for toks in spam:
        f.learn_tokens(toks, True)
    f._warm()
    messages = [
        ["caf\u00e9"] * 50 + ["cash"],
        ["nul\x00byte", "\U0001f600", "x" * 100_000] + [7, 8.5] * other,
        ["from:a@good.example", "from:b@bad.example", "same", "same"],
        ["\u00fcber", "nul\x00byte"] + [7, 7.0] * other,  # 7.0 == 7: one token, as in a set
    ]
    assert all(f._c_clue_sums(m) is not None for m in messages)
    compiled = _ranks_and_scores(f, messages)
    monkeypatch.setattr(bayes, "_cclues", None)
    assert _ranks_and_scores(f, messages) == compiled
    with pytest.raises(TypeError):
        f.rank_tokens([["unhashable"]])


def test_clue_sums_by_hand():
    table = {"a": 0.25, "b": 0.9, "zero": 0.0}
    senders = {"from:x.example": 1, "from:y.example": 2}
    got = C.clue_sums(table, ["a", "b", "a", "c", "zero", "from:y.example"], 10, senders)
    assert got == (2, math.fsum([math.log(0.25), math.log(0.9)]),
                   math.fsum([math.log1p(-0.25), math.log1p(-0.9)]), 2)
    assert C.clue_sums(table, [], 10, None) == (0, 0.0, 0.0, 0)
    assert C.clue_sums(table, {"a", "b", "from:x.example"}, 10, senders)[::3] == (2, 1)
    # more clues than max_discriminators, or a value math.log would refuse: Python decides
    assert C.clue_sums(table, ["a", "b"], 1, None) is None
    assert C.clue_sums({"a": 1.0}, ["a"], 10, None) is None
    assert C.clue_sums(table, ["a", "b"], 10**40, None)[0] == 2


def test_many_clues_grow_the_compiled_set(bench, monkeypatch):
    f = bench
    monkeypatch.setattr(f, "max_discriminators", 10**9)
    every = list(f._current_memo()["f"]) * 2  # every clue token, each twice
    got = f._clue_sums(every)
    assert f._c_clue_sums(every) is not None and got[0] == len(every) // 2
    assert got == f._py_clue_sums(every)


@pytest.mark.parametrize(
    "args",
    [
        ([("a", 0.3)], ["a"], 10, None),  # table not a dict
        ({"a": 0.3}, "a", 10, None),  # one text, not tokens
        ({"a": 0.3}, iter(["a"]), 10, None),  # an iterator
        ({"a": 0.3}, {"a": 1}, 10, None),  # a dict of tokens
        ({"a": 0.3}, ["a"], 10.0, None),  # max_discriminators a float
        ({"a": 0.3}, ["a"], True, None),  # ... or a bool
        ({"a": 0.3}, ["a"], 10, {"a"}),  # senders a set, not a dict
        ({"a": 0.3}, ["a"], 10),  # three arguments
        ({"a": "0.3"}, ["a"], 10, None),  # a value that is not a float
        ({"a": 0.3}, ["a"], 10, {"a": 1.0}),  # a sender flag that is not an int
        ({"a": 0.3}, [["a"]], 10, None),  # an unhashable token
    ],
)
def test_wrong_types_are_type_errors(args):
    with pytest.raises(TypeError):
        C.clue_sums(*args)


# --- the index of the complete table (clues.c: index()) --------------------------------


def _c_and_py(f, messages, monkeypatch):
    """(ranks and scores by the compiled path, the same by Python) for ``messages``."""
    compiled = _ranks_and_scores(f, messages)
    with monkeypatch.context() as m:
        m.setattr(bayes, "_cclues", None)
        python = _ranks_and_scores(f, messages)
    return compiled, python


def test_index_is_rebuilt_after_learn_unlearn_load_and_parameter_change(
    halves, monkeypatch, tmp_path
):
    train, test = halves
    f = _trained(FILTERS["sender-robinson-bench"], train[::10])
    f._warm()
    some = test[::60]
    seen = []

    def check():
        compiled, python = _c_and_py(f, some, monkeypatch)
        assert compiled == python
        memo = f._current_memo()
        assert memo["full"] and memo["index"] is not None
        assert all(memo["index"] is not old for old in seen)  # a new one for the new table
        assert memo["senders"][4] is not None
        seen.append(memo["index"])

    check()
    toks, spam = train[1]
    f.learn_tokens(toks, spam)
    f._warm()
    check()
    f.unlearn_tokens(toks, spam)
    f._warm()
    check()
    f.strength = 0.3  # a parameter of f(w): the memo key changes
    f._warm()
    check()
    f = bayes.load(f.save(tmp_path / "f.json"))
    f._warm()
    check()
    assert len(seen) == 5


def test_index_of_non_str_keys_is_none_and_the_dict_answers(monkeypatch):
    table = {"a": 0.25, 7: 0.9}
    assert C.index(table) is None
    assert C.index({"a": 0.25, "b": 0.9}) is not None
    assert C.index({"a": 1, "b": 2}) is not None  # the senders' kind
    assert C.index({"a": 2**70}) is None  # an int no C long holds: the dict is read
    assert C.index({}) is not None
    f = Fisher(min_dev=0.1)  # int tokens: the Python path takes any hashable token
    for toks, spam in [(["w", 7], False)] * 3 + [(["x", 8], True)] * 3:
        f.learn_tokens(toks, spam)
    f._warm()
    messages = [["w", 7, 7.0, "x"], [8, "x"]]
    compiled, python = _c_and_py(f, messages, monkeypatch)
    assert compiled == python
    assert f._current_memo()["index"] is None


class _Token(str):
    """A str subclass: the dict compares it with ==, so the index must not answer for it."""


class _Clash:
    """A token with the hash of the str "cash", equal only to itself."""

    def __hash__(self) -> int:
        return hash("cash")


def test_str_subclass_and_hash_colliding_tokens_are_looked_up_as_python_does(monkeypatch):
    f = SenderRobinson(min_dev=0.1, reputation=0.3)
    ham = ["plain", "from:a@good.example", "caf\u00e9"]
    for _ in range(3):
        f.learn_tokens(ham, False)
        f.learn_tokens(["cash", "from:b@bad.example"], True)
    f._warm()
    assert f._c_clue_sums(["plain"]) is not None and f._current_memo()["index"] is not None
    clash = _Clash()  # the same hash as the str token "cash", not equal to it
    messages = [
        [_Token("cash"), _Token("from:b@bad.example")],  # equal to the keys, not exact str
        [clash, "plain"],  # same hash, not equal: no clue, no sender
        [clash, "cash", clash, "cash"],
        ["cash", _Token("cash"), "from:a@good.example"],  # a set keeps the first
    ]
    assert all(f._c_clue_sums(m) is not None for m in messages)
    compiled, python = _c_and_py(f, messages, monkeypatch)
    assert compiled == python
    senders = f._standing()[2:]  # (dict, index)
    assert f._c_clue_sums(messages[0], *senders)[::3] == (2, 2)  # found through the dicts
    assert f._c_clue_sums(messages[1], *senders)[::3] == (1, 0)  # only "plain"


def test_empty_huge_and_non_ascii_tokens_through_the_index(monkeypatch):
    f = SenderRobinson(min_dev=0.1, reputation=0.3)
    huge = "y" * 100_000
    wide = "\u20ac" * 100_000  # two bytes a character
    texts = ["", huge, wide, "caf\u00e9", "\u00fcber", "\u20acuro", "\U0001f600", "nul\x00"]
    for _ in range(3):
        f.learn_tokens(texts[::2] + ["from:a@good.example"], False)
        f.learn_tokens(texts[1::2], True)
    f._warm()
    messages = [
        texts,
        ["", ""] + ["y" * 99_999 + "z", "y" * 100_000],  # a fresh huge equal token and a near one
        ["\u20ac" * 99_999 + "\u20ad", "\u20ac" * 100_000, "\U0001f600", "\U0001f601"],
        ["caf\u00e9", "cafe", "caf\u00e9\u0301", "from:a@good.example"],
        [],
    ]
    assert all(f._c_clue_sums(m) is not None for m in messages)
    assert f._current_memo()["index"] is not None
    compiled, python = _c_and_py(f, messages, monkeypatch)
    assert compiled == python
    assert f._c_clue_sums(messages[1])[0] == 2  # "" and the equal huge token
    assert f._c_clue_sums(messages[2])[0] == 2


def test_clue_sums_with_indexes_by_hand():
    table = {"a": 0.25, "b": 0.9, "zero": 0.0}
    senders = {"from:x.example": 1, "from:y.example": 2}
    ix, six = C.index(table), C.index(senders)
    tokens = ["a", "b", "a", "c", "zero", "from:y.example", "from:x.example"]
    want = (2, math.fsum([math.log(0.25), math.log(0.9)]),
            math.fsum([math.log1p(-0.25), math.log1p(-0.9)]), 3)
    assert C.clue_sums(table, tokens, 10, senders, ix, six) == want
    assert C.clue_sums(table, tokens, 10, senders, ix) == want
    assert C.clue_sums(table, tokens, 10, senders, None, six) == want
    assert C.clue_sums(table, tokens, 10, None, ix, six)[3] == 0
    assert C.clue_sums(table, ["a", "b"], 1, None, ix) is None
    # the index keeps its own keys and values: the dict may go
    del table
    assert C.clue_sums({}, ["b"], 10, None, ix)[0] == 1


@pytest.mark.parametrize(
    "args",
    [
        ({"a": 0.3}, ["a"], 10, None, {"a": 0.3}),  # an index that is a dict
        ({"a": 0.3}, ["a"], 10, None, C.index({"a": 1})),  # an index of ints for the table
        ({"a": 0.3}, ["a"], 10, {"a": 1}, None, C.index({"a": 0.3})),  # ... of floats for senders
        ({"a": 0.3}, ["a"], 10, None, None, None, None),  # seven arguments
    ],
)
def test_wrong_indexes_are_type_errors(args):
    with pytest.raises(TypeError):
        C.clue_sums(*args)


def test_index_refuses_what_it_cannot_index():
    with pytest.raises(TypeError):
        C.index([("a", 0.3)])
    with pytest.raises(TypeError):
        C.index({"a": 0.3, "b": 1})  # floats and ints mixed
    with pytest.raises(TypeError):
        C.index({"a": "0.3"})
    import datetime

    capsule = datetime.datetime_CAPI  # a capsule that is not an index
    with pytest.raises(ValueError):
        C.clue_sums({"a": 0.3}, ["a"], 10, None, capsule)


def test_exact_sums_equal_math_fsum_on_random_values():
    import random

    rng = random.Random(20240605)
    for trial in range(3000):
        n = rng.choice([1, 2, 3, 10, 100, 1000])
        pick = rng.choice([
            lambda: rng.random(),
            lambda: rng.choice([1e-300, 5e-324, 1 - 2**-53, 0.5, 1e-16]),
            lambda: 10 ** -rng.uniform(0, 300),
            lambda: 1 - 10 ** -rng.uniform(1, 16),
        ])
        values = [pick() or 0.5 for _ in range(n)]
        table = {f"t{i}": v for i, v in enumerate(values)}
        got = C.clue_sums(table, list(table), 10**6, None, C.index(table))
        f = list(table.values())
        assert got == (len(f), math.fsum(map(math.log, f)),
                       math.fsum(math.log1p(-x) for x in f), 0), trial


def test_index_releases_its_references():
    import gc
    import sys

    key = "".join(["leak", "-check"])  # a key object of our own
    table = {key: 0.25}
    before = sys.getrefcount(key)
    for _ in range(1000):
        ix = C.index(table)
        C.clue_sums(table, [key, "other"], 10, None, ix)
    assert sys.getrefcount(key) == before + 1  # the last index holds one
    del ix
    gc.collect()
    assert sys.getrefcount(key) == before


def _keys(rng, n):
    """n distinct keys of every sort: ASCII, Latin-1, two-byte and four-byte code points."""
    alphabets = ["abcxyz", "\u00e9\u00fc\u00df", "\u20ac\u4e2d", "\U0001f600\U00010348"]
    keys = set()
    while len(keys) < n:
        letters = rng.choice(alphabets)
        keys.add("".join(rng.choice(letters) for _ in range(rng.randint(0, 12))))
    return sorted(keys)


@pytest.mark.parametrize("size", [0, 1, 2, 7, 8, 9, 15, 100, 5000])
def test_index_of_tables_of_0_1_and_many_entries(size):
    """Small tables are crowded (up to half their slots used, long probe chains): every
    key is found, every absent token is not, with the dict's values."""
    import random

    rng = random.Random(size)
    keys = _keys(rng, 2 * size)
    table = {k: rng.choice([rng.random(), 0.0]) or 0.5 for k in keys[:size]}
    absent = keys[size:]
    ix = C.index(table)
    for tokens in (list(table), absent, absent + list(table)[::-1], [*table, *table]):
        want = C.clue_sums(table, tokens, 10**6, None)  # through the dict
        assert C.clue_sums(table, tokens, 10**6, None, ix) == want
    assert C.clue_sums(table, list(table) + absent, 10**6, None, ix)[0] == size


def test_index_leaves_out_zero_values_and_keeps_huge_keys():
    huge = "z" * 100_000
    table = {"zero": 0.0, huge: 0.75, "": 0.25, "\u20ac" * 100_000: 0.125}
    ix = C.index(table)
    tokens = ["zero", "z" * 100_000, "", "\u20ac" * 100_000, "z" * 99_999]
    assert C.clue_sums(table, tokens, 10, None, ix) == C.clue_sums(table, tokens, 10, None)
    assert C.clue_sums(table, tokens, 10, None, ix)[0] == 3


def test_senders_index_of_a_small_dict():
    """The senders' dict (identity -> 1 known good, 2 known bad): the index ORs what the
    dict would, for identities of every sort, and leaves a 0 out."""
    import random

    rng = random.Random(5)
    identities = _keys(rng, 3000)
    senders = {k: rng.choice([1, 2]) for k in identities[:2000]}
    senders["from:zero.example"] = 0
    senders["y" * 100_000] = 2
    six = C.index(senders)
    table = {"a": 0.25}
    for _ in range(300):
        tokens = rng.sample(identities, rng.randint(0, 5)) + ["a"]
        if rng.random() < 0.1:
            tokens.append(rng.choice(["from:zero.example", "y" * 100_000]))
        assert C.clue_sums(table, tokens, 10, senders, None, six) == C.clue_sums(
            table, tokens, 10, senders
        )
    assert C.clue_sums(table, ["from:zero.example"], 10, senders, None, six)[3] == 0


def test_refused_index_gives_back_what_it_took():
    import sys

    key = "".join(["give", "-back"])  # a key object of our own
    before = sys.getrefcount(key)
    for _ in range(100):
        assert C.index({key: 0.3, "b": 0.5, 7: 0.9}) is None  # a key that is not a str
        assert C.index({key: 1, "b": 2**70}) is None  # an int no C long holds
        with pytest.raises(TypeError):
            C.index({key: 0.3, "b": 1})
    assert sys.getrefcount(key) == before


class _Shrinker:
    """A token whose == empties the list it sits in (an odd token in a learner's list)."""

    def __init__(self, victim: list) -> None:
        self.victim = victim

    def __hash__(self) -> int:
        return 12345

    def __eq__(self, other: object) -> bool:
        self.victim.clear()
        return False


@pytest.mark.parametrize("before", [3, 600])  # the stack buffers, and heap ones
def test_clue_sums_refuses_a_list_emptied_by_a_comparison(before):
    table = {f"t{i}": 0.25 for i in range(before)}
    tokens: list = [f"t{i}" for i in range(before)]
    tokens += [_Shrinker(tokens), _Shrinker(tokens), "t0"]  # equal hashes: compared
    with pytest.raises(RuntimeError, match="changed size"):
        C.clue_sums(table, tokens, 10_000, None, C.index(table))
    assert tokens == []
