"""The sender-reputation filters fed parameters that make no sense.

``SenderRobinson(reputation=-1)`` was accepted and pushed every known-good sender
towards spam; ``min_sender=0`` or ``2.5`` was accepted too.  A wrong type is a
``TypeError``, a wrong value a :class:`labkit.errors.UsageError`, each naming the
parameter; valid values (NumPy's numbers too) work as before."""

from __future__ import annotations

import math

import pytest

import labkit as lk
from labkit.errors import UsageError

F = lk.filters
SPAM = b"From: a@spam.example\r\nSubject: cheap pills\r\n\r\nbuy cheap pills now winner prize\r\n"
HAM = b"From: c@ham.example\r\nSubject: meeting agenda\r\n\r\nthe meeting agenda for the review\r\n"


@pytest.mark.parametrize("kind", [F.SenderRobinson, F.GradedSenderRobinson])
@pytest.mark.parametrize("value", [-1, -0.1, math.nan, math.inf])
def test_reputation_below_zero_or_not_finite_is_refused(kind, value):
    with pytest.raises(UsageError, match=f"{kind.__name__}: reputation must be a number of 0 or more"):
        kind(reputation=value)


@pytest.mark.parametrize("value", [0, -1])
def test_min_sender_below_one_is_refused(value):
    with pytest.raises(UsageError, match=f"SenderRobinson: min_sender must be 1 or more, not {value}"):
        F.SenderRobinson(min_sender=value)


def test_min_sender_as_a_fraction_is_a_type_error():
    with pytest.raises(TypeError, match="SenderRobinson: min_sender must be a whole number"):
        F.SenderRobinson(min_sender=2.5)


def test_valid_reputation_and_min_sender_work_as_before():
    np = pytest.importorskip("numpy")
    plain = F.SenderRobinson(reputation=0.2, min_sender=1)
    numpy = F.SenderRobinson(reputation=np.float64(0.2), min_sender=np.int64(1))
    off = F.SenderRobinson(reputation=0)
    for f in (plain, numpy, off):
        f.learn(SPAM, True)
        f.learn(HAM, False)
    assert plain.score(HAM) == numpy.score(HAM) < off.score(HAM)  # the known sender helps


@pytest.mark.parametrize(("value", "exc", "says"), [
    (0, UsageError, "must be 1 or more, not 0"),
    (-2, UsageError, "must be 1 or more, not -2"),
    (2.5, TypeError, "must be a whole number"),
    ("3", TypeError, "must be"),
])
def test_graded_witnesses_must_be_a_whole_number_of_one_or_more(value, exc, says):
    # witnesses=0 or -2 had been read as 1 (max(int(w), 1)) and 2.5 as 2, without a word
    with pytest.raises(exc, match=f"GradedSenderRobinson: witnesses {says}"):
        F.GradedSenderRobinson(witnesses=value)


def test_graded_witnesses_survive_save_and_load(tmp_path):
    f = F.GradedSenderRobinson(witnesses=3)
    f.learn(SPAM, True)
    f.learn(HAM, False)
    f.save(tmp_path / "g.json")
    back = F.load_filter(tmp_path / "g.json")  # a whole-number parameter comes back whole
    assert back.witnesses == 3 and isinstance(back.witnesses, int)
    assert back.score(HAM) == f.score(HAM)


def test_a_file_with_whole_floats_loads_whole_and_a_fraction_is_refused(tmp_path):
    """Files saved by a filter that was itself loaded held 2.0 for min_sender; they still
    load (as 2). A fraction where a whole number belongs is a damaged file."""
    f = F.SenderRobinson(min_sender=2, max_discriminators=150)
    f.learn(SPAM, True)
    f.learn(HAM, False)
    data = f.to_dict()
    data["params"].update(min_sender=2.0, max_discriminators=150.0)
    back = F.SenderRobinson.from_dict(data)
    assert (back.min_sender, back.max_discriminators) == (2, 150)
    assert isinstance(back.min_sender, int) and isinstance(back.max_discriminators, int)
    data["params"]["max_discriminators"] = 150.5  # was cut to 150 without a word
    with pytest.raises(UsageError, match="filter file: max_discriminators must be a whole number"):
        F.SenderRobinson.from_dict(data)
