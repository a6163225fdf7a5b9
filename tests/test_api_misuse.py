"""The Python API called wrongly, as a learner would from a notebook cell.

Each mistake must fail at the call with a message that names it (a labkit
UsageError, or a TypeError/ValueError in words), or, where being strict teaches
nothing (upper case, a final dot, an EmailMessage for bytes), simply work.  Before
these checks, each case here ended deep in dnspython or the email package, or gave a
silently wrong result (a "ham" label learned as spam, an EmailMessage read as an
empty message, a clock turned into NaN).
"""

from __future__ import annotations

import datetime
import email
import email.policy
import warnings

import pytest

import labkit as lk
import labkit.mta
from labkit.errors import EmptyMailbox, UnknownHost, UsageError, ZoneError

FROM, TO = "news@brand.example", "alice@corp.example"


@pytest.fixture(scope="module")
def lab(lab_dns):
    """A running Lab on the session's LabDNS (no spam scorer: only delivery matters)."""
    with labkit.mta.Lab(dns=lab_dns, scorer=None) as running:
        yield running


@pytest.fixture(scope="module")
def msg() -> bytes:
    return lk.mta.make_message(from_=FROM, to=TO, subject="misuse", body="hello")


@pytest.fixture(scope="module")
def brand_ip(lab) -> str:
    return lab.hosts["mail.brand.example"].address


