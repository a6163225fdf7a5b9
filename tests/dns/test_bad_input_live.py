"""labkit.dns.live given bad input: an error at the call that says what to give (a
TypeError for a wrong type, a UsageError for a wrong value), never a TypeError from
inside dnspython or a look-up of the wrong name.

No test here talks to real DNS (LABKIT_OFFLINE is set by tests/conftest.py)."""

from __future__ import annotations

import pytest

import labkit.dns
import labkit.dns.live
import labkit.paths
from labkit.errors import UsageError

live = labkit.dns.live

ROOT_ZONE = "$ORIGIN .\n$TTL 300\n@ SOA a.root.test. hm.root.test. 1 3600 600 86400 300\n@ NS a.root.test.\n"


@pytest.mark.parametrize(("timeout", "exc"), [
    ("1", TypeError), ("soon", TypeError), (None, TypeError), (True, TypeError),  # wrong type
    (0, UsageError), (-1, UsageError), (float("nan"), UsageError),  # wrong value
])
def test_dig_checks_its_timeout_up_front(lab_dns, timeout, exc):
    with pytest.raises(exc, match="timeout must be a number of seconds"):
        live.dig("brand.example", "TXT", mode="lab", lab=lab_dns, timeout=timeout)


def test_a_timeout_written_as_text_is_told_to_lose_the_quotes(lab_dns):
    with pytest.raises(TypeError, match="write timeout=1 without the quotes"):
        live.dig("brand.example", "TXT", mode="lab", lab=lab_dns, timeout="1")


@pytest.mark.parametrize("timeout", [1, 0.5])
def test_dig_takes_numbers_as_before(lab_dns, timeout):
    assert live.dig("brand.example", "TXT", mode="lab", lab=lab_dns, timeout=timeout).ok


@pytest.mark.parametrize(("call", "exc"), [
    (lambda d: d.resolver(timeout="2"), TypeError),
    (lambda d: d.resolver(max_ttl="60"), TypeError),
    (lambda d: d.resolver(max_ttl=-1), UsageError),
    (lambda d: labkit.dns.as_resolver(d, timeout=-1), UsageError),
    (lambda d: live.live_resolver(timeout="2"), TypeError),
    (lambda d: live.record_snapshots(["google.com"], timeout="2"), TypeError),
], ids=["resolver timeout", "resolver max_ttl", "max_ttl<0", "as_resolver", "live_resolver",
        "record_snapshots"])
def test_the_other_timeouts_are_checked_the_same_way(lab_dns, call, exc):
    # text is a TypeError (a wrong type), as in labkit.mta; a bad number a UsageError
    with pytest.raises(exc, match="must be a number of seconds"):
        call(lab_dns)


def test_dig_an_address_asks_for_the_part_after_the_at(lab_dns):
    with pytest.raises(UsageError, match=r"give the part after the @ \('brand.example'\)"):
        live.dig("a@brand.example", "TXT", mode="lab", lab=lab_dns)


def test_dig_an_ip_address_points_at_the_ptr_name(lab_dns):
    with pytest.raises(UsageError, match=r"PTR record of '5\.113\.0\.203\.in-addr\.arpa'"):
        live.dig("203.0.113.5", "PTR", mode="lab", lab=lab_dns)


@pytest.mark.parametrize("rdtype", [None, True, 1.0])
def test_dig_record_type_of_the_wrong_kind(lab_dns, rdtype):
    with pytest.raises(UsageError, match="rdtype must be a record type"):
        live.dig("brand.example", rdtype, mode="lab", lab=lab_dns)


def test_dig_with_lab_but_no_lab_mode_is_refused_not_ignored(lab_dns):
    # it used to ask live DNS (or the recordings) and say UNRECORDED for a lab name
    with pytest.raises(UsageError, match="add mode='lab'"):
        live.dig("brand.example", "TXT", lab=lab_dns)


@pytest.mark.parametrize("kwargs, phrase", [
    ({"mode": "live", "resolver": "8.8.8.8"}, "not the address of a server"),
    ({"mode": "snapshot", "snapshots": 5}, "path of a folder"),
], ids=["resolver=str", "snapshots=int"])
def test_dig_arguments_of_the_wrong_kind(kwargs, phrase):
    with pytest.raises(UsageError, match=phrase):
        live.dig("google.com", "TXT", **kwargs)


def test_internet_reachable_without_a_resolver_says_where_to_get_one():
    with pytest.raises(UsageError, match="live_resolver"):
        live.internet_reachable(None)


def test_record_snapshots_reads_one_name_as_one_name(tmp_path):
    with labkit.dns.LabDNS(zones=[str(labkit.paths.zones_dir()), ROOT_ZONE]) as internet:
        paths = live.record_snapshots("brand.example", tmp_path, resolver=internet.resolver())
    assert [p.name for p in paths] == ["brand.example_TXT.json"]  # not b_TXT, r_TXT, ...


def test_dig_a_misspelt_record_type_names_the_one_meant():
    with pytest.raises(UsageError, match=r"did you mean 'TXT'\?"):
        live.dig("google.com", "TXTT", mode="snapshot")
