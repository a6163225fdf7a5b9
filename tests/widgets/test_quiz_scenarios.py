"""Exam-style scenario questions and their explanations, checked on the real lab.

An audit found quiz questions that asked for a definition instead of a situation (lab 02's
MX question, lab 05's "where is the DMARC record" and "what did RFC 9989 change", lab 08's
statement about lists) and explanations that said why the right answer is right but not
why the tempting wrong one is wrong (lab 01 Q2, lab 03 Q2, lab 10 Q2). The scenarios state
what the lab does (a reply code, a DNS answer, a DMARC result); each test here replays the
scenario with the real parts (LabDNS with the course zones, the real MX and senders) and
checks that the marked choice is the one the lab bears out, so the question fails here if
the lab or the answer changes.
"""

from __future__ import annotations

import email
import re
from pathlib import Path

import dns.resolver
import pytest

import labkit.auth
import labkit.dns
import labkit.filters
import labkit.mta
from labkit.auth import dkim, dmarc, spf
from tests.widgets.test_exam_terms import question
from tests.widgets.test_quiz_content import course_quizzes

ZONES = Path(__file__).resolve().parents[2] / "data" / "zones"


@pytest.fixture(scope="module")
def lab(lab_dns):
    # as in labs 01 and 08: no content filter, and no OP25B gateway in front of the bots
    with labkit.mta.Lab(dns=lab_dns, op25b=False, scorer=None) as running:
        yield running


def _stored(lab, address: str, subject: str) -> bytes:
    box = lab.mailbox(address)
    found = [m for folder in ("INBOX", "Junk") for m in box.messages(folder)
             if email.message_from_bytes(m)["Subject"] == subject]
    assert len(found) == 1, f"{address}: {len(found)} messages with subject {subject!r}"
    return found[0]


# --- (a) recall questions rewritten as scenarios ----------------------------------------


def test_lab02_mx_scenario_holds(lab):
    q, marked = question("02-dns", "shop.example MX")
    assert marked.startswith("shop.example publishes no MX record")
    spf_choice = next(c for c in q["choices"] if "SPF record" in c)
    assert spf_choice != marked
    # the confirmation reached Carol from the ESP and passed SPF for shop.example
    order = labkit.mta.make_message(from_="orders@shop.example", to="carol@corp.example",
                                    subject="quiz 02: order 17", body="Thank you for your order.")
    sent = lab.esp.send(order)
    assert sent.status == "sent" and sent.client == lab.hosts["out.esp.example.com"].address
    verdict = lab.verdicts(sent.message_id)[-1]
    assert verdict["spf"] == "pass" and verdict["mail_from"].endswith("@shop.example")
    # the reply: routed by shop.example's MX, which does not exist; never sent to the ESP
    reply = labkit.mta.make_message(from_="carol@corp.example", to="orders@shop.example",
                                    subject="Re: order 17", body="One question.")
    result = lab.send(reply, from_host="mx.corp.example")
    assert result.status == "refused" and result.server is None
    assert "route: MX of shop.example in the lab DNS -> nothing" in result.steps
    # NOERROR with an empty answer (NODATA), not a failure; and no A/AAAA to fall back on
    resolver = lab.dns.resolver()
    for rdtype in ("MX", "A", "AAAA"):
        with pytest.raises(dns.resolver.NoAnswer):
            resolver.resolve("shop.example", rdtype)


def _zones_with_brand(brand_text: str) -> list:
    return [*(p for p in sorted(ZONES.glob("*.zone")) if p.name != "brand.example.zone"), brand_text]


PHISH = (b"From: Brand Security <security@brand.example>\r\nTo: alice@corp.example\r\n"
         b"Subject: Please confirm your account\r\nMessage-ID: <quiz05@attacker.test>\r\n"
         b"Date: Sat, 28 Nov 2026 10:00:00 +0900\r\n\r\nConfirm at https://brand-example.test/login\r\n")


