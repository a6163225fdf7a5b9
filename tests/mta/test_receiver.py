"""The receiver's decisions at each SMTP step, and what it stores and logs."""

from __future__ import annotations

import email
import json

import pytest

import labkit.mta
from labkit.mta import events, make_message


def _msg(frm="news@brand.example", to="alice@corp.example", subject="hello", **kw):
    return make_message(from_=frm, to=to, subject=subject, body="body\n", **kw)


def _stored(lab, rcpt, subject, folder="INBOX"):
    found = [m for m in lab.mailbox(rcpt).messages(folder) if subject.encode() in m]
    assert len(found) == 1, f"{subject!r} stored {len(found)} times in {rcpt} {folder}"
    return email.message_from_bytes(found[0])


def test_unknown_user_is_refused_at_rcpt_with_550(lab):
    res = lab.send(_msg(to="nobody@corp.example"), from_host="mail.brand.example")
    assert res.status == "rejected" and res.code == 550
    assert any(s.startswith("RCPT TO:<nobody@corp.example> -> 550") for s in res.steps)
    assert not any(s.startswith("DATA") for s in res.steps)  # never got as far as DATA


def test_mixed_recipients_keep_the_known_one(lab):
    res = lab.send(_msg(to="bob@corp.example, ghost@corp.example", subject="mixed"),
                   from_host="mail.brand.example")
    assert res.status == "partial"
    assert res.accepted == ("bob@corp.example",) and "ghost@corp.example" in res.refused
    _stored(lab, "bob@corp.example", "mixed")


def test_non_local_recipient_is_relay_denied_without_auth(lab):
    res = lab.send(_msg(to="victim@brand.example"), from_host="mail.attacker.test",
                   to_host="mx.corp.example")
    assert res.code == 554 and "Relay access denied" in res.reply


def test_dnsbl_listed_client_is_refused_at_connect(lab, dialogue):
    # 203.0.113.99 (bot.noptr.test) is listed in bl.dnsbl.example (CAST.md)
    d = dialogue("203.0.113.99")
    assert d.greeting.startswith("554 ") and "bl.dnsbl.example" in d.greeting
    e = lab.events.entries(host="mx.corp.example", event="dnsbl", client="203.0.113.99")[-1]
    assert e["decision"] == "reject"


def test_fcrdns_outcome_is_logged_per_session(lab):
    # CAST.md: 203.0.113.77 has PTR mail.mismatch.example, whose A is another address
    mismatch = "203.0.113.77"
    lab.send(_msg(subject="mismatch"), from_host=mismatch)
    lab.send(_msg(subject="proper"), from_host="mail.brand.example")
    brand = lab.hosts["mail.brand.example"].address
    by_client = {e["client"]: e for e in lab.events.entries(host="mx.corp.example", event="fcrdns")}
    assert by_client[brand]["decision"] == "pass"
    assert by_client[mismatch]["decision"] != "pass"


def test_dmarc_reject_is_550_5_7_1_and_nothing_is_stored(lab):
    res = lab.send(_msg(frm="ceo@brand.example", subject="forged reject"),
                   from_host="mail.nospf.example")
    assert res.code == 550 and res.reply.startswith("5.7.1")
    assert not [m for m in lab.mailbox("alice@corp.example").messages() if b"forged reject" in m]
    v = lab.verdicts(res.message_id)[-1]
    assert (v["spf"], v["dmarc"], v["decision"]) == ("fail", "fail", "reject")


def test_dmarc_quarantine_goes_to_junk(lab):
    # corp.example publishes p=quarantine (CAST.md); a foreign host forging it
    res = lab.send(_msg(frm="boss@corp.example", subject="forged quarantine"),
                   from_host="mail.attacker.test")
    assert res.status == "sent"
    _stored(lab, "alice@corp.example", "forged quarantine", folder="Junk")


def test_stored_message_has_return_path_received_and_authentication_results(lab):
    res = lab.send(_msg(subject="headers please"), from_host="mail.brand.example", dkim=True)
    msg = _stored(lab, "alice@corp.example", "headers please")
    names = [k.lower() for k in msg.keys()]
    # the final delivery writes MAIL FROM on top (RFC 5321 4.4), then its Received line
    assert names[:2] == ["return-path", "received"]
    assert msg["Return-Path"] == "<news@brand.example>"
    assert names.index("authentication-results") < names.index("dkim-signature")
    ar = msg["Authentication-Results"]
    assert ar.startswith("mx.corp.example;")
    assert "dkim=pass" in ar and "spf=pass" in ar and "dmarc=pass" in ar
    assert lab.verdicts(res.message_id)[-1]["decision"] == "INBOX"


