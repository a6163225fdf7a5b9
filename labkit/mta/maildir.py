"""Maildir delivery that never loses or doubles a message.

A message is written to ``tmp/`` under a unique name, flushed and ``fsync``-ed, then
renamed into ``new/`` (a rename within one file system is atomic).  A crash before the
rename leaves only a file in ``tmp/``; a crash after it leaves exactly one copy in
``new/``.  The folder ``Junk`` is a Maildir++ sub-folder (``.Junk``).

Introduced in lab 01 (anatomy of a mail and forgery).
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

_counter = itertools.count()
_counter_lock = threading.Lock()
FOLDERS = ("INBOX", "Junk")


_HOST = socket.gethostname().replace("/", r"\057").replace(":", r"\072")


def _unique_name() -> str:
    with _counter_lock:
        n = next(_counter)
    now = time.time()
    return f"{int(now)}.M{int((now % 1) * 1e6)}P{os.getpid()}Q{n}.{_HOST}"


def _fsync_dir(path: str | Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - directories cannot be opened on Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class Maildir:
    """One mailbox: ``INBOX`` at the root, other folders as ``.Name`` sub-directories."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def folder_path(self, folder: str = "INBOX") -> Path:
        """Directory of ``folder`` (created on first use)."""
        base = self.path if folder == "INBOX" else self.path / f".{folder}"
        for sub in ("tmp", "new", "cur"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        return base

    def deliver(self, message: bytes, folder: str = "INBOX") -> str:
        """Store ``message`` atomically; return its key (the file name)."""
        base = str(self.path) if folder == "INBOX" else os.path.join(self.path, f".{folder}")
        key = _unique_name()
        tmp = os.path.join(base, "tmp", key)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileNotFoundError:  # first delivery to this folder: create it
            self.folder_path(folder)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(message)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        new = os.path.join(base, "new")
        try:
            os.rename(tmp, os.path.join(new, key))
        except FileNotFoundError:  # new/ went missing since: recreate the folder
            self.folder_path(folder)
            os.rename(tmp, os.path.join(new, key))
        _fsync_dir(new)
        return key

    def keys(self, folder: str = "INBOX") -> list[str]:
        """Keys of the messages in ``folder``, oldest first."""
        base = self.folder_path(folder)
        files = [p for sub in ("new", "cur") for p in (base / sub).iterdir() if p.is_file()]
        return [p.name for p in sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))]

    def _find(self, key: str, folder: str) -> Path:
        base = self.folder_path(folder)
        for sub in ("new", "cur"):
            p = base / sub / key
            if p.exists():
                return p
        raise KeyError(key)

    def get(self, key: str, folder: str = "INBOX") -> bytes:
        """Raw bytes of one message."""
        return self._find(key, folder).read_bytes()

    def remove(self, key: str, folder: str = "INBOX") -> None:
        """Delete one message."""
        self._find(key, folder).unlink()

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """Raw bytes of every message in ``folder``, oldest first."""
        return [self.get(k, folder) for k in self.keys(folder)]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.messages())

    def __len__(self) -> int:
        return len(self.keys())

    def count(self, folder: str = "INBOX") -> int:
        """Number of messages in ``folder``."""
        return len(self.keys(folder))

    def __repr__(self) -> str:
        return f"<Maildir {self.path} INBOX={self.count()} Junk={self.count('Junk')}>"


class MailStore:
    """All lab mailboxes under one root: ``<root>/<domain>/<local part>/``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def mailbox(self, address: str) -> Maildir:
        """The Maildir of ``user@domain``."""
        local, _, domain = address.strip("<>").rpartition("@")
        if not local or not domain or "/" in address or ".." in address:
            raise ValueError(f"not a mailbox address: {address!r}")
        return Maildir(self.root / domain.lower() / local.lower())


__all__ = ["Maildir", "MailStore", "FOLDERS"]
