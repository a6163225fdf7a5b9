"""A corpus source that is one archive (``spam.tar.bz2``) holds one folder: verifying it
checks that folder, and the four others are not reported missing (which made
``labkit corpus verify --source spam.tar.bz2`` exit 1 for an intact archive).

The archives here are built from a few made-up messages named by their MD5, as the
public ones are; the real corpus is not needed.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from labkit.cli import main
from labkit.filters import corpus

MESSAGES = [f"From: a{i}@attacker.test\r\nSubject: offer {i}\r\n\r\ncheap pills {i}\r\n".encode()
            for i in range(3)]


def _archive(path: Path, folder: str, *, damage: bool = False) -> Path:
    """A .tar.bz2 holding ``folder``/NNNNN.<md5> files (the last one's MD5 wrong if ``damage``)."""
    with tarfile.open(path, "w:bz2") as tar:
        for i, raw in enumerate(MESSAGES):
            digest = hashlib.md5(raw + (b"x" if damage and i == 2 else b"")).hexdigest()
            info = tarfile.TarInfo(f"{folder}/{i:05d}.{digest}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


@pytest.fixture
def spam_archive(tmp_path):
    return _archive(tmp_path / "spam.tar.bz2", "spam")


def test_verify_of_one_intact_archive_exits_0(spam_archive, capsys):
    assert main(["corpus", "verify", "--source", str(spam_archive), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["missing"] == [] and data["counts"]["spam"] == 3


def test_verify_of_one_damaged_archive_still_exits_1_naming_the_file(tmp_path, capsys):
    damaged = _archive(tmp_path / "20030228_spam.tar.bz2", "spam", damage=True)
    assert main(["corpus", "verify", "--source", str(damaged)]) == 1
    out = capsys.readouterr().out
    assert "corrupted file spam/00002." in out and "missing" not in out


def test_info_and_load_of_one_archive_report_no_missing_folders(spam_archive, capsys):
    assert main(["corpus", "info", "--source", str(spam_archive)]) == 0
    assert "missing" not in capsys.readouterr().out
    c = corpus.load(spam_archive)
    assert c.missing == () and not c.damaged and len(c) == 3
    # a folder asked for by name that the archive cannot hold is still missing
    assert corpus.load(spam_archive, folders=["spam", "hard_ham"]).missing == ("hard_ham",)
    assert corpus.verify(spam_archive).missing == ()


def test_a_folder_source_without_some_folders_still_fails_verify(tmp_path, capsys):
    root = tmp_path / "corpus"
    (root / "spam").mkdir(parents=True)
    for i, raw in enumerate(MESSAGES):
        (root / "spam" / f"{i:05d}.{hashlib.md5(raw).hexdigest()}").write_bytes(raw)
    assert main(["corpus", "verify", "--source", str(root)]) == 1
    assert "folder easy_ham missing" in capsys.readouterr().out
