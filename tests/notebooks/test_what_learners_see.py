"""What a learner sees when a lab runs: no Python warnings, no walls of repr or traceback.

The executed notebooks are the session's runs (``source_run`` and ``student_run`` in
tests/conftest.py, shared with tests/notebooks/test_execute.py and
tests/grading/test_release.py), so these checks execute no lab of their own:

- no cell's output holds a Python warning (DeprecationWarning, FutureWarning, a
  library's UserWarning ...), in the source or the student versions;
- no result is shown as a long bare repr: a value that has only ``text/plain`` (no
  HTML table, no widget) and reads ``Name(field=..., ...)`` over several hundred
  characters was meant to be read, and a learner cannot; nor does a cell show a stray
  ``<function ...>`` it did not mean to;
- in a student version, where the lab's MX calls a function the learner has not written
  yet, the MX's log says so in a line per message, not with a traceback per message
  (lab 10 printed 28 of them, 602 lines, above its table).

The lab's MX logging is also checked directly on a running lab, and ``lk.doctor.run``'s
words for a live check it was told to skip.
"""

from __future__ import annotations

import logging
import re

import pytest

import labkit as lk
import labkit.doctor
import labkit.grading
from tests.conftest import require_corpus_for

LABS = labkit.grading.find_labs()
IDS = [lab.assignment_id for lab in LABS]

WARNING = re.compile(r"\b[A-Z]\w*Warning\b(?=:|\))")  # 'FutureWarning: ...', 'warn(..., UserWarning)'
BARE_REPR = re.compile(r"^[(\[]*[A-Z]\w*\(\w+=")  # Name(field=...), or a tuple / list of them
LONG = 500  # characters of bare repr no one reads


def _texts(cell) -> list[str]:
    """Every piece of text a code cell shows: its streams, plain-text values and errors."""
    out = []
    for o in cell.outputs:
        if o.output_type == "stream":
            out.append(o.text)
        elif o.output_type == "error":
            out.append(f"{o.ename}: {o.evalue}")
        else:
            out.append(o.get("data", {}).get("text/plain", ""))
    return out


def warnings_shown(executed) -> list[str]:
    """'cell id: line' for each output line that shows a Python warning."""
    return [f"{cell.get('id')}: {line.strip()[:160]}"
            for cell in executed.cells if cell.cell_type == "code"
            for text in _texts(cell) for line in text.splitlines() if WARNING.search(line)]


def bare_reprs(executed) -> list[str]:
    """'cell id: what' for each value shown only as a long dataclass repr or a function repr."""
    found = []
    for cell in executed.cells:
        if cell.cell_type != "code":
            continue
        for o in cell.outputs:
            data = o.get("data", {})
            text = data.get("text/plain", "")
            if o.output_type not in ("execute_result", "display_data") or set(data) != {"text/plain"}:
                continue  # an HTML table, a widget or a picture renders it
            if text.startswith("<function "):
                found.append(f"{cell.get('id')}: shows {text[:80]} (a value nobody meant to show)")
            elif BARE_REPR.match(text) and len(text) > LONG:
                found.append(f"{cell.get('id')}: a bare repr of {len(text)} characters: {text[:80]}...")
    return found


def logged_tracebacks(executed) -> list[str]:
    """'cell id: n' for each cell whose stderr holds a traceback of NotImplementedError."""
    found = []
    for cell in executed.cells:
        if cell.cell_type != "code":
            continue
        stderr = "".join(o.text for o in cell.outputs
                         if o.output_type == "stream" and o.name == "stderr")
        blocks = [b for b in stderr.split("Traceback (most recent call last):")[1:]
                  if "NotImplementedError" in b]
        if blocks:
            found.append(f"{cell.get('id')}: {len(blocks)} traceback(s) of NotImplementedError,"
                         f" {stderr.count(chr(10))} lines of stderr")
    return found


# --- the executed labs ---------------------------------------------------------------------


# (which run, what must not be in it): warnings in both versions, long reprs in the
# source version, tracebacks of unsolved exercises in the student version
CHECKS = [("source", warnings_shown), ("student", warnings_shown), ("source", bare_reprs),
          ("student", logged_tracebacks)]


@pytest.mark.notebook
@pytest.mark.parametrize("lab", LABS, ids=IDS)
@pytest.mark.parametrize(("version", "found"), CHECKS,
                         ids=[f"{v}-{f.__name__}" for v, f in CHECKS])
def test_what_a_learner_sees(lab, version, found, source_run, student_run):
    require_corpus_for(lab.notebook)
    run = source_run(lab.notebook) if version == "source" else student_run(lab.assignment_id)
    assert run.executed is not None
    assert found(run.executed) == []


