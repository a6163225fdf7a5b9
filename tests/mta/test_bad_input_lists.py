"""AddressList entries that look like networks but are none, and host names given
as ``ip``: before, ``203.0.113.0/33`` silently became a domain entry that nothing
matches, and ``match(ip="mail.attacker.test")`` quietly answered None.
"""

from __future__ import annotations

import warnings

import pytest

from labkit.errors import UsageError
from labkit.filters.lists import AddressList


# ------------------------------------------------------------------ 6. AddressList entries
@pytest.mark.parametrize("entry", ["203.0.113.0/33", "203.0.113.256", "203.0.113",
                                   "2001:db8::/129", "2001:db8::zz", "attacker.test/24"])
def test_address_list_refuses_an_entry_that_is_a_broken_network(entry):
    with pytest.raises(UsageError, match=f"entry {entry!r}"):
        AddressList.from_entries(["brand.example", entry])


def test_address_list_valid_entries_read_as_before():
    lst = AddressList.from_entries(["203.0.113.5/24", "=brand.example", "a@b.example",
                                    "2001:db8::/32", "isp.example.  # comment"])
    assert [str(n) for n in lst.networks] == ["203.0.113.0/24", "2001:db8::/32"]
    assert lst.domains == ("isp.example",) and lst.exact_domains == ("brand.example",)


def test_address_list_match_ip_with_a_host_name_warns():
    lst = AddressList.from_entries(["203.0.113.0/24"])
    with pytest.warns(UserWarning, match="a host name, not an IP address"):
        assert lst.match(ip="mail.attacker.test") is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lst.match(ip="203.0.113.66") == "203.0.113.0/24"
        assert lst.match(ip="not an address") is None  # hostile input: no hit, no noise
