"""Shared fixtures: the lab DNS with the course zones, tool checks, the corpus."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Tests never ask the real DNS: live look-ups are tested against loopback resolvers.
os.environ.setdefault("LABKIT_OFFLINE", "1")

# The corpus beside the project (../shared) serves tests and executed notebooks offline.
_SHARED_CORPUS = ROOT.parent / "shared" / "corpora" / "spamassassin"
if "LABKIT_CORPUS" not in os.environ and _SHARED_CORPUS.is_dir():
    os.environ["LABKIT_CORPUS"] = str(_SHARED_CORPUS)


def unavailable(message: str) -> None:
    """Something a test needs is missing: skip on a developer's machine, fail in CI."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_tool(name: str) -> str:
    """Return the path of an external tool; skip without it, but fail in CI."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"the tool {name!r} is not installed (.ci/run installs it)")
    return path


def require_corpus_for(notebook: Path) -> None:
    """A notebook that loads the SpamAssassin corpus needs a local copy of it.

    Without one (``labkit corpus fetch`` or ``LABKIT_CORPUS``) the test is skipped on a
    developer's machine and fails in CI, where ``../shared`` provides it.
    """
    if "corpus.load(" not in notebook.read_text(encoding="utf-8"):
        return
    from labkit.errors import CorpusError
    from labkit.filters import corpus

    try:
        corpus.locate()
    except CorpusError as exc:
        unavailable(f"{notebook.name} needs the corpus: {exc}")


@pytest.fixture(scope="session")
def lab_dns():
    """A LabDNS serving the course zones (data/zones) for the whole test session."""
    import labkit.dns

    with labkit.dns.LabDNS() as server:
        yield server


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The SpamAssassin corpus beside the project; skip without it, fail in CI."""
    env = os.environ.get("LABKIT_CORPUS")
    if env and Path(env).is_dir():
        return Path(env)
    unavailable("SpamAssassin corpus not found (set LABKIT_CORPUS)")
