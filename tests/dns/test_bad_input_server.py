"""LabDNS's own calls given bad input: a clear labkit error at the call, never a
record that the server then answers wrongly (or not at all)."""

from __future__ import annotations

import dns.resolver
import pytest

import labkit.dns
from labkit.errors import UsageError
from tests.dns.test_server import ZONE  # t.example: www A 192.0.2.80, ns, an SOA


@pytest.fixture(scope="module")
def lab():
    with labkit.dns.LabDNS(zones=ZONE) as server:
        yield server


def test_add_outside_every_zone_names_the_zones_and_the_near_miss(lab_dns):
    with pytest.raises(UsageError) as caught:
        lab_dns.add("letters.corp.exmaple", "TXT", '"v=spf1 -all"')
    text = str(caught.value)
    assert "letters.corp.exmaple" in text and "corp.example, " in text
    assert "did you mean 'letters.corp.example'?" in text
    with pytest.raises(dns.resolver.NXDOMAIN):  # and nothing was published
        lab_dns.resolver().resolve("letters.corp.exmaple", "TXT", search=False)


def test_add_outside_every_zone_far_from_any_says_how_to_start_a_zone(lab):
    with pytest.raises(UsageError, match=r"new\.test is in none of the zones .*add its SOA "
                                         r"record first.*Zones served: t\.example\."):
        lab.add("www.new.test", "A", "192.0.2.7")


def test_add_with_an_address_for_a_name_shows_the_reverse_name(lab_dns):
    with pytest.raises(UsageError, match=r"'5\.113\.0\.203\.in-addr\.arpa'"):
        lab_dns.add("203.0.113.5", "PTR", "mx.corp.example.")


def test_an_soa_starts_a_zone_and_names_inside_it_are_then_taken(lab):
    try:
        lab.add("new.test", "SOA", "ns.t.example. hostmaster.new.test. 1 3600 600 86400 300")
        lab.add("www.new.test", "A", "192.0.2.7")
        answer = lab.resolver().resolve("www.new.test", "A", search=False)
        assert [r.address for r in answer] == ["192.0.2.7"]
    finally:
        lab.remove("www.new.test")
        lab.remove("new.test")


def test_a_labdns_without_any_soa_takes_any_name():
    with labkit.dns.LabDNS(zones="plain.test. 300 IN A 192.0.2.1\n") as server:
        server.add("other.example", "A", "192.0.2.2")
        answer = server.resolver().resolve("other.example", "A", search=False)
        assert [r.address for r in answer] == ["192.0.2.2"]


# ---------------------------------------------------------------- the rest of LabDNS's calls
@pytest.mark.parametrize("ttl", [-1, 2**31, True, None, 1.5, "soon"])
def test_add_refuses_a_ttl_the_server_could_not_send(lab, ttl):
    # -1 used to be stored, and then every answer at that name failed inside the server
    with pytest.raises(UsageError, match=r"ttl must be|is not a TTL"):
        lab.add("ttl.t.example", "TXT", '"x"', ttl=ttl)


def test_add_takes_ttls_as_before(lab):
    for ttl in (0, 60, "1h", 2**31 - 1):
        lab.add("ttl.t.example", "TXT", '"x"', ttl=ttl)
    assert lab.resolver().resolve("ttl.t.example", "TXT", search=False).rrset.ttl == 2**31 - 1
    lab.remove("ttl.t.example")


@pytest.mark.parametrize("rdtype, data", [("CNAME", "www.t.example"), ("MX", "10 www.t.example")])
def test_names_in_record_data_are_full_names_with_or_without_the_final_dot(lab, rdtype, data):
    # without the dot the name was stored relative, and the server then failed every
    # answer at that name (the client saw a time-out)
    lab.add("rel.t.example", rdtype, data)
    try:
        answer = lab.resolver(timeout=1).resolve("rel.t.example", rdtype, search=False)
        assert "www.t.example." in answer.rrset.to_text()
    finally:
        lab.remove("rel.t.example")


@pytest.mark.parametrize("args, phrase", [
    (("x.t.example", "TXTT", '"a"'), r"unknown record type 'TXTT' \(did you mean 'TXT'\?\)"),
    (("x.t.example", "", "192.0.2.1"), "record type is empty"),
    (("", "A", "192.0.2.1"), "the name is empty"),
    (("a@t.example", "TXT", '"a"'), r"give the part after the @ \('t.example'\)"),
    (("x.t.example", "A", "www.t.example"), "not a host name: .* use CNAME"),
    (("x.t.example", "MX", "www.t.example."), r"'10 mx.corp.example.'"),
    (("x.t.example", "CNAME", "192.0.2.80"), "use an A record"),
    (("80.2.0.192.in-addr.arpa", "PTR", "192.0.2.80"), "host name such as"),
], ids=["type typo", "empty type", "empty name", "address", "A host name", "MX no preference",
        "CNAME address", "PTR address"])
def test_add_mix_ups_are_named(lab, args, phrase):
    with pytest.raises(UsageError, match=phrase):
        lab.add(*args)


@pytest.mark.parametrize("args, phrase", [
    (("www.t.exmaple",), r"did you mean 'www.t.example'\?"),
    (("www.t.example", ""), "record type is empty"),  # it used to remove every type
    (("www.t.example", "MXX"), "did you mean 'MX'"),
], ids=["zone typo", "empty type", "type typo"])
def test_remove_mix_ups_are_named_and_remove_nothing(lab, args, phrase):
    with pytest.raises(UsageError, match=phrase):
        lab.remove(*args)
    assert lab.resolver().resolve("www.t.example", "A", search=False)


