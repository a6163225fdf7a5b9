"""labkit.filters._cgrams: the compiled 4-gram columns and SVM margins equal the Python's.

The Python (``grams._py_gram_columns``, the SciPy CSR product) is the reference; the
C must give the same columns and the same floats, compared with == (never approx).
Skipped when the module is not built (tests/filters/test_compiled.py makes CI build it).
"""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest

from labkit.filters import compiled, grams
from labkit.filters.ensemble import SVMSenderRobinson

_c = compiled.load("_cgrams")
pytestmark = pytest.mark.skipif(_c is None, reason="labkit.filters._cgrams is not built "
                                "(or LABKIT_PURE_PYTHON is set)")


def c_columns(raw: bytes, head: int, n_bits: int) -> list[int]:
    return np.frombuffer(_c.columns(raw[:head], n_bits), dtype=np.int32).tolist()


def py_columns(raw: bytes, head: int, n_bits: int) -> list[int]:
    return grams._py_gram_columns(raw, head=head, n_bits=n_bits).tolist()


@pytest.fixture
def python_only(monkeypatch):
    """grams with its compiled module switched off, as LABKIT_PURE_PYTHON=1 leaves it
    (not a mock: the module's own Python path runs)."""
    monkeypatch.setattr(grams, "_c", None)
    return grams


def csr_margins(raws, coef, intercept, *, head, n_bits, python_only):
    """What svm_margins returned before the C: the CSR matrix of the Python columns,
    times the weights, plus the intercept."""
    assert python_only._c is None
    return python_only.gram_matrix(raws, head=head, n_bits=n_bits) @ coef + intercept


