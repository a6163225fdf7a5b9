"""Write docs/glossary.md: every lab's key terms (English, 日本語, meaning) in one table.

The labs are the single source: each ends with a ``lk.widgets.KeyTerms([...])`` cell,
and this script reads those lists from the stored notebooks (without running them)::

    python docs/make_glossary.py            # rewrite docs/glossary.md
    python docs/make_glossary.py --check    # exit 1 if the file is out of date

A term taught in several labs appears once, with every lab that lists it.  When the
labs give the same English term different Japanese, the script stops and names them:
a learner preparing for the exam must not meet two translations of one term.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

import labkit.grading

OUT = Path(__file__).resolve().parent / "glossary.md"


@dataclass
class Entry:
    """One English term, its Japanese, its meaning (from the first lab) and its labs."""

    english: str
    japanese: str
    meaning: str
    labs: list[str] = field(default_factory=list)


def lab_terms(notebook: Path) -> list[tuple[str, str, str]]:
    """The (english, japanese, meaning) tuples of the notebook's ``KeyTerms`` cells."""
    terms = []
    for cell in nbformat.read(str(notebook), as_version=4).cells:
        if cell.cell_type != "code" or "KeyTerms(" not in cell.source:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "KeyTerms" and node.args):
                for row in ast.literal_eval(node.args[0]):
                    english, japanese, *meaning = row
                    terms.append((english, japanese, meaning[0] if meaning else ""))
    return terms


def collect(labs: tuple[labkit.grading.course.Lab, ...]) -> tuple[list[Entry], list[str]]:
    """Merged entries (sorted by English, case ignored) and the conflicts found."""
    entries: dict[str, Entry] = {}
    conflicts = []
    for lab in labs:
        for english, japanese, meaning in lab_terms(lab.notebook):
            key = english.casefold()
            entry = entries.setdefault(key, Entry(english, japanese, meaning))
            if entry.japanese != japanese:
                conflicts.append(f"{english!r}: {entry.japanese!r} in lab {entry.labs[0]}, "
                                 f"{japanese!r} in lab {lab.number:02d}")
            if f"{lab.number:02d}" not in entry.labs:
                entry.labs.append(f"{lab.number:02d}")
    return sorted(entries.values(), key=lambda e: e.english.casefold()), conflicts


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(entries: list[Entry]) -> str:
    """The Markdown text of docs/glossary.md."""
    lines = [
        "# Glossary: the course's key terms in English and Japanese (用語集)",
        "",
        "Every lab ends with a table of its key terms; this page puts them together, for",
        "revision and for the 情報処理安全確保支援士 exam. Generated from the labs by",
        "`python docs/make_glossary.py`; edit the labs' `KeyTerms` cells, not this file.",
        f"{len(entries)} terms. The lab column says where each is taught.",
        "",
        "| English | 日本語 | meaning | labs |",
        "|---|---|---|---|",
    ]
    lines += [f"| {_cell(e.english)} | {_cell(e.japanese)} | {_cell(e.meaning)} | {', '.join(e.labs)} |"
              for e in entries]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the file is up to date")
    args = parser.parse_args(argv)
    entries, conflicts = collect(labkit.grading.course.find_labs())
    if conflicts:
        print("one English term, two Japanese translations:\n  " + "\n  ".join(conflicts),
              file=sys.stderr)
        return 1
    text = render(entries)
    if args.check:
        if not OUT.is_file() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date: run python docs/make_glossary.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(entries)} terms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
