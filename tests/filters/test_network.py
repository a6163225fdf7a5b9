"""DNSBL, FCrDNS, lists and the receiver's SpamScorer against the real lab DNS."""

from __future__ import annotations

import pytest

import labkit.filters as F
from labkit.filters import combined, dnsbl, rdns
from labkit.filters.lists import AddressList


def test_query_names():
    assert dnsbl.query_name("198.51.100.150") == "150.100.51.198.bl.dnsbl.example"
    # RFC 5782 section 2.4: IPv6 test address ::FFFF:7F00:2 in nibbles
    name = dnsbl.query_name("::ffff:7f00:2")
    assert name == "2.0.0.0.0.0.f.7.f.f.f.f." + "0." * 20 + "bl.dnsbl.example"


@pytest.mark.parametrize(
    ("ip", "code"),
    [("198.51.100.150", "127.0.0.2"), ("203.0.113.99", "127.0.0.4"), ("127.0.0.2", "127.0.0.2")],
)
def test_listed(lab_dns, ip, code):
    r = dnsbl.lookup(ip, dns=lab_dns)
    assert r.listed and r.codes == (code,) and r.txt
    assert r.reasons == (dnsbl.LAB_CODES[code],)
    names = [q.name.rstrip(".") for q in lab_dns.queries]
    assert dnsbl.query_name(ip) in names


@pytest.mark.parametrize("ip", ["198.51.100.140", "192.0.2.10", "127.0.0.1"])
def test_not_listed(lab_dns, ip):
    r = dnsbl.lookup(ip, dns=lab_dns)
    assert r.status == "not-listed" and not r.codes


def test_dnsbl_timeout_is_temperror(lab_dns):
    name = dnsbl.query_name("198.51.100.150")
    lab_dns.set_fault(name, "timeout")
    try:
        r = dnsbl.lookup("198.51.100.150", dns=lab_dns.resolver(timeout=0.3))
    finally:
        lab_dns.clear_faults()
    assert r.status == "temperror" and not r.listed


def test_fcrdns(lab_dns):
    ok = rdns.check("198.51.100.25", dns=lab_dns)
    assert ok.result == "pass" and ok.confirmed == "mail.isp.example" and not ok.generic
    pool = rdns.check("198.51.100.150", dns=lab_dns)
    assert pool.result == "pass" and pool.generic
    assert rdns.check("203.0.113.77", dns=lab_dns).result == "fail"  # PTR -> A is .78
    assert rdns.check("203.0.113.99", dns=lab_dns).result == "none"


def test_lists():
    allow = AddressList.from_entries(
        ["198.51.100.0/25", "brand.example", "=corp.example", "taro@isp.example", "# comment", ""],
        "allowlist",
    )
    assert allow.match(ip="198.51.100.25") == "198.51.100.0/25"
    assert allow.match(ip="198.51.100.150") is None
    assert allow.match(sender="x@mail.brand.example") == "brand.example"
    assert allow.match(sender="x@sub.corp.example") is None
    assert allow.match(sender="bob@corp.example") == "=corp.example"
    assert "taro@isp.example" in allow and "other@isp.example" not in allow
    assert len(allow) == 4


def test_scorer_defaults_are_neutral():
    j = F.SpamScorer().judge(b"Subject: hello\n\nhi")
    assert j.score == 0.5 and j.status == "ham"
    assert (
        set(j.headers) == {"X-Spam-Score", "X-Spam-Status"} and j.headers["X-Spam-Score"] == "0.500"
    )
    assert F.SpamScorer().judge(b"").status == "ham"


def test_scorer_uses_dnsbl_rdns_and_lists(lab_dns):
    s = F.SpamScorer()
    bot = s.judge(b"Subject: x\n\nhi", client_ip="198.51.100.150", dns=lab_dns)
    assert bot.status == "spam" and bot.headers["X-Spam-Status"].startswith("Yes")
    assert any(r.startswith("dnsbl:bl.dnsbl.example=127.0.0.2") for r in bot.reasons)
    good = s.judge(b"Subject: x\n\nhi", client_ip="198.51.100.25", dns=lab_dns)
    assert good.status == "ham" and good.score == 0.5
    allowed = F.SpamScorer(allowlist=["198.51.100.150"]).judge(
        b"x", client_ip="198.51.100.150", dns=lab_dns
    )
    assert allowed.status == "ham" and allowed.score == 0.0
    blocked = F.SpamScorer(blocklist=["198.51.100.25"]).judge(b"x", client_ip="198.51.100.25")
    assert blocked.status == "spam" and blocked.score == 1.0


SHOP_ORDER = (
    b"From: Shop Orders <orders@shop.example>\r\nTo: alice@corp.example\r\n"
    b"Subject: Your order has shipped\r\nMessage-ID: <o1@shop.example>\r\n"
    b"Date: Sat, 28 Nov 2026 01:00:00 +0000\r\n\r\nYour order is on its way.\r\n"
)
FWD_NOTE = SHOP_ORDER.replace(
    b"Shop Orders <orders@shop.example>", b"Alice <alice@fwd.example.net>"
)
BOT = "198.51.100.150"  # the ISP's dynamic pool: SPF fails for every cast domain from here


def _verdict(dns, message: bytes, ip: str, mail_from: str, helo: str):
    """The receiver's real authentication verdict (SPF, DKIM, DMARC against the lab zones)."""
    import labkit.auth

    return labkit.auth.evaluate(message, ip=ip, mail_from=mail_from, helo=helo, dns=dns)


