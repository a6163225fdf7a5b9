"""Where the lab's data lives (zones, keys, snapshots, sample messages).

The project runs from a checkout (``pip install -e .``, as the README and Binder do);
``LABKIT_DATA`` points elsewhere when needed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def repo_root() -> Path:
    """The checkout that holds ``labkit/``, ``labs/``, ``data/`` and ``nbgrader_config.py``."""
    return Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The ``data/`` folder: ``$LABKIT_DATA`` if set, else the checkout's ``data/``."""
    env = os.environ.get("LABKIT_DATA")
    return Path(env) if env else repo_root() / "data"


def zones_dir() -> Path:
    """``data/zones``: the fictional Internet's zone files."""
    return data_dir() / "zones"


@contextmanager
def atomic_path(dest: str | os.PathLike, *, mode: int | None = None) -> Iterator[Path]:
    """A temporary name beside ``dest`` to write to; it replaces ``dest`` only when the
    ``with`` block ends without an error, so a failed or interrupted write (disk full,
    Ctrl-C) leaves ``dest`` as it was and no partial file.

    The temporary name ends in ``dest``'s own name (``.gz`` and image suffixes still
    choose the format); the file is flushed to disk before the rename.  A ``dest`` that
    is a symbolic link has the file it points to replaced, not the link; a folder or a
    device is refused (``IsADirectoryError``/``OSError``).  ``mode``: the file's
    permissions (default: as the umask gives a new file).
    """
    dest = Path(dest)
    if dest.is_symlink():
        dest = dest.resolve()
    if dest.exists() and not dest.is_file():
        raise (IsADirectoryError if dest.is_dir() else OSError)(
            f"{dest} is not a regular file (a folder or a device)")
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=".labkit-", suffix="-" + dest.name)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


__all__ = ["repo_root", "data_dir", "zones_dir", "atomic_path"]
