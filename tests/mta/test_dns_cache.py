"""The lab's hosts cache DNS answers, yet a record changed in a notebook counts at once."""

from __future__ import annotations

import dns.resolver
import pytest

import labkit.mta
from labkit.dns.cache import LabCache
from labkit.mta import make_message


@pytest.fixture(scope="module")
def own_lab():
    """A Lab with its own LabDNS (these tests change records)."""
    with labkit.mta.Lab(scorer=None) as running:
        yield running


def _send(lab, subject, dkim=True):
    msg = make_message(from_="news@brand.example", to="alice@corp.example", subject=subject,
                       body="cache test\n")
    res = lab.send(msg, from_host="mail.brand.example", dkim=dkim)
    return res, lab.verdicts(res.message_id)[-1]


def _spf_events(lab, mail_from="news@brand.example"):
    return [e for e in lab.events.entries(host="mx.corp.example", event="spf") if e.get("mail_from") == mail_from]


def test_the_lab_caches_by_default_and_sees_an_added_record_immediately(own_lab):
    res = own_lab.resolver
    assert isinstance(res.cache, LabCache)
    name = "fresh-record.brand.example"
    with pytest.raises(dns.resolver.NXDOMAIN):
        res.resolve(name, "TXT")
    own_lab.dns.add(name, "TXT", '"first"')
    assert [r.strings for r in res.resolve(name, "TXT")] == [(b"first",)]
    own_lab.dns.add(name, "TXT", '"second"')
    assert [r.strings for r in res.resolve(name, "TXT")] == [(b"second",)]


def test_the_next_mail_sees_a_changed_spf_record_and_a_withdrawn_dkim_key(own_lab):
    dns_lab = own_lab.dns
    spf_before = [b"".join(r.strings).decode() for r in dns_lab.resolver().resolve("brand.example", "TXT")]
    key_name = "s2026._domainkey.brand.example"
    key_before = [" ".join(f'"{s.decode()}"' for s in r.strings) for r in dns_lab.resolver().resolve(key_name, "TXT")]
    try:
        _, first = _send(own_lab, "before the change")
        assert (first["spf"], first["dkim"], first["dmarc"]) == ("pass", ["pass:brand.example"], "pass")
        # the answers are in the MX's cache now; change both records in the LabDNS
        dns_lab.add("brand.example", "TXT", '"v=spf1 -all"')
        dns_lab.remove(key_name, "TXT")
        _, second = _send(own_lab, "after the change")
        assert second["spf"] == "fail"
        assert second["dkim"] == ["permerror:brand.example"]
        assert second["dmarc"] == "fail" and second["decision"] == "reject"
        assert _spf_events(own_lab)[-1]["decision"] == "fail"  # MAIL FROM saw it too
    finally:
        dns_lab.add("brand.example", "TXT", *(f'"{t}"' for t in spf_before))
        dns_lab.add(key_name, "TXT", *key_before)
    _, third = _send(own_lab, "after the restore")
    assert (third["spf"], third["dkim"], third["dmarc"]) == ("pass", ["pass:brand.example"], "pass")


def test_dns_cache_zero_asks_the_server_every_time_and_spf_is_checked_once_per_message(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, scorer=None, dns_cache=0) as lab:
        assert lab.resolver.cache is None
        lab_dns.clear_queries()
        _, verdict = _send(lab, "one spf look-up", dkim=False)
        assert verdict["spf"] == "pass"
        asked = [q for q in lab_dns.queries if q.name.rstrip(".").lower() == "brand.example" and q.rdtype == "TXT"]
        # the MAIL FROM check's result is reused at end of DATA (no second SPF walk)
        assert len(asked) == 1, [str(q) for q in lab_dns.queries]


def test_a_plain_resolver_given_as_dns_is_not_cached(lab_dns):
    with labkit.mta.Lab(dns=lab_dns.resolver(), scorer=None) as lab:
        assert lab.resolver.cache is None
