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
    # Markdown joins lines without a blank one between them: the time must open a paragraph
    # of its own, not run on at the end of the summary.
    before = text[:minutes.start()]
    assert before.endswith("\n\n"), f"put a blank line before the time: ...{before[-60:]!r}"
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


def _notebook_minutes(lab) -> tuple[int, int | None]:
    """(minutes, optional extra minutes or None) from the lab's opening line."""
    text = _opening(lab)
    extra = re.search(r"about \d+ minutes, plus (?:about )?(\d+)", text)
    return int(TIME.search(text).group(1)), int(extra.group(1)) if extra else None


def test_readme_and_instructor_guide_give_each_labs_own_time():
    """The course table in README.md and the instructor guide's timings say what each
    lab's opening line says (they drifted apart once when a lab grew)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    guide = (ROOT / "docs" / "instructor-guide.md").read_text(encoding="utf-8")
    for lab in LABS:
        minutes, extra = _notebook_minutes(lab)
        name = lab.assignment_id
        row = re.search(rf"^\| \[[^\]]*\]\(labs/{name}/{name}\.ipynb\) \|.*$", readme, re.M)
        assert row, f"README.md has no course-table row for {name}"
        said = re.search(r"\| (\d+) min(?: \(\+(\d+) optional\))? \|", row.group(0))
        assert said, f"README.md row for {name} gives no 'N min'"
        assert (int(said.group(1)), said.group(2) and int(said.group(2))) == (minutes, extra), name
        row = re.search(rf"^\| {name} \|.*$", guide, re.M)
        assert row, f"docs/instructor-guide.md has no timing row for {name}"
        said = re.search(r"\| about (\d+) minutes(?:, plus (\d+))?", row.group(0))
        assert said, f"instructor guide row for {name} gives no 'about N minutes'"
        assert (int(said.group(1)), said.group(2) and int(said.group(2))) == (minutes, extra), name


def test_readme_picture_shows_what_the_demo_prints_now(capsys):
    """docs/img/labkit-demo.png keeps the rows it shows as PNG text (docs/make_readme_picture.py);
    they must be today's ``labkit demo --json`` rows, or the picture is out of date (it was once:
    the port-587 row showed DKIM none after the ISP got its key). Re-render with
    ``python docs/make_readme_picture.py``."""
    import json
    import sys

    from PIL import Image

    from labkit.cli import main

    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import make_readme_picture as picture
    finally:
        sys.path.remove(str(ROOT / "docs"))
    with Image.open(ROOT / "docs" / "img" / "labkit-demo.png") as im:
        text = im.text.get("Description")
    assert text, "the README picture carries no rows: python docs/make_readme_picture.py"
    shown = json.loads(text)
    assert main(["demo", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert shown == [[str(r[k]) for k in picture.CHECKED] for r in rows], (
        "the README picture is out of date: python docs/make_readme_picture.py")
