"""Labs survive what learners do: press Shift-Enter twice, re-run an experiment.

``test_execute.py`` runs every lab once, top to bottom. Learners do not: they run a cell
again after reading its output, re-run an experiment after editing it, re-run a grading
cell after fixing their answer. Each test here executes a lab (or the part of it up to
the cell in question) in one kernel with some code cells run twice in a row, and checks
what went wrong before the cells were made safe to re-run:

- lab 00: the flood cell's "disk used by Alice's spam" doubled (it summed the whole
  mailbox, the first flood's spam included);
- lab 04: the key revocation cell, run again, saved the revoked record as its "copy",
  so the old key was never restored: the s2026 signature stayed ``permerror`` and the
  visible test of exercise 2 failed;
- lab 08: "bounces sent by our MX" counted every bounce since the lab started (40, not
  20, the second time), and the last cell raised UsageError (lab not running);
- lab 09: the retraining experiment trained the section-3 filter itself, so a re-run
  started from the retrained filter: "before retraining" already caught everything.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbclient import NotebookClient

import labkit.grading
from tests.conftest import require_corpus_for

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

LABS = {lab.assignment_id: lab.notebook for lab in labkit.grading.find_labs()}


def _code_cells(lab: str) -> list:
    nb = nbformat.read(str(LABS[lab]), as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def _index(cells: list, marker: str) -> int:
    (found,) = [i for i, c in enumerate(cells) if marker in c.source]
    return found


def _execute(lab: str, plan: list[int]) -> list:
    """Run the lab's code cells in the order of ``plan`` (indices, repeats allowed) in
    one kernel, as a learner would; return the executed cells, errors kept as outputs."""
    notebook = LABS[lab]
    require_corpus_for(notebook)
    cells = _code_cells(lab)
    nb = nbformat.read(str(notebook), as_version=4)
    nb.cells = []
    for n, i in enumerate(plan):
        cell = copy.deepcopy(cells[i])
        cell["id"] = f"run-{n}"
        nb.cells.append(cell)
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    return nb.cells


def _text(cell) -> str:
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
        else:
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def _errors(executed: list) -> list[str]:
    return [f"{c.source[:80]!r}: {o.ename}: {o.evalue}"
            for c in executed for o in c.outputs if o.output_type == "error"]


def _each_twice(lab: str) -> list[tuple]:
    """Every code cell run twice in a row; (first run, second run) per code cell."""
    n = len(_code_cells(lab))
    executed = _execute(lab, [i for i in range(n) for _ in (0, 1)])
    return list(zip(executed[::2], executed[1::2], strict=True))


def _up_to_then_again(lab: str, marker: str) -> tuple:
    """The cells up to the one containing ``marker``, then that one again."""
    target = _index(_code_cells(lab), marker)
    executed = _execute(lab, [*range(target + 1), target])
    assert not _errors(executed), _errors(executed)
    return executed[-2], executed[-1]


def test_lab00_flood_cell_twice_counts_only_its_own_spam():
    first, second = _up_to_then_again("00-setup", "disk used by Alice's spam")
    disk = [next(line for line in _text(c).splitlines() if "disk used" in line).split()[-1]
            for c in (first, second)]
    assert disk[0] == disk[1], f"disk used by the flood's spam: {disk[0]} KB, then {disk[1]} KB"


def test_lab04_each_cell_twice_keeps_the_old_key_restorable():
    pairs = _each_twice("04-dkim")
    flat = [c for pair in pairs for c in pair]
    assert not _errors(flat), _errors(flat)
    restore = _index([a for a, _ in pairs], "lab_dns.add(key_name, \"TXT\", *saved_s2026)")
    assert [_text(c) for c in pairs[restore]] == ["'pass'", "'pass'"]


def test_lab08_each_cell_twice_counts_the_same_backscatter():
    pairs = _each_twice("08-lists")
    flat = [c for pair in pairs for c in pair]
    assert not _errors(flat), _errors(flat)
    attack = _index([a for a, _ in pairs], "outcomes = dictionary_attack(seed=2)")
    first, second = (_text(c) for c in pairs[attack])
    assert "'bounces sent by our MX': 20" in first, first
    assert first == second


def test_lab09_retraining_cell_twice_gives_the_same_numbers():
    first, second = _up_to_then_again("09-bayes", "unseen half caught, before retraining")
    assert "before retraining" in _text(first)
    assert _text(first) == _text(second)
