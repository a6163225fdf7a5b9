"""Every lab's self-check quiz speaks of the lab's own Internet.

The labs' fictional Internet (data/zones, cast in data/zones/CAST.md) has a brand that
phishers impersonate (brand.example), an attacker with valid SPF and DKIM (attacker.test),
our organisation (corp.example), a DNSBL zone (bl.dnsbl.example) and more. A quiz question
that invents other names for the same roles makes the learner wonder whether they are new
actors, and the learner cannot look them up in the running lab. So every domain name in a
lab's quiz is one of the lab's zones or a name inside one, except for the few names below
that are outside the lab on purpose; the question that uses one says so in its own words.

The same holds for IP addresses. A single address in a quiz is one the lab really uses (an
address in a record of data/zones: a host's A or AAAA, a PTR, a DNSBL entry, an address an
SPF record lists), so the learner can try it in the running lab; where a question writes a
host name beside an address, the name's A or AAAA record holds it. A network (a CIDR such
as 198.51.100.0/24 in an SPF record) only illustrates a rule and may be any documentation
block (RFC 5737, RFC 3849) or 127.0.0.0/8, the DNSBL answer range (RFC 5782). A few single
addresses illustrate a rule too; they are listed below with the only words they appear in.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import dns.name
import dns.reversename
import pytest

import labkit.dns.zone
import labkit.grading
from tests.conftest import ROOT
from tests.widgets.stored_calls import copy_with_edit
from tests.widgets.test_quiz_content import quiz_questions

LABS = labkit.grading.find_labs()
ZONES = sorted(p.name.removesuffix(".zone") for p in (ROOT / "data" / "zones").glob("*.zone"))
DOMAIN = re.compile(r"\b(?:[a-z0-9_-]+\.)+(?:example|test|invalid|localhost|com|net|org|arpa)\b",
                    re.IGNORECASE)

# Names outside the zones on purpose: lab -> {name: words in the same question that tell
# the learner the name is not in the lab}. Keep this list short; prefer the cast.
DELIBERATE = {
    "03-spf": {
        # brand.example's owner registers a campaign domain that sends no mail; the
        # question asks which SPF record to publish there, so it has no records yet.
        "offers-brand.example": "the lab's DNS does not hold it yet",
    },
}


# Single addresses outside the lab on purpose: lab -> {address: the words around it}. Every
# use of the address must sit inside those words, so it never stands for a host.
DELIBERATE_ADDRESSES = {
    "02-dns": {
        # the question shows how a TXT record's two strings are joined; the address is part
        # of the record's text only, no host and no domain is said to have it
        "192.0.2.1": "ip4:192.0.2.1",
    },
}
# a network in a quiz illustrates a rule: it may be a documentation block or the DNSBL
# answer range, nothing else
RULE_BLOCKS = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "127.0.0.0/8"))

_IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\w/-]|\.[\w-])"
_IPV6 = r"(?:(?<=ip6:)|(?<![\w:.]))(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:/\d{1,3})?(?![\w:.-])"
ADDRESS = re.compile(f"{_IPV4}|{_IPV6}", re.IGNORECASE)
HOST_BESIDE = re.compile(rf"({DOMAIN.pattern})\s*[(\[]({_IPV4}|{_IPV6})[)\]]", re.IGNORECASE)


def addresses_in(text: str) -> list[str]:
    """Every IPv4/IPv6 address or network written in ``text``, as written (reverse names
    such as 150.100.51.198.bl.dnsbl.example and times such as 09:58:00 are not addresses)."""
    found = []
    for m in ADDRESS.finditer(text):
        try:
            ipaddress.ip_network(m.group(0), strict=False)
        except ValueError:
            continue
        found.append(m.group(0).lower())
    return found


NOWHERE = dns.name.from_text("nowhere.invalid.")


def _zone_addresses() -> tuple[set[str], dict[str, set[str]]]:
    singles: set[str] = set()
    forward: dict[str, set[str]] = {}
    origins = [dns.name.from_text(z) for z in ZONES] + [dns.reversename.ipv4_reverse_domain,
                                                       dns.reversename.ipv6_reverse_domain]
    for rrset in labkit.dns.zone.load_shared(ROOT / "data" / "zones"):
        for origin in origins:  # a reverse name under a zone: a PTR or a DNSBL entry
            if rrset.name != origin and rrset.name.is_subdomain(origin):
                for v4, v6 in ((origin, NOWHERE), (NOWHERE, origin)):
                    try:
                        singles.add(dns.reversename.to_address(rrset.name, v4, v6))
                    except Exception:  # noqa: BLE001 - not a reverse name: skip it
                        pass
        for rdata in rrset:
            written = [a for a in addresses_in(rdata.to_text()) if "/" not in a]
            singles.update(written)
            if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                forward.setdefault(rrset.name.to_text(omit_final_dot=True).lower(),
                                   set()).update(written)
    return {str(ipaddress.ip_address(a)) for a in singles}, forward


LAB_ADDRESSES, LAB_HOSTS = _zone_addresses()


def quiz_text(questions: list[dict]) -> str:
    """All the text of the questions (prompts, choices, explanations), one string."""
    return " ".join(" ".join([q["prompt"], *q["choices"], q["explanation"]]) for q in questions)


def addresses_outside_the_lab(text: str) -> list[str]:
    """Single addresses in ``text`` no zone record holds, and networks that are not
    documentation blocks or 127.0.0.0/8."""
    found = set()
    for written in addresses_in(text):
        net = ipaddress.ip_network(written, strict=False)
        if "/" in written:
            if not any(net.subnet_of(block) for block in RULE_BLOCKS if block.version == net.version):
                found.add(written)
        elif str(net.network_address) not in LAB_ADDRESSES:
            found.add(written)
    return sorted(found)


def hosts_beside_wrong_addresses(text: str) -> list[str]:
    """'name (address)' pairs in ``text`` where the name's A/AAAA records lack the address."""
    return [m.group(0) for m in HOST_BESIDE.finditer(text)
            if str(ipaddress.ip_address(m.group(2))) not in LAB_HOSTS.get(m.group(1).lower(), set())]


