"""NumPy's bool scalars count as True/False wherever labkit takes a label or a switch.

Labels straight from a NumPy array (``y == 1``) are NumPy bools; their type is named
``numpy.bool`` from NumPy 2.0 on (``numpy.bool_`` before), which a name check for
"bool_" alone missed: every such label was refused as "not True or False".
"""

from __future__ import annotations

import numpy as np
import pytest

from labkit import _coerce
from labkit.filters import Robinson
from labkit.filters import evaluate as E


def test_numpy_bool_scalars_are_truth_values():
    assert _coerce.truth(np.True_) is True and _coerce.truth(np.False_) is False
    assert _coerce.spam_label(np.bool_(True)) is True
    assert _coerce.flag(np.False_, "progress") is False


def test_a_numpy_bool_array_is_a_list_of_labels():
    labels = np.array([1, 0, 1, 0]) == 1  # what a learner's array comparison gives
    scores = [0.9, 0.2, 0.7, 0.4]
    assert E.auc(labels, scores) == E.auc([True, False, True, False], scores) == 1.0


def test_learn_takes_a_numpy_bool_label():
    f = Robinson()
    f.learn(b"Subject: cheap pills\n\nbuy cheap pills now", np.True_)
    f.learn(b"Subject: meeting\n\nsee you at the meeting", np.False_)
    assert (f.nspam, f.nham) == (1, 1)


@pytest.mark.parametrize("value", ["yes", 2, 0.5, None])
def test_other_values_are_still_not_truth_values(value):
    assert _coerce.truth(value) is None
