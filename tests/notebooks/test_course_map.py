"""The course map (20 topics) is covered by the labs, read from the stored notebooks.

Every topic of the course map needs a lab section that teaches it and a graded exercise
that a learner who has not understood the topic would fail. The notebooks say which is
which in their headings, in one fixed form:

- a section heading (``## ...`` or ``### ...``) ends with ``(topic 8)`` or
  ``(topics 8, 10)``;
- an exercise heading (``### Exercise ...``) ends with the topics its tests check, or
  with ``(groundwork)`` when it trains a skill that no single topic owns (DNS look-ups,
  reading a log, counting errors).

The graded cells that follow an exercise heading, up to the next exercise heading,
belong to it. This module checks that every topic 1-20 has at least one section and one
graded exercise, that every exercise heading is tagged and followed by a graded cell,
and that every graded cell sits under a tagged exercise heading.
"""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

import labkit.grading

TOPICS = range(1, 21)
LABS = labkit.grading.find_labs()

HEADING = re.compile(r"^(#{2,3}) +(.*?) *$", re.M)
TAG = re.compile(r"\((?:topic (\d+)|topics (\d+(?:, \d+)+)|(groundwork))\)$")
EXERCISE = re.compile(r"^Exercise\b")


@dataclass
class CourseMap:
    """Where each topic is taught (sections) and graded (exercises), and what is malformed."""

    sections: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    exercises: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    problems: list[str] = field(default_factory=list)


def _topics(tag: re.Match) -> list[int] | None:
    """The topic numbers of a tag, or None for ``(groundwork)``."""
    if tag.group(3):
        return None
    return [int(n) for n in (tag.group(1) or tag.group(2)).split(", ")]


def read_map(notebooks: list[Path]) -> CourseMap:
    """Read the topic tags of every section and exercise heading of ``notebooks``."""
    found = CourseMap()
    for notebook in notebooks:
        lab = notebook.stem
        nb = nbformat.read(str(notebook), as_version=4)
        exercise: tuple[str, list[int] | None] | None = None  # (heading, topics)
        graded_under: dict[str, int] = {}
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                for _, title in HEADING.findall(cell.source):
                    tag = TAG.search(title)
                    if EXERCISE.match(title):
                        if exercise and not graded_under[exercise[0]]:
                            found.problems.append(f"{lab}: {exercise[0]!r} has no graded cell")
                        if tag is None:
                            found.problems.append(
                                f"{lab}: {title!r} names no topics: end it with '(topic N)',"
                                " '(topics N, M)' or '(groundwork)'")
                            exercise = (title, None)
                        else:
                            exercise = (title, _topics(tag))
                        graded_under[title] = 0
                    elif tag is not None and _topics(tag):
                        for topic in _topics(tag):
                            found.sections[topic].append(f"{lab}: {title}")
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and meta.get("points", 0) > 0:
                if exercise is None:
                    found.problems.append(f"{lab}: graded cell {meta['grade_id']} has no exercise heading above it")
                    continue
                graded_under[exercise[0]] += 1
                for topic in exercise[1] or ():
                    found.exercises[topic].append(f"{lab}: {meta['grade_id']}")
        if exercise and not graded_under[exercise[0]]:
            found.problems.append(f"{lab}: {exercise[0]!r} has no graded cell")
    for kind, places in (("section", found.sections), ("graded exercise", found.exercises)):
        for topic in sorted(set(places) - set(TOPICS)):
            found.problems.append(f"topic {topic} is not on the course map ({kind} {places[topic]})")
        for topic in TOPICS:
            if not places.get(topic):
                found.problems.append(f"topic {topic} has no {kind}")
    return found


def _notebooks() -> list[Path]:
    return [lab.notebook for lab in LABS]


def test_every_topic_has_a_section_and_a_graded_exercise():
    course = read_map(_notebooks())
    assert course.problems == []
    assert sorted(course.sections) == sorted(course.exercises) == list(TOPICS)


def test_the_tags_use_the_fixed_form():
    assert TAG.search("## 2. Alignment (topics 18, 19)")
    assert TAG.search("### Exercise 1 (2 points): look a host up (groundwork)")
    for loose in ("(topics 18–19)", "(topics 11 and 16)", "(topic 8 )", "(Topics 8, 9)", "(topics 8,9)"):
        assert not TAG.search(f"## 1. Something {loose}"), loose


# --- the checker finds what it should, on edited copies of the real notebooks ---------------


def _single_exercise_topic(course: CourseMap) -> tuple[int, str]:
    """A topic that exactly one graded cell covers, and that cell ("lab: grade_id")."""
    for topic in TOPICS:
        if len(course.exercises[topic]) == 1:
            return topic, course.exercises[topic][0]
    raise AssertionError("every topic has several graded cells: pick another way to remove one")


def _copies(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for notebook in _notebooks():
        copy = tmp_path / notebook.name
        shutil.copy(notebook, copy)
        out[notebook.stem] = copy
    return out


def test_removing_a_topics_only_exercise_is_caught(tmp_path):
    topic, where = _single_exercise_topic(read_map(_notebooks()))
    lab, grade_id = where.split(": ")
    copies = _copies(tmp_path)
    nb = nbformat.read(str(copies[lab]), as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    graded = ids.index(grade_id)
    # the exercise: its heading's cell, its solution and its graded cell
    start = max(i for i, c in enumerate(nb.cells[:graded])
                if c.cell_type == "markdown" and re.search(r"^### Exercise", c.source, re.M))
    heading = nb.cells[start]
    before, _, _ = heading.source.partition("### Exercise")
    keep = [heading] if before.strip() else []
    if keep:
        heading.source = before.rstrip()
    nb.cells[start:graded + 1] = keep
    nbformat.write(nb, str(copies[lab]))

    found = read_map(list(copies.values())).problems
    assert f"topic {topic} has no graded exercise" in found, found


def test_an_untagged_or_empty_exercise_and_a_stray_graded_cell_are_caught(tmp_path):
    copies = _copies(tmp_path)
    lab = "03-spf"
    nb = nbformat.read(str(copies[lab]), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "### Exercise 2" in cell.source:
            cell.source = cell.source.replace("(2 points) (topic 10)", "(2 points)")
    first = next(i for i, c in enumerate(nb.cells)
                 if c.cell_type == "markdown" and "### Exercise 1" in c.source)
    nb.cells.insert(first, nbformat.v4.new_markdown_cell("### Exercise 0 — nothing to do (topic 8)"))
    nbformat.write(nb, str(copies[lab]))
    found = read_map([copies[lab]]).problems
    assert any("Exercise 0" in p and "has no graded cell" in p for p in found), found
    assert any("Exercise 2" in p and "names no topics" in p for p in found), found

    nb = nbformat.read(str(copies["00-setup"]), as_version=4)
    nb.cells = [c for c in nb.cells if "### Exercise 1" not in c.source]
    nbformat.write(nb, str(copies["00-setup"]))
    found = read_map([copies["00-setup"]]).problems
    assert "00-setup: graded cell test_who_is has no exercise heading above it" in found, found


def test_a_topic_without_a_section_is_caught(tmp_path):
    copies = _copies(tmp_path)
    nb = nbformat.read(str(copies["05-dmarc"]), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = re.sub(r"^(## [^\n]*?) \(topics? [\d, ]+\)$", r"\1", cell.source, flags=re.M)
    nbformat.write(nb, str(copies["05-dmarc"]))
    found = read_map(list(copies.values())).problems
    assert "topic 18 has no section" in found and "topic 19 has no section" in found, found