def quiz_names(questions: list[dict]) -> set[str]:
    """Every domain name in the questions (prompts, choices, explanations), lower case."""
    return {m.group(0).lower() for m in DOMAIN.finditer(json.dumps(questions))}


def outside_the_zones(names: set[str]) -> list[str]:
    """The names no lab zone holds (neither a zone nor a name inside one)."""
    return sorted(n for n in names if not any(n == z or n.endswith("." + z) for z in ZONES))


def names_outside_the_zones(notebook: Path) -> list[str]:
    """The domain names in the notebook's quiz that no lab zone holds."""
    return outside_the_zones(quiz_names(quiz_questions(notebook)))


@pytest.mark.parametrize("lab", LABS, ids=[lab.assignment_id for lab in LABS])
def test_quiz_uses_the_labs_domains(lab):
    assert ZONES, "no zone files in data/zones"
    allowed = set(DELIBERATE.get(lab.assignment_id, {}))
    assert [n for n in names_outside_the_zones(lab.notebook) if n not in allowed] == []


@pytest.mark.parametrize("lab_id", sorted(DELIBERATE))
def test_a_deliberate_outsider_is_still_used_and_said_to_be_outside(lab_id):
    (lab,) = [lab for lab in LABS if lab.assignment_id == lab_id]
    questions = quiz_questions(lab.notebook)
    for name, words in DELIBERATE[lab_id].items():
        assert outside_the_zones({name}) == [name], f"{name} is in the zones now: drop it here"
        using = [q for q in questions if name in quiz_names([q])]
        assert using, f"{lab_id}'s quiz no longer names {name}: drop it from DELIBERATE"
        for q in using:
            text = " ".join([q["prompt"], *q["choices"], q["explanation"]])
            assert words in text, f"{lab_id}: a question names {name} without saying {words!r}"


