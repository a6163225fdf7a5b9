"""The receiver's name settings take one name as one name, as a lab cell writes them.

``("bl.dnsbl.example")`` without a trailing comma is a str, not a tuple: read letter by
letter, the DNSBL would be asked about zones "b", "l", "." ... and never list anyone.
"""

from __future__ import annotations

import ipaddress

import pytest

import labkit.filters
import labkit.mta
from labkit.errors import UsageError
from labkit.mta import make_message


def _msg(subject: str) -> bytes:
    return make_message(from_="x@noptr.test", to="alice@corp.example", subject=subject,
                        body="body\n")


def test_one_dnsbl_zone_as_a_string_still_refuses_the_listed_bot(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, scorer=None) as lab:
        mx = lab.receiver
        mx.dnsbl_zones = ("bl.dnsbl.example")  # noqa: UP034 - the learner's missing comma
        assert mx.dnsbl_zones == ("bl.dnsbl.example",)
        # 203.0.113.99 (bot.noptr.test) is listed in bl.dnsbl.example (CAST.md)
        res = lab.send(_msg("one zone"), from_host="bot.noptr.test")
        assert res.code == 554 and "bl.dnsbl.example" in res.reply, res.steps
        mx.dnsbl_zones = None  # no DNSBL at all: the bot gets through to RCPT
        res = lab.send(_msg("no zone"), from_host="bot.noptr.test")
        assert "bl.dnsbl.example" not in res.reply, res.steps


def test_names_settings_take_one_name_or_a_list(lab):
    mx = lab.receiver
    before = (mx.local_domains, mx.trusted_arc_sealers, mx.relay_networks, mx.dnsbl_zones)
    try:
        mx.trusted_arc_sealers = "lists.example.org"
        assert mx.trusted_arc_sealers == ("lists.example.org",)
        mx.local_domains = ["Corp.Example", "corp2.example"]
        assert mx.local_domains == ("corp.example", "corp2.example")
        mx.relay_networks = "192.0.2.0/24"
        assert mx.relay_networks == (ipaddress.ip_network("192.0.2.0/24"),)
        mx.relay_networks = [ipaddress.ip_network("10.0.0.0/8"), "198.51.100.0/24"]
        assert mx.relay_networks == (ipaddress.ip_network("10.0.0.0/8"),
                                     ipaddress.ip_network("198.51.100.0/24"))
    finally:
        (mx.local_domains, mx.trusted_arc_sealers, mx.relay_networks, mx.dnsbl_zones) = before


@pytest.mark.parametrize(("name", "value", "error", "words"), [
    ("dnsbl_zones", {"bl.dnsbl.example": 1}, TypeError, "dnsbl_zones must be a list of domain names"),
    ("dnsbl_zones", 5, TypeError, "not int 5"),
    ("trusted_arc_sealers", [b"lists.example.org"], TypeError, "not bytes"),
    ("local_domains", 7, TypeError, "local_domains must be a list of domain names"),
    ("relay_networks", "192.0.2.0/33", UsageError, "is not a network such as"),
    ("relay_networks", ["10.0.0.0/8", 10], TypeError, "each of relay_networks must be a str"),
])
def test_wrong_names_fail_when_set(lab, name, value, error, words):
    before = getattr(lab.receiver, name)
    with pytest.raises(error, match=words):
        setattr(lab.receiver, name, value)
    assert getattr(lab.receiver, name) == before  # nothing half-set


def test_spam_scorer_and_verdict_read_one_name_the_same_way():
    s = labkit.filters.SpamScorer(dnsbl_zones="bl.dnsbl.example")
    assert s.dnsbl_zones == ("bl.dnsbl.example",)
    with pytest.raises(TypeError, match="dnsbl_zones must be a list of domain names"):
        labkit.filters.SpamScorer(dnsbl_zones=3)
    from labkit.auth.verdict import _sealers
    assert _sealers("lists.example.org") == ("lists.example.org",) and _sealers(None) == ()
    with pytest.raises(TypeError, match="trusted_arc_sealers must be a list of domain names"):
        _sealers(0)  # was read as "no sealers"
