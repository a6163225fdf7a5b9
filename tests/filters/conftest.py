"""Fixtures for the filter tests: corpus subsets (small, so the tests stay fast)."""

from __future__ import annotations

import os
import struct
import sys
import threading

import pytest

import labkit.filters.corpus as corpus


@pytest.fixture(scope="session")
def full_corpus(corpus_dir):
    """The whole corpus (loaded once; about a second)."""
    return corpus.load(corpus_dir)


@pytest.fixture(scope="session")
def subset(full_corpus):
    """Every 12th message in MD5 order: about 500 messages, labels and folders mixed."""
    return tuple(sorted(full_corpus, key=lambda m: m.md5))[::12]


@pytest.fixture(scope="session")
def small_source(tmp_path_factory, subset):
    """A folder of 160 corpus messages from mixed folders, for the CLI tests."""
    root = tmp_path_factory.mktemp("corpus")
    for m in subset[:160]:
        (root / m.folder).mkdir(exist_ok=True)
        (root / m.folder / m.name).write_bytes(m.raw)
    return root


@pytest.fixture
def cli_on_terminal(monkeypatch):
    """Run ``labkit`` in this process with ``sys.stderr`` on a real pseudo-terminal
    (POSIX only): ``run(args)`` returns (exit code, everything written to the terminal).
    Standard output stays where it was (pytest's capsys reads it)."""
    import fcntl
    import termios

    from labkit.cli import main

    def run(args: list[str]) -> tuple[int, str]:
        leader, follower = os.openpty()
        # a new pseudo-terminal is 0 columns wide: give tqdm room to draw
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        chunks: list[bytes] = []

        def drain() -> None:
            while True:
                try:
                    data = os.read(leader, 4096)
                except OSError:  # the follower side was closed
                    return
                if not data:
                    return
                chunks.append(data)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        tty = os.fdopen(follower, "w", buffering=1)
        try:
            with monkeypatch.context() as m:
                m.setattr(sys, "stderr", tty)
                code = main(args)
        finally:
            tty.close()
            reader.join(10)
            os.close(leader)
        return code, b"".join(chunks).decode(errors="replace")

    return run


@pytest.fixture(params=["python", "compiled"])
def path(request, monkeypatch):
    """Which path the tokenizer's HTML passes take: "python" (the compiled modules set
    aside) or "compiled" (skipped when ``_chtml`` is not built)."""
    from labkit.filters import compiled, tokens

    if request.param == "python":
        monkeypatch.setattr(tokens, "_ch", None)
        monkeypatch.setattr(tokens, "_c", None)
    elif compiled.load("_chtml") is None:
        pytest.skip("labkit.filters._chtml is not built")
    return request.param
