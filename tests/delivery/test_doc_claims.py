"""Concrete claims of the user-facing docs, checked against the code they describe.

- the example in ``labkit``'s package docstring uses a host of the lab Internet and gets
  the result a newcomer expects (it once named an address no zone has, and got ``fail``);
- the exit codes the ``labkit`` parser prints are all in README.md and in ``labkit.cli``'s
  docstring (130 for Ctrl-C was left out of both);
- the ``labkit`` commands docs/binder.md says ``binder/postBuild`` runs are the ones it runs,
  options included (``--no-db`` was left out);
- README.md's count of the messages lab 09 trains and tests on is what the lab loads (it
  once gave the whole corpus, 6,045, where the lab loads three of the five folders).
"""

from __future__ import annotations

import re

import labkit
import labkit.cli
from labkit.cli import build_parser
from tests.conftest import ROOT


def test_package_docstring_example_is_an_spf_pass():
    """The ``In a notebook::`` example: corp.example's own MX sending for alice passes SPF."""
    call = re.search(r'spf\.check\("([^"]+)", "([^"]+)", "([^"]+)", dns=dns\)', labkit.__doc__)
    assert call, "the package docstring no longer shows an lk.auth.spf.check(...) example"
    ip, mail_from, helo = call.groups()
    with labkit.dns.LabDNS() as dns:
        result = labkit.auth.spf.check(ip, mail_from, helo, dns=dns)
        assert dns.resolver().resolve(helo, "A", search=False), f"{helo} is not in the lab zones"
    assert result.result == "pass", (ip, mail_from, helo, result.result)


def _codes(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w.])(\d+) (?=[a-z(])", text))


def test_every_exit_code_is_documented():
    epilog = build_parser().epilog
    codes = _codes(epilog.partition("exit status:")[2])
    assert {"0", "1", "2", "130"} <= codes, epilog
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = re.search(r"^Exit codes:(.*?)(?:\n\n|\Z)", readme, re.M | re.S)
    assert paragraph, "README.md has no 'Exit codes:' paragraph"
    line = re.search(r"^Exit codes:(.*)$", labkit.cli.__doc__, re.M)
    assert line, "labkit/cli.py's docstring has no 'Exit codes:' line"
    for where, text in (("README.md", paragraph.group(1)), ("labkit.cli", line.group(1))):
        missing = codes - _codes(text.replace("\n", " "))
        assert not missing, f"{where} leaves out exit codes {sorted(missing)}"


def _command(line: str) -> str:
    """A shell line's words, without shell expansions (``${VAR:+...}``)."""
    return " ".join(word for word in line.split() if "$" not in word and "}" not in word)


def test_binder_md_quotes_the_labkit_commands_postbuild_runs():
    text = (ROOT / "docs" / "binder.md").read_text(encoding="utf-8")
    row = re.search(r"^\| `postBuild` \|.*$", text, re.M)
    assert row, "docs/binder.md has no postBuild row"
    quoted = re.findall(r"`(labkit [^`]*)`", row.group(0))
    lines = [ln.strip() for ln in (ROOT / "binder" / "postBuild").read_text().splitlines()]
    run = [_command(ln) for ln in lines if ln.startswith("labkit ")]
    assert quoted and run
    assert sorted(quoted) == sorted(run), f"binder.md quotes {quoted}; postBuild runs {run}"


def test_readme_counts_the_messages_lab_09_loads(corpus_dir):
    import nbformat

    from labkit.filters import corpus

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    said = re.search(r"lab 09 uses ([\d,]+) of its ([\d,]+) messages", readme)
    assert said, "README.md no longer says how many corpus messages lab 09 uses"
    used, total = (int(n.replace(",", "")) for n in said.groups())
    notebook = ROOT / "labs" / "09-bayes" / "09-bayes.ipynb"
    source = "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells
                       if c.cell_type == "code")
    calls = re.findall(r"corpus\.load\(([^)]*)\)", source)
    assert calls and all(re.fullmatch(r"folders=\[[^\]]*\]", c) for c in calls), calls
    folders = sorted({f for c in calls for f in re.findall(r'"(\w+)"', c)})
    assert len(corpus.load(corpus_dir, folders=folders)) == used, folders
    assert len(corpus.load(corpus_dir)) == total
