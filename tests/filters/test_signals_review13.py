"""Review of the list and network signals against the lab's real DNS (and a real Lab).

DNSBL answers that are no listing (RFC 5782 asks for 127.0.0.0/8 values; real lists
answer 127.255.255.x when they refuse to answer a resolver), FCrDNS with several PTR
names and IPv6, and list entries written in another tool's syntax.
"""

from __future__ import annotations

import pytest

import labkit.dns
import labkit.filters as F
import labkit.mta
from labkit.dns.zone import zones_dir
from labkit.errors import UsageError
from labkit.filters import dnsbl, rdns
from labkit.filters.lists import AddressList

# Three DNSBLs that answer every question (RFC 4592 wildcards), each with a kind of
# answer that is not a listing, and one with the 127.0.0.2 test entry as well.
ODD_DNSBLS = """
$ORIGIN refused.dnsbl.example.
$TTL 300
@          SOA  ns1.labdns.example. hostmaster.dnsbl.example. ( 1 3600 600 86400 300 )
@          NS   ns1.labdns.example.
; what a list answers a resolver it will not serve (e.g. a big public resolver)
*          A    127.255.255.254
2.0.0.127  A    127.0.0.2
2.0.0.127  TXT  "test entry"
$ORIGIN limit.dnsbl.example.
@          SOA  ns1.labdns.example. hostmaster.dnsbl.example. ( 1 3600 600 86400 300 )
@          NS   ns1.labdns.example.
; "too many queries" beside a real listing code
*          A    127.255.255.255
*          A    127.0.0.3
$ORIGIN public.dnsbl.example.
@          SOA  ns1.labdns.example. hostmaster.dnsbl.example. ( 1 3600 600 86400 300 )
@          NS   ns1.labdns.example.
; an expired list whose domain now answers everything with a web server's address
*          A    192.0.2.99
"""

# Reverse and forward data for FCrDNS: several PTR names, a CNAME'd PTR, IPv6.
RDNS_ZONES = """
$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@          SOA  ns1.labdns.example. hostmaster.multi.example. ( 1 3600 600 86400 300 )
@          NS   ns1.labdns.example.
201        PTR  other.multi.example.
201        PTR  mail.multi.example.
202        PTR  gone.multi.example.
202        PTR  other.multi.example.
203        CNAME 203.sub
203.sub    PTR  mail203.multi.example.
$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
@          SOA  ns1.labdns.example. hostmaster.multi.example. ( 1 3600 600 86400 300 )
@          NS   ns1.labdns.example.
5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0  PTR  mail6.multi.example.
6.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0  PTR  mail.multi.example.
$ORIGIN multi.example.
@          SOA  ns1.labdns.example. hostmaster.multi.example. ( 1 3600 600 86400 300 )
@          NS   ns1.labdns.example.
other      A    192.0.2.99
mail       A    192.0.2.201
mail       AAAA 2001:db8::26
mail203    A    192.0.2.203
mail6      AAAA 2001:db8::25
"""


@pytest.fixture(scope="module")
def odd_dns():
    """A LabDNS serving the course zones plus the odd DNSBLs and the FCrDNS data."""
    with labkit.dns.LabDNS(zones=[zones_dir(), ODD_DNSBLS, RDNS_ZONES]) as server:
        yield server


# -- DNSBL: what counts as listed ------------------------------------------------------

@pytest.mark.parametrize("zone", ["refused.dnsbl.example", "public.dnsbl.example"])
def test_dnsbl_answer_that_is_no_listing_code_is_not_listed(odd_dns, zone):
    r = dnsbl.lookup("192.0.2.10", zone, dns=odd_dns)
    assert (r.status, r.listed, r.codes) == ("not-listed", False, ())
    assert any("not listed" in s for s in r.steps)


def test_dnsbl_error_code_is_named_in_the_steps(odd_dns):
    r = dnsbl.lookup("192.0.2.10", "refused.dnsbl.example", dns=odd_dns)
    assert any("127.255.255.254" in s and "error" in s for s in r.steps)


def test_dnsbl_test_entry_still_listed_on_a_list_with_error_codes(odd_dns):
    r = dnsbl.lookup("127.0.0.2", "refused.dnsbl.example", dns=odd_dns)
    assert (r.status, r.codes, r.txt) == ("listed", ("127.0.0.2",), ("test entry",))


def test_dnsbl_error_code_beside_a_listing_code_keeps_only_the_listing(odd_dns):
    r = dnsbl.lookup("192.0.2.10", "limit.dnsbl.example", dns=odd_dns)
    assert r.listed and r.codes == ("127.0.0.3",)