def test_event_log_is_json_lines_with_decisions_and_reasons(lab):
    res = lab.send(_msg(to="nobody@corp.example", subject="log me"), from_host="mail.attacker.test")
    assert res.status == "rejected"
    lines = list(events.read(lab.root / "logs" / "mx.corp.example.jsonl"))
    assert lines == lab.events.entries(host="mx.corp.example")
    rcpt = [e for e in lines if e["event"] == "rcpt" and e.get("rcpt") == "nobody@corp.example"]
    assert rcpt[-1]["decision"] == "reject" and rcpt[-1]["reason"] == "unknown user"
    session = lab.events.entries(session=rcpt[-1]["session"])
    assert [e["event"] for e in session][:3] == ["connect", "fcrdns", "dnsbl"]
    json.dumps(lines)  # plain data
    frame = lab.events.to_frame(host="mx.corp.example", event="rcpt")
    assert list(frame["decision"]) == [e["decision"] for e in lines if e["event"] == "rcpt"]


def test_block_and_allow_lists(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, scorer=None) as lab:
        mx = lab.receiver
        mx.block = labkit.filters.AddressList.from_entries(["203.0.113.66/32", "spam.example"])
        res = lab.send(_msg(subject="blocked ip"), from_host="mail.attacker.test")
        assert res.code == 554
        res = lab.send(_msg(frm="x@spam.example", subject="blocked sender"),
                       from_host="mail.brand.example")
        assert res.code == 554 and "block list" in res.reply
        # an allow-listed client skips the DNSBL that would refuse it
        mx.block = labkit.filters.AddressList.from_entries([])
        mx.allow = labkit.filters.AddressList.from_entries(["203.0.113.99"])
        res = lab.send(_msg(frm="x@noptr.test", subject="allowed"), from_host="bot.noptr.test")
        assert res.status == "sent", res.steps


def test_allow_listed_sender_counts_only_when_spf_authenticates_it(lab_dns):
    class Spammy:  # every message scores as spam: only the allow list can keep it out of Junk
        def judge(self, message, *, client_ip=None, verdict=None, dns=None):
            return labkit.filters.SpamJudgement(score=0.99, status="spam", headers={},
                                                reasons=("test",))

    with labkit.mta.Lab(dns=lab_dns, scorer=Spammy()) as lab:
        lab.receiver.allow = labkit.filters.AddressList.from_entries(["attacker.test"])
        # attacker.test: SPF ip4:203.0.113.66 -all, DMARC p=none (CAST.md)
        lab.send(_msg(frm="news@attacker.test", subject="own server"),
                 from_host="mail.attacker.test")
        _stored(lab, "alice@corp.example", "own server", folder="INBOX")
        lab.send(_msg(frm="news@attacker.test", subject="forged sender"),
                 from_host="mail.nospf.example")
        _stored(lab, "alice@corp.example", "forged sender", folder="Junk")
        hits = lab.events.entries(host="mx.corp.example", event="allow-list")
        assert [e["decision"] for e in hits] == ["accept", "ignore"]
        assert "SPF pass" in hits[0]["reason"] and "SPF fail" in hits[1]["reason"]


def test_decide_can_be_overridden_without_touching_smtp(lab_dns):
    class Strict(labkit.mta.Receiver):
        def decide(self, verdict, judgement, ctx):
            if verdict.spf.result != "pass":
                return labkit.mta.Decision(action="reject", reason="local: SPF must pass")
            return super().decide(verdict, judgement, ctx)

    with labkit.mta.Lab(dns=lab_dns, scorer=None) as lab:
        lab.receiver.__class__ = Strict
        res = lab.send(_msg(frm="x@nospf.example", subject="no spf"),
                       from_host="mail.nospf.example")
        assert res.code == 550 and "SPF must pass" in res.reply


def test_spam_scorer_plugs_in(lab_dns):
    class Always:
        def judge(self, message, *, client_ip=None, verdict=None, dns=None):
            assert client_ip == "192.0.2.10" and verdict is not None
            return labkit.filters.SpamJudgement(
                score=0.99, status="spam", headers={"X-Spam-Score": "0.99",
                                                    "X-Spam-Status": "Yes"}, reasons=("test",))

    with labkit.mta.Lab(dns=lab_dns, scorer=Always()) as lab:
        lab.send(_msg(subject="spammy"), from_host="mail.brand.example", dkim=True)
        msg = _stored(lab, "alice@corp.example", "spammy", folder="Junk")
        assert msg["X-Spam-Status"] == "Yes"


def test_the_senders_own_spam_headers_are_replaced_not_kept(lab_dns):
    # a spammer writes "X-Spam-Status: No" and hopes the mail client reads that one
    with labkit.mta.Lab(dns=lab_dns) as lab:
        forged = _msg(subject="trust me", headers={"X-Spam-Status": "No, score=-5",
                                                   "X-Spam-Score": "-5", "X-Spam-Level": "none"})
        lab.send(forged, from_host="mail.brand.example", dkim=True)
        folder = "Junk" if lab.mailbox("alice@corp.example").messages("Junk") else "INBOX"
        msg = _stored(lab, "alice@corp.example", "trust me", folder=folder)
        assert len(msg.get_all("X-Spam-Status")) == 1 and "score=-5" not in msg["X-Spam-Status"]
        assert msg.get_all("X-Spam-Score") == [msg["X-Spam-Score"]] and msg["X-Spam-Score"] != "-5"
        assert msg["X-Spam-Level"] == "none"  # a field we do not write stays as it came
        [event] = lab.events.entries(host="mx.corp.example", event="forged-spam-headers")
        assert event["removed"] == 2