# --- the checks above see the problem when it is there -------------------------------------


def _executed(*outputs):
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x", id="c1")
    cell.outputs = list(outputs)
    nb.cells = [cell]
    return nb


def test_the_checks_find_what_they_look_for():
    import nbformat

    new = nbformat.v4.new_output
    assert warnings_shown(_executed(new("stream", name="stderr", text=(
        "/x/site-packages/sklearn/base.py:12: FutureWarning: `foo` is deprecated\n  warn(...)\n"))))
    assert not warnings_shown(_executed(new("stream", name="stdout", text="the warnings=() field\n")))
    long_repr = "(DKIMResult(result='pass', " + "x" * LONG + "),)"
    assert bare_reprs(_executed(new("execute_result", data={"text/plain": long_repr}, execution_count=1)))
    assert not bare_reprs(_executed(new("execute_result", data={"text/plain": long_repr, "text/html": "<table/>"},
                                        execution_count=1)))
    assert bare_reprs(_executed(new("execute_result", data={"text/plain": "<function __main__.f(x)>"},
                                    execution_count=1)))
    trace = ("mx: policy step data failed\nTraceback (most recent call last):\n  File \"x\", line 1\n"
             "NotImplementedError\n")
    assert logged_tracebacks(_executed(new("stream", name="stderr", text=trace)))
    assert not logged_tracebacks(_executed(new("stream", name="stderr", text=(
        "mx: policy step data failed: policy() raised NotImplementedError\n"))))


# --- the lab's MX, directly ----------------------------------------------------------------


def _note(subject: str) -> bytes:
    return lk.mta.make_message(from_="news@brand.example", to="alice@corp.example",
                               subject=subject, body="hello")


def test_the_mx_logs_an_unsolved_function_in_one_line_per_message(lab_dns, caplog):
    """As a student version of lab 10 runs: the MX's decide calls the learner's
    ``policy``, which still raises NotImplementedError; every message is deferred."""

    def policy(f):
        raise NotImplementedError()

    with lk.Lab(dns=lab_dns, scorer=None) as lab:
        lab.receiver.decide = lambda verdict, judgement, ctx: policy({})
        with caplog.at_level(logging.WARNING, logger="labkit"):
            results = [lab.send(_note(f"n{i}"), from_host="mail.brand.example") for i in range(3)]
        errors = lab.events.entries(host="mx.corp.example", event="error")
    assert [r.code for r in results] == [451] * 3  # the mail is never lost
    assert len(errors) == 3  # the event log keeps every failure
    records = [r for r in caplog.records if "policy step" in r.getMessage()]
    assert len(records) == 3, [r.getMessage() for r in records]
    for record in records:
        assert record.exc_info is None, "a traceback for an exercise not solved yet"
        assert "policy()" in record.getMessage() and "NotImplementedError" in record.getMessage()
        assert "\n" not in record.getMessage()


def test_the_mx_logs_a_bug_with_its_traceback_once_then_in_one_line(lab_dns, caplog):
    """A learner's function with a bug: the traceback shows where, once; the same failure
    again is one line; a failure at another place gets its own traceback."""

    def policy(f):
        return {"INBOX": "INBOX"}[f["action"]]  # KeyError: 'action'

    def other(f):
        return 1 / 0

    with lk.Lab(dns=lab_dns, scorer=None) as lab:
        with caplog.at_level(logging.WARNING, logger="labkit"):
            lab.receiver.decide = lambda verdict, judgement, ctx: policy({})
            for i in range(3):
                assert lab.send(_note(f"k{i}"), from_host="mail.brand.example").code == 451
            lab.receiver.decide = lambda verdict, judgement, ctx: other({})
            assert lab.send(_note("z"), from_host="mail.brand.example").code == 451
    records = [r for r in caplog.records if "policy step" in r.getMessage()]
    assert [r.exc_info is not None for r in records] == [True, False, False, True], \
        [r.getMessage() for r in records]
    assert all("KeyError" in r.getMessage() for r in records[1:3])
    assert all("\n" not in r.getMessage() for r in records)


def test_doctor_names_the_argument_that_skipped_the_live_check():
    """Lab 00 calls ``lk.doctor.run(live=False)``; the report said '(--offline)', an option
    the learner never gave."""
    report = lk.doctor.run(live=False)
    [live] = [c for c in report.checks if c.name == "live DNS"]
    assert live.status == "degraded"
    assert "live=False" in live.detail, live.detail