def test_dnsbl_servfail_is_temperror_not_listed(odd_dns):
    name = dnsbl.query_name("198.51.100.150")
    odd_dns.set_fault(name, "servfail")
    try:
        r = dnsbl.lookup("198.51.100.150", dns=odd_dns)
    finally:
        odd_dns.clear_faults()
    assert (r.status, r.listed, r.codes) == ("temperror", False, ())


def test_scorer_does_not_count_a_dnsbl_error_code(odd_dns):
    scorer = F.SpamScorer(dnsbl_zones=["refused.dnsbl.example"], check_rdns=False)
    j = scorer.judge(b"Subject: hello\r\n\r\nhi", client_ip="192.0.2.10", dns=odd_dns)
    assert (j.status, j.score) == ("ham", 0.5)
    assert not any(r.startswith("dnsbl:") for r in j.reasons)
    assert "dnsbl" not in j.headers["X-Spam-Status"]


def test_receiver_accepts_mail_when_its_dnsbl_answers_with_an_error_code(odd_dns):
    """A list refusing our resolver (127.255.255.254 for every address) must not shut the
    MX: the mail is delivered, and the refusal is in the log."""
    msg = labkit.mta.make_message(from_="news@brand.example", to="alice@corp.example",
                                  subject="Newsletter", body="This week's news.")
    with labkit.mta.Lab(dns=odd_dns) as lab:
        lab.receiver.dnsbl_zones = ("refused.dnsbl.example",)
        sent = lab.send(msg, from_host="mail.brand.example", dkim=True)
        assert sent.status == "sent", sent.reply
        assert lab.verdicts(sent.message_id)[-1]["decision"] == "INBOX"
        events = lab.events.entries(host="mx.corp.example", event="dnsbl")
        assert events[-1]["decision"] == "not-listed"


# -- FCrDNS: several PTR names, CNAME'd PTR, IPv6 --------------------------------------

@pytest.mark.parametrize(("ip", "result", "confirmed"), [
    ("192.0.2.201", "pass", "mail.multi.example"),      # the second of two PTR names
    ("192.0.2.202", "fail", None),                      # neither points back
    ("192.0.2.203", "pass", "mail203.multi.example"),   # PTR reached through a CNAME
    ("2001:db8::25", "pass", "mail6.multi.example"),    # IPv6: AAAA, not A
    ("2001:db8:0:0::26", "pass", "mail.multi.example"),  # another spelling, same address
    ("2001:db8::27", "none", None),                     # no PTR
])
def test_fcrdns_cases(odd_dns, ip, result, confirmed):
    r = rdns.check(ip, dns=odd_dns)
    assert (r.result, r.confirmed) == (result, confirmed)


def test_fcrdns_unanswered_forward_lookup_is_temperror_not_fail(odd_dns):
    odd_dns.set_fault("other.multi.example/A", "timeout")
    try:
        r = rdns.check("192.0.2.202", dns=odd_dns.resolver(timeout=0.3))
    finally:
        odd_dns.clear_faults()
    assert r.result == "temperror"


# -- lists: entries that could never match ---------------------------------------------

@pytest.mark.parametrize("entry", [
    "*@corp.example",      # SpamAssassin's whitelist_from glob
    "@corp.example",       # a domain written as an address without its local part
    "*.corp.example",      # a glob for subdomains
    "alice@",              # Postfix's "any domain" local part
    "corp.example REJECT",  # a Postfix access-table line
    "alice@corp.example  OK",
])
def test_list_entry_in_another_syntax_is_refused_not_a_silent_no_match(entry):
    with pytest.raises(UsageError, match="corp.example|alice"):
        AddressList.from_entries([entry], "block")


def test_list_entries_in_the_lab_syntax_still_read():
    lst = AddressList.from_entries(
        ["corp.example", "=brand.example", "alice@isp.example", "192.0.2.0/24", ".shop.example"])
    assert lst.match(sender="x@mail.corp.example") == "corp.example"
    assert lst.match(sender="x@brand.example") == "=brand.example"
    assert lst.match(sender="x@mail.brand.example") is None
    assert lst.match(sender="Alice@ISP.example") == "alice@isp.example"
    assert lst.match(ip="192.0.2.77") == "192.0.2.0/24"
    assert lst.match(sender="x@shop.example") == "shop.example"
    # "*" is a legal character of a local part (RFC 5322 atext): such an address still reads
    assert AddressList.from_entries(["a*b@corp.example"]).match(
        sender="a*b@corp.example") == "a*b@corp.example"
