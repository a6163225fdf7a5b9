"""Lab 07, section 6 (optional): swaks and curl against the running lab, from the notebook.

The section's cells print each command, run it and print the dialogue. These tests
execute the whole lab in a kernel and read what the new cells printed (the lab as it is
stored is not executed again: its run is the ``source_run`` session fixture of
tests/conftest.py, the one tests/notebooks/test_execute.py reads):

- with swaks and curl installed: the submission with AUTH is accepted (235, 250
  queued), the same without AUTH is refused with 530 5.7.0, and curl's POP3 ``LIST``
  shows the copy swaks sent to Taro and opens a relay window; the password never
  appears in the output;
- the same with the lab in PROXY-protocol addressing (macOS, Windows), where swaks
  names Taro's PC in a PROXY header instead of binding a loopback alias;
- with a PATH that has curl but no swaks: the swaks cells print the command and how to
  install swaks, and nothing fails.

In CI a missing swaks or curl fails these tests (``require_tool``).
"""

from __future__ import annotations

import os
import re
import shlex

import nbformat
import pytest
from nbclient import NotebookClient

import labkit.grading
from tests.conftest import require_corpus_for, require_tool

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

NOTEBOOK = next(lab.notebook for lab in labkit.grading.find_labs()
                if lab.assignment_id == "07-submission")
PASSWORD = "a-new-secret-for-taro"  # Taro's password after section 4 resets it
START = "lk.Lab(dns_cache=False)"  # the cell that starts the lab


def _run(*, env: dict[str, str] | None = None, addressing: str | None = None) -> dict[str, str]:
    """Execute lab 07 top to bottom, changed as asked; return what each section-6 code
    cell printed, by id."""
    require_corpus_for(NOTEBOOK)
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    if addressing is not None:
        [start] = [c for c in nb.cells if START in c.source]
        start.source = start.source.replace(
            START, f"lk.Lab(dns_cache=False, client_addressing={addressing!r})")
    client = NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    if env is None:
        client.execute()
    else:  # the kernel's own environment (its PATH)
        client.execute(env=env)
    return _printed(nb)


def _printed(nb: nbformat.NotebookNode) -> dict[str, str]:
    """What each section-6 code cell of the executed lab 07 printed, by id; no cell raised."""
    errors = [f"{c.id}: {o.ename}: {o.evalue}" for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    printed = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.id.startswith("cell-tools-"):
            printed[cell.id] = "".join(o.get("text", "") for o in cell.outputs
                                       if o.output_type == "stream")
    assert set(printed) == {"cell-tools-setup", "cell-tools-submit", "cell-tools-noauth",
                            "cell-tools-pop"}, sorted(printed)
    return printed


def _command(text: str) -> list[str]:
    """The command a cell printed for the learner's terminal (its ``$ `` line)."""
    [line] = [ln for ln in text.splitlines() if ln.startswith("$ ")]
    return shlex.split(line[2:])


def _check_section(printed: dict[str, str], *, client_seen: str | None) -> None:
    submit, noauth, pop = (printed[f"cell-tools-{k}"] for k in ("submit", "noauth", "pop"))
    for text in printed.values():
        assert PASSWORD not in text  # not in the commands, not in the dialogue

    command = _command(submit)
    assert command[0] == "swaks" and command[command.index("--auth-user") + 1] == "taro@isp.example"
    assert "--auth-password" not in command and "--tls-verify" in command
    assert "<~  250-AUTH LOGIN PLAIN" in submit and "<-  250-AUTH" not in submit  # only inside TLS
    assert "<~  235 2.7.0 Authentication successful" in submit, submit
    assert "<~  250 2.0.0 Ok: queued as" in submit, submit
    assert "-- swaks exit status 0" in submit

    assert "--auth" not in _command(noauth)
    assert "<~* 530 5.7.0 Authentication required" in noauth, noauth
    assert "~> RCPT TO" not in noauth and "-- swaks exit status 23" in noauth

    command = _command(pop)
    assert command[0] == "curl" and command[command.index("--user") + 1] == "taro@isp.example"
    assert "> PASS ********" in pop, pop
    assert re.search(r"< \+OK 1 message(?!s)", pop), pop  # the copy swaks submitted to Taro
    assert "LIST, as curl prints it: ['1 " in pop, pop
    if client_seen is not None:
        assert f"relay window open for {client_seen} (600 s)" in pop, pop


def test_section_runs_swaks_and_curl_against_the_lab(source_run):
    require_tool("swaks")
    require_tool("curl")
    require_corpus_for(NOTEBOOK)
    executed = source_run(NOTEBOOK).executed
    assert executed is not None, "nbgrader's Validator did not execute lab 07"
    _check_section(_printed(executed), client_seen="198.51.100.140")


def test_section_with_proxy_protocol_addressing():
    """The macOS/Windows path: swaks sends a PROXY header naming Taro's PC."""
    require_tool("swaks")
    require_tool("curl")
    printed = _run(addressing="proxy")
    command = _command(printed["cell-tools-submit"])
    assert command[command.index("--proxy-source") + 1] == "198.51.100.140"
    assert "--local-interface" not in command
    assert "--haproxy-protocol" in _command(printed["cell-tools-pop"])
    # curl names Taro's PC from 8.2 on; an older curl is seen as 127.0.0.1
    _check_section(printed, client_seen=None)


def test_section_without_swaks_prints_the_install_hint(tmp_path):
    curl = require_tool("curl")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "curl").symlink_to(curl)
    printed = _run(env={**os.environ, "PATH": str(bin_dir)})
    for key in ("submit", "noauth"):
        text = printed[f"cell-tools-{key}"]
        assert _command(text)[0] == "swaks"
        assert "swaks is not installed here, so nothing ran" in text, text
        assert "sudo apt install swaks" in text and "brew install swaks" in text
        assert "<-" not in text and "exit status" not in text
    pop = printed["cell-tools-pop"]  # curl is still there: POP3 works, Taro's mailbox is empty
    assert "< +OK 0 messages" in pop and "-- curl exit status 0" in pop, pop
