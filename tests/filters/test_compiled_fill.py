"""The compiled f(w) memo table (``_cclues.clue_table``, labkit/filters/_c/clues.c)
against the Python one (``_Robinsonian._py_fill``).

The two tables must be the same dict in the same order, each value a float equal to
the last bit (compared through ``float.hex``): for Robinson, Fisher and SenderRobinson
trained on the corpus's MD5 half below "8", with default and the benchmark's
parameters, min_dev 0 and 0.5, one ham or one spam, after unlearning, after save and
load, and on hand-made counts (zero counts, counts at and beyond 2**53, odd values the
C code leaves to Python).  The scores of the other half must not depend on which
table they were computed from.
"""

from __future__ import annotations

import pytest

from labkit.filters import Fisher, Robinson, bayes
from labkit.filters.reputation import SenderRobinson
from labkit.filters.tokens import tokenize

C = bayes._cclues
pytestmark = pytest.mark.skipif(
    C is None or not hasattr(C, "clue_table"),
    reason="labkit.filters._cclues (with clue_table) is not built, or LABKIT_PURE_PYTHON is set",
)

#: the benchmark's sender-robinson-cv parameters
BENCH = dict(strength=0.0178, prior=0.52, min_dev=0.45, max_discriminators=2000, reputation=0.2)


@pytest.fixture(scope="module")
def halves(full_corpus):
    """(training messages' tokens and labels, test messages' tokens): the MD5 split."""
    train = [(tokenize(m.raw), m.spam) for m in full_corpus if m.md5[0] < "8"]
    test = [tokenize(m.raw) for m in full_corpus if m.md5[0] >= "8"]
    return train, test


def _trained(f, train):
    for toks, spam in train:
        f.learn_tokens(toks, spam)
    return f


def _c_table(f):
    """The compiled table for f's counts and parameters, straight from the module;
    indexed_clue_table gives the same table (or None with it) and an index of it."""
    args = (f.counts, f.nham, f.nspam, f.strength, f.prior, f.min_dev)
    table = C.clue_table(*args)
    both = C.indexed_clue_table(*args)
    if table is None:
        assert both is None
    else:
        _assert_same(both[0], table)
        _assert_index_of(both[1], table, list(f.counts))
    return table


def _assert_index_of(index, table, tokens):
    """``index`` answers for ``table`` as index(table) and the dict itself do: every
    clue found (the sums of all of them to the last bit), nothing else."""
    tokens = [*tokens, "absent:\u20ac", "", "x" * 100_000]
    want = C.clue_sums(table, tokens, 10**9, None)  # through the dict
    assert C.clue_sums(table, tokens, 10**9, None, C.index(table)) == want
    assert C.clue_sums(table, tokens, 10**9, None, index) == want
    assert want[0] == len(table)


def _fresh_memo(f):
    f._changed()
    return f._current_memo()


def _tables(f):
    """(what _fill builds, what _py_fill builds), each from an empty memo."""
    memo = _fresh_memo(f)
    compiled = f._fill(memo)
    assert memo["f"] is compiled and memo["full"] and memo["seen"] == set()
    if memo.get("index") is not None:  # built with the table: the index of this table
        _assert_index_of(memo["index"], compiled, list(f.counts))
    memo = _fresh_memo(f)
    python = f._py_fill(memo)
    assert memo["f"] is python and memo["full"]
    return compiled, python


def _assert_same(compiled, python):
    assert compiled == python
    assert list(compiled.items()) == list(python.items())  # the counts' order
    assert all(type(v) is float for v in compiled.values())
    assert [v.hex() for v in compiled.values()] == [v.hex() for v in python.values()]


def _assert_c_same(f):
    """The C table is built (no fallback) and equals the Python one to the last bit."""
    direct = _c_table(f)
    assert direct is not None
    compiled, python = _tables(f)
    _assert_same(direct, python)
    _assert_same(compiled, python)
    return compiled


CORPUS_FILTERS = {
    "robinson": lambda: Robinson(),
    "fisher": lambda: Fisher(),
    "sender-robinson": lambda: SenderRobinson(),
    "sender-robinson-bench": lambda: SenderRobinson(**BENCH),
    "robinson-bench": lambda: Robinson(strength=0.0178, prior=0.52, min_dev=0.45),
    "fisher-bench": lambda: Fisher(strength=0.0178, prior=0.52, min_dev=0.45),
    "robinson-min-dev-0": lambda: Robinson(min_dev=0.0),
    "robinson-strength-0": lambda: Robinson(strength=0.0),
    "robinson-few-clues": lambda: Robinson(min_dev=0.49),  # mostly dropped: compacted
}


@pytest.fixture(scope="module")
def trained(halves):
    """One corpus-trained SenderRobinson with the benchmark's parameters (shared)."""
    return _trained(SenderRobinson(**BENCH), halves[0])


