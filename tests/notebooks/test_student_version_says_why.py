"""A student version that stops on an unsolved exercise says which one, in words.

``labkit release`` puts ``raise NotImplementedError()`` where each solution was. Some
ordinary cells after an exercise use the learner's answer on purpose (the lab "asks your
function"), so in a student version they stop as well, or a later cell finds no variable
(NameError), or the lab's MX, which calls the learner's function, logs the error for every
message. A learner on Binder meets these before solving anything. So:

- a cell that is neither a solution nor a graded check and stops with an error must
  follow a markdown cell (the nearest one above it) that names the learner's function,
  its exercise ("exercise N") and the error, or the error itself must name the exercise;
- a cell whose output shows a logged NotImplementedError (the MX calling an unsolved
  function) must come after a markdown cell, below that function's exercise, that names
  the function, its exercise and NotImplementedError.

Each lab's student version is read as nbgrader's Validator executed it (errors allowed),
in the one run per session that tests/grading/test_release.py also reads (the
``student_run`` fixture in tests/conftest.py), so this check costs no run of its own.
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

import labkit.grading
from tests.conftest import require_corpus_for

LABS = labkit.grading.find_labs()
EXERCISE_HEADING = re.compile(r"^#+\s*Exercise\s+(\d+)\b", re.IGNORECASE | re.MULTILINE)


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def learner_functions(source_nb) -> dict[str, tuple[int, str]]:
    """Each name a solution cell defines -> (its exercise number, the solution cell's id).

    Read from the instructor's notebook, where the solutions are still there; the
    exercise is the last ``### Exercise N`` heading above the solution cell.
    """
    found: dict[str, tuple[int, str]] = {}
    exercise = None
    for cell in source_nb.cells:
        if cell.cell_type == "markdown":
            headings = EXERCISE_HEADING.findall(cell.source)
            exercise = int(headings[-1]) if headings else exercise
        elif _nbgrader(cell).get("solution"):
            for node in ast.parse(cell.source).body:
                names = []
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    names = [node.name]
                elif isinstance(node, ast.Assign):
                    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                for name in names:
                    assert exercise is not None, f"{name} is defined above every exercise heading"
                    found[name] = (exercise, cell.id)
    return found


def _uses(source: str, name: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", source) is not None


def _says(text: str, name: str, exercise: int, error: str) -> bool:
    """True when ``text`` names `name`, exercise N and the error."""
    return (f"`{name}`" in text and error in text
            and re.search(rf"\bexercise\s+{exercise}\b", text, re.IGNORECASE) is not None)


def unexplained(source_nb, executed_nb) -> list[str]:
    """One sentence for each ordinary cell that fails without saying which exercise to solve."""
    functions = learner_functions(source_nb)
    cells = executed_nb.cells
    found = []
    for i, cell in enumerate(cells):
        meta = _nbgrader(cell)
        if cell.cell_type != "code" or meta.get("solution") or meta.get("grade"):
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        logged = "NotImplementedError" in "".join(
            o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if not errors and not logged:
            continue
        if errors:
            # the nearest markdown above, and the code from there down to this cell
            above = max((j for j in range(i) if cells[j].cell_type == "markdown"), default=-1)
            notes = [cells[above].source] if above >= 0 else []
            code = "\n".join(c.source for c in cells[above + 1:i + 1] if c.cell_type == "code")
            error = errors[0]
            words = error.evalue
            what = f"stops with {error.ename}: {error.evalue[:80]!r}"
            kind = error.ename
        else:
            notes, code, words = [], cell.source, ""
            what, kind = "shows a logged NotImplementedError", "NotImplementedError"
        ids = [c.get("id") for c in cells]
        asked = []
        for name, (exercise, solution_id) in functions.items():
            start = ids.index(solution_id) if solution_id in ids else 0
            if not errors:  # logged: any note below the exercise, where its function is used
                notes = [c.source for c in cells[start + 1:i] if c.cell_type == "markdown"]
                code = "\n".join(c.source for c in cells[start + 1:i + 1] if c.cell_type == "code")
            if _uses(code, name):
                asked.append((name, exercise))
                if any(_says(note, name, exercise, kind) for note in notes) or \
                        re.search(rf"\bexercise\s+{exercise}\b", words, re.IGNORECASE):
                    break
        else:
            needs = ", ".join(f"`{n}` (exercise {e})" for n, e in asked) or "no learner's function"
            found.append(f"cell {cell.get('id')} {what}; it uses {needs}, and no words above "
                         f"it say so")
    return found


@pytest.mark.notebook
@pytest.mark.parametrize("lab", LABS, ids=[lab.assignment_id for lab in LABS])
def test_student_cells_that_stop_name_the_exercise(lab, student_run):
    require_corpus_for(lab.notebook)
    student = student_run(lab.assignment_id).executed
    assert student is not None, "nbgrader's Validator did not execute the student version"
    assert student.cells, "the executed student version has no cells"
    source = nbformat.read(lab.notebook, as_version=4)
    assert unexplained(source, student) == []


# --- the check sees the problem when it is there ------------------------------------------


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _solution(source):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "ex",
                                 "locked": False, "schema_version": 3}
    return cell


def _failed(source, ename, evalue=""):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])]
    return cell


def _logged(source):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr",
                                           text="Traceback ...\nNotImplementedError\n")]
    return cell


def _md(text):
    return nbformat.v4.new_markdown_cell(text)


HEADING = _md("### Exercise 2: a threshold")
SOLUTION = _solution("def pick(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION")


def test_a_bare_stop_is_reported_and_a_note_above_it_is_enough():
    bare = _nb(HEADING, SOLUTION, _md("Use it:"), _failed("t = pick(1)", "NotImplementedError"),
               _failed("show(t)", "NameError", "name 't' is not defined"))
    assert len(unexplained(bare, bare)) == 2
    note = ("Use it. The next two cells run your `pick` from exercise 2: until you have "
            "written it, the first stops with NotImplementedError, the second with a NameError.")
    told = _nb(HEADING, SOLUTION, _md(note), _failed("t = pick(1)", "NotImplementedError"),
               _failed("show(t)", "NameError", "name 't' is not defined"))
    assert unexplained(told, told) == []
    wrong_number = _nb(HEADING, SOLUTION, _md(note.replace("exercise 2", "exercise 3")),
                       _failed("t = pick(1)", "NotImplementedError"))
    assert len(unexplained(wrong_number, wrong_number)) == 1


def test_an_error_that_names_the_exercise_needs_no_note():
    nb = _nb(HEADING, SOLUTION, _md("Use it:"),
             _failed("pick(1)", "NotImplementedError", "solve exercise 2 (`pick`) first"))
    assert unexplained(nb, nb) == []


def test_a_logged_error_needs_a_note_below_its_exercise():
    plain = _nb(HEADING, SOLUTION, _md("Plug it in:"), _logged("mx.step = pick"))
    assert len(unexplained(plain, plain)) == 1
    told = _nb(HEADING, SOLUTION,
               _md("Until your `pick` (exercise 2) is written, the MX logs its "
                   "NotImplementedError for every message."),
               _logged("mx.step = pick"))
    assert unexplained(told, told) == []


def test_an_error_no_exercise_explains_is_reported():
    nb = _nb(HEADING, SOLUTION, _md("Something else:"), _failed("1 / 0", "ZeroDivisionError"))
    (problem,) = unexplained(nb, nb)
    assert "no learner's function" in problem
