"""The key terms of every lab, read from the stored notebooks without running them.

Each lab has one cell ``lk.widgets.KeyTerms([...])`` whose list holds tuples
``(english, japanese[, meaning])``. The list is parsed with ``ast`` and checked:

- every term has an English and a Japanese side;
- no lab lists the same English term twice;
- an English term has one Japanese rendering across the whole course, so that a
  learner preparing for the 情報処理安全確保支援士 exam meets one word for one idea.

English terms are compared case-insensitively, with runs of spaces folded, and by
their head: the text before a bracketed gloss, so ``allowlist`` and
``allowlist (whitelist)`` are the same term. Japanese renderings are compared after
NFKC normalisation (full-width and half-width brackets are the same rendering).
A term that must differ between labs goes into ``ALLOWED_VARIANTS`` with the reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from pathlib import Path

import pytest

import labkit.grading
from tests.widgets.stored_calls import call_literal, copy_with_edit

LABS = labkit.grading.find_labs()

# English term (as ``term_key`` gives it) -> why its Japanese may differ between labs.
# Empty today: every shared term has one rendering. Add an entry only with a reason.
ALLOWED_VARIANTS: dict[str, str] = {}

Term = tuple[str, str, str]


def key_terms(notebook: Path) -> list[Term]:
    """The (english, japanese, meaning) tuples of the notebook's one KeyTerms call."""
    # a literal list: the stored cell is data, not code to run
    items = call_literal(notebook, "KeyTerms", "terms")
    terms = []
    for item in items:
        assert isinstance(item, tuple) and 2 <= len(item) <= 3, f"{notebook.name}: {item!r}"
        assert all(isinstance(field, str) for field in item), f"{notebook.name}: {item!r}"
        en, ja, *rest = item
        terms.append((en, ja, rest[0] if rest else ""))
    return terms


def term_key(english: str) -> str:
    """The English term as compared across labs: lower case, head before any gloss."""
    folded = re.sub(r"\s+", " ", english).strip().casefold()
    return folded.split(" (", 1)[0].strip()


def rendering(japanese: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", japanese)).strip()


def problems(
    terms_by_lab: dict[str, list[Term]], allowed: dict[str, str] = ALLOWED_VARIANTS
) -> list[str]:
    """Everything wrong with the course's key terms, one sentence each."""
    found = []
    renderings: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for lab, terms in terms_by_lab.items():
        seen: dict[str, str] = {}
        for en, ja, _meaning in terms:
            if not en.strip() or not ja.strip():
                found.append(f"{lab}: term {en!r} / {ja!r} lacks its English or Japanese side")
                continue
            key = term_key(en)
            if key in seen:
                found.append(f"{lab}: {en!r} listed twice (also as {seen[key]!r})")
            seen[key] = en
            renderings[key][rendering(ja)].append(lab)
    for key, by_ja in sorted(renderings.items()):
        if len(by_ja) > 1 and key not in allowed:
            variants = "; ".join(
                f"{ja!r} in {', '.join(labs)}" for ja, labs in sorted(by_ja.items())
            )
            found.append(f"{key!r} has {len(by_ja)} Japanese renderings: {variants}")
    for key, reason in sorted(allowed.items()):
        if not reason.strip():
            found.append(f"ALLOWED_VARIANTS lists {key!r} without saying why")
        if len(renderings.get(key, {})) < 2:
            found.append(f"ALLOWED_VARIANTS lists {key!r}, which no longer differs between labs")
    return found


def course_terms(labs=LABS) -> dict[str, list[Term]]:
    return {lab.assignment_id: key_terms(lab.notebook) for lab in labs}


def test_course_has_labs_with_key_terms():
    terms = course_terms()
    assert len(terms) == len(LABS) >= 10
    assert all(len(t) >= 5 for t in terms.values()), {lab: len(t) for lab, t in terms.items()}


def test_course_key_terms_are_complete_and_consistent():
    assert problems(course_terms()) == []


# --- the checker finds what it should, on edited copies of real notebooks --------------


def _copy_with_edit(notebook: Path, tmp_path: Path, old: str, new: str) -> Path:
    """A copy of ``notebook`` whose KeyTerms cell has ``old`` replaced by ``new`` once."""
    return copy_with_edit(notebook, tmp_path, "KeyTerms", old, new)


def _shared_term() -> tuple[str, str, str, str, str]:
    """(lab a, lab b, english in b, japanese in b, key) for a term two labs share."""
    terms = course_terms()
    first_lab: dict[str, str] = {}
    for lab, items in terms.items():
        for en, ja, _ in items:
            key = term_key(en)
            if key in first_lab and first_lab[key] != lab:
                return first_lab[key], lab, en, ja, key
            first_lab.setdefault(key, lab)
    raise AssertionError("no English term is shared by two labs")


def _lab(assignment_id: str):
    return next(lab for lab in LABS if lab.assignment_id == assignment_id)


def test_a_second_japanese_rendering_is_caught(tmp_path):
    lab_a, lab_b, en, ja, key = _shared_term()
    edited = _copy_with_edit(_lab(lab_b).notebook, tmp_path, f'"{ja}"', f'"{ja}の別表記"')
    terms = course_terms()
    terms[lab_b] = key_terms(edited)
    found = problems(terms)
    assert any(p.startswith(f"{key!r} has 2 Japanese renderings") and lab_b in p for p in found), (
        found
    )
    # the same difference passes once it is allowed with a reason
    assert problems(terms, allowed={key: "test: a deliberate variant"}) == []


def test_a_term_listed_twice_in_one_lab_is_caught(tmp_path):
    _, lab_b, en, ja, _key = _shared_term()
    edited = _copy_with_edit(
        _lab(lab_b).notebook, tmp_path, "KeyTerms([", f'KeyTerms([\n    ("{en}", "{ja}", ""),'
    )
    found = problems({lab_b: key_terms(edited)})
    assert found == [f"{lab_b}: {en!r} listed twice (also as {en!r})"]


@pytest.mark.parametrize("blank", ["english", "japanese"])
def test_a_term_without_english_or_japanese_is_caught(tmp_path, blank):
    _, lab_b, en, ja, _key = _shared_term()
    old = f'("{en}", "{ja}"'
    new = f'("", "{ja}"' if blank == "english" else f'("{en}", " "'
    edited = _copy_with_edit(_lab(lab_b).notebook, tmp_path, old, new)
    found = problems({lab_b: key_terms(edited)})
    assert len(found) == 1 and "lacks its English or Japanese side" in found[0], found


def test_a_stale_or_unexplained_allowed_variant_is_reported():
    found = problems(course_terms(), allowed={"no such term": " "})
    assert found[-2:] == [
        "ALLOWED_VARIANTS lists 'no such term' without saying why",
        "ALLOWED_VARIANTS lists 'no such term', which no longer differs between labs",
    ]
