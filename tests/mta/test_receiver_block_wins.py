"""A block entry wins over an allow entry in the receiver as in SpamScorer (review 14).

SpamScorer now checks its blocklist before its allowlist; the receiver's own allow
list (``ctx.notes["allowed"]``) used to keep *any* spam judgement out of Junk, so a
blocked From sent through an allow-listed relay reached the INBOX.
"""

from __future__ import annotations

import email

import labkit.filters
import labkit.mta
from labkit.mta import make_message
from labkit.mta.policy import Context


def _folder_of(lab, rcpt, subject):
    found = [folder for folder in ("INBOX", "Junk")
             for m in lab.mailbox(rcpt).messages(folder) if subject.encode() in m]
    assert len(found) == 1, found
    return found[0]


def test_blocked_from_via_an_allow_listed_client_goes_to_junk(lab_dns):
    scorer = labkit.filters.SpamScorer(blocklist=["attacker.test"])
    with labkit.mta.Lab(dns=lab_dns, scorer=scorer) as lab:
        # mail.brand.example (192.0.2.10) is a partner relay on the receiver's allow list
        lab.receiver.allow = labkit.filters.AddressList.from_entries(["192.0.2.10"], "allow")
        lab.send(make_message(from_="x@attacker.test", to="alice@corp.example",
                              subject="via partner", body="hello\n"),
                 from_host="mail.brand.example")
        assert _folder_of(lab, "alice@corp.example", "via partner") == "Junk"
        verdicts = lab.events.entries(host="mx.corp.example", event="verdict")
        assert "block list entry" in verdicts[-1]["reason"], verdicts[-1]
        # the same relay's ordinary mail is still kept out of Junk by the allow entry
        lab.send(make_message(from_="news@brand.example", to="alice@corp.example",
                              subject="plain partner mail", body="hello\n"),
                 from_host="mail.brand.example")
        assert _folder_of(lab, "alice@corp.example", "plain partner mail") == "INBOX"
        msg = email.message_from_bytes(lab.mailbox("alice@corp.example").messages("Junk")[0])
        assert msg["X-Spam-Status"].startswith("Yes, score=1.000 required=")


def test_relay_networks_match_an_ipv4_mapped_client(lab):
    old = lab.receiver.relay_networks
    lab.receiver.relay_networks = ["192.0.2.0/24"]
    try:
        ok, why = lab.receiver.may_relay(Context(session="s", client_ip="::ffff:192.0.2.10"))
        assert ok, why
        ok, _ = lab.receiver.may_relay(Context(session="s", client_ip="::ffff:198.51.100.7"))
        assert not ok
    finally:
        lab.receiver.relay_networks = old
