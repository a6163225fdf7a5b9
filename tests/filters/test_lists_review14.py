"""Review 14 of the client checks and the scorer: IPv4-mapped client addresses, the
reserved DNSBL answer 127.0.0.1, list precedence, SpamAssassin's ``required=`` field and
what ``explain`` shows.  Real lab DNS throughout (the ``lab_dns`` fixture)."""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace as NS

import pytest

import labkit.dns
from labkit.filters import combined, dnsbl, rdns
from labkit.filters.bayes import Fisher, Graham, Multinomial, Robinson
from labkit.filters.lists import AddressList
from labkit.filters.tokens import tokenize

# -- 1. IPv4-mapped IPv6 addresses (RFC 4291 section 2.5.5.2) ------------------------------


@pytest.mark.parametrize("ip", ["::ffff:192.0.2.5", "::FFFF:192.0.2.5", "::ffff:c000:205",
                                "0:0:0:0:0:ffff:192.0.2.5"])
def test_mapped_client_matches_ipv4_entry(ip):
    lst = AddressList.from_entries(["192.0.2.0/24"], "block")
    assert lst.match(ip=ip) == "192.0.2.0/24"
    assert ip in lst
    assert lst.match(ip=ipaddress.ip_address(ip)) == "192.0.2.0/24"


def test_mapped_entry_matches_ipv4_client():
    lst = AddressList.from_entries(["::ffff:192.0.2.0/120", "::ffff:198.51.100.7"], "allow")
    assert lst.match(ip="192.0.2.5") == "192.0.2.0/24"
    assert lst.match(ip="198.51.100.7") == "198.51.100.7/32"
    assert lst.match(ip="::ffff:198.51.100.7") == "198.51.100.7/32"


def test_other_ipv6_addresses_stay_ipv6():
    lst = AddressList.from_entries(["192.0.2.0/24", "2001:db8::/32"], "block")
    # an IPv4-compatible address (deprecated, RFC 4291 2.5.5.1) and an ordinary IPv6
    # address that happens to end in c000:205 are not the IPv4 host 192.0.2.5
    assert lst.match(ip="::192.0.2.5") is None
    assert lst.match(ip="2001:db9::c000:205") is None
    assert lst.match(ip="2001:db8::5") == "2001:db8::/32"


def test_dnsbl_asks_the_ipv4_name_for_a_mapped_client(lab_dns):
    r = dnsbl.lookup("::ffff:198.51.100.150", dns=lab_dns)
    assert r.listed and r.codes == ("127.0.0.2",)
    assert r.query == "150.100.51.198.bl.dnsbl.example"
    assert r.ip == "198.51.100.150"
    assert any("198.51.100.150" in s and "IPv4" in s for s in r.steps)
    assert "150.100.51.198.bl.dnsbl.example" in [q.name.rstrip(".") for q in lab_dns.queries]


def test_query_name_keeps_the_ipv6_test_entry_in_nibbles():
    # RFC 5782 section 5: an IPv6 list's test entry is ::FFFF:7F00:2 in nibble form;
    # query_name writes the key it is given, lookup() is what unmaps a client
    assert dnsbl.query_name("::ffff:7f00:2").startswith("2.0.0.0.0.0.f.7.f.f.f.f.")


def test_fcrdns_of_a_mapped_client_uses_in_addr_arpa(lab_dns):
    r = rdns.check("::ffff:198.51.100.25", dns=lab_dns)
    assert r.result == "pass" and r.confirmed == "mail.isp.example"
    assert r.ip == "198.51.100.25"
    assert "PTR 25.100.51.198.in-addr.arpa" in r.steps


def test_scorer_treats_a_mapped_client_as_ipv4(lab_dns):
    blocked = combined.SpamScorer(blocklist=["198.51.100.0/24"])
    assert blocked.judge(b"Subject: x\n\nhi", client_ip="::ffff:198.51.100.150").status == "spam"
    plain = combined.SpamScorer()
    j = plain.judge(b"Subject: x\n\nhi", client_ip="::ffff:198.51.100.150", dns=lab_dns)
    assert "dnsbl:bl.dnsbl.example=127.0.0.2" in j.reasons


# -- 2. 127.0.0.1 is no listing (RFC 5782) --------------------------------------------------

_REFUSING = """$ORIGIN refusing.example.
$TTL 300
@          SOA ns.refusing.example. hostmaster.refusing.example. ( 1 3600 600 86400 300 )
@          NS  ns.refusing.example.
5.2.0.192  A   127.0.0.1
6.2.0.192  A   127.0.0.1
6.2.0.192  A   127.0.0.2
"""


