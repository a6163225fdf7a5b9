"""Lab 05's self-check quiz speaks of the lab's own Internet.

The labs' fictional Internet (data/zones, cast in data/zones/CAST.md) has a brand that
phishers impersonate (brand.example) and an attacker with valid SPF and DKIM
(attacker.test). A quiz question that invents other names for the same roles makes the
learner wonder whether they are new actors; every domain name in lab 05's quiz is one of
the lab's zones or a name inside one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import ROOT
from tests.widgets.stored_calls import copy_with_edit
from tests.widgets.test_quiz_content import quiz_questions

LAB05 = ROOT / "labs" / "05-dmarc" / "05-dmarc.ipynb"
ZONES = sorted(p.name.removesuffix(".zone") for p in (ROOT / "data" / "zones").glob("*.zone"))
DOMAIN = re.compile(r"\b(?:[a-z0-9-]+\.)+(?:example|test|invalid|localhost|com|net|org)\b",
                    re.IGNORECASE)


def names_outside_the_zones(notebook: Path) -> list[str]:
    """The domain names in the notebook's quiz that no lab zone holds."""
    text = json.dumps(quiz_questions(notebook))
    names = {m.group(0).lower() for m in DOMAIN.finditer(text)}
    return sorted(n for n in names if not any(n == z or n.endswith("." + z) for z in ZONES))


def test_lab05_quiz_uses_the_labs_domains():
    assert ZONES, "no zone files in data/zones"
    assert names_outside_the_zones(LAB05) == []


def test_a_name_from_outside_the_zones_is_found(tmp_path):
    copy = copy_with_edit(LAB05, tmp_path, "Quiz", "security@brand.example'. Its",
                          "security@bank.example'. Its")
    assert names_outside_the_zones(copy) == ["bank.example"]
