"""The documentation points at things that exist.

- every relative Markdown link in a tracked ``*.md`` file resolves to a file, and its
  ``#anchor`` (in a Markdown target) to a heading or an explicit ``id``;
- every repository path the docs quote in backticks (``tests/...``, ``binder/...``) exists,
  apart from generated folders and the few paths the docs name as absent;
- every ``labkit`` command line quoted in README.md and docs/ names real subcommands and
  real options of the ``labkit`` parser;
- the numbers the docs copy from configuration (nbgrader's per-cell timeout, Binder's
  Python) match that configuration.
"""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

import pytest

from labkit.cli import build_parser
from tests.conftest import ROOT

FENCE = re.compile(r"^( *)(```|~~~).*?^\1\2", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)
EXPLICIT_ID = re.compile(r"""\b(?:id|name)\s*=\s*["']([^"']+)["']""")

# Quoted repository paths that are generated (not in a clone) or named as absent on purpose.
GENERATED = ("release/", "submitted/", "autograded/", "feedback/")
NAMED_AS_ABSENT = {"binder/start"}
REPO_PATH = re.compile(
    r"`((?:labs|labkit|docs|tests|binder|data|benchmarks|release)/[^`\s]*)`"
)


def _markdown_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard",
                          "*.md"], cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return sorted(ROOT / p for p in out.split("\0") if p and (ROOT / p).is_file())


def _docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code (links there are not links)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*|_(?=\W)|(?<=\W)_", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link keeps its words
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every ``#fragment`` a Markdown file offers: heading slugs and explicit ids."""
    text = path.read_text(encoding="utf-8")
    found: set[str] = set()
    counts: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", text)):
        slug = _slug(heading)
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        found.add(slug if n == 0 else f"{slug}-{n}")
    found.update(EXPLICIT_ID.findall(text))
    return found


def broken_links(path: Path) -> list[str]:
    """The relative links of one Markdown file that do not resolve, with the reason."""
    problems = []
    for target in LINK.findall(_prose(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
            continue
        file_part, _, fragment = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            problems.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            problems.append(f"{target}: no anchor #{fragment} in {dest.name}")
    return problems


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    assert not broken_links(path), f"{path.relative_to(ROOT)}: {broken_links(path)}"


def test_link_checker_catches_a_broken_link(tmp_path):
    """The checker itself: a missing file and a missing anchor are both reported."""
    (tmp_path / "other.md").write_text("# Real heading\n\n<a id=\"kept\"></a>\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok](other.md#real-heading) [ok](other.md#kept) [ok](#top)\n"
        "[gone](missing.md) [bad](other.md#nowhere) `[code](ignored.md)`\n\n# Top\n"
    )
    assert broken_links(page) == ["missing.md: no such file",
                                  "other.md#nowhere: no anchor #nowhere in other.md"]


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_quoted_repository_paths_exist(path):
    missing = []
    for quoted in REPO_PATH.findall(path.read_text(encoding="utf-8")):
        if quoted.startswith(GENERATED) or quoted in NAMED_AS_ABSENT or re.search(r"[<*]|NN", quoted):
            continue
        if not (ROOT / quoted.rstrip("/")).exists():
            missing.append(quoted)
    assert not missing, f"{path.relative_to(ROOT)} quotes paths that do not exist: {missing}"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return set(parser._option_string_actions)


def command_problems(line: str, root: argparse.ArgumentParser) -> list[str]:
    """What is wrong with one quoted ``labkit ...`` line (``\\|`` separates alternatives)."""
    tokens = line.replace("\\|", " | ").split()
    parsers = [root]
    i = 0
    while i < len(tokens):
        subs = _subcommands(parsers[0])
        if not subs:
            break
        word = tokens[i]
        if not re.fullmatch(r"[a-z][a-z0-9-]*", word):
            break
        names = [word]
        while i + 2 < len(tokens) and tokens[i + 1] == "|" and re.fullmatch(r"[a-z][a-z0-9-]*",
                                                                            tokens[i + 2]):
            names.append(tokens[i + 2])
            i += 2
        unknown = [n for n in names if n not in subs]
        if unknown:
            return [f"labkit {line}: no subcommand {unknown} (have {sorted(subs)})"]
        parsers = [subs[n] for n in names]
        i += 1
    allowed = set().union(*(_options(p) for p in parsers))
    flags = {f for tok in tokens[i:] for f in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", tok)}
    return [f"labkit {line}: no option {flag}" for flag in sorted(flags - allowed)]


def quoted_commands(path: Path) -> list[str]:
    """The argument part of every ``labkit ...`` command quoted in a Markdown file."""
    text = path.read_text(encoding="utf-8")
    found = [m.group(1) for m in re.finditer(r"`labkit ([^`]*)`", text)]
    for block in FENCE.finditer(text):
        for row in block.group(0).splitlines():
            m = re.search(r"(?:^|[\s/])labkit ([^#|;&]*)", row)
            if m:
                found.append(m.group(1).strip())
    return found


@pytest.mark.parametrize("path", _docs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_quoted_labkit_commands_exist(path):
    root = build_parser()
    problems = [p for line in quoted_commands(path) for p in command_problems(line, root)]
    assert not problems, f"{path.relative_to(ROOT)}: {problems}"


def test_command_checker_catches_a_wrong_command():
    root = build_parser()
    assert not command_problems(r"dns dig NAME [TYPE] [--live \| --lab \| --snapshot] [--json]",
                                root)
    assert not command_problems(r"corpus fetch \| verify \| info", root)
    assert command_problems("corpus download", root)
    assert command_problems("release --dry-run", root)
    assert command_problems(r"dkim keygen \| sign \| check", root)


def test_nbgrader_timeout_in_guide_matches_config():
    config = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    (value,) = re.findall(r"^c\.Execute\.timeout = (\d+)", config, re.M)
    guide = (ROOT / "docs" / "instructor-guide.md").read_text(encoding="utf-8")
    quoted = re.findall(r"c\.Execute\.timeout = (\d+)", guide)
    assert quoted and set(quoted) == {value}, (quoted, value)


def test_binder_python_in_docs_matches_runtime():
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()  # python-3.11
    version = runtime.removeprefix("python-")
    for path in (ROOT / "docs" / "binder.md", ROOT / "docs" / "instructor-guide.md"):
        text = path.read_text(encoding="utf-8")
        quoted = set(re.findall(r"`python-(3\.\d+)`|Python (3\.\d+)\)|pins (3\.\d+)", text))
        versions = {v for group in quoted for v in group if v}
        assert versions <= {version}, f"{path.name} names Python {versions}, runtime.txt {version}"
