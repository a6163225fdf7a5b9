"""First impression: each lab opens with its title, a short summary, a time estimate,
goals and prerequisites; the pictures the README shows exist."""

from __future__ import annotations

import re

import nbformat
import pytest

import labkit.grading
from tests.conftest import ROOT

LABS = labkit.grading.find_labs()
TIME = re.compile(r"\*\*Time:?\*\*:?\s*about (\d+) minutes")


def _opening(lab) -> str:
    cell = nbformat.read(lab.notebook, as_version=4).cells[0]
    assert cell.cell_type == "markdown", f"{lab.assignment_id} should open with a markdown cell"
    return cell.source


@pytest.mark.parametrize("lab", LABS, ids=[lab.assignment_id for lab in LABS])
def test_lab_opens_with_summary_and_time(lab):
    text = _opening(lab)
    title, _, rest = text.partition("\n")
    number = lab.assignment_id.split("-", 1)[0]
    assert re.match(rf"# Lab {number}\b", title), f"title should read '# Lab {number} ...': {title!r}"
    summary = [ln for ln in rest.strip().split("\n\n", 1)[0].splitlines()
               if ln.strip() and not TIME.search(ln)]
    sentences = re.findall(r"[.!?](?:\s|$)", " ".join(summary))
    assert 1 <= len(sentences) <= 3, f"summary should be one to three sentences: {summary}"
    minutes = TIME.search(text)
    assert minutes and 5 <= int(minutes.group(1)) <= 120, "no '**Time:** about N minutes'"
    assert "goal" in text.lower() and "prerequisite" in text.lower()


def test_readme_pictures_exist():
    """Every docs/img picture that README.md shows is there, as PNG."""
    shown = set()
    for doc in (ROOT / "README.md",):
        if doc.exists():
            shown |= set(re.findall(r"\]\((docs/img/[^)\s]+)\)", doc.read_text()))
    assert shown, "no picture referenced"
    for rel in sorted(shown):
        data = (ROOT / rel).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{rel} is not a PNG"
