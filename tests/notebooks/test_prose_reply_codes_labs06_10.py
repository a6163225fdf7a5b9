"""Prose of labs 06-10 against what the lab shows since the SMTP replies carry RFC 3463
enhanced status codes (``250 2.1.0 OK``) and the MX writes ``X-Spam-`` lines.

A learner's run of each lab, read against its prose, found:

- lab 06, section 2: "Everything below those three [fields] arrived with the message",
  while the two ``X-Spam-`` lines right under them were written by our MX too;
- lab 07, section 1: replies such as ``554 5.7.1 ...`` and ``250 2.1.0 OK`` and the
  ``enhancedstatuscodes`` extension in section 3 were never explained; section 3's table
  showed ``error  SMTP AUTH ...`` (two spaces where the reply has no code);
- lab 08, exercise 3: asked for ``"250 OK"`` while the MX itself answers
  ``250 2.1.5 OK`` in every step list of the lab;
- lab 10, section 5: "If these are as small as what measure reported" above a live
  run with one false negative where ``measure`` had reported none.

Each test runs the lab's own cells in a kernel and checks the fact the prose now states.
"""

from __future__ import annotations

import copy
import json

import nbformat
import pytest
from nbclient import NotebookClient

import labkit.grading

LABS = {lab.assignment_id: lab.notebook for lab in labkit.grading.find_labs()}


def _cells(lab: str) -> list:
    return nbformat.read(str(LABS[lab]), as_version=4).cells


def _text(lab: str, cell_id: str) -> str:
    (cell,) = [c for c in _cells(lab) if c.get("id") == cell_id]
    return " ".join(cell.source.split())


def _run(lab: str, ids: list[str], extra: str) -> str:
    """Run the lab's cells ``ids`` in order, then ``extra`` (with ``json`` imported) and ``lab.stop()``; return what ``extra`` printed."""
    notebook = LABS[lab]
    nb = nbformat.read(str(notebook), as_version=4)
    by_id = {c.get("id"): c for c in nb.cells}
    nb.cells = [copy.deepcopy(by_id[i]) for i in ids]
    nb.cells.append(nbformat.v4.new_code_cell("import json\n" + extra + "\nlab.stop()\n", id="extra"))
    NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=False,
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    return "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")