@pytest.fixture(scope="module")
def shop(lab_dns):
    """shop.example's order: sent through its ESP (aligned SPF pass), and forged by a bot."""
    return {
        "real": _verdict(
            lab_dns, SHOP_ORDER, "203.0.113.80", "bounce@shop.example", "out.esp.example.com"
        ),
        "forged": _verdict(lab_dns, SHOP_ORDER, BOT, "orders@shop.example", "dyn.isp.example"),
    }


def test_scorer_reads_auth_verdict(shop):
    assert shop["forged"].dmarc.result == "fail" and shop["real"].dmarc.result == "pass"
    s = F.SpamScorer()
    forged = s.judge(SHOP_ORDER, verdict=shop["forged"])
    assert forged.status == "spam" and "dmarc=fail" in forged.reasons  # DMARC fail: +3
    assert s.judge(SHOP_ORDER, verdict=shop["real"]).score < 0.5


@pytest.mark.parametrize("entry", ["shop.example", "orders@shop.example", "=shop.example"])
def test_allowlist_needs_an_authenticated_from(shop, entry):
    scorer = F.SpamScorer(allowlist=[entry])
    real = scorer.judge(SHOP_ORDER, verdict=shop["real"])
    assert (real.status, real.score) == ("ham", 0.0)
    assert real.reasons == (f"allowlist:{entry}",)
    forged = scorer.judge(SHOP_ORDER, verdict=shop["forged"])
    assert forged.status == "spam" and forged.score > 0.5  # scored like any other mail
    note = [r for r in forged.reasons if r.startswith(f"allowlist:{entry} ")]
    assert note and "not authenticated" in note[0] and "dmarc=fail" in note[0]


def test_allowlist_address_entry_matches_only_that_address(shop):
    other = F.SpamScorer(allowlist=["sales@shop.example"]).judge(SHOP_ORDER, verdict=shop["real"])
    assert other.score > 0.0 and not any(r.startswith("allowlist") for r in other.reasons)


def test_allowlist_ignores_an_aligned_phish_from_a_server_that_passes_its_own_checks(lab_dns):
    """The attacker's server passes SPF and DKIM for attacker.test; From says shop.example."""
    from labkit.auth import dkim

    signed = dkim.sign(
        SHOP_ORDER,
        domain="attacker.test",
        selector="evil",
        private_key=dkim.lab_key("attacker.test", "evil"),
    )
    v = _verdict(lab_dns, signed, "203.0.113.66", "bounce@attacker.test", "mail.attacker.test")
    assert v.spf.result == "pass" and [d.result for d in v.dkim] == ["pass"]
    j = F.SpamScorer(allowlist=["shop.example"]).judge(signed, verdict=v)
    assert j.score > 0.0 and any(
        r.startswith("allowlist:shop.example not applied") for r in j.reasons
    )


def test_allowlist_without_dmarc_record_takes_an_aligned_spf_pass(lab_dns):
    """fwd.example.net publishes SPF but no DMARC record: an aligned SPF pass authenticates."""
    real = _verdict(
        lab_dns, FWD_NOTE, "198.51.100.40", "alice@fwd.example.net", "mx.fwd.example.net"
    )
    forged = _verdict(lab_dns, FWD_NOTE, BOT, "alice@fwd.example.net", "dyn.isp.example")
    assert real.dmarc.result == forged.dmarc.result == "none"
    scorer = F.SpamScorer(allowlist=["fwd.example.net"])
    assert scorer.judge(FWD_NOTE, verdict=real).status == "ham"
    assert any("aligned spf=pass" in s for s in scorer.judge(FWD_NOTE, verdict=real).steps)
    j = scorer.judge(FWD_NOTE, verdict=forged)
    assert j.score > 0.0
    assert any("no aligned SPF or DKIM pass" in r for r in j.reasons)


def test_blocklist_matches_claimed_identities(shop, lab_dns):
    """Blocking a forged name costs nothing: From and MAIL FROM count unauthenticated."""
    forged = F.SpamScorer(blocklist=["shop.example"]).judge(SHOP_ORDER, verdict=shop["forged"])
    assert (forged.status, forged.score, forged.reasons) == (
        "spam",
        1.0,
        ("blocklist:shop.example",),
    )
    phish = _verdict(lab_dns, SHOP_ORDER, BOT, "x@attacker.test", "dyn.isp.example")
    env = F.SpamScorer(blocklist=["attacker.test"]).judge(SHOP_ORDER, verdict=phish)
    assert env.status == "spam" and any("MAIL FROM x@attacker.test" in s for s in env.steps)


def test_combined_score_on_labelled_stream(lab_dns, subset):
    """Bayes alone vs Bayes + DNSBL: spam arriving from the listed bot is caught."""
    from labkit.filters.evaluate import split_md5

    sp = split_md5(subset)
    fisher = F.Fisher().train(sp.train)
    ham_ips = ["198.51.100.25", "192.0.2.10", "198.51.100.40"]
    stream = [
        combined.Labelled(
            message=m.raw, spam=m.spam, client_ip="198.51.100.150" if m.spam else ham_ips[i % 3]
        )
        for i, m in enumerate(
            [m for m in sp.test if not m.spam][:70] + [m for m in sp.test if m.spam][:50]
        )
    ]
    alone = combined.measure(F.SpamScorer(fisher, dnsbl_zones=(), check_rdns=False), stream)
    full = combined.measure(F.SpamScorer(fisher), stream, dns=lab_dns)
    assert alone.total == full.total == 120 and alone.spam == full.spam > 0
    # counted independently from the judgements
    assert full.fn == sum(
        1 for it, j in zip(stream, full.judgements, strict=True) if it.spam and j.status != "spam"
    )
    assert full.fn <= alone.fn and full.fp <= alone.fp
    assert full.fn < alone.fn  # every spam came from a listed address