def test_answer_127_0_0_1_is_no_listing():
    with labkit.dns.LabDNS(zones=_REFUSING) as lab:
        only = dnsbl.lookup("192.0.2.5", "refusing.example", dns=lab)
        both = dnsbl.lookup("192.0.2.6", "refusing.example", dns=lab)
    assert only.status == "not-listed" and not only.listed and only.codes == ()
    assert any("127.0.0.1" in s and "not a listing" in s for s in only.steps)
    # a real code beside it still lists
    assert both.listed and both.codes == ("127.0.0.2",)


# -- 3. precedence: a block entry wins over an allow entry, whatever each matched ----------

_MSG = b"Subject: x\n\nhello"


def _verdict(from_domain, *, dmarc="none", spf="none", mail_from=None):
    return NS(dmarc=NS(result=dmarc, header_from=from_domain),
              from_header=NS(address=f"x@{from_domain}", domain=from_domain),
              spf=NS(result=spf, domain=(mail_from or f"x@{from_domain}").split("@")[-1],
                     mail_from=mail_from or f"x@{from_domain}"),
              dkim=())


def test_allowlisted_relay_does_not_rescue_a_blocked_from():
    s = combined.SpamScorer(allowlist=["192.0.2.10"], blocklist=["attacker.test"])
    j = s.judge(_MSG, client_ip="192.0.2.10", verdict=_verdict("attacker.test"))
    assert j.status == "spam" and j.blocked == "attacker.test"
    assert "blocklist:attacker.test" in j.reasons
    assert any("allowlist" in step and "block" in step for step in j.steps)


def test_allowlisted_relay_does_not_rescue_a_blocked_mail_from():
    s = combined.SpamScorer(allowlist=["192.0.2.10"], blocklist=["attacker.test"])
    v = _verdict("corp.example", mail_from="bounce@attacker.test")
    assert s.judge(_MSG, client_ip="192.0.2.10", verdict=v).status == "spam"


def test_authenticated_allowlisted_from_does_not_rescue_a_blocked_client():
    s = combined.SpamScorer(allowlist=["brand.example"], blocklist=["203.0.113.0/24"])
    v = _verdict("brand.example", dmarc="pass", spf="pass")
    j = s.judge(_MSG, client_ip="203.0.113.9", verdict=v)
    assert j.status == "spam" and j.blocked == "203.0.113.0/24"


def test_same_address_on_both_lists_is_blocked():
    s = combined.SpamScorer(allowlist=["192.0.2.10"], blocklist=["192.0.2.0/24"])
    assert s.judge(_MSG, client_ip="192.0.2.10").status == "spam"


def test_allow_still_applies_when_nothing_is_blocked():
    s = combined.SpamScorer(allowlist=["192.0.2.10"], blocklist=["attacker.test"])
    j = s.judge(_MSG, client_ip="192.0.2.10", verdict=_verdict("corp.example"))
    assert j.status == "ham" and j.score == 0.0 and j.blocked is None
    assert j.to_dict()["blocked"] is None


# -- 4. X-Spam-Status carries required= (SpamAssassin's layout) -----------------------------


def test_status_header_has_required_after_score():
    s = combined.SpamScorer(blocklist=["attacker.test"], spam_cutoff=0.85)
    spam = s.judge(_MSG, verdict=_verdict("attacker.test")).headers["X-Spam-Status"]
    assert spam.startswith("Yes, score=1.000 required=0.850 tests=blocklist:attacker.test")
    ham = combined.SpamScorer().judge(_MSG).headers["X-Spam-Status"]
    assert ham == "No, score=0.500 required=0.900 tests=none status=ham"


def test_status_header_never_shows_a_no_at_the_threshold():
    # 0.8996 would round to 0.900 = required while the verdict is No: shown as 0.899,
    # as SpamAssassin avoids printing score=5.0 required=5.0 on a No
    j = combined.SpamScorer()._result(0.8996, "unsure", [], [], 0.8996)
    assert j.headers["X-Spam-Status"].startswith("No, score=0.899 required=0.900 ")
    assert j.headers["X-Spam-Score"] == "0.899"


# -- 5. explain shows the clues that decided the score ----------------------------------------


def _trained(kind):
    f = kind()
    for _ in range(3):
        f.learn(b"Subject: cheap pills\n\ncheap pills viagra offer now", True)
        f.learn(b"Subject: meeting notes\n\nmeeting agenda notes tomorrow", False)
        f.learn(b"Subject: lunch\n\nshared word here lunch tomorrow", False)
        f.learn(b"Subject: shared\n\nshared word here pills", True)
    return f