def _ungraded_code_up_to(lab: str, last: str) -> list[str]:
    code = [c for c in _cells(lab) if c.cell_type == "code"]
    ids = [c.get("id") for c in code]
    return [c.get("id") for c in code[: ids.index(last) + 1]
            if not c.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.slow
@pytest.mark.notebook
def test_lab06_the_x_spam_lines_under_our_three_fields_are_ours_too():
    out = _run("06-verdict", ["cell-002", "cell-004", "cell-006", "cell-007"],
               "print(json.dumps([line.split(b':', 1)[0].decode() for line in stored.split(b'\\r\\n')\n"
               "                  if line and not line[:1].isspace()][:5]))\n"
               "print(json.dumps(headers(stored, 'X-Spam-Status')))")
    names, status = (json.loads(line) for line in out.splitlines())
    assert names == ["Return-Path", "Received", "Authentication-Results", "X-Spam-Score", "X-Spam-Status"], names
    assert status and status[0].startswith(("No, score=", "Yes, score=")), status
    text = _text("06-verdict", "cell-016")
    assert "our MX put five fields on top of what arrived" in text, text
    assert "then the two `X-Spam-` lines of its content filter" in text, text
    assert "Everything below those five arrived with the message" in text, text


@pytest.mark.slow
@pytest.mark.notebook
def test_lab07_replies_carry_the_enhanced_codes_section_1_explains():
    out = _run("07-submission", ["cell-002", "cell-003", "cell-005", "cell-024", "cell-026"],
               "r = lab.send(note, from_host=TARO_PC, to_host='mail.isp.example')\n"
               "table = {'no STARTTLS, AUTH': attempt(auth=(TARO, PASSWORD)), 'no AUTH': attempt(starttls=True)}\n"
               "smtp = open_submission()\n"
               "ehlo = smtp.ehlo_resp.decode()\n"
               "smtp.quit()\n"
               "print(json.dumps({'code': r.code, 'reply': r.reply, 'steps': list(r.steps), 'table': table,\n"
               "                  'before_tls': before_tls, 'ehlo': ehlo}))")
    seen = json.loads(out)
    # section 1: "554 ... 5.7.1", and the 250 2.1.0 OK that accepted MAIL FROM in the steps above
    assert seen["code"] == 554 and seen["reply"].startswith("5.7.1 "), seen
    assert "MAIL FROM:<taro@isp.example> -> 250 2.1.0 OK" in seen["steps"], seen["steps"]
    # ... in every reply except the greeting and the answer to EHLO
    assert "enhancedstatuscodes" in seen["before_tls"], seen["before_tls"]
    assert not any(line[:2].isdigit() and "." in line[:6] for line in seen["ehlo"].splitlines()), seen["ehlo"]
    # section 3's table: one space between status, code and reply, and none left over
    assert seen["table"]["no AUTH"].startswith("rejected 530 5.7.0 "), seen["table"]
    assert "  " not in seen["table"]["no STARTTLS, AUTH"], seen["table"]
    text = _text("07-submission", "cell-006")
    for fact in ("`554`", "`5.7.1`", "RFC 3463", "`ENHANCEDSTATUSCODES`", "`250 2.1.0 OK`"):
        assert fact in text, (fact, text)


@pytest.mark.slow
@pytest.mark.notebook
def test_lab08_ex3_a_250_reply_with_or_without_the_code_reaches_the_wire_as_250_2_1_5():
    out = _run("08-lists", ["cell-002", "cell-045"],
               "def _msg():\n"
               "    return lk.mta.make_message(from_='news@brand.example', to='alice@corp.example',\n"
               "                               subject='hi', body='hello')\n"
               "own = lab.send(_msg(), from_host='mail.brand.example', dkim=True)\n"
               "lab.receiver.on_rcpt = lambda ctx, address, accepted: '250 OK'\n"
               "bare = lab.send(_msg(), from_host='mail.brand.example', dkim=True)\n"
               "del lab.receiver.on_rcpt\n"
               "users = set(lab.accounts.users('corp.example'))\n"
               "print(json.dumps({'own': list(own.steps), 'bare': list(bare.steps),\n"
               "                   'solution': rcpt_reply('alice@corp.example', users, ('corp.example',))}))")
    seen = json.loads(out)
    step = "RCPT TO:<alice@corp.example> -> 250 2.1.5 OK"
    assert step in seen["own"], seen["own"]    # what our MX itself answers
    assert step in seen["bare"], seen["bare"]  # a hook's "250 OK" gets the code added
    assert seen["solution"].startswith("250 2.1.5"), seen["solution"]
    text = _text("08-lists", "cell-044")
    assert '`"250 2.1.5 OK"`, what our MX itself answers' in text and '`"250 OK"`, also works' in text, text


@pytest.mark.slow
@pytest.mark.notebook
def test_lab10_live_run_keeps_exercise_2s_limits_not_day_s_numbers():
    ids = _ungraded_code_up_to("10-capstone", "cell-029")
    out = _run("10-capstone", ids,
               "print(json.dumps({'live_fp': sum(1 for i in live if not i['spam'] and i['mx'] != 'INBOX'),\n"
               "                   'live_fn': sum(1 for i in live if i['spam'] and i['mx'] == 'INBOX'),\n"
               "                   'day': {k: measure(policy, day)[k] for k in ('FP', 'FN')}}))")
    seen = json.loads(out)
    # the prose: "no ham out of the INBOX, and at most two spam messages in it"
    assert seen["live_fp"] == 0 and seen["live_fn"] <= 2, seen
    text = _text("10-capstone", "cell-030")
    assert "as small as" not in text, text
    assert "They need not be the same numbers" in text and "at most two spam messages" in text, text