def test_lab05_misplaced_dmarc_record_scenario_holds():
    q, marked = question("05-dmarc", "beside the SPF record")
    assert marked.startswith("Publish the record as a TXT record at _dmarc.brand.example")
    brand = (ZONES / "brand.example.zone").read_text()
    (line,) = [ln for ln in brand.splitlines() if ln.startswith("_dmarc")]
    text = line.split("TXT", 1)[1].strip()
    assert text.startswith('"v=DMARC1; p=reject')
    moved = brand.replace(line, f"@               TXT     {text}")
    phish = dkim.sign(PHISH, domain="attacker.test", selector="evil",
                      private_key=dkim.lab_key("attacker.test", "evil"))

    def verdict(zone_text):
        with labkit.dns.LabDNS(zones=_zones_with_brand(zone_text)) as server:
            return labkit.auth.evaluate(phish, ip="203.0.113.66", mail_from="bounce@attacker.test",
                                        helo="mail.attacker.test", dns=server)

    before, after = verdict(brand), verdict(moved)
    # at _dmarc.brand.example our MX rejected it; beside the SPF record it finds no policy
    assert (before.dmarc.result, before.disposition) == ("fail", "reject")
    assert after.dmarc.result == "none" and "dmarc=none" in after.header
    assert after.disposition != "reject"


def test_lab05_rfc9989_tree_walk_scenario_holds():
    q, marked = question("05-dmarc", "_dmarc.tenant.dmarc.test")
    assert "walking the DNS tree" in marked and "Public Suffix List" in marked
    record = "v=DMARC1; p=reject; psd=n"
    assert f"'{record}'" in q["prompt"]
    # the tempting 'strict by default': adkim and aspf still default to relaxed
    parsed = dmarc.parse_record(record)
    assert (parsed.adkim, parsed.aspf) == ("r", "r")
    msg = (b"From: Info <info@tenant.dmarc.test>\r\nTo: alice@corp.example\r\nSubject: tenant\r\n"
           b"Message-ID: <quiz05-tenant@dmarc.test>\r\nDate: Sat, 28 Nov 2026 10:00:00 +0900\r\n"
           b"\r\nHello.\r\n")
    with labkit.dns.LabDNS() as server:  # our own: the session's LabDNS is not changed
        server.add("_dmarc.tenant.dmarc.test", "TXT", f'"{record}"')
        got = {}
        for method in ("psl", "treewalk"):
            v = labkit.auth.evaluate(msg, ip="192.0.2.70", mail_from="bounce@dmarc.test",
                                     helo="mail.dmarc.test", dns=server, dmarc_method=method)
            assert (v.spf.result, v.spf.domain, v.dkim) == ("pass", "dmarc.test", ())
            got[method] = (v.dmarc.result, v.dmarc.policy,
                           dmarc.org_domain("tenant.dmarc.test", dns=server, method=method),
                           dmarc.org_domain("dmarc.test", dns=server, method=method))
    # RFC 7489 reads the record (psd= is ignored, not the record) and aligns through the PSL
    assert got["psl"] == ("pass", "reject", "dmarc.test", "dmarc.test")
    assert got["treewalk"] == ("fail", "reject", "tenant.dmarc.test", "dmarc.test")