def _email_message(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


# ------------------------------------------------------------------ mistakes that raise
# (id, call(lab, lab_dns, msg, brand_ip), exception type, key phrase of the message)
RAISES = [
    ("Lab dns_cache='yes'", lambda lab, d, m, ip: lk.Lab(dns_cache="yes"),
     TypeError, "dns_cache must be True, False or a number of seconds"),
    ("Lab workers='2'", lambda lab, d, m, ip: lk.Lab(workers="2"),
     TypeError, "workers must be a whole number"),
    ("make_message to=int",
     lambda lab, d, m, ip: lk.mta.make_message(from_=FROM, to=5, subject="s", body="b"),
     TypeError, "to must be an address"),
    ("make_message body=bytes",
     lambda lab, d, m, ip: lk.mta.make_message(from_=FROM, to=TO, subject="s", body=b"b"),
     TypeError, "body must be a str"),
    ("make_message headers=list",
     lambda lab, d, m, ip: lk.mta.make_message(from_=FROM, to=TO, subject="s", body="b",
                                               headers=[("X-A", "1")]),
     TypeError, "headers must be a dict"),
    ("send an int", lambda lab, d, m, ip: lab.send(5, from_host="mail.brand.example"),
     TypeError, "message must be the raw mail"),
    ("send None", lambda lab, d, m, ip: lab.send(None, from_host="mail.brand.example"),
     TypeError, "holds no message"),
    ("send from_host=int", lambda lab, d, m, ip: lab.send(m, from_host=5),
     TypeError, "from_host must be a str"),
    ("send from_host=list", lambda lab, d, m, ip: lab.send(m, from_host=["mail.brand.example"]),
     TypeError, "not a list"),
    ("send rcpt_to=int", lambda lab, d, m, ip: lab.send(m, from_host="mail.brand.example",
                                                        rcpt_to=5),
     TypeError, "rcpt_to must be an address"),
    ("send rcpt_to=bytes", lambda lab, d, m, ip: lab.send(m, from_host="mail.brand.example",
                                                          rcpt_to=b"alice@corp.example"),
     TypeError, "rcpt_to must be an address"),
    ("send mail_from=list", lambda lab, d, m, ip: lab.send(m, from_host="mail.brand.example",
                                                           mail_from=[FROM]),
     TypeError, "mail_from must be a str"),
    ("send port='25'", lambda lab, d, m, ip: lab.send(m, from_host="mail.brand.example",
                                                      port="25"),
     TypeError, "port must be a number"),
    ("send dkim='yes'", lambda lab, d, m, ip: lab.send(m, from_host="mail.brand.example",
                                                       dkim="yes"),
     UsageError, "names one of"),
    ("mta.send lab=LabDNS", lambda lab, d, m, ip: lk.mta.send(m, lab=d,
                                                              from_host="mail.brand.example"),
     UsageError, "not its LabDNS"),
    ("mta.send lab not started",
     lambda lab, d, m, ip: lk.mta.send(m, lab=lk.Lab(dns=d), from_host="mail.brand.example"),
     UsageError, "call lab.start() first"),
    ("lab.esp before start", lambda lab, d, m, ip: lk.Lab(dns=d).esp.send(m),
     UsageError, "call lab.start()"),
    ("Lab(dns=a Lab)", lambda lab, d, m, ip: lk.Lab(dns=lab), UsageError, "pass other_lab.dns"),
    ("Lab(dns='lab')", lambda lab, d, m, ip: lk.Lab(dns="lab"), UsageError, "dns= must be"),
    ("mailbox(int)", lambda lab, d, m, ip: lab.mailbox(5), TypeError, "one mail address"),
    ("mailbox(list)", lambda lab, d, m, ip: lab.mailbox([TO]), TypeError, "one mail address"),
    ("mailbox without @", lambda lab, d, m, ip: lab.mailbox("alice"),
     UsageError, "is not a mail address"),
    ("mailbox folder typo", lambda lab, d, m, ip: lab.mailbox(TO).messages("Spam"),
     UsageError, "has no folder 'Spam'"),
    ("handler typo", lambda lab, d, m, ip: lab.handler("mx.fwd.exmaple.net"),
     UnknownHost, "the mail services"),
    ("server typo", lambda lab, d, m, ip: lab.server("mx.fwd.exmaple.net"),
     UnknownHost, "is not a lab host"),
    ("accounts.add without @", lambda lab, d, m, ip: lk.mta.accounts.Accounts().add("taro", "x"),
     UsageError, "an account is a mail address"),
    ("clock.advance('600')", lambda lab, d, m, ip: lab.clock.advance("600"),
     TypeError, "seconds must be a number"),
    ("clock.advance(None)", lambda lab, d, m, ip: lab.advance(None),
     TypeError, "seconds must be a number"),
    ("clock.advance(nan)", lambda lab, d, m, ip: lab.clock.advance(float("nan")),
     UsageError, "finite number"),
    ("clock.advance(inf)", lambda lab, d, m, ip: lab.clock.advance(float("inf")),
     UsageError, "finite number"),
    ("LabDNS.add name=int", lambda lab, d, m, ip: d.add(5, "A", "203.0.113.5"),
     TypeError, "name must be a domain name"),
    ("LabDNS.add TXT unquoted", lambda lab, d, m, ip: d.add("misuse.corp.example", "TXT",
                                                            "v=spf1 -all"),
     UsageError, "must be quoted"),
    ("LabDNS.add data=int", lambda lab, d, m, ip: d.add("misuse.corp.example", "A", 5),
     TypeError, "record data must be zone-file text"),
    ("LabDNS(zones=typo path)", lambda lab, d, m, ip: lk.dns.LabDNS(zones="corp.exmaple.zone"),
     ZoneError, "no such zone file"),
    ("spf.check ip=int", lambda lab, d, m, ip: lk.auth.spf.check(3405803777, FROM, "h", dns=d),
     TypeError, "ip must be a str"),
    ("spf.check mail_from=list", lambda lab, d, m, ip: lk.auth.spf.check(ip, [FROM], "h", dns=d),
     TypeError, "mail_from must be a str"),
    ("spf.check mail_from=bytes",
     lambda lab, d, m, ip: lk.auth.spf.check(ip, FROM.encode(), "h", dns=d),
     TypeError, "not bytes"),
    ("spf.check helo=int", lambda lab, d, m, ip: lk.auth.spf.check(ip, FROM, 5, dns=d),
     TypeError, "helo must be a str"),
    ("dkim.sign private_key=None",
     lambda lab, d, m, ip: lk.auth.dkim.sign(m, domain="brand.example", selector="s2026",
                                             private_key=None),
     TypeError, "private_key must be a PEM key"),
    ("dkim.sign selector=int",
     lambda lab, d, m, ip: lk.auth.dkim.sign(m, domain="brand.example", selector=2026,
                                             private_key=lk.auth.dkim.lab_key("brand.example",
                                                                              "s2026")),
     TypeError, "selector must be a str"),
    ("dmarc.check an address", lambda lab, d, m, ip: lk.auth.dmarc.check(FROM, dns=d),
     UsageError, "give the part after the @"),
    ("dmarc.check a message", lambda lab, d, m, ip: lk.auth.dmarc.check(m, dns=d),
     TypeError, "not a message"),
    ("dmarc.check int", lambda lab, d, m, ip: lk.auth.dmarc.check(5, dns=d),
     TypeError, "header_from must be a str"),
    ("dmarc.aligned mode typo",
     lambda lab, d, m, ip: lk.auth.dmarc.aligned("brand.example", "news.brand.example", "x",
                                                 dns=d),
     UsageError, "mode must be 'r'"),
    ("dmarc.parse_record int", lambda lab, d, m, ip: lk.auth.dmarc.parse_record(5),
     TypeError, "record text"),
    ("evaluate an int", lambda lab, d, m, ip: lk.auth.evaluate(5, ip=ip, mail_from=FROM,
                                                               helo="h", dns=d),
     TypeError, "message must be the raw mail"),
    ("senderid.pra an int", lambda lab, d, m, ip: lk.auth.senderid.pra(5),
     TypeError, "message must be the raw mail"),
    ("arc.verify an int", lambda lab, d, m, ip: lk.auth.arc.verify(5, dns=d),
     TypeError, "message must be the raw mail"),
    ("results.parse an int",
     lambda lab, d, m, ip: lk.auth.results.parse_authentication_results(5),
     TypeError, "the field's text"),
    ("spf_lint an address",
     lambda lab, d, m, ip: lk.auth.spf_lint.lint("a@plusall.spf.test", dns=d),
     UsageError, "give the part after the @"),
    ("Robinson spam_cutoff=5", lambda lab, d, m, ip: lk.filters.Robinson(spam_cutoff=5),
     UsageError, "between 0 and 1"),
    ("Robinson min_dev='0.2'", lambda lab, d, m, ip: lk.filters.Robinson(min_dev="0.2"),
     TypeError, "must be a number"),
    ("learn(m, 'ham')", lambda lab, d, m, ip: lk.filters.Robinson().learn(m, "ham"),
     TypeError, "learn(message, False) for ham"),
    ("learn(m, None)", lambda lab, d, m, ip: lk.filters.Robinson().learn(m, None),
     TypeError, "spam must be True (spam) or False (ham)"),
    ("SklearnNB learn(m, 'ham')", lambda lab, d, m, ip: lk.filters.SklearnNB().learn(m, "ham"),
     TypeError, "learn(message, False) for ham"),
    ("SklearnNB unlearn(m, 'spam')",
     lambda lab, d, m, ip: lk.filters.SklearnNB().unlearn(m, "spam"),
     TypeError, "spam must be True (spam) or False (ham)"),
    ("SklearnNB learn an int", lambda lab, d, m, ip: lk.filters.SklearnNB().learn(5, True),
     TypeError, "message must be the raw mail"),
    ("SklearnNB score a list", lambda lab, d, m, ip: lk.filters.SklearnNB().score([m]),
     TypeError, "one message at a time"),
    ("SklearnNB train with too few labels",
     lambda lab, d, m, ip: lk.filters.SklearnNB().train([m, m], [True]),
     UsageError, "2 messages but 1 labels"),
    ("learn an int", lambda lab, d, m, ip: lk.filters.Robinson().learn(5, True),
     TypeError, "message must be the raw mail"),
    ("score a list", lambda lab, d, m, ip: lk.filters.Robinson().score([m]),
     TypeError, "one message at a time"),
    ("tokenize an int", lambda lab, d, m, ip: lk.filters.tokenize(5),
     TypeError, "message must be the raw mail"),
    ("evaluate.run with the class",
     lambda lab, d, m, ip: lk.filters.evaluate.run(lk.filters.Robinson, [], [], progress=False),
     TypeError, "call it, Robinson()"),
    ("evaluate.run with bytes",
     lambda lab, d, m, ip: lk.filters.evaluate.run(lk.filters.Robinson(), [m], [m],
                                                   progress=False),
     TypeError, "must hold corpus messages"),
    ("split_md5 of bytes", lambda lab, d, m, ip: lk.filters.evaluate.split_md5([m, m]),
     TypeError, "must hold corpus messages"),
    ("SpamScorer(filter=class)", lambda lab, d, m, ip: lk.filters.SpamScorer(
        filter=lk.filters.Robinson), TypeError, "call it, Robinson()"),
    ("rdns.check ip=int", lambda lab, d, m, ip: lk.filters.rdns.check(5, dns=d),
     TypeError, "ip must be an IP address"),
]


@pytest.mark.parametrize("call, exc, phrase", [r[1:] for r in RAISES], ids=[r[0] for r in RAISES])
def test_mistake_fails_at_the_call_in_words(lab, lab_dns, msg, brand_ip, call, exc, phrase):
    with pytest.raises(exc) as info:
        call(lab, lab_dns, msg, brand_ip)
    assert phrase in str(info.value)


def test_corpus_load_with_no_folders_says_so_not_that_the_corpus_is_missing():
    # (checked before any corpus is read: no corpus needed)
    with pytest.raises(UsageError, match="folders= is empty"):
        lk.filters.corpus.load(folders=[])


def test_typo_in_a_mailbox_address_is_named_where_it_was_silent(lab):
    with pytest.warns(UserWarning, match="No lab account has the address alcie@corp.example"):
        box = lab.mailbox("alcie@corp.example")
    assert box.messages() == []
    with pytest.raises(EmptyMailbox, match="a typo"):
        box.latest()


def test_spf_check_with_a_host_name_for_ip_says_what_to_give(lab_dns):
    # still a permerror value (spf.check never raises for a bad address), now with the way out
    res = lk.auth.spf.check("mail.brand.example", FROM, "mail.brand.example", dns=lab_dns)
    assert res.result == "permerror"
    assert "a host name: SPF checks the client's IP address" in res.reason


def test_dkim_verify_of_no_message_says_so(lab_dns):
    # verify() never raises on bad input: the result says what was wrong (it was empty)
    (res,) = lk.auth.dkim.verify(5, dns=lab_dns)
    assert res.result == "permerror" and "message must be the raw mail" in res.reason


# ------------------------------------------------ harmless variants that now simply work
def test_send_accepts_a_legacy_email_message(lab, msg):
    res = lab.send(email.message_from_bytes(msg), from_host="mail.brand.example")
    assert res.status == "sent"


def test_send_dkim_domain_in_upper_case_signs(lab, msg):
    res = lab.send(msg, from_host="mail.brand.example", dkim="BRAND.EXAMPLE")
    assert res.status == "sent"


def test_mailbox_address_with_a_final_dot_is_the_same_mailbox(lab):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "no such account" warning either
        assert lab.mailbox("alice@corp.example.").path == lab.mailbox(TO).path


def test_mailbox_folder_names_in_any_case(lab, msg):
    assert lab.send(msg, from_host="mail.brand.example").status == "sent"
    assert lab.mailbox(TO).latest("inbox") == lab.mailbox(TO).latest("INBOX")


def test_clock_advance_takes_a_timedelta():
    clock = lk.mta.clock.LabClock()
    clock.advance(datetime.timedelta(minutes=10))
    assert clock.offset == 600


@pytest.mark.parametrize("call", [
    lambda lab, d, ip: lk.auth.spf.check(ip, FROM, "mail.brand.example", dns=lab).result,
    lambda lab, d, ip: lk.auth.dmarc.check("brand.example", dns=lab).policy,
    lambda lab, d, ip: lk.filters.dnsbl.lookup("127.0.0.2", "bl.dnsbl.example", dns=lab).status,
    lambda lab, d, ip: lk.dns.live.dig("brand.example", "MX", mode="lab", lab=lab).rcode,
], ids=["spf.check", "dmarc.check", "dnsbl.lookup", "dig"])
def test_dns_equals_lab_reads_the_labs_dns(lab, lab_dns, brand_ip, call):
    assert call(lab, lab_dns, brand_ip) in ("pass", "reject", "listed", "NOERROR")


def test_spf_check_takes_an_ipaddress_object(lab_dns, brand_ip):
    import ipaddress

    res = lk.auth.spf.check(ipaddress.ip_address(brand_ip), FROM, "mail.brand.example",
                            dns=lab_dns)
    assert res.result == "pass"


def test_evaluate_reads_an_email_message_like_its_bytes(lab_dns, msg, brand_ip):
    args = dict(ip=brand_ip, mail_from=FROM, helo="mail.brand.example", dns=lab_dns)
    as_bytes = lk.auth.evaluate(msg, **args)
    as_object = lk.auth.evaluate(_email_message(msg), **args)
    assert as_object.dmarc.result == as_bytes.dmarc.result == "pass"


def test_senderid_reads_an_email_message(lab_dns, msg, brand_ip):
    res = lk.auth.senderid.check(_email_message(msg), ip=brand_ip, helo="mail.brand.example",
                                 dns=lab_dns)
    assert res.result == "pass"


def test_dkim_sign_with_a_final_dot_on_the_domain_aligns(lab_dns, msg):
    key = lk.auth.dkim.lab_key("brand.example", "s2026")
    signed = lk.auth.dkim.sign(msg, domain="brand.example.", selector="s2026", private_key=key)
    (res,) = lk.auth.dkim.verify(signed, dns=lab_dns)
    assert res.result == "pass" and res.domain == "brand.example"


@pytest.mark.parametrize("mode, want", [("strict", False), ("S", False)])
def test_dmarc_aligned_reads_the_mode_in_words(lab_dns, mode, want):
    assert lk.auth.dmarc.aligned("news.brand.example", "brand.example", mode, dns=lab_dns) is want


def test_dmarc_parse_record_reads_bytes():
    assert lk.auth.dmarc.parse_record(b"v=DMARC1; p=reject").p == "reject"


def test_filters_learn_and_score_a_corpus_message_and_an_email_message(msg):
    class Sample:  # what lk.filters.corpus.load() gives: .raw bytes and a .spam label
        raw, spam = msg, True

    f = lk.filters.Robinson()
    f.learn(Sample(), True)
    f.learn(_email_message(msg), False)
    assert (f.nspam, f.nham) == (1, 1)
    assert f.score(Sample()) == f.score(msg)


def test_address_list_from_one_text_reads_lines_not_letters():
    lst = lk.filters.AddressList.from_entries("attacker.test", "block")
    assert lst.domains == ("attacker.test",)


def test_lab_dns_add_takes_a_list_of_values(lab_dns):
    lab_dns.add("misuse-list.corp.example", "A", ["203.0.113.61", "203.0.113.62"])
    try:
        got = sorted(r.address for r in lab_dns.resolver().resolve("misuse-list.corp.example",
                                                                   "A"))
        assert got == ["203.0.113.61", "203.0.113.62"]
    finally:
        lab_dns.remove("misuse-list.corp.example")