@pytest.mark.parametrize("name", list(CORPUS_FILTERS))
def test_corpus_tables_are_the_same(name, halves):
    f = _trained(CORPUS_FILTERS[name](), halves[0])
    table = _assert_c_same(f)
    assert len(table) > 0


def test_min_dev_half_keeps_no_clue(trained):
    trained.min_dev = 0.5  # the constructor refuses it; an attribute set later is read
    try:
        assert _assert_c_same(trained) == {}
    finally:
        trained.min_dev = BENCH["min_dev"]


@pytest.mark.parametrize("spam_kept", [True, False])
def test_one_message_of_a_class(spam_kept, halves):
    """nham or nspam is 1: one message of one class, all of the other."""
    train = halves[0]
    one = next(x for x in train if x[1] != spam_kept)
    many = [x for x in train if x[1] == spam_kept][::4]
    f = _trained(Robinson(), [one, *many])
    assert min(f.nham, f.nspam) == 1 and max(f.nham, f.nspam) > 100
    _assert_c_same(f)


def test_after_unlearning(halves):
    """Unlearning drops tokens (a dict with holes) and leaves counts at zero in a class."""
    train = halves[0][::5]  # both classes (the corpus is in folder order)
    f = _trained(SenderRobinson(**BENCH), train)
    assert f.nham > 100 and f.nspam > 100
    for toks, spam in train[::3]:
        f.unlearn_tokens(toks, spam)
    assert any(h == 0 for h, _ in f.counts.values())
    assert any(s == 0 for _, s in f.counts.values())
    _assert_c_same(f)
    for toks, spam in train[::5]:  # learn some again: new tokens go after the holes
        f.learn_tokens(toks, spam)
    _assert_c_same(f)


def test_after_save_and_load(trained, tmp_path):
    path = trained.save(tmp_path / "f.json.gz")
    g = SenderRobinson.load(path)
    assert g.counts == trained.counts
    _assert_same(_assert_c_same(g), _tables(trained)[1])


def _hand(counts, nham=5, nspam=7, **params):
    f = Robinson(**params)
    f.counts = counts
    f.nham, f.nspam = nham, nspam
    return f


def test_hand_counts_with_zeros_and_large_counts():
    big = 2**53  # the largest count the C code takes
    counts = {
        "spam-only": [0, 3], "ham-only": [4, 0], "even": [2, 2], "none": [0, 0],
        "tuple": (1, 6), "big-ham": [big, 1], "big-spam": [0, big], "both-big": [big, big],
        "below-big": [big - 1, big - 1], "negative": [-3, 9], "once": [0, 1],
    }
    for params in ({}, dict(strength=0.0178, prior=0.52, min_dev=0.45), dict(min_dev=0.0)):
        table = _assert_c_same(_hand(dict(counts), **params))
        assert "spam-only" in table and "ham-only" in table
    _assert_c_same(_hand(dict(counts), nham=big, nspam=1))


@pytest.mark.parametrize("value", [[2**60, 1], [1, 2**53 + 1], [-(2**53) - 1, 4]])
def test_counts_beyond_2_53_are_left_to_python(value):
    f = _hand({"a": [1, 2], "huge": value, "b": [0, 5]})
    assert _c_table(f) is None
    compiled, python = _tables(f)
    _assert_same(compiled, python)


def test_totals_beyond_2_53_are_left_to_python():
    f = _hand({"a": [1, 2], "b": [0, 5]}, nham=2**60)
    assert _c_table(f) is None
    _assert_same(*_tables(f))


@pytest.mark.parametrize(
    "value",
    [[1.0, 2], [1, 2.0], [True, 1], (1, False), [1, 2, 3], [1], "12", None, {0: 1, 1: 2}],
    ids=repr,
)
def test_odd_counts_value_is_left_to_python(value):
    """What a loaded filter never holds but a hand-edited one might: C returns None and
    _fill gives what the Python code gives (a table, or the same exception)."""
    f = _hand({"a": [1, 2], "odd": value, "b": [0, 5]})
    assert _c_table(f) is None
    try:
        python = f._py_fill(_fresh_memo(f))
    except Exception as exc:  # the same error either way
        with pytest.raises(type(exc)):
            f._fill(_fresh_memo(f))
        return
    _assert_same(f._fill(_fresh_memo(f)), python)


def test_list_subclass_and_non_str_key_are_left_to_python():
    class Pair(list):
        pass

    f = _hand({"a": [1, 2], "odd": Pair([3, 1])})
    assert _c_table(f) is None
    _assert_same(*_tables(f))
    f = _hand({"a": [1, 2], 7: [3, 1]})
    assert _c_table(f) is None
    _assert_same(*_tables(f))


