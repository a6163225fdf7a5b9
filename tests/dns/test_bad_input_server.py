"""LabDNS's own calls given bad input: a clear labkit error at the call, never a
record that the server then answers wrongly (or not at all)."""

from __future__ import annotations

import dns.resolver
import pytest

import labkit.dns
from labkit.errors import UsageError

ZONE = """
$ORIGIN t.example.
$TTL 300
@       IN SOA ns.t.example. hostmaster.t.example. 1 3600 600 86400 300
@       IN NS  ns
ns      IN A   192.0.2.53
www     IN A   192.0.2.80
"""


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
