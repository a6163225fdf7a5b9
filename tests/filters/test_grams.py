"""labkit.filters.grams: the SVM's hashed 4-grams equal scikit-learn's HashingVectorizer's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer

from labkit.filters.grams import gram_columns, gram_matrix


def reference(raws, *, head=3000, n_bits=20):
    """The matrix the SVM was first built on: scikit-learn's vectoriser, strings per gram."""
    vec = HashingVectorizer(
        analyzer="char",
        ngram_range=(4, 4),
        lowercase=False,
        binary=True,
        norm="l2",
        alternate_sign=False,
        n_features=2**n_bits,
    )
    m = vec.transform([r[:head].decode("latin-1") for r in raws])
    m.sort_indices()
    return m


def assert_same(raws, **kw):
    got, want = gram_matrix(raws, **kw), reference(raws, **kw)
    assert got.shape == want.shape
    assert np.array_equal(got.indptr, want.indptr)
    assert np.array_equal(got.indices, want.indices)
    assert np.array_equal(got.data, want.data)  # bit for bit, not approximately


EDGES = [
    b"",
    b"abc",
    b"abcd",
    b"  \t\n  ab",  # folds to " ab": three bytes, no gram
    b"a \t\r\n b  c\x0b\x0cd",
    b"caf\xe9 cr\xe8me \xa0\xa0br\xfbl\xe9e",  # \xa0 is white space to Python's \s
    b"x\x1c\x1d\x1e\x1fy\x85\x85z",  # so are the separators and NEL
    b"\x00\x00\x00\x00\x00",
    bytes(range(256)),
    bytes(range(255, -1, -1)) * 3,
    b"Subject: \x1b$B$3$s$K$A$O\x1b(B\r\n\r\n\x81\x40\x82\xa0\xe3\x81\x82",
]


def test_edge_cases_match_scikit_learn():
    assert_same(EDGES)


@pytest.mark.parametrize(("head", "n_bits"), [(4, 8), (7, 12), (3000, 20), (100_000, 24)])
def test_head_and_width_match_scikit_learn(head, n_bits):
    assert_same([*EDGES, b"From: a@b.example\r\nSubject: hello hello hello\r\n\r\nbody " * 40],
                head=head, n_bits=n_bits)


def test_real_mail_matches_scikit_learn(full_corpus, subset):
    """The corpus subset, plus every message with an 8-bit byte in its first 3,000 (the
    grams hashed one by one) or with white space other than space, tab and line ends."""
    odd = [
        m.raw for m in full_corpus
        if any(b >= 0x80 or b in (0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x1F) for b in m.raw[:3000])
    ]
    assert len(odd) > 200
    assert_same([m.raw for m in subset] + odd)


def test_columns_are_sorted_distinct_and_in_range():
    cols = gram_columns(b"abcdabcd")  # abcd bcda cdab dabc abcd: four distinct grams
    assert cols.dtype == np.int32
    assert len(cols) == 4
    assert list(cols) == sorted(set(cols.tolist()))
    narrow = gram_columns(bytes(range(256)) * 4, n_bits=10)
    assert (np.diff(narrow) > 0).all()
    assert narrow.min() >= 0 and narrow.max() < 2**10
    assert len(gram_columns(b"ab c")) == 1
    assert len(gram_columns(b"ab\n\n")) == 0  # "ab " after folding: too short