def test_lab08_dnsbl_allowlist_scenario_holds(lab):
    q, marked = question("08-lists", "bot.noptr.test (203.0.113.99)")
    assert marked.startswith("Put 203.0.113.99 on the MX's own allowlist")
    supplier = lab.hosts["bot.noptr.test"].address
    assert supplier == "203.0.113.99"
    listing = labkit.filters.dnsbl.lookup(supplier, "bl.dnsbl.example", dns=lab.dns)
    assert listing.codes == ("127.0.0.4",) and "127.0.0.4" in q["prompt"]
    order = labkit.mta.make_message(from_="orders@noptr.test", to="bob@corp.example",
                                    subject="quiz 08: order", body="We confirm your order.")
    spam = labkit.mta.make_message(from_="deals@isp.example", to="alice@corp.example",
                                   subject="quiz 08: cheap pills", body="Order now.")
    refused = lab.send(order, from_host="bot.noptr.test")
    # the reply the prompt quotes, given at connect: before MAIL FROM, so SPF cannot help
    reply = "5.7.1 Service unavailable; client [203.0.113.99] blocked using bl.dnsbl.example"
    assert (refused.status, refused.code, refused.reply) == ("rejected", 554, reply)
    assert q["prompt"].count(f"'{refused.code} {reply}'") == 1
    assert refused.steps[-1].startswith("connect: 554")
    zones, allow = lab.receiver.dnsbl_zones, lab.receiver.allow
    try:
        # the marked fix: the supplier gets through, the listed bot is still refused
        lab.receiver.allow = labkit.filters.AddressList.from_entries([supplier], "allow")
        assert lab.send(order, from_host="bot.noptr.test").status == "sent"
        assert lab.send(spam, from_host="198.51.100.150").code == 554
        # the tempting fix, DNSBL off: the supplier gets through, and so does the bot
        lab.receiver.allow = labkit.filters.AddressList.from_entries([], "allow")
        lab.receiver.dnsbl_zones = ()
        assert lab.send(order, from_host="bot.noptr.test").status == "sent"
        assert lab.send(spam, from_host="198.51.100.150").status == "sent"
    finally:
        lab.receiver.dnsbl_zones, lab.receiver.allow = zones, allow


# --- (b) explanations that name the most tempting wrong choice ----------------------------

# (lab, text of the prompt) -> the most tempting wrong choice; the explanation quotes it
TEMPTING = {
    ("01-anatomy", "four Received headers"): "The ones whose host names resolve in DNS",
    ("03-spf", "'v=spf1 ip4:198.51.100.0/24 ~all'"): "fail: reject the mail",
    ("10-capstone", "spf=fail, dkim=pass"): "It is a phish and should be rejected",
    # the rewritten scenarios name theirs too
    ("02-dns", "shop.example MX"): "SPF",
    ("05-dmarc", "beside the SPF record"): "Waiting",
    ("05-dmarc", "_dmarc.tenant.dmarc.test"): "strict by default",
    ("08-lists", "bot.noptr.test (203.0.113.99)"): "Switching the DNSBL off",
}


@pytest.mark.parametrize(("where", "tempting"), TEMPTING.items(), ids=[w[0] for w in TEMPTING])
def test_explanation_names_the_tempting_wrong_choice(where, tempting):
    q, marked = question(*where)
    wrong = [c for c in q["choices"] if c != marked]
    if (exact := [c for c in wrong if c == tempting]):  # quoted word for word
        assert f"'{exact[0]}'" in q["explanation"], q["explanation"]
    else:  # or named by what it proposes, and said to be tempting
        assert tempting in q["explanation"] and "tempting" in q["explanation"], q["explanation"]
    assert "tempting" in q["explanation"]


def test_lab01_received_lines_below_ours_are_the_clients(lab):
    q, marked = question("01-anatomy", "four Received headers")
    assert marked.startswith("None of them for certain")
    # our MX writes Authentication-Results under its Received line: 'anything below our
    # line' would take that for the client's too
    assert "Anything below our own line" not in q["explanation"]
    assert "mail.isp.example [198.51.100.25]" in q["explanation"]
    fake = (b"Received: from pc.isp.example (mail.isp.example [198.51.100.25]) by mail.isp.example"
            b" with ESMTPSA id 4F2A; Sat, 28 Nov 2026 09:58:00 +0900\r\n")
    forged = fake + labkit.mta.make_message(from_="taro@isp.example", to="bob@corp.example",
                                            subject="quiz 01: forged hop", body="New bank details.")
    sent = lab.send(forged, from_host="mail.attacker.test", mail_from="taro@isp.example",
                    helo="mail.isp.example")
    assert sent.status == "sent"
    stored = email.message_from_bytes(_stored(lab, "bob@corp.example", "quiz 01: forged hop"))
    received = stored.get_all("Received")
    assert len(received) == 2
    ours = " ".join(received[0].split())
    assert "by mx.corp.example" in ours and f"[{sent.client}]" in ours
    assert sent.client == lab.hosts["mail.attacker.test"].address != "198.51.100.25"
    # the forger's line is kept as written, and the name in it resolves to the address in it
    assert received[1] == fake.decode()[len("Received: "):].rstrip("\r\n")
    assert [r.address for r in lab.dns.resolver().resolve("mail.isp.example", "A")] == ["198.51.100.25"]