def weights(n_bits: int, seed: int = 0) -> np.ndarray:
    """Weights of mixed signs and magnitudes, so that any change in the order or the
    rounding of the sum shows in the last bits."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=2**n_bits) * 10.0 ** rng.integers(-6, 3, size=2**n_bits)


def cuts(raw: bytes) -> list[int]:
    """Heads that end inside a multi-byte run: inside the blank line between header and
    body (a white-space run), and between the two bytes of a UTF-8 character."""
    heads = []
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep)
        if at >= 0:
            heads.append(at + len(sep) // 2 + 1)
            break
    for i in range(len(raw) - 1):
        if 0xC2 <= raw[i] <= 0xF4 and 0x80 <= raw[i + 1] <= 0xBF:
            heads.append(i + 1)
            break
    return heads


EDGES = [
    b"",
    b"a",
    b"ab",
    b"abc",
    b"abcd",
    b"abcde",
    b" \t\r\n\x0b\x0c  \t",  # all white space: folds to one space
    b" " * 5000,
    b"\xff" * 4,
    b"\xff" * 3000,  # every gram two bytes a character
    b"\x00" * 10,
    b"ab\x00cd\x00\x00ef\x00",
    b"a\x85\xa0b",  # NEL + no-break space: one run of two, folded
    b"x\x85\xa0\x85\xa0\x85y z\x85w\xa0v",  # a long run, then single ones kept
    b"x\x1c\x1d\x1e\x1fy \x1c z",
    b"caf\xe9 cr\xe8me br\xfbl\xe9e",
    b"ab  \t\r\n cd\n\nef\n",
    b"  \t\n  ab",  # " ab" after folding: too short
    b"\x80\x81\xbf\xc0\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",  # malformed and real UTF-8
    bytes(range(256)),
    bytes(range(255, -1, -1)) * 12,
    random.Random(5).randbytes(200_000),  # huge, and every byte value
]


@pytest.mark.parametrize("n_bits", [0, 1, 8, 10, 20, 24, 31])
def test_edge_case_columns(n_bits):
    for raw in EDGES:
        for head in (3, 4, 5, 3000, len(raw), 10**9):
            assert c_columns(raw, head, n_bits) == py_columns(raw, head, n_bits), (raw[:40], head)


@pytest.mark.parametrize(("head", "n_bits"), [(3000, 20), (3000, 8), (101, 11), (100_000, 24)])
def test_corpus_columns(full_corpus, head, n_bits):
    assert len(full_corpus) == 6045
    for m in full_corpus:
        assert c_columns(m.raw, head, n_bits) == py_columns(m.raw, head, n_bits), m.name


def test_corpus_columns_with_heads_cutting_multibyte_runs(full_corpus):
    cut = 0
    for m in full_corpus:
        for head in cuts(m.raw):
            cut += 1
            for n_bits in (20, 9):
                assert c_columns(m.raw, head, n_bits) == py_columns(m.raw, head, n_bits), m.name
    assert cut > 6045  # a blank line in every message, a UTF-8 character in some


def test_gram_columns_uses_the_c_and_keeps_the_python_contract():
    cols = grams.gram_columns(b"abcdabcd")
    assert cols.dtype == np.int32 and cols.flags.writeable
    assert cols.tolist() == grams._py_gram_columns(b"abcdabcd").tolist()
    # what the C does not take (a bytearray, n_bits past 31) still works, in Python
    assert grams.gram_columns(bytearray(b"abcdabcd")).tolist() == cols.tolist()
    assert grams.gram_columns(b"abcdefgh", n_bits=40).tolist() == \
        grams._py_gram_columns(b"abcdefgh", n_bits=40).tolist()


@pytest.fixture(scope="module")
def fitted(subset):
    """SVMSenderRobinson with its defaults (head 3000, n_bits 20), fitted on the subset."""
    f = SVMSenderRobinson(reputation=0.2).train(subset)
    assert f.trained
    return f


def test_svm_margins_of_the_whole_corpus_equal_the_csr_product(full_corpus, fitted,
                                                               monkeypatch):
    raws = [m.raw for m in full_corpus]
    got = fitted.svm_margins(raws)  # the C, message by message
    svm = fitted._model()
    monkeypatch.setattr(grams, "_c", None)
    want = csr_margins(raws, svm.coef_[0], svm.intercept_[0], head=3000, n_bits=20,
                       python_only=grams)
    assert np.abs(got).max() > 0.1  # a real model, not zeros
    assert got.dtype == want.dtype == np.float64
    assert got.tolist() == want.tolist()  # == on every float
    # and, through the Python path, svm_margins is what it was
    assert fitted.svm_margins(raws[:300]).tolist() == want[:300].tolist()


def test_decision_function_still_agrees(fitted, subset):
    raws = [m.raw for m in subset[:100]]
    svm = fitted._model()
    assert fitted.svm_margins(raws).tolist() == \
        svm.decision_function(fitted._features(raws)).tolist()


@pytest.mark.parametrize(("head", "n_bits"), [(3000, 20), (3000, 8), (101, 11)])
def test_corpus_margins_with_other_weights(full_corpus, head, n_bits, python_only):
    coef = weights(n_bits)
    raws = [m.raw for m in full_corpus]
    got = np.array([_c.margin(r[:head], n_bits, coef, -0.25) for r in raws])
    want = csr_margins(raws, coef, -0.25, head=head, n_bits=n_bits, python_only=python_only)
    assert got.tolist() == want.tolist()


def test_margins_with_heads_cutting_multibyte_runs(full_corpus, python_only):
    coef = weights(12, seed=1)
    pairs = [(m.raw, h) for m in full_corpus[::5] for h in cuts(m.raw)]
    got = [_c.margin(raw[:h], 12, coef, 1.5) for raw, h in pairs]
    want = [csr_margins([raw], coef, 1.5, head=h, n_bits=12, python_only=python_only)[0]
            for raw, h in pairs]
    assert got == want


def test_edge_case_margins(python_only):
    for n_bits in (0, 3, 10, 20):
        coef = weights(n_bits, seed=n_bits)
        for raw in EDGES:
            want = csr_margins([raw], coef, 0.125, head=3000, n_bits=n_bits,
                               python_only=python_only)
            assert _c.margin(raw[:3000], n_bits, coef, 0.125) == want[0], raw[:40]


def test_an_empty_row_is_the_intercept_and_keeps_the_sign_rule():
    coef = np.zeros(2**8)
    for raw in (b"", b"abc", b"  \t\n  ab"):
        assert _c.margin(raw, 8, coef, 0.75) == 0.75
        # the CSR sum starts at +0.0, and 0.0 + -0.0 is +0.0
        assert str(_c.margin(raw, 8, coef, -0.0)) == "0.0"


def test_gram_margins_uses_the_c_and_falls_back_to_the_product(full_corpus, monkeypatch):
    raws = [m.raw for m in full_corpus[:200]]
    coef = weights(10, seed=3)
    with monkeypatch.context() as m:
        # (a stand-in that fails: proves the C ran, and built no matrix)
        m.setattr(grams, "gram_matrix", lambda *a, **k: pytest.fail("the C path was not taken"))
        compiled_ = grams.gram_margins(raws, coef, np.float64(0.5), head=700, n_bits=10)
        listed = grams.gram_margins(raws[:3], coef.tolist(), 0.5, head=700, n_bits=10)
        f32 = grams.gram_margins(raws, coef.astype(np.float32), 1, head=700, n_bits=10)
        assert grams.gram_margins([], coef, 0.5, n_bits=10).shape == (0,)
    monkeypatch.setattr(grams, "_c", None)
    want = csr_margins(raws, coef, np.float64(0.5), head=700, n_bits=10, python_only=grams)
    assert grams.gram_margins(raws, coef, np.float64(0.5), head=700, n_bits=10).tolist() \
        == want.tolist()
    assert compiled_.tolist() == want.tolist()
    assert listed.tolist() == want[:3].tolist()
    # float32 weights and an int intercept: what the product gives for them
    assert f32.tolist() == (grams.gram_matrix(raws, head=700, n_bits=10)
                            @ coef.astype(np.float32) + 1).tolist()


def test_the_c_functions_check_their_arguments():
    coef = np.zeros(2**8)
    with pytest.raises(TypeError, match="head must be bytes"):
        _c.columns(bytearray(b"abcd"), 8)
    with pytest.raises(TypeError, match="n_bits must be an int"):
        _c.columns(b"abcd", True)
    with pytest.raises(TypeError, match="n_bits must be an int"):
        _c.margin(b"abcd", 8.0, coef, 0.0)
    for bad in (-1, 32, 2**70):
        with pytest.raises(ValueError, match="n_bits must be from 0 to 31"):
            _c.columns(b"abcd", bad)
    with pytest.raises(TypeError, match="takes 2 arguments"):
        _c.columns(b"abcd")
    with pytest.raises(TypeError, match="takes 4 arguments"):
        _c.margin(b"abcd", 8, coef)
    with pytest.raises(TypeError, match="intercept must be a float"):
        _c.margin(b"abcd", 8, coef, 0)
    with pytest.raises(TypeError, match="coef must be a float64 array"):
        _c.margin(b"abcd", 8, [0.0] * 256, 0.0)
    with pytest.raises(ValueError, match="coef has 512 weights, not 2\\*\\*8"):
        _c.margin(b"abcd", 8, np.zeros(512), 0.0)
    for wrong in (np.zeros(256, dtype=np.float32), np.zeros((16, 16)), bytes(8 * 256),
                  np.zeros(256, dtype=np.int64)):
        with pytest.raises(ValueError, match="one-dimensional array of float64"):
            _c.margin(b"abcd", 8, wrong, 0.0)
    with pytest.raises((ValueError, BufferError)):  # NumPy refuses a strided view
        _c.margin(b"abcd", 8, np.zeros(512)[::2], 0.0)
    # a read-only buffer is fine: the weights are only read
    frozen = np.zeros(256)
    frozen.flags.writeable = False
    assert _c.margin(b"abcdef", 8, frozen, 0.5) == 0.5
    assert _c.margin(b"abcdef", 8, memoryview(frozen), 0.5) == 0.5


def test_no_reference_is_leaked():
    # every path, error paths included, gives back what it took: the weights' buffer
    # export (a held export would keep a reference to the array) and the results
    coef = weights(8)
    before = sys.getrefcount(coef)
    for _ in range(2000):
        _c.margin(b"Subject: hello\n\nbody  text \xe9\xe9", 8, coef, 0.0)
        _c.margin(b"ab", 8, coef, 0.0)
        with pytest.raises(ValueError):
            _c.margin(b"abcd", 9, coef, 0.0)
    assert sys.getrefcount(coef) == before


# -- the two ways the C makes the columns distinct: a bitmap up to _c.BITMAP_MAX_BITS,
# a radix sort above it.  The bitmap is module-level memory shared by every call, so
# the tests below also check that no call leaves a bit set for the next one.

#: n_bits on both sides of the switch (20 and 21: bitmap; 22, 24 and 28: sort)
BOTH_PATHS = [20, 21, 22, 24, 28]


def test_the_n_bits_tested_cover_both_paths():
    assert min(BOTH_PATHS) <= _c.BITMAP_MAX_BITS < max(BOTH_PATHS)
    assert _c.BITMAP_MAX_BITS in BOTH_PATHS and _c.BITMAP_MAX_BITS + 1 in BOTH_PATHS


@pytest.mark.parametrize("n_bits", BOTH_PATHS + [31])
def test_corpus_columns_on_both_paths(full_corpus, n_bits):
    for m in full_corpus:
        assert c_columns(m.raw, 3000, n_bits) == py_columns(m.raw, 3000, n_bits), m.name


@pytest.mark.parametrize("n_bits", [20, 21, 22, 24])
def test_corpus_margins_on_both_paths(full_corpus, n_bits, python_only):
    # (no 2**28 weights: 2 GB of float64; the sort path's margins are checked at 22, 24)
    coef = weights(n_bits, seed=n_bits)
    raws = [m.raw for m in full_corpus[::3]]
    got = [_c.margin(r[:3000], n_bits, coef, -1.0) for r in raws]
    want = csr_margins(raws, coef, -1.0, head=3000, n_bits=n_bits, python_only=python_only)
    assert got == want.tolist()


def test_every_small_n_bits_on_edge_cases():
    # below 2**6 columns the bitmap is one word, below 2**12 its summary is one word
    for n_bits in range(0, _c.BITMAP_MAX_BITS + 3):
        for raw in EDGES:
            assert c_columns(raw, 3000, n_bits) == py_columns(raw, 3000, n_bits), (n_bits, raw[:40])


#: 4-byte grams that hash to column 0 and to the last column, 2**n_bits - 1 (found by
#: search; the test checks it with the Python path first)
FIRST_AND_LAST = {
    12: (b"y/qk", b"h3>5"),
    20: (b"]R/\\", b"[UZ<"),
    21: (b"]R/\\", b",FW("),
    22: (b"@6q/", b",FW("),
    24: (b"oOk^", b"44'$"),
}


@pytest.mark.parametrize("n_bits", sorted(FIRST_AND_LAST))
def test_the_first_and_the_last_column(n_bits, python_only):
    first, last = FIRST_AND_LAST[n_bits]
    top = 2**n_bits - 1
    assert py_columns(first, 4, n_bits) == [0] and py_columns(last, 4, n_bits) == [top]
    coef = weights(n_bits, seed=7)
    coef[0], coef[top] = 1e3, -3.0  # the two ends weigh most: a lost one shows
    for raw in (first + b" " + last, last + first, last + b"\n" + first + b" " + last,
                first, last):
        cols = c_columns(raw, 3000, n_bits)
        assert cols == py_columns(raw, 3000, n_bits)
        assert (cols[0] == 0) == (first in raw) and (cols[-1] == top) == (last in raw)
        want = csr_margins([raw], coef, 0.5, head=3000, n_bits=n_bits, python_only=python_only)
        assert _c.margin(raw, n_bits, coef, 0.5) == want[0]


def test_repeated_calls_leave_no_column_behind(full_corpus):
    # two different messages, one after the other, over and over, at n_bits that share
    # the bitmap (the small ones use its first words): each call gives what a fresh
    # call gives, and the Python gives.  A bit left set would add a column to the next
    # message's columns (and a weight to its margin)
    a, b = full_corpus[0].raw, full_corpus[1].raw
    fresh = {(raw, n): py_columns(raw, 3000, n) for raw in (a, b) for n in (6, 13, 20, 21)}
    assert fresh[a, 20] != fresh[b, 20]
    coefs = {n: weights(n, seed=n) for n in (6, 13, 20, 21)}
    margins = {(raw, n): _c.margin(raw[:3000], n, coefs[n], 0.0) for raw, n in fresh}
    for _ in range(3):
        for n in (20, 6, 21, 13):
            for raw in (a, b):
                assert c_columns(raw, 3000, n) == fresh[raw, n]
                assert _c.margin(raw[:3000], n, coefs[n], 0.0) == margins[raw, n]
    for n in (20, 21):  # and a message of one gram has one column after all that
        assert len(c_columns(b"abcd", 4, n)) == 1


def test_a_failed_call_leaves_the_bitmap_clean(full_corpus, python_only):
    raw = full_corpus[2].raw
    coef = weights(20, seed=2)
    want = csr_margins([raw], coef, 0.0, head=3000, n_bits=20, python_only=python_only)[0]
    for bad in (np.zeros(2**19), np.zeros(2**20, dtype=np.float32), [0.0]):
        with pytest.raises((TypeError, ValueError)):
            _c.margin(raw[:3000], 20, bad, 0.0)
        with pytest.raises(TypeError):
            _c.margin(raw[:3000], 20, coef, 1)  # an int intercept
        assert _c.margin(raw[:3000], 20, coef, 0.0) == want
        assert c_columns(b"abcd", 4, 20) == py_columns(b"abcd", 4, 20)
        assert c_columns(raw, 3000, 20) == py_columns(raw, 3000, 20)


def test_threads_share_the_module(full_corpus):
    # the bitmap is shared: calls from several threads (each holding the GIL for a
    # whole call) give what one thread gives
    import threading

    raws = [m.raw[:3000] for m in full_corpus[:120]]
    coef = weights(20, seed=4)
    alone = [_c.margin(r, 20, coef, 0.0) for r in raws]
    results: dict[int, list[float]] = {}

    def run(i: int) -> None:
        order = raws[i:] + raws[:i]
        got = [_c.margin(r, 20, coef, 0.0) for _ in range(5) for r in order]
        results[i] = got[: len(raws)]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, got in results.items():
        assert got == alone[i:] + alone[:i]
    assert len(results) == 4


def test_the_bitmap_grows_in_a_fresh_process(tmp_path):
    # the bitmap is made at its first use and grown when a larger n_bits comes: in a
    # new interpreter, small n_bits first, then larger, then small again
    import subprocess

    script = (
        "import numpy as np\n"
        "from labkit.filters import compiled, grams\n"
        "c = compiled.load('_cgrams')\n"
        "raw = bytes(range(256)) * 4 + b'Subject: hello  there\\n\\nbody'\n"
        "for n in (3, 12, 7, 21, 5, 20, 13, 21, 0):\n"
        "    got = np.frombuffer(c.columns(raw, n), dtype=np.int32).tolist()\n"
        "    assert got == grams._py_gram_columns(raw, n_bits=n).tolist(), n\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