_PROBE = b"Subject: cheap meeting\n\ncheap pills shared word here unknownzz"


@pytest.mark.parametrize("kind", [Fisher, Robinson])
def test_explain_lists_exactly_the_clues_used(kind):
    f = _trained(kind)
    e = f.explain(_PROBE)
    shown = {t for t, _ in e.clues}
    assert shown == {"cheap", "cheap pills", "pills", "subject:cheap", "subject:meeting"}
    assert all(abs(p - 0.5) >= f.min_dev for _, p in e.clues)
    assert e.score == f.score(_PROBE)
    assert any("5 clues" in s for s in e.steps)


def test_explain_respects_n_and_max_discriminators():
    f = _trained(Fisher)
    assert len(f.explain(_PROBE, n=2).clues) == 2
    f.max_discriminators = 3
    assert len(f.explain(_PROBE).clues) == 3


def test_explain_graham_and_multinomial_drop_tokens_that_said_nothing():
    g = _trained(Graham)
    g.min_count = 1
    shown = dict(g.explain(_PROBE).clues)
    assert 0.5 not in shown.values() and len(shown) <= g.max_discriminators
    assert shown  # the pills / cheap clues are there
    m = _trained(Multinomial)
    shown = dict(m.explain(_PROBE).clues)
    assert shown and 0.5 not in shown.values()
    assert "unknownzz" not in shown  # unknown to the filter: no part in the log-odds


def test_untrained_explain_shows_no_clues():
    assert Fisher().explain(_PROBE).clues == ()


def test_cli_explain_shows_only_clues(tmp_path, capsys):
    from labkit.cli import main

    f = _trained(Fisher)
    model = tmp_path / "m.json"
    f.save(model)
    msg = tmp_path / "probe.eml"
    msg.write_bytes(_PROBE)
    assert main(["bayes", "score", "--model", str(model), "--explain", str(msg)]) == 0
    out = capsys.readouterr().out
    assert "subject:meeting" in out and "0.500" not in out
    assert len(tokenize(_PROBE)) > 5


def test_explain_clues_add_up_to_the_score():
    import math

    g = _trained(Graham)
    g.min_count = 1
    clues = g.explain(_PROBE, n=10_000).clues
    # rank_tokens is ln prod(p) - ln prod(1 - p) over its picked tokens; the shown clues
    # (rounded to 4 places) are that pick less tokens at 0.5, which add 0
    again = sum(math.log(p) - math.log(1 - p) for _, p in clues)
    assert again == pytest.approx(g.rank_tokens(tokenize(_PROBE)), abs=1e-2)
    f = _trained(Fisher)
    assert len(f.explain(_PROBE, n=10_000).clues) == f._clue_sums(tokenize(_PROBE))[0]


# -- 5. X-Spam-Status's tests= is one comma-separated list of names --------------------------


def _tests_field(status: str) -> list[str]:
    """The tests= value as a SpamAssassin-style reader takes it: up to the next space,
    split at commas."""
    value = status.split(" tests=", 1)[1].split(" ", 1)[0]
    return value.split(",")


def test_status_tests_field_has_no_spaces_and_one_comma_per_test():
    """A reason with spaces ('... not applied (From not authenticated: ...)') ended the
    tests= value early for a reader that splits at white space, and a reason holding
    commas (two DNSBL codes, 'fcrdns=fail,generic') read as several tests."""
    s = combined.SpamScorer(allowlist=["corp.example"])
    j = s.judge(_MSG, verdict=_verdict("corp.example", dmarc="fail"))
    assert any(" not applied (" in r for r in j.reasons)  # the reason itself stays readable
    status = j.headers["X-Spam-Status"]
    assert _tests_field(status) == ["allowlist:corp.example_not_applied", "dmarc=fail"], status
    assert status.endswith(" status=ham") or status.endswith(" status=spam"), status
    reasons = ["dnsbl:bl.dnsbl.example=127.0.0.2,127.0.0.4", "fcrdns=fail,generic", "bayes=0.997"]
    k = combined.SpamScorer()._result(0.99, "spam", list(reasons), [], 0.997)
    assert _tests_field(k.headers["X-Spam-Status"]) == [
        "dnsbl:bl.dnsbl.example=127.0.0.2+127.0.0.4", "fcrdns=fail+generic", "bayes=0.997"]
    assert list(k.reasons) == reasons
