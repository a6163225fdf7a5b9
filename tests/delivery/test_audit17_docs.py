"""Claims of README.md, docs/binder.md and docs/instructor-guide.md found wrong in the
session-17 instructor audit, each checked against the code or test it describes.

- README's ``labkit`` table lists subcommands with the options that follow them: each
  option must work with each subcommand of the row (``labkit bayes score --filter KIND``
  was shown, and exits 2: ``score`` takes ``--model``; the older checker in
  test_docs_links.py accepts an option when any one subcommand of the row has it);
- ``pytest tests/delivery/test_binder.py`` builds nothing without the SpamAssassin corpus
  (5 of its 9 tests skip), so the docs that send readers to it must say so;
- the guide said the exchange steps of its §5 were run by hand, not in CI, while
  tests/delivery/test_instructor_guide.py runs them in every full test run.
"""

from __future__ import annotations

import argparse
import re

from labkit.cli import build_parser
from tests.conftest import ROOT

README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "instructor-guide.md"
BINDER_MD = ROOT / "docs" / "binder.md"
CORPUS_VAR = re.compile(r"LABKIT_CORPUS(?![_A-Z])")  # not LABKIT_CORPUS_MIRROR


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def options_not_taken(line: str, root: argparse.ArgumentParser) -> list[str]:
    """For one quoted ``labkit ...`` argument line (``\\|`` between alternatives), the
    options shown after the subcommands that some subcommand of the line does not take."""
    tokens = line.replace("\\|", " | ").split()
    parsers = {"labkit": root}
    i = 0
    while i < len(tokens):
        subs = {}
        for parser in parsers.values():
            subs.update(_subparsers(parser))
        if not subs or not re.fullmatch(r"[a-z][a-z0-9-]*", tokens[i]):
            break
        names = [tokens[i]]
        while i + 2 < len(tokens) and tokens[i + 1] == "|" and tokens[i + 2] in subs:
            names.append(tokens[i + 2])
            i += 2
        if any(n not in subs for n in names):
            break  # an unknown subcommand is test_docs_links.py's finding
        parsers = {n: subs[n] for n in names}
        i += 1
    flags = {f for tok in tokens[i:] for f in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", tok)}
    shown = line.replace("\\|", "|")
    return [f"labkit {name} does not take {flag} (shown in `labkit {shown}`)"
            for name, parser in sorted(parsers.items()) for flag in sorted(flags)
            if flag not in parser._option_string_actions]


def test_option_checker_sees_an_option_one_alternative_lacks():
    root = build_parser()
    assert options_not_taken(r"bayes train \| score [--filter KIND]", root) == [
        "labkit score does not take --filter (shown in `labkit bayes train | score [--filter KIND]`)"]
    assert not options_not_taken(r"bayes train \| evaluate [--filter KIND] [--param N=V]", root)
    assert not options_not_taken(r"dns dig NAME [TYPE] [--live \| --lab \| --snapshot] [--json]",
                                 root)
    assert not options_not_taken(r"corpus fetch \| verify \| info", root)


def test_readme_command_table_options_work_with_every_subcommand_of_their_row():
    root = build_parser()
    lines = re.findall(r"`labkit ([^`]*)`", README.read_text(encoding="utf-8"))
    assert any(line.startswith("bayes") for line in lines)
    problems = [p for line in lines for p in options_not_taken(line, root)]
    assert not problems, problems


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n#", start + len(heading))
    return text[start:] if end < 0 else text[start:end]


def test_docs_say_the_binder_recipe_test_needs_the_corpus():
    source = (ROOT / "tests" / "delivery" / "test_binder.py").read_text(encoding="utf-8")
    fixture = re.search(r"def binder_env\(([^)]*)\)", source)
    assert fixture, "test_binder.py has no binder_env fixture any more: reread this test"
    if "corpus_dir" not in fixture.group(1):
        return  # the build no longer needs the corpus; nothing for the docs to say
    section = _section(BINDER_MD.read_text(encoding="utf-8"), "## Testing the recipe")
    assert CORPUS_VAR.search(section) and "skip" in section, (
        "docs/binder.md sends readers to test_binder.py without saying that it needs the corpus "
        "(LABKIT_CORPUS) and skips the build without it")
    row = next(r for r in GUIDE.read_text(encoding="utf-8").splitlines()
               if r.startswith("|") and "test_binder.py" in r)
    assert CORPUS_VAR.search(row), f"the guide's row does not say the test needs LABKIT_CORPUS: {row}"


def test_guide_credits_the_exchange_steps_to_the_test_that_runs_them():
    source = (ROOT / "tests" / "delivery" / "test_instructor_guide.py").read_text(encoding="utf-8")
    steps = ("release_assignment", "fetch_assignment", "nbgrader submit", "nbgrader collect",
             "release_feedback", "fetch_feedback")
    if not all(step in source for step in steps):
        return  # the test stopped running the exchange; the guide may say "by hand" again
    intro = GUIDE.read_text(encoding="utf-8").split("\n## 1.", 1)[0]
    para = next(p for p in intro.split("\n\n") if p.startswith("What was checked"))
    assert "not in CI" not in para, "the guide says the exchange steps were not run in CI"
    assert "test_instructor_guide.py" in para
