"""labkit.net given a host name or empty text: a UsageError that says what to give,
never the ipaddress module's ValueError or a wrong address.  A wrong type (a number,
None, bytes, a list) is a TypeError naming the argument, as everywhere else in labkit."""

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


CALLS = {"to_loopback": (net.to_loopback, "doc_ip"), "is_lab_address": (net.is_lab_address, "ip"),
         "from_loopback": (net.from_loopback, "lo_ip")}


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("value", ["", "  "], ids=["empty", "spaces"])
def test_empty_text_is_a_usage_error(name, value):
    call, _arg = CALLS[name]
    with pytest.raises(UsageError, match="is not an IP address"):
        call(value)


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize(("value", "shown"), [
    (None, "NoneType"),
    (b"203.0.113.7", r"bytes \(text, not bytes: \.decode\(\) it\)"),
    (["203.0.113.7"], r"list \(one value here, not a list\)"),
    (3405803783, "int"),  # 203.0.113.7 as an integer: it used to become '127.'
    (True, "bool"),
    (2.5, "float"),
], ids=["None", "bytes", "list", "int", "bool", "float"])
def test_a_wrong_type_is_a_type_error_naming_the_argument(name, value, shown):
    # these were UsageErrors (a wrong value), unlike every other labkit call given a wrong type
    call, arg = CALLS[name]
    with pytest.raises(TypeError, match=f"^{arg} must be a str such as '203.0.113.5', not {shown}"):
        call(value)


@pytest.mark.parametrize("value", [None, 5, b"203.0.113.7", ["203.0.113.7"], "", "mx.corp.example"])
def test_is_address_answers_false_for_anything_that_is_no_address(value):
    assert net.is_address(value) is False


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


@pytest.mark.parametrize(("value", "said"), [
    ("abc", "give an address, not a host name: lo_ip 'abc'"),
    ("127.0.113.7:25", r"lo_ip '127.0.113.7:25' is not an IP address \(such as '127.0.113.7'\)"
                       r".*without the port"),
    ("127.300.1.1", r"lo_ip '127.300.1.1' is not an IP address \(such as '127.0.113.7'\)"),
    ("", r"lo_ip '' is not an IP address \(such as '127.0.113.7'\)"),
], ids=["word", "with-port", "octet-too-big", "empty"])
def test_from_loopback_refuses_text_that_is_no_address(value, said):
    # these came back unchanged, as if they were a client's address
    with pytest.raises(UsageError, match=said):
        net.from_loopback(value)


def test_from_loopback_still_passes_addresses_that_are_no_alias_through():
    # what the SMTP and POP3 servers hand it: a peer's address, IPv4 or IPv6
    assert net.from_loopback("127.51.100.25") == "198.51.100.25"
    assert net.from_loopback(" 127.0.2.9 ") == "192.0.2.9"
    assert net.from_loopback("127.1.2.3") == "127.1.2.3"
    assert net.from_loopback("::1") == "::1"
    assert net.from_loopback("2001:db8::5") == "2001:db8::5"
