"""An address where the From domain goes ([192.0.2.1], or 192.0.2.1 bare) is no domain.

The Public Suffix List read 192.0.2.1 as the name "1" under "2": org_domain gave '2.1'
('2.1]' for the literal), so 10.0.2.1 and 192.0.2.1 were "aligned" in relaxed mode; the
tree walk asked for _dmarc.0.2.1] and friends; and a message From x@192.0.2.1 got DMARC
none (no record) where its bracketed twin got permerror.
"""

from __future__ import annotations

import pytest

import labkit as lk
from labkit.widgets.alignment import AlignmentExplorer

METHODS = ["psl", "treewalk"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("address", ["[192.0.2.1]", "192.0.2.1", "[IPv6:2001:db8::1]"])
def test_an_address_is_its_own_organisational_domain(lab_dns, method, address):
    asked = len(lab_dns.queries)
    assert lk.auth.dmarc.org_domain(address, dns=lab_dns, method=method) == address.lower()
    assert len(lab_dns.queries) == asked  # no tree to walk


@pytest.mark.parametrize("method", METHODS)
def test_two_addresses_are_not_aligned_relaxed(lab_dns, method):
    assert not lk.auth.dmarc.aligned("10.0.2.1", "192.0.2.1", "r", dns=lab_dns, method=method)
    assert lk.auth.dmarc.aligned("192.0.2.1", "192.0.2.1", "s", dns=lab_dns, method=method)


@pytest.mark.parametrize("address", ["[192.0.2.1]", "192.0.2.1"])
def test_dmarc_check_of_an_address_is_a_permerror(lab_dns, address):
    res = lk.auth.dmarc.check(address, dns=lab_dns)
    assert (res.result, res.disposition) == ("permerror", "quarantine"), res.explain()
    assert "is an address, not a domain name" in res.reason


@pytest.mark.parametrize("frm", ["x@192.0.2.1", "x@[192.0.2.1]"])
def test_a_message_from_an_address_has_no_usable_from(lab_dns, frm):
    msg = f"From: {frm}\r\nTo: alice@corp.example\r\nSubject: t\r\n\r\nhi\r\n".encode()
    v = lk.auth.evaluate(msg, ip="192.0.2.10", mail_from="x@brand.example",
                         helo="mail.brand.example", dns=lab_dns)
    assert (v.dmarc.result, v.dmarc.disposition) == ("permerror", "quarantine"), v.dmarc.explain()


def test_the_alignment_explorer_says_what_the_check_says(lab_dns):
    w = AlignmentExplorer(dns=lab_dns)
    verdict = w.evaluate({"header_from": "[192.0.2.1]", "mail_from": "[192.0.2.1]",
                          "dkim_domain": ""})
    assert verdict["dmarc"] == "permerror", verdict  # not "pass" for equal addresses


@pytest.mark.parametrize("call", [
    lambda dns: lk.auth.dmarc.check("brand .example", dns=dns),
    lambda dns: lk.auth.dmarc.aligned("brand .example", "brand .example"),
    lambda dns: lk.auth.dmarc.org_domain("news.brand\t.example", dns=dns),
    lambda dns: lk.auth.spf_lint.lint("brand. example", dns=dns),
])
def test_a_domain_with_a_space_inside_is_refused_in_words(lab_dns, call):
    # it was looked up as given: "no DMARC record", or aligned with itself
    with pytest.raises(lk.UsageError, match="without spaces"):
        call(lab_dns)
