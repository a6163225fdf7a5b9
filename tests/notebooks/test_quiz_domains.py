"""Every lab's self-check quiz speaks of the lab's own Internet.

The labs' fictional Internet (data/zones, cast in data/zones/CAST.md) has a brand that
phishers impersonate (brand.example), an attacker with valid SPF and DKIM (attacker.test),
our organisation (corp.example), a DNSBL zone (bl.dnsbl.example) and more. A quiz question
that invents other names for the same roles makes the learner wonder whether they are new
actors, and the learner cannot look them up in the running lab. So every domain name in a
lab's quiz is one of the lab's zones or a name inside one, except for the few names below
that are outside the lab on purpose; the question that uses one says so in its own words.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

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
