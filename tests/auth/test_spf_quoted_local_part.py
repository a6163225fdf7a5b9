"""SPF checks the domain after the *last* ``@`` of MAIL FROM (RFC 5321 4.1.2 allows ``@``
inside a quoted local part; RFC 7208 4.1 takes <domain> from the address's domain part).

pyspf 2.0.14 splits at the first ``@``, so ``"a@b"@q17.test`` was checked as the domain
``b"@q17.test`` (no such name: ``none``), and a domain publishing ``-all`` escaped its
``fail``.  Real DNS server, real pyspf; nothing mocked.
"""

from __future__ import annotations

import pytest

import labkit.dns
from labkit.auth import spf as lspf

ZONE = """
$ORIGIN q17.test.
$TTL 60
@      SOA ns hostmaster 1 3600 600 86400 60
@      NS  ns
ns     A   192.0.2.53
@      TXT "v=spf1 ip4:192.0.2.1 -all"
o      TXT "v=spf1 exists:%{o}.seen.q17.test -all"
o.q17.test.seen A 127.0.0.2
"""


@pytest.fixture(scope="module")
def dns():
    with labkit.dns.LabDNS(zones=ZONE) as server:
        yield server


@pytest.mark.parametrize("sender", ['"a@b"@q17.test', '<"a@b"@q17.test>', 'a@b@q17.test'])
@pytest.mark.parametrize("ip, expected", [("192.0.2.99", "fail"), ("192.0.2.1", "pass")])
def test_the_domain_after_the_last_at_sign_is_checked(dns, sender, ip, expected):
    res = lspf.check(ip, sender, "mail.q17.test", dns=dns)
    assert (res.result, res.trace_result) == (expected, expected), res.explain()
    assert res.domain == "q17.test"
    asked = [entry.name.rstrip(".").lower() for entry in res.lookups]
    assert asked[0] == "q17.test", asked


def test_the_o_macro_is_the_domain_after_the_last_at_sign(dns):
    res = lspf.check("192.0.2.1", '"x@y"@o.q17.test', "mail.q17.test", dns=dns)
    assert (res.result, res.trace_result) == ("pass", "pass"), res.explain()