def test_default_scorer_is_the_filters_spam_scorer(lab):
    import labkit.filters

    assert isinstance(lab.receiver.scorer, labkit.filters.SpamScorer)


@pytest.mark.parametrize("folder", ["INBOX", "Junk"])
def test_maildir_delivery_is_atomic_and_unique(tmp_path, folder):
    box = labkit.mta.Maildir(tmp_path / "box")
    keys = {box.deliver(b"Subject: %d\r\n\r\nx\r\n" % i, folder) for i in range(50)}
    assert len(keys) == 50 and box.count(folder) == 50
    base = tmp_path / "box" if folder == "INBOX" else tmp_path / "box" / ".Junk"
    assert not list((base / "tmp").iterdir())  # nothing left half-written
    assert sorted(box.get(k, folder) for k in keys) == sorted(
        b"Subject: %d\r\n\r\nx\r\n" % i for i in range(50))


def test_a_crashing_policy_step_defers_with_451_and_logs_it(lab_dns):
    class Broken(labkit.mta.Receiver):
        def decide(self, verdict, judgement, ctx):
            raise RuntimeError("exercise not finished")

    with labkit.mta.Lab(dns=lab_dns, scorer=None) as lab:
        lab.receiver.__class__ = Broken
        res = lab.send(_msg(subject="crash"), from_host="mail.brand.example")
        assert res.status == "deferred" and res.code == 451
        err = lab.events.entries(host="mx.corp.example", event="error")[-1]
        assert err["step"] == "data" and "exercise not finished" in err["reason"]
        assert not lab.mailbox("alice@corp.example").messages()


def test_return_path_the_sender_wrote_is_replaced_at_final_delivery(lab):
    """A Return-Path in incoming mail was written by the sender: the MX removes it (RFC
    5321 4.4 allows it; Postfix does it by default) and writes the real MAIL FROM."""
    planted = (b"Return-Path: <ceo@corp.example>\r\n" + _msg(subject="planted path")
               .replace(b"\nSubject:", b"\nReturn-Path:\r\n <also@corp.example>\r\nSubject:", 1))
    res = lab.send(planted, from_host="mail.brand.example", mail_from="news@brand.example")
    assert res.status == "sent"
    raw = [m for m in lab.mailbox("alice@corp.example").messages() if b"planted path" in m][0]
    msg = email.message_from_bytes(raw)
    assert msg.get_all("Return-Path") == ["<news@brand.example>"]
    assert raw.startswith(b"Return-Path: <news@brand.example>\r\nReceived: ")
    assert b"ceo@corp.example" not in raw and b"also@corp.example" not in raw
    (removed,) = lab.events.entries(event="return-path", qid=res.reply.split()[-1])
    assert removed["removed"] == 2 and "RFC 5321" in removed["reason"]


def test_return_path_of_the_null_sender_is_empty(lab):
    res = lab.send(_msg(frm="postmaster@relay.example", subject="null sender path"),
                   from_host="mail.brand.example", mail_from="")
    assert res.status == "sent", res.reply
    msg = _stored(lab, "alice@corp.example", "null sender path")
    assert msg.get_all("Return-Path") == ["<>"]


def test_remove_return_path_keeps_everything_else_byte_for_byte():
    from labkit.mta.policy import remove_return_path

    body = b"\r\nReturn-Path: <in the body>\r\n"
    data = b"X-A: 1\r\nreturn-path: <a@b.example>\r\nX-B: 2\r\n\tfolded\r\n" + body
    assert remove_return_path(data) == (b"X-A: 1\r\nX-B: 2\r\n\tfolded\r\n" + body, 1)
    assert remove_return_path(b"X-A: 1\r\n\r\nReturn-Path: <x>\r\n") == (
        b"X-A: 1\r\n\r\nReturn-Path: <x>\r\n", 0)  # only the header counts
    # a message with no blank line is all header
    assert remove_return_path(b"Return-Path: <x>\r\nSubject: s\r\n") == (b"Subject: s\r\n", 1)


def test_the_verdict_records_the_helo_name_the_client_claimed(lab):
    """Lab 01 puts the claimed HELO beside the envelope; it comes from the verdict, as the
    client sent it (a forger's choice), not from the sender's real name."""
    msg = make_message(from_="taro@isp.example", to="bob@corp.example", subject="helo", body="x")
    res = lab.send(msg, from_host="mail.attacker.test", mail_from="taro@isp.example",
                   helo="mail.isp.example")
    verdict = lab.verdicts(res.message_id)[-1]
    assert verdict["helo"] == "mail.isp.example", verdict
    assert verdict["client"] == lab.hosts["mail.attacker.test"].address, verdict
