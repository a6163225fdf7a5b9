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


class _R:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def test_scorer_reads_auth_verdict():
    fail = _R(
        spf=_R(result="fail", domain="brand.example"),
        dkim=(),
        dmarc=_R(result="fail", header_from="brand.example"),
    )
    passing = _R(
        spf=_R(result="pass", domain="corp.example"),
        dkim=(_R(result="pass"),),
        dmarc=_R(result="pass", header_from="corp.example"),
    )
    s = F.SpamScorer()
    assert s.judge(b"x", verdict=fail).status == "spam"  # DMARC fail alone: log-odds +3
    assert s.judge(b"x", verdict=passing).score < 0.5
    assert "dmarc=fail" in s.judge(b"x", verdict=fail).reasons
    # allowlisted sender domain (from the DMARC header_from)
    assert F.SpamScorer(allowlist=["brand.example"]).judge(b"x", verdict=fail).status == "ham"


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
