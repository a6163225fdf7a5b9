"""ARC against the words of RFC 8617, on chains sealed with real keys and checked through a real LabDNS.

* 5.2 step 5: ``oldest-pass`` is 0 when every ARC-Message-Signature verifies, else M+1 for the
  newest AMS (M) that no longer does; the Authentication-Results field says the same number.
* 4.2.1 / 5.2 step 1: instances run 1..50; a validator fails a chain of more than 50 sets
  before any other work, and a sealer has no instance number left after 50.
* 5.2 steps 2-6: the trace a learner reads names the validator's steps in the RFC's order,
  and a chain that a sealer declared ``cv=fail`` is explained as that, not as tampering.
"""

from __future__ import annotations

import logging
import re

import pytest

import labkit.dns
from labkit.auth import arc, dkim, results
from tests.auth.dkim_support import MESSAGE, keypair, zone

LIST_ID = "mail.lists.example.org"


@pytest.fixture(scope="module")
def lab():
    zones = [
        zone("sender.example", {"s": keypair("rsa").public_txt}),
        zone("lists.example.org", {"list": keypair("rsa", "list").public_txt}),
        zone("fwd.example.net", {"f": keypair("rsa", "fwd").public_txt}),
        zone("relay.example", {"r": keypair("rsa", "relay").public_txt}),
    ]
    with labkit.dns.LabDNS(zones) as server:
        yield server


def _seal(message: bytes, who: str, lab, results_header: str | None = None) -> bytes:
    domain, selector, tag, authserv = {
        "list": ("lists.example.org", "list", "list", LIST_ID),
        "fwd": ("fwd.example.net", "f", "fwd", "mx.fwd.example.net"),
        "relay": ("relay.example", "r", "relay", "mx.relay.example"),
    }[who]
    return arc.seal(message, domain=domain, selector=selector, private_key=keypair("rsa", tag).private_pem,
                    authserv_id=authserv, results_header=results_header, dns=lab)


@pytest.fixture(scope="module")
def signed():
    return dkim.sign(MESSAGE, domain="sender.example", selector="s", private_key=keypair("rsa").private_pem)


def _oldest_pass_in_header(result: arc.ARCResult) -> str:
    field = results.authentication_results("mx.corp.example", arc=result)
    found = re.search(r"\boldest-pass=(\d+)", field)
    assert found, field
    return found.group(1)


# ------------------------------------------------------------------ 5.2 step 5: oldest-pass
def test_every_ams_verifies_oldest_pass_is_zero_in_the_result_and_the_header(lab, signed):
    chain = _seal(_seal(signed, "list", lab), "fwd", lab)
    result = arc.verify(chain, dns=lab)
    assert result.result == "pass" and all(i.ams_valid for i in result.instances)
    assert result.oldest_pass == 0  # was 1 while the header said 0
    assert result.to_dict()["oldest_pass"] == 0
    assert _oldest_pass_in_header(result) == "0"
    assert "RFC 8617 5.2 step 5: oldest-pass=0 (every ARC-Message-Signature still verifies)" in result.steps


def test_body_changed_after_hop_one_oldest_pass_names_the_oldest_verifying_ams(lab, signed):
    """Hop 2 (a forwarder) checks the chain on arrival (arc=pass), adds a footer, then seals:
    the AMS of i=1 no longer verifies, those of i=2 and i=3 do, the chain still passes."""
    hop1 = _seal(signed, "list", lab)
    on_arrival = arc.verify(hop1, dns=lab)
    assert on_arrival.result == "pass"
    hop2 = _seal(hop1 + b"-- \r\nforwarded by fwd.example.net\r\n", "fwd", lab,
                 results_header=f"mx.fwd.example.net; arc={on_arrival.result}")
    hop3 = _seal(hop2, "relay", lab)
    result = arc.verify(hop3, dns=lab)
    assert result.result == "pass", result.reason
    assert [i.ams_valid for i in result.instances] == [False, True, True]
    assert [i.cv for i in result.instances] == ["none", "pass", "pass"]
    assert result.oldest_pass == 2
    assert _oldest_pass_in_header(result) == "2"
    assert ("RFC 8617 5.2 step 5: oldest-pass=2 (the ARC-Message-Signature of i=1 no longer verifies;"
            " i=2 and newer do)") in result.steps


# ------------------------------------------------------------------ 4.2.1, 5.2 step 1: at most 50 sets
@pytest.fixture(scope="module")
def fifty(lab, signed):
    """A real chain of 50 sets, sealed cheaply with one key (each hop states the chain
    state itself, so no hop has to verify the chain before it)."""
    message = signed
    for n in range(50):
        message = _seal(message, "list", lab, results_header=f"{LIST_ID}; arc={'pass' if n else 'none'}")
    return message


def test_fifty_sets_verify(lab, fifty):
    result = arc.verify(fifty, dns=lab)
    assert result.result == "pass", result.reason
    assert [i.instance for i in result.instances] == list(range(1, 51))
    assert result.oldest_pass == 0


