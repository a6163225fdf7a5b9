"""The forwarder and the mailing list answer RCPT through one rule, Policy.rcpt_by_name:
their own names are accepted with a reason, then this host's postmaster, and anything
else is refused as ``no such alias`` / ``no such list``.  Each reply and the event it
records are checked here, for every branch, on the real policy classes."""

from __future__ import annotations

import types

import pytest

from labkit.mta.clock import LabClock
from labkit.mta.events import EventLog
from labkit.mta.forwarder import Forwarder, srs_forward
from labkit.mta.mailinglist import MailingList
from labkit.mta.policy import Context


def _host(cls, **kw):
    # on_rcpt needs only the lab's event log and clock (real ones; the clock dates SRS
    # addresses); a whole Lab would start every server of the lab Internet for a check
    # that sends nothing
    lab = types.SimpleNamespace(events=EventLog(), clock=LabClock())
    return cls(lab=lab, hostname=f"mx.{kw['domain']}", **kw), lab.events


def _rcpt(policy, events, address):
    ctx = Context(session=events.new_session(policy.hostname), client_ip="192.0.2.10")
    reply = policy.on_rcpt(ctx, address, [])
    [event] = events.entries(host=policy.hostname, event="rcpt", session=ctx.session)
    return reply, event["decision"], event["reason"]


@pytest.fixture
def forwarder():
    return _host(Forwarder, domain="fwd.example.net", srs=True,
                 aliases={"Alice@fwd.example.net": ["alice@corp.example", "a2@corp.example"]})


def test_forwarder_alias(forwarder):
    assert _rcpt(*forwarder, "alice@FWD.example.net") == (
        "250 OK", "accept", "alias for alice@corp.example, a2@corp.example")


def test_forwarder_srs_address_leads_back(forwarder):
    policy, _ = forwarder
    srs = srs_forward("taro@isp.example", "fwd.example.net", policy.secret,
                      policy.lab.clock.now())
    assert _rcpt(*forwarder, srs) == (
        "250 OK", "accept", "valid SRS address: returns to the original sender")


def test_forwarder_postmaster_and_unknown(forwarder):
    reply, decision, reason = _rcpt(*forwarder, "postmaster@fwd.example.net")
    assert (reply, decision) == ("250 OK", "accept") and "RFC 5321" in reason
    assert _rcpt(*forwarder, "nobody@fwd.example.net") == (
        "550 5.1.1 <nobody@fwd.example.net>: no such alias", "reject", "no such alias")


def test_list_address_postmaster_and_unknown():
    lst, events = _host(MailingList, domain="lists.example.org",
                        lists={"lab-list@lists.example.org": ["carol@corp.example"]})
    assert _rcpt(lst, events, "Lab-List@lists.example.org") == ("250 OK", "accept", "list address")
    reply, decision, reason = _rcpt(lst, events, "Postmaster")
    assert (reply, decision) == ("250 OK", "accept") and "RFC 5321" in reason
    assert _rcpt(lst, events, "other@lists.example.org") == (
        "550 5.1.1 <other@lists.example.org>: no such list", "reject", "no such list")
