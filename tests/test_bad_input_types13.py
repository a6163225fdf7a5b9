"""Wrong types and wrong values found in review 13, each now refused at the call.

Convention (labkit/_coerce.py): a wrong type is a ``TypeError`` that names the argument
and what was given; a wrong value of the right type is a :class:`UsageError` saying
what is allowed.
"""

from __future__ import annotations

import numpy as np
import pytest

import labkit as lk
from labkit.errors import UsageError

# --- Lab(dns_cache=...): True, False or a number of seconds ------------------------------


@pytest.mark.parametrize(("value", "shown"), [(None, "NoneType None"), ("no", "str 'no'"),
                                              ("30", "str '30'"), ([30], r"list \[30\]")])
def test_lab_dns_cache_of_the_wrong_type_is_refused(value, shown):
    # None was read as False (no cache) without a word
    with pytest.raises(TypeError, match=f"dns_cache must be True, False or a number of seconds "
                                        f"such as 30, not {shown}"):
        lk.Lab(dns_cache=value)


@pytest.mark.parametrize("value", [-5, float("nan"), float("inf")])
def test_lab_dns_cache_a_number_that_is_no_duration_is_a_usage_error(value):
    # -5 was read as False (no cache), NaN was a TypeError, inf taken
    with pytest.raises(UsageError, match="dns_cache must be True, False or a number of "
                                         "seconds of 0 or more, such as 30"):
        lk.Lab(dns_cache=value)


@pytest.mark.parametrize(("value", "kept"), [(True, True), (False, False), (0, False), (0.0, False),
                                             (30, 30.0), (2.5, 2.5), (np.int64(30), 30.0),
                                             (np.float64(2.5), 2.5)])
def test_lab_dns_cache_switches_and_durations_are_taken(value, kept):
    lab = lk.Lab(dns_cache=value)
    assert lab.dns_cache == kept and type(lab.dns_cache) is type(kept)


def test_lab_dns_cache_is_checked_when_assigned_too():
    # it is read at start(), like the Flag switches backscatter and srs
    lab = lk.Lab()
    with pytest.raises(TypeError, match="dns_cache must be True, False or a number of seconds"):
        lab.dns_cache = None
    assert lab.dns_cache is True
    lab.dns_cache = 0
    assert lab.dns_cache is False
