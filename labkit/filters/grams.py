"""Hashed character 4-grams of a message's first bytes: the SVM's features.

:class:`~labkit.filters.ensemble.SVMSenderRobinson` reads a message as the set of
overlapping 4-byte windows of its head (``"Subj"``, ``"ubje"``, ...), each hashed to
one of ``2**n_bits`` columns; a message is a row with 1 in the columns of its grams,
scaled to length 1.

The features are exactly those of scikit-learn's
``HashingVectorizer(analyzer="char", ngram_range=(4, 4), lowercase=False, binary=True,
norm="l2", alternate_sign=False)`` on the head decoded as Latin-1: runs of white space
folded to one space, each gram's UTF-8 bytes hashed with 32-bit MurmurHash3 (seed 0),
column = |hash| mod ``2**n_bits``.  That vectoriser builds one Python string per gram;
here the grams of plain ASCII are packed four bytes to a 32-bit integer with NumPy and
hashed in one call of scikit-learn's ``murmurhash3_32`` (the hash of an int32 is the
hash of its four bytes in memory), and only grams with a byte of 0x80 or above (two
UTF-8 bytes each) are hashed one by one.  About eight times faster on the corpus, the
same matrix to the last bit (``tests/filters/test_grams.py`` compares the two).

When the optional compiled module ``labkit.filters._cgrams`` is built
(:mod:`labkit.filters.compiled`), :func:`gram_columns` and :func:`gram_margins` use it
instead: the same steps in C, one message at a time, with no NumPy call per message
(NumPy's overhead on arrays of a few thousand elements was most of the SVM's time per
message).  The Python code above stays the reference, callable as
:func:`_py_gram_columns`; ``tests/filters/test_compiled_grams.py`` checks that the two
give the same columns and the same margins, to the last bit, on the whole corpus.

Not used in the labs: the features of :mod:`labkit.filters.ensemble`'s SVM.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import compiled

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

#: scikit-learn's char analyzer folds every run of two or more white-space characters
#: (Unicode \\s, so \\x1c-\\x1f, \\x85 and \\xa0 count) into one space before cutting grams
_WHITE_RUNS = re.compile(r"\s\s+")
_INT32_MIN = -(2**31)
#: the compiled columns and margins, or None (not built, or LABKIT_PURE_PYTHON=1)
_c = compiled.load("_cgrams")


def _compiled_for(raw: object, n_bits: object) -> bool:
    """True when the C module is there and takes these arguments as the Python would
    (exactly bytes, a plain int n_bits from 0 to 31); anything else runs the Python."""
    return _c is not None and type(raw) is bytes and type(n_bits) is int and 0 <= n_bits <= 31


def gram_columns(raw: bytes, *, head: int = 3000, n_bits: int = 20) -> np.ndarray:
    """The sorted, distinct columns (int32) of the 4-grams of ``raw[:head]``; empty when
    the head, white space folded, is shorter than 4 bytes."""
    if _compiled_for(raw, n_bits):
        # a writable copy, as the Python version returns
        return np.frombuffer(_c.columns(raw[:head], n_bits), dtype=np.int32).copy()
    return _py_gram_columns(raw, head=head, n_bits=n_bits)


def _py_gram_columns(raw: bytes, *, head: int = 3000, n_bits: int = 20) -> np.ndarray:
    """:func:`gram_columns` in Python and NumPy: the reference for the compiled code."""
    from sklearn.utils import murmurhash3_32

    text = _WHITE_RUNS.sub(" ", raw[:head].decode("latin-1"))
    data = text.encode("latin-1")
    if len(data) < 4:
        return np.empty(0, dtype=np.int32)
    b = np.frombuffer(data, dtype=np.uint8).astype(np.uint32)
    packed = b[:-3] | (b[1:-2] << 8) | (b[2:-1] << 16) | (b[3:] << 24)  # gram i, bytes little-endian
    if sys.byteorder != "little":  # murmurhash3_32 hashes an int's bytes as they lie in memory
        packed = packed.byteswap()
    hashes = murmurhash3_32(packed.view(np.int32), seed=0).astype(np.int64)
    wide = np.flatnonzero((b[:-3] | b[1:-2] | b[2:-1] | b[3:]) & 0x80)
    if len(wide):  # grams with a non-ASCII byte: their UTF-8 form is longer than 4 bytes
        hashes[wide] = [murmurhash3_32(text[i : i + 4], seed=0) for i in wide.tolist()]
    size = 2**n_bits
    # scikit-learn's column for a hash h: |h| mod size, with |-2**31| taken as 2**31
    cols = np.where(hashes == _INT32_MIN, (2**31 - 1 - (size - 1)) % size, np.abs(hashes) % size)
    cols = cols.astype(np.int32)
    cols.sort()
    return cols[np.concatenate(([True], cols[1:] != cols[:-1]))]


def gram_matrix(raws: Sequence[bytes], *, head: int = 3000, n_bits: int = 20) -> csr_matrix:
    """A SciPy CSR matrix, one row per message: 1/sqrt(k) in the k columns of its grams
    (:func:`gram_columns`), so each row has length 1 (or is empty)."""
    from scipy import sparse

    rows = [gram_columns(r, head=head, n_bits=n_bits) for r in raws]
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(c) for c in rows], out=indptr[1:])
    # 1.0 / sqrt(k): what scikit-learn's l2 normalisation divides a row of k ones by
    data = np.concatenate([np.ones(len(c)) / np.sqrt(len(c)) for c in rows] or [np.empty(0)])
    indices = np.concatenate(rows or [np.empty(0, dtype=np.int32)])
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), 2**n_bits))


def gram_margins(
    raws: Sequence[bytes], coef: np.ndarray, intercept: float, *, head: int = 3000,
    n_bits: int = 20,
) -> np.ndarray:
    """A linear model's margin of each message: ``gram_matrix(raws) @ coef + intercept``
    (``coef``: one weight per column, ``2**n_bits`` of them), the same floats to the
    last bit; with the compiled module, computed message by message in C without
    building the matrix."""
    if _c is not None and all(_compiled_for(r, n_bits) for r in raws):
        weights = np.asarray(coef)
        # the C sums in float64: take it only where the product's result is float64 too
        # (weights and intercept of at most 64-bit floats or of ints: exact in float64)
        if (
            (weights.dtype.kind in "iu" or weights.dtype in (np.float16, np.float32, np.float64))
            and weights.shape == (1 << n_bits,)
            and isinstance(intercept, (int, float, np.integer, np.float16, np.float32))
        ):
            weights = np.ascontiguousarray(weights, dtype=np.float64)
            b = float(intercept)
            return np.array([_c.margin(r[:head], n_bits, weights, b) for r in raws],
                            dtype=np.float64)
    return gram_matrix(raws, head=head, n_bits=n_bits) @ coef + intercept


__all__ = ["gram_columns", "gram_margins", "gram_matrix"]
