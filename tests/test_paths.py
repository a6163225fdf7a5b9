"""labkit.paths.atomic_path: the one way labkit writes a file whole (CLI outputs, filter saves)."""

from __future__ import annotations

import pytest

from labkit.paths import atomic_path


def test_the_file_appears_only_when_the_block_ends_well(tmp_path):
    dest = tmp_path / "model.json"
    dest.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(dest) as tmp:
        tmp.write_text("half a new")
        raise RuntimeError("disk full, say")
    assert dest.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]  # no temporary left
    with atomic_path(dest) as tmp:
        tmp.write_text("new")
    assert dest.read_text() == "new"


def test_a_symbolic_link_keeps_pointing_at_the_new_content(tmp_path):
    """Writing through a link replaces the file it points to; the link stays a link."""
    target = tmp_path / "models" / "bayes.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "current.json"
    link.symlink_to(target)
    with atomic_path(link) as tmp:
        tmp.write_text("new")
    assert link.is_symlink() and target.read_text() == "new"


def test_a_folder_is_refused_and_left_alone(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(IsADirectoryError), atomic_path(folder) as tmp:
        tmp.write_text("x")
    assert folder.is_dir() and not list(folder.iterdir())


def test_mode_sets_the_permissions(tmp_path):
    dest = tmp_path / "lab.pem"
    with atomic_path(dest, mode=0o600) as tmp:
        tmp.write_text("key")
    assert dest.stat().st_mode & 0o777 == 0o600
