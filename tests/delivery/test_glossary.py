"""docs/glossary.md: all key terms of the labs in one bilingual table, kept in step.

The labs' ``KeyTerms`` cells are the single source; ``docs/make_glossary.py`` merges
them.  A learner revising for the exam must meet one translation per term and one
English name per Japanese term.
"""

from __future__ import annotations

import collections
import importlib.util
import sys

import labkit.grading
from tests.conftest import ROOT


def _script():
    spec = importlib.util.spec_from_file_location("make_glossary", ROOT / "docs" / "make_glossary.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_glossary_is_generated_from_the_labs_as_they_are(capsys):
    assert _script().main(["--check"]) == 0, capsys.readouterr().err


def test_every_lab_contributes_terms_and_the_table_lists_each_once():
    script = _script()
    labs = labkit.grading.course.find_labs()
    assert len(labs) == 11
    for lab in labs:
        assert script.lab_terms(lab.notebook), f"{lab.assignment_id} has no KeyTerms cell"
    entries, conflicts = script.collect(labs)
    assert conflicts == []
    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    for e in entries:
        assert text.count(f"\n| {e.english.replace('|', chr(92) + '|')} |") == 1, e.english


def test_one_english_name_per_japanese_term():
    """The same Japanese under two English names (e.g. 逆引き as "reverse lookup" and
    "reverse lookup (reverse DNS)") reads as two concepts: the labs use one name."""
    entries, _ = _script().collect(labkit.grading.course.find_labs())
    names = collections.defaultdict(list)
    for e in entries:
        names[e.japanese].append(e.english)
    assert {ja: en for ja, en in names.items() if len(en) > 1} == {}


def test_a_conflicting_translation_is_refused(tmp_path, monkeypatch):
    """Two labs giving one English term two Japanese translations: the script names both."""
    import nbformat

    script = _script()
    for number, japanese in ((1, "逆引き"), (2, "リバースルックアップ")):
        folder = tmp_path / "labs" / f"0{number}-x"
        folder.mkdir(parents=True)
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_code_cell(
            f'lk.widgets.KeyTerms([("reverse lookup", "{japanese}", "PTR")])'))
        nbformat.write(nb, str(folder / f"0{number}-x.ipynb"))
    entries, conflicts = script.collect(labkit.grading.course.find_labs(tmp_path))
    assert len(entries) == 1 and entries[0].labs == ["01", "02"]
    assert len(conflicts) == 1 and "逆引き" in conflicts[0] and "リバースルックアップ" in conflicts[0]
