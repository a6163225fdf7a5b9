"""Fixtures for the filter tests: corpus subsets (small, so the tests stay fast)."""

from __future__ import annotations

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
