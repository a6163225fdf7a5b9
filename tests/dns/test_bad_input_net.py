"""labkit.net given a host name, a wrong type or empty text: a UsageError that says
what to give, never the ipaddress module's ValueError or a wrong address."""

from __future__ import annotations

import ipaddress

import pytest

from labkit import net
from labkit.errors import UsageError


@pytest.mark.parametrize("call", [net.to_loopback, net.is_lab_address, net.from_loopback],
                         ids=["to_loopback", "is_lab_address", "from_loopback"])
def test_a_host_name_is_refused_with_the_hint_to_give_an_address(call):
    with pytest.raises(UsageError, match="give an address, not a host name.*mx.corp.example"):
        call("mx.corp.example")


@pytest.mark.parametrize("call", [net.to_loopback, net.is_lab_address, net.from_loopback],
                         ids=["to_loopback", "is_lab_address", "from_loopback"])
@pytest.mark.parametrize("value", ["", None, b"203.0.113.7"], ids=["empty", "None", "bytes"])
def test_empty_text_and_other_types_are_usage_errors(call, value):
    with pytest.raises(UsageError, match="IP address"):
        call(value)


def test_an_address_given_as_a_number_is_refused_not_mapped_to_garbage():
    # 3405803783 is 203.0.113.7 as an integer: it used to become '127.'
    with pytest.raises(UsageError, match="as text such as '203.0.113.7', not int"):
        net.to_loopback(3405803783)


def test_harmless_variants_still_map():
    assert net.to_loopback(" 203.0.113.7 ") == "127.0.113.7"
    assert net.from_loopback(ipaddress.ip_address("127.0.113.7")) == "203.0.113.7"
    assert net.is_lab_address(ipaddress.ip_address("198.51.100.9")) is True
    assert net.from_loopback("127.0.0.1") == "127.0.0.1"  # not an alias: unchanged


def test_free_port_on_a_documentation_address_points_at_its_loopback_alias():
    with pytest.raises(UsageError, match="loopback as '127.0.113.7'"):
        net.free_port("203.0.113.7")
    # a wrong type is a TypeError, as everywhere else in labkit
    with pytest.raises(TypeError, match="host must be a str such as '127.0.0.1', not int"):
        net.free_port(5)
    assert not issubclass(UsageError, TypeError)
    assert 0 < net.free_port("127.0.0.1") < 65536