def test_remove_outside_the_zones_of_a_name_the_data_holds_still_works():
    text = ZONE + "$ORIGIN stray.example.\nstray.example. IN A 192.0.2.99\n"
    with labkit.dns.LabDNS(zones=text) as server:
        assert server.remove("stray.example") == 1


@pytest.mark.parametrize("call, phrase", [
    (lambda d: d.set_fault("www.t.exmaple", "timeout"), r"did you mean 'www.t.example'\?"),
    (lambda d: d.set_fault("", "timeout"), "the name is empty"),
    (lambda d: d.set_fault(5, "timeout"), "not int"),
    (lambda d: d.set_fault("www.t.example", 5), "not int"),
    (lambda d: d.set_fault("www.t.example/TXTT", "timeout"), "did you mean 'TXT'"),
    (lambda d: labkit.dns.parse_fault(5), "not int"),
], ids=["zone typo", "empty", "target int", "kind int", "type typo", "parse_fault int"])
def test_fault_mix_ups_are_named(lab, call, phrase):
    with pytest.raises(UsageError, match=phrase):
        call(lab)
    assert lab.faults == {}


def test_a_fault_on_a_domain_far_outside_the_zones_is_taken(lab):
    lab.set_fault("elsewhere.example.org/TXT", "timeout")  # a domain whose servers fail
    assert lab.faults == {"elsewhere.example.org./TXT": "timeout"}
    lab.clear_faults()


@pytest.mark.parametrize("kwargs, phrase", [
    ({"faults": ["www.t.example=timeout"]}, "faults must be a mapping"),
    ({"host": 5}, "host must be a str such as '127.0.0.1'"),
    ({"port": True}, "port must be a number such as 25"),
    ({"port": "53"}, "port must be a number such as 25"),
    ({"tcp_max_per_client": True}, "tcp_max_per_client must be a whole number"),
    ({"tcp_max_per_client": "2"}, "tcp_max_per_client must be a whole number"),
    ({"tcp_max_per_client": 2.5}, "tcp_max_per_client must be a whole number"),
], ids=["faults=list", "host=int", "port=True", "port='53'", "tcp_max=True", "tcp_max='2'",
        "tcp_max=2.5"])
def test_labdns_arguments_of_the_wrong_type_are_type_errors(kwargs, phrase):
    # a wrong type is a TypeError, as in the rest of labkit (these were UsageErrors,
    # tcp_max_per_client=True was even taken as 1 connection)
    with pytest.raises(TypeError, match=phrase):
        labkit.dns.LabDNS(zones=ZONE, **kwargs)


@pytest.mark.parametrize("kwargs, phrase", [
    ({"port": 70000}, "port must be a port number from 0 to 65535, not 70000"),
    ({"port": -1}, "port must be a port number from 0 to 65535, not -1"),
    ({"tcp_max_per_client": 0}, "tcp_max_per_client must be 1 or more, not 0"),
    ({"host": "  "}, "host must be an address to bind"),
], ids=["port=70000", "port=-1", "tcp_max=0", "host=blank"])
def test_labdns_arguments_of_a_wrong_value_are_usage_errors(kwargs, phrase):
    with pytest.raises(UsageError, match=phrase):
        labkit.dns.LabDNS(zones=ZONE, **kwargs)


@pytest.mark.parametrize("value", ["no", "false", None, 2.0])
def test_resolver_cache_switch_refuses_text_and_other_non_bools(lab, value):
    # cache="no" used to give a caching resolver (any non-empty text is truthy)
    with pytest.raises(TypeError, match="cache must be True or False"):
        lab.resolver(cache=value)


def test_resolver_cache_switch_still_takes_true_and_false(lab):
    from labkit.dns.cache import LabCache

    assert isinstance(lab.resolver(cache=True).cache, LabCache)
    assert lab.resolver(cache=False).cache is None
    assert lab.resolver().cache is None
    answer = lab.resolver(cache=True).resolve("www.t.example", "A", search=False)
    assert [r.to_text() for r in answer] == ["192.0.2.80"]


@pytest.mark.parametrize(("value", "exc"), [(True, TypeError), ("5", TypeError), (0, UsageError),
                                            (float("nan"), UsageError)])
def test_labdns_tcp_timeout_is_checked_as_every_timeout(value, exc):
    # a wrong type is a TypeError, a wrong number a UsageError (as labkit.mta's time-outs)
    with pytest.raises(exc, match="tcp_timeout must be a number of seconds"):
        labkit.dns.LabDNS(zones=ZONE, tcp_timeout=value)


@pytest.mark.parametrize("zones, phrase", [
    (5, "cannot read zones from int"),
    (b"x.example. 300 IN A 192.0.2.1\n", "not bytes"),
    ("", "empty zone text"),  # it used to read the *.zone files of the current folder
], ids=["int", "bytes", "empty"])
def test_zones_of_the_wrong_kind_are_zone_errors(zones, phrase):
    from labkit.errors import ZoneError

    with pytest.raises(ZoneError, match=phrase):
        labkit.dns.LabDNS(zones=zones)
