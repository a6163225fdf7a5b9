"""Forwarder, mailing list, cloud mail service and backscatter."""

from __future__ import annotations

import email

import labkit.auth
import labkit.mta
from labkit.mta import make_message
from labkit.mta.forwarder import srs_forward, srs_reverse


def _msg(frm, to, subject, body="hello\n"):
    return make_message(from_=frm, to=to, subject=subject, body=body)


def _only(lab, rcpt, subject):
    found = [m for f in ("INBOX", "Junk") for m in lab.mailbox(rcpt).messages(f)
             if subject.encode() in m]
    assert len(found) == 1
    return found[0]


def test_forwarder_keeps_envelope_so_spf_fails_but_dkim_carries_dmarc(lab):
    res = lab.send(_msg("news@brand.example", "alice@fwd.example.net", "fwd keep"),
                   from_host="mail.brand.example", dkim=True)
    assert res.status == "sent"
    v = lab.verdicts(res.message_id)[-1]
    assert v["client"] == lab.hosts["mx.fwd.example.net"].address
    assert v["mail_from"] == "news@brand.example"
    assert (v["spf"], v["dmarc"], v["decision"]) == ("fail", "pass", "INBOX")
    assert v["dkim"] == ["pass:brand.example"]


def test_forwarder_with_srs_passes_spf_for_its_own_domain(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, srs=True, scorer=None) as lab:
        res = lab.send(_msg("news@brand.example", "alice@fwd.example.net", "fwd srs"),
                       from_host="mail.brand.example", dkim=True)
        v = lab.verdicts(res.message_id)[-1]
        assert v["mail_from"].startswith("SRS0=") and v["mail_from"].endswith("@fwd.example.net")
        assert v["spf"] == "pass" and v["dmarc"] == "pass"
        # a bounce to the SRS address finds its way back to the original sender
        srs = srs_forward("taro@isp.example", "fwd.example.net", lab.handler(
            "mx.fwd.example.net").secret, lab.clock.now())
        back = lab.send(_msg("MAILER-DAEMON@mx.corp.example", srs, "srs bounce"),
                        from_host="mx.corp.example", mail_from="")
        assert back.status == "sent"
        assert [m for m in lab.mailbox("taro@isp.example").messages() if b"srs bounce" in m]
        forged = srs.replace("taro", "root")
        assert lab.send(_msg("x@attacker.test", forged, "forged srs"),
                        from_host="mail.attacker.test").code == 550


def test_srs_round_trip_and_tamper():
    secret = b"s3"
    addr = srs_forward("news@brand.example", "fwd.example.net", secret, 1_790_000_000)
    assert srs_reverse(addr, secret, now=1_790_000_000) == "news@brand.example"
    local, _, dom = addr.partition("@")
    forged = local.replace("brand.example", "evil.example") + "@" + dom
    assert srs_reverse(forged, secret, now=1_790_000_000) is None


def test_mailing_list_tags_subject_adds_footer_breaks_dkim_and_seals_arc(lab):
    res = lab.send(_msg("news@brand.example", "lab-list@lists.example.org", "list post"),
                   from_host="mail.brand.example", dkim=True)
    assert res.status == "sent"
    v = lab.verdicts(res.message_id)
    assert v and v[-1]["client"] == lab.hosts["mail.lists.example.org"].address
    assert v[-1]["dkim"] == ["fail:brand.example"] and v[-1]["arc"] == "pass"
    assert v[-1]["mail_from"] == "lab-list-bounces@lists.example.org" and v[-1]["spf"] == "pass"
    assert v[-1]["dmarc"] == "fail"
    assert v[-1]["decision"] == "INBOX"  # accepted by local policy: trusted ARC sealer
    raw = _only(lab, "bob@corp.example", "list post")
    msg = email.message_from_bytes(raw)
    assert msg["Subject"] == "[lab-list] list post"
    assert msg["List-Id"] == "<lab-list.lists.example.org>"
    assert raw.rstrip().endswith(b"https://lists.example.org/lab-list")


def test_list_mail_is_rejected_when_the_receiver_does_not_trust_the_sealer(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, scorer=None) as lab:
        lab.receiver.trusted_arc_sealers = ()
        res = lab.send(_msg("news@brand.example", "lab-list@lists.example.org", "untrusted"),
                       from_host="mail.brand.example", dkim=True)
        assert res.status == "sent"  # the list accepted it ...
        v = lab.verdicts(res.message_id)[-1]
        assert v["arc"] == "pass" and v["decision"] == "reject"  # ... brand's p=reject wins


def test_list_edit_message_is_what_breaks_the_body_hash(lab):
    raw = labkit.mta.sender.dkim_sign(_msg("news@brand.example", "x@corp.example", "s"),
                                      "brand.example")
    assert [r.result for r in labkit.auth.dkim.verify(raw, dns=lab.resolver)] == ["pass"]
    edited = labkit.mta.mailinglist.edit_message(raw, list_address="l@lists.example.org",
                                                 tag="l", footer="footer")
    assert [r.result for r in labkit.auth.dkim.verify(edited, dns=lab.resolver)] == ["fail"]
    rewritten = labkit.mta.mailinglist.edit_message(raw, list_address="l@lists.example.org",
                                                    tag="l", footer="f", from_rewrite=True)
    msg = email.message_from_bytes(rewritten)
    assert "<l@lists.example.org>" in msg["From"] and msg["Reply-To"] == "news@brand.example"


def test_list_with_from_rewrite_gets_dmarc_pass_for_the_list(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, list_from_rewrite=True, scorer=None) as lab:
        lab.handler("mail.lists.example.org").sign = True
        res = lab.send(_msg("news@brand.example", "lab-list@lists.example.org", "rewritten"),
                       from_host="mail.brand.example", dkim=True)
        v = lab.verdicts(res.message_id)[-1]
        assert v["header_from"] == "lists.example.org" and v["dmarc"] == "pass"
        assert v["decision"] == "INBOX"


def test_esp_signs_with_its_own_domain_third_party(lab):
    res = lab.esp.send(_msg("orders@shop.example", "carol@corp.example", "esp order"))
    v = lab.verdicts(res.message_id)[-1]
    assert v["client"] == lab.hosts["out.esp.example.com"].address
    assert v["dkim"] == ["pass:esp.example.com"]  # a pass, but not for shop.example
    assert v["header_from"] == "shop.example"
    assert v["spf"] == "pass" and v["dmarc"] == "pass"  # aligned SPF via include:


def test_backscatter_reject_at_rcpt_sends_no_bounce(lab):
    before = lab.receiver.bounces
    res = lab.send(_msg("victim@brand.example", "ghost@corp.example", "rcpt reject"),
                   from_host="mail.attacker.test")
    assert res.code == 550
    assert lab.receiver.bounces == before


def test_backscatter_mode_accepts_then_bounces_to_the_forged_sender(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, backscatter=True, scorer=None) as lab:
        forged = "taro@isp.example"  # an innocent user whose address the spammer forges
        for i in range(3):
            res = lab.send(_msg(forged, f"ghost{i}@corp.example", f"spam {i}"),
                           from_host="mail.attacker.test", mail_from=forged)
            assert res.status == "sent"  # accepted: the damage is done later
        assert lab.receiver.bounces == 3
        bounces = [m for m in lab.mailbox(forged).messages() if b"Undelivered Mail" in m]
        assert len(bounces) == 3  # backscatter landed on the innocent forged sender
        ev = lab.events.entries(host="mx.corp.example", event="bounce")
        assert [e["to"] for e in ev] == [forged] * 3
