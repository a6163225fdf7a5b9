"""SPF and DMARC outcomes remembered per version of the lab DNS data (cached resolvers)."""

from __future__ import annotations

import labkit.dns
from labkit.auth import dmarc, spf

ZONE = """
$ORIGIN m.example.
$TTL 300
@     IN SOA ns hostmaster 1 3600 600 86400 300
@     IN NS  ns
ns    IN A   192.0.2.53
@     IN TXT "v=spf1 ip4:192.0.2.1 -all"
mac   IN TXT "v=spf1 exists:%{i}.ok.m.example -all"
192.0.2.1.ok IN A 127.0.0.2
slow  IN TXT "v=spf1 include:gone.m.example -all"
"""


def test_same_inputs_same_data_one_evaluation_and_a_change_is_seen_at_once():
    with labkit.dns.LabDNS(zones=ZONE) as lab:
        res = lab.resolver(cache=True)
        first = spf.check("192.0.2.1", "a@m.example", "h.m.example", dns=res)
        again = spf.check("192.0.2.1", "a@m.example", "h.m.example", dns=res)
        assert first.result == "pass" and again is first
        other_ip = spf.check("192.0.2.9", "a@m.example", "h.m.example", dns=res)
        assert other_ip.result == "fail"
        lab.add("m.example", "TXT", '"v=spf1 ip4:192.0.2.9 -all"')
        after = spf.check("192.0.2.1", "a@m.example", "h.m.example", dns=res)
        assert after.result == "fail" and after.record == "v=spf1 ip4:192.0.2.9 -all"
        # and the remembered result equals a fresh evaluation on an uncached resolver
        assert after.to_dict() == spf.check("192.0.2.1", "a@m.example", "h.m.example", dns=lab).to_dict()


def test_macros_and_dns_failures_are_not_remembered():
    with labkit.dns.LabDNS(zones=ZONE, faults={"gone.m.example": "servfail"}) as lab:
        res = lab.resolver(cache=True, timeout=0.5)
        one = spf.check("192.0.2.1", "a@mac.m.example", "h", dns=res)
        two = spf.check("192.0.2.1", "a@mac.m.example", "h", dns=res)
        assert one.result == two.result == "pass" and two is not one  # %{i}: not remembered
        bad = spf.check("192.0.2.1", "a@slow.m.example", "h", dns=res)
        worse = spf.check("192.0.2.1", "a@slow.m.example", "h", dns=res)
        assert bad.result == worse.result == "temperror" and worse is not bad


DMARC_ZONE = ZONE + """
_dmarc IN TXT "v=DMARC1; p=reject"
"""


class _Pass:
    def __init__(self, domain):
        self.result, self.domain = "pass", domain


def test_dmarc_outcome_remembered_until_the_record_changes():
    with labkit.dns.LabDNS(zones=DMARC_ZONE) as lab:
        res = lab.resolver(cache=True)
        first = dmarc.check("m.example", spf=_Pass("other.example"), dkim=(), dns=res)
        again = dmarc.check("m.example", spf=_Pass("other.example"), dkim=(), dns=res)
        assert (first.result, first.disposition) == ("fail", "reject") and again is first
        aligned = dmarc.check("m.example", spf=_Pass("m.example"), dkim=(), dns=res)
        assert aligned.result == "pass"  # other inputs, other outcome
        lab.add("_dmarc.m.example", "TXT", '"v=DMARC1; p=quarantine"')
        after = dmarc.check("m.example", spf=_Pass("other.example"), dkim=(), dns=res)
        assert (after.result, after.disposition) == ("fail", "quarantine")
        fresh = dmarc.check("m.example", spf=_Pass("other.example"), dkim=(), dns=lab)
        assert after.to_dict() == fresh.to_dict()


def test_dmarc_dns_errors_are_not_remembered():
    with labkit.dns.LabDNS(zones=DMARC_ZONE, faults={"_dmarc.m.example": "servfail"}) as lab:
        res = lab.resolver(cache=True, timeout=0.5)
        one = dmarc.check("m.example", spf=_Pass("m.example"), dkim=(), dns=res)
        two = dmarc.check("m.example", spf=_Pass("m.example"), dkim=(), dns=res)
        assert one.result == two.result == "temperror" and two is not one


def test_dkim_key_fetched_once_per_data_version_and_failures_asked_again():
    from labkit.auth import dkim
    from tests.auth.dkim_support import MESSAGE, keypair, zone

    key = keypair("rsa")
    signed = dkim.sign(MESSAGE, domain="k.example", selector="s1", private_key=key.private_pem)

    def key_queries(lab):
        return [q for q in lab.queries if q.name.lower() == "s1._domainkey.k.example."]

    with labkit.dns.LabDNS(zones=zone("k.example", {"s1": key.public_txt})) as lab:
        res = lab.resolver(cache=True, max_ttl=0.0)  # no plain DNS caching: only the memo
        assert [r.result for r in dkim.verify(signed, dns=res)] == ["pass"]
        assert [r.result for r in dkim.verify(signed, dns=res)] == ["pass"]
        assert len(key_queries(lab)) == 1
        lab.remove("s1._domainkey.k.example", "TXT")
        assert [r.code for r in dkim.verify(signed, dns=res)] == ["key-not-found"]
        lab.set_fault("s1._domainkey.k.example", "servfail")
        before = len(key_queries(lab))
        assert [r.result for r in dkim.verify(signed, dns=res)] == ["temperror"]
        assert [r.result for r in dkim.verify(signed, dns=res)] == ["temperror"]
        assert len(key_queries(lab)) == before + 2