def test_zero_denominator_is_left_to_python():
    """strength 0 and a [0, 0] count: s + n is 0, which Python refuses."""
    f = _hand({"a": [1, 2], "zero": [0, 0]}, strength=0.0)
    assert _c_table(f) is None
    with pytest.raises(ZeroDivisionError):
        f._py_fill(_fresh_memo(f))
    with pytest.raises(ZeroDivisionError):
        f._fill(_fresh_memo(f))


def test_whole_number_parameters_keep_the_python_path():
    """Python's arithmetic on two ints is exact; the C code's, in double, is not always:
    _fill leaves int parameters to Python (and gives its table)."""
    f = _hand({"a": [1, 2], "b": [0, 5], "c": [9, 0]}, strength=1, prior=1, min_dev=0)
    assert type(f.strength) is int
    _assert_same(*_tables(f))


_GOOD = ({"a": [1, 2]}, 3, 4, 0.45, 0.5, 0.1)


@pytest.mark.parametrize("name", ["clue_table", "indexed_clue_table"])
def test_wrong_types_are_type_errors(name):
    make = getattr(C, name)
    for i, bad in enumerate([[("a", [1, 2])], 3.0, True, 1, 1, "0.1"]):
        args = list(_GOOD)
        args[i] = bad
        with pytest.raises(TypeError):
            make(*args)
    with pytest.raises(TypeError):
        make(*_GOOD[:5])
    with pytest.raises(TypeError):
        make(*_GOOD, None)


def test_clue_table_of_a_hand_made_count():
    assert C.clue_table(*_GOOD) == Robinson._py_fill(_hand({"a": [1, 2]}, 3, 4), {})


def test_scores_do_not_depend_on_which_table(halves):
    """The test half's ranks and scores from the compiled table == from the Python one."""
    train, test = halves
    for f in (_trained(SenderRobinson(**BENCH), train), _trained(Fisher(), train)):
        _fresh_memo(f)
        f._warm()  # _fill: the compiled table
        assert _c_table(f) is not None
        compiled = [f.rank_tokens(t) for t in test], [f.score_tokens(t) for t in test]
        f._py_fill(_fresh_memo(f))
        python = [f.rank_tokens(t) for t in test], [f.score_tokens(t) for t in test]
        assert compiled == python


# --- the table and its index in one pass (indexed_clue_table) ---------------------------


def test_fill_keeps_the_index_built_with_the_table(trained):
    memo = _fresh_memo(trained)
    table = trained._fill(memo)
    index = memo["index"]
    assert index is not None
    assert trained._index(memo) is index  # not built again
    _assert_index_of(index, table, list(trained.counts))
    trained._py_fill(memo)  # the Python table: no index of it yet
    assert "index" not in memo


@pytest.mark.parametrize(
    "counts",
    [
        {},
        {"one": [0, 4]},
        {"": [0, 4], "not-a-clue": [3, 3]},
        {"y" * 100_000: [5, 0], "\u20ac" * 100_000: [0, 6], "\U0001f600": [0, 2],
         "caf\u00e9": [4, 0], "nul\x00": [0, 3], "even": [2, 2]},
        {f"token{i}": [i % 7, (i * 5) % 11] for i in range(3000)},
    ],
    ids=["empty", "one", "empty-key", "huge-and-non-ascii", "many"],
)
def test_indexed_tables_of_0_1_and_many_entries(counts):
    f = _hand(counts, min_dev=0.1)
    table = _c_table(f)  # checks indexed_clue_table's table and index too
    assert table == f._py_fill({})


def test_indexed_clue_table_python_cases():
    table, index = C.indexed_clue_table(*_GOOD)
    assert table == C.clue_table(*_GOOD)
    assert C.indexed_clue_table({"a": [1, 2], 7: [1, 1]}, *_GOOD[1:]) is None
    assert C.indexed_clue_table({"a": [1, 2], "b": [0, 2**60]}, *_GOOD[1:]) is None


def test_indexed_clue_table_releases_its_references():
    import gc
    import sys

    key = "".join(["leak", "-check"])  # a key object of our own
    counts = {key: [0, 3], "other": [2, 2]}
    before = sys.getrefcount(key)
    for _ in range(1000):
        table, index = C.indexed_clue_table(counts, 5, 7, 0.45, 0.5, 0.1)
    assert sys.getrefcount(key) == before + 2  # the last table and its index
    del table, index
    gc.collect()
    assert sys.getrefcount(key) == before
    for _ in range(100):  # refused half way: what was taken is given back
        assert C.indexed_clue_table({key: [0, 3], "odd": [1.0, 2]}, 5, 7, 0.45, 0.5, 0.1) is None
    assert sys.getrefcount(key) == before