def test_sealing_a_fifty_set_chain_adds_nothing_and_says_why(lab, fifty, caplog):
    """i= can only run to 50: the 51st set would make the chain one that every validator
    fails (5.2 step 1).  The sealer passes the message on unsealed instead of raising
    (dkimpy's 'Maximum instance tag value exceeded' came out as a UsageError)."""
    with caplog.at_level(logging.INFO, logger="labkit.auth.arc"):
        out = _seal(fifty, "fwd", lab)
    assert out == fifty
    said = " ".join(r.getMessage() for r in caplog.records if r.name == "labkit.auth.arc")
    assert "50" in said and "RFC 8617" in said and "not sealing" in said
    assert arc.verify(out, dns=lab).result == "pass"  # the next receiver still sees the valid chain


def test_more_than_fifty_sets_fail_at_step_one_without_a_dns_query(lab, fifty):
    # a 51st set: a copy of the newest one renumbered (its signatures need never be looked at)
    fields = re.findall(rb"(?:ARC-Seal|ARC-Message-Signature|ARC-Authentication-Results): i=50;.*?\r\n(?![ \t])",
                        fifty, re.S)
    assert len(fields) == 3
    flood = b"".join(f.replace(b"i=50;", b"i=51;", 1) for f in fields) + fifty
    asked = len(lab.queries)
    result = arc.verify(flood, dns=lab)
    assert len(lab.queries) == asked  # stopped before any key look-up
    assert result.result == "fail" and "51 ARC sets" in result.reason and "50" in result.reason
    assert result.steps == ("RFC 8617 5.2 step 1: 51 ARC sets, more than the 50 allowed:"
                            " the chain fails here, nothing else is checked",)
    # 51 of only one kind of ARC field is as many sets (a set needs all three, step 3)
    aars = b"".join(b"ARC-Authentication-Results: i=%d; x.example; arc=pass\r\n" % i for i in range(1, 52))
    result = arc.verify(aars + MESSAGE, dns=lab)
    assert result.result == "fail" and "51 ARC sets" in result.reason


# ------------------------------------------------------------------ 5.2 steps 2-6: the trace
def test_trace_follows_the_validator_steps_in_order(lab, signed):
    result = arc.verify(_seal(_seal(signed, "list", lab), "fwd", lab), dns=lab)
    rfc = [s for s in result.steps if s.startswith("RFC 8617 5.2 step")]
    assert rfc == [
        "RFC 8617 5.2 step 1: 2 ARC sets, at most 50 allowed: yes",
        "RFC 8617 5.2 step 2: the newest ARC-Seal (i=2) does not say cv=fail: yes",
        "RFC 8617 5.2 step 3: each set has one ARC-Authentication-Results, ARC-Message-Signature and"
        " ARC-Seal, i=1..2 without gaps, cv=none at i=1 and cv=pass above it: yes",
        "RFC 8617 5.2 step 4: the newest ARC-Message-Signature (i=2) verifies: yes",
        "RFC 8617 5.2 step 5: oldest-pass=0 (every ARC-Message-Signature still verifies)",
        "RFC 8617 5.2 step 6: every ARC-Seal verifies: yes",
    ]


def test_a_chain_declared_cv_fail_is_explained_as_such(lab, signed):
    """The body changed between hop 1 and hop 2: hop 2 found the chain broken and sealed
    cv=fail over its own set only.  Step 2 ends validation there; nothing was 'changed or
    removed' in the ARC fields, which the reason used to say (from dkimpy checking that
    seal over all sets)."""
    hop1 = _seal(signed, "list", lab)
    hop2 = _seal(hop1 + b"changed on the way\r\n", "fwd", lab)
    result = arc.verify(hop2, dns=lab)
    assert result.result == "fail" and result.failed_instance == 2
    assert result.instances[-1].cv == "fail"
    assert "changed or removed" not in result.reason
    assert result.reason.startswith("ARC set i=2 (fwd.example.net) declared cv=fail")
    assert "changed or removed" not in " ".join(result.instances[-1].problems)
    assert "RFC 8617 5.2 step 2: the newest ARC-Seal (i=2) does not say cv=fail: NO" in result.steps
    assert "RFC 8617 5.2 step 6: not reached (the chain failed at step 2)" in result.steps
    assert result.oldest_pass is None


def test_a_failed_step_stops_the_trace(lab, signed):
    chain = _seal(_seal(signed, "list", lab), "fwd", lab)
    result = arc.verify(chain.replace(b"the   figures", b"the   FIGURES"), dns=lab)
    assert result.result == "fail" and result.failed_instance == 2
    assert "RFC 8617 5.2 step 4: the newest ARC-Message-Signature (i=2) verifies: NO" in result.steps
    assert "RFC 8617 5.2 step 5: not reached (the chain failed at step 4)" in result.steps
    assert "RFC 8617 5.2 step 6: not reached (the chain failed at step 4)" in result.steps