def test_a_name_from_outside_the_zones_is_found(tmp_path):
    (lab,) = [lab for lab in LABS if lab.assignment_id == "05-dmarc"]
    copy = copy_with_edit(lab.notebook, tmp_path, "Quiz", "security@brand.example'. Its",
                          "security@bank.example'. Its")
    assert names_outside_the_zones(copy) == ["bank.example"]
    # names with underscores and reverse names are read whole, and checked like any other
    assert quiz_names([{"prompt": "TXT at s2026._domainkey.brand.example or "
                                  "45.2.0.192.in-addr.arpa"}]) == {
        "s2026._domainkey.brand.example", "45.2.0.192.in-addr.arpa"}
    assert outside_the_zones({"1.1.168.192.in-addr.arpa", "150.100.51.198.in-addr.arpa"}) == [
        "1.1.168.192.in-addr.arpa"]


@pytest.mark.parametrize("lab", LABS, ids=[lab.assignment_id for lab in LABS])
def test_quiz_uses_the_labs_addresses(lab):
    assert {"203.0.113.25", "198.51.100.150", "2001:db8:113::25"} <= LAB_ADDRESSES
    text = quiz_text(quiz_questions(lab.notebook))
    allowed = set(DELIBERATE_ADDRESSES.get(lab.assignment_id, {}))
    assert [a for a in addresses_outside_the_lab(text) if a not in allowed] == []
    assert hosts_beside_wrong_addresses(text) == []


@pytest.mark.parametrize("lab_id", sorted(DELIBERATE_ADDRESSES))
def test_a_deliberate_address_is_still_used_and_only_inside_its_words(lab_id):
    (lab,) = [lab for lab in LABS if lab.assignment_id == lab_id]
    text = quiz_text(quiz_questions(lab.notebook))
    for address, words in DELIBERATE_ADDRESSES[lab_id].items():
        assert address not in LAB_ADDRESSES, f"{address} is a lab address now: drop it here"
        assert any(ipaddress.ip_address(address) in block for block in RULE_BLOCKS[:4]), (
            f"{address} is not a documentation address")
        uses = addresses_in(text).count(address)
        assert uses, f"{lab_id}'s quiz no longer names {address}: drop it from DELIBERATE_ADDRESSES"
        assert text.count(words) == uses, f"{lab_id}: {address} appears outside {words!r}"


def test_an_address_outside_the_lab_is_found(tmp_path):
    (lab,) = [lab for lab in LABS if lab.assignment_id == "08-lists"]
    copy = copy_with_edit(lab.notebook, tmp_path, "Quiz", "resolves to 203.0.113.78",
                          "resolves to 203.0.113.79")
    assert addresses_outside_the_lab(quiz_text(quiz_questions(copy))) == ["203.0.113.79"]
    copy = copy_with_edit(lab.notebook, tmp_path, "Quiz", "bot.noptr.test (203.0.113.99)",
                          "bot.noptr.test (198.51.100.150)")
    assert hosts_beside_wrong_addresses(quiz_text(quiz_questions(copy))) == [
        "bot.noptr.test (198.51.100.150)"]
    # what counts as an address, and what does not
    assert addresses_in("ip4:192.0.2.1 and ip6:2001:db8::1, from 203.0.113.78. A block "
                        "198.51.100.0/24; 150.100.51.198.bl.dnsbl.example, "
                        "45.2.0.192.in-addr.arpa, 09:58:00 +0900") == [
        "192.0.2.1", "2001:db8::1", "203.0.113.78", "198.51.100.0/24"]
    # a lab host, a DNSBL entry, an address only an SPF record lists; a real network is not
    # an illustration
    assert addresses_outside_the_lab("198.51.100.25 127.0.0.4 192.0.2.105 203.0.113.5 "
                                     "10.0.0.0/8 127.0.0.0/8 2001:db8:2::10 2001:db8:2::25") == [
        "10.0.0.0/8", "2001:db8:2::25", "203.0.113.5"]