def test_lab03_softfail_question_holds():
    q, marked = question("03-spf", "'v=spf1 ip4:198.51.100.0/24 ~all'")
    assert marked.startswith("softfail")
    zone = """$ORIGIN quiz.example.
$TTL 300
@      SOA ns1.labdns.example. hostmaster.quiz.example. ( 1 3600 600 86400 300 )
@      NS  ns1.labdns.example.
tilde  TXT "v=spf1 ip4:198.51.100.0/24 ~all"
dash   TXT "v=spf1 ip4:198.51.100.0/24 -all"
"""
    # the sending address the question names (mail.attacker.test's), not one written here
    sender = re.search(r"\((\d+\.\d+\.\d+\.\d+)\)", q["prompt"]).group(1)
    assert not sender.startswith("198.51.100.")
    with labkit.dns.LabDNS(zones=zone) as server:
        got = {name: spf.check(sender, f"x@{name}.quiz.example", "h.quiz.example",
                               dns=server).result for name in ("tilde", "dash")}
        inside = spf.check("198.51.100.7", "x@tilde.quiz.example", "h.quiz.example", dns=server).result
    # the record gives softfail; 'fail' is what '-all' would give
    assert got == {"tilde": "softfail", "dash": "fail"} and inside == "pass"
    assert "'-all'" in q["explanation"] and "8.5" in q["explanation"]


def test_lab10_forwarded_mail_question_holds(lab):
    q, marked = question("10-capstone", "spf=fail, dkim=pass")
    assert marked.startswith("It was forwarded unchanged")
    # SPF fails after forwarding only when the envelope sender is kept: the explanation says so
    assert "keeps the original envelope sender" in q["explanation"]
    news = labkit.mta.make_message(from_="news@brand.example", to="alice@fwd.example.net",
                                   subject="quiz 10: forwarded news", body="Our news.")
    sent = lab.send(news, from_host="mail.brand.example", dkim=True)
    assert sent.status == "sent"
    verdict = lab.verdicts(sent.message_id)[-1]  # at our MX, from the forwarder
    assert verdict["client"] == lab.hosts["mx.fwd.example.net"].address
    assert verdict["mail_from"] == "news@brand.example"
    assert (verdict["spf"], verdict["dkim"], verdict["dmarc"]) == ("fail", ["pass:brand.example"], "pass")
    assert verdict["decision"] == "INBOX"


# --- answer positions ----------------------------------------------------------------------


def uniform_positions(quizzes: dict[str, list]) -> list[str]:
    """Labs whose quiz puts every right answer at the same position (the Quiz widget does not
    shuffle, so a learner could answer by letter)."""
    return [f"{lab}: every answer is choice {chr(97 + qs[0]['answer'])}"
            for lab, qs in quizzes.items() if len(qs) > 1 and len({q["answer"] for q in qs}) == 1]


def test_no_lab_puts_every_answer_at_one_position():
    quizzes = course_quizzes()
    assert uniform_positions(quizzes) == []
    # and the check sees it when it happens
    first = next(iter(quizzes))
    assert uniform_positions({first: [dict(q, answer=0) for q in quizzes[first]]}) == [
        f"{first}: every answer is choice a"]
