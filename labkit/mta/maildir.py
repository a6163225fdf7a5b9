"""Maildir delivery that never loses or doubles a message.

A message is written to ``tmp/`` under a unique name, flushed and ``fsync``-ed, then
renamed into ``new/`` (a rename within one file system is atomic).  A crash before the
rename leaves only a file in ``tmp/``; a crash after it leaves exactly one copy in
``new/``.  The folder ``Junk`` is a Maildir++ sub-folder (``.Junk``).

Introduced in lab 00 (set-up: ``lab.mailbox``).
"""

from __future__ import annotations

import dataclasses
import errno
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ..errors import EmptyMailbox, UsageError

log = logging.getLogger(__name__)

_counter = itertools.count()
_counter_lock = threading.Lock()
FOLDERS = ("INBOX", "Junk")
MAX_REMEMBERED_BOXES = 4096


_HOST = socket.gethostname().replace("/", r"\057").replace(":", r"\072")


def _unique_name() -> str:
    """A Maildir file name: ``seconds.MmicrosecondsPpidQcounter.host``.

    The numbers are zero-padded so that names sort in delivery order: :meth:`Maildir.keys`
    breaks ties between equal modification times (a few milliseconds apart on many file
    systems) by name, and "M5" sorted after "M12" (5 of 3,000 quick deliveries came out
    of order, so ``messages()[-1]`` was not always the newest).
    """
    with _counter_lock:
        n = next(_counter)
    now = time.time()
    return f"{int(now)}.M{int((now % 1) * 1e6):06d}P{os.getpid()}Q{n:09d}.{_HOST}"


def _fsync_dir(path: str) -> None:
    """Make a rename into ``path`` durable (skipped only where directories cannot be synced)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - directories cannot be opened on Windows
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP):  # a real I/O error: not durable
            raise
    finally:
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        log.warning("could not remove %s after a failed delivery", path)


@dataclasses.dataclass
class _Staged:
    """One message on its way: written to ``tmp/`` (``fd`` open until its fsync)."""

    index: int
    base: str
    key: str
    fd: int

    @property
    def tmp(self) -> str:
        return os.path.join(self.base, "tmp", self.key)

    @property
    def new(self) -> str:
        return os.path.join(self.base, "new", self.key)


def _stage(box: Maildir, message: bytes, folder: str, index: int) -> _Staged:
    """Create a unique file in ``tmp/`` and write ``message`` to it (no fsync yet)."""
    base = box.base(folder)
    key = _unique_name()
    tmp = os.path.join(base, "tmp", key)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileNotFoundError:  # first delivery to this folder: create it
        box.folder_path(folder)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(message)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except BaseException:
        os.close(fd)
        _unlink_quietly(tmp)
        raise
    return _Staged(index=index, base=base, key=key, fd=fd)


def deliver_many(
    items: Sequence[tuple[Maildir, bytes, str]],
    *,
    sync_dir: Callable[[str], None] = _fsync_dir,
) -> list[str | OSError]:
    """Store several messages, each atomically; one result per item, in order.

    Each ``(maildir, message, folder)`` is written to ``tmp/`` and ``fsync``-ed, then
    renamed into ``new/``; then each ``new/`` directory touched is synced once with
    ``sync_dir`` (a :class:`labkit.mta.groupcommit.SharedDirSync` shares that with
    other threads).  A result is the key once the message is durable, or the
    ``OSError`` that stopped it: a failure touches only its own item and leaves
    nothing behind in ``new/`` (a file whose directory sync failed is removed again,
    so a retry cannot double it).

    Introduced in lab 01 (anatomy of a mail).
    """
    results: list[str | OSError] = [OSError("not delivered")] * len(items)
    staged: list[_Staged] = []
    for i, (box, message, folder) in enumerate(items):
        try:
            staged.append(_stage(box, message, folder, i))
        except OSError as exc:
            results[i] = exc
    synced: list[_Staged] = []
    for s in staged:
        try:
            os.fsync(s.fd)
            synced.append(s)
        except OSError as exc:
            results[s.index] = exc
            _unlink_quietly(s.tmp)
        finally:
            os.close(s.fd)
    by_dir: dict[str, list[_Staged]] = {}
    for s in synced:
        box, _, folder = items[s.index]
        try:
            try:
                os.rename(s.tmp, s.new)
            except FileNotFoundError:  # new/ went missing since: recreate the folder
                box.folder_path(folder)
                os.rename(s.tmp, s.new)
        except OSError as exc:
            results[s.index] = exc
            _unlink_quietly(s.tmp)
            continue
        by_dir.setdefault(os.path.join(s.base, "new"), []).append(s)
    for new_dir, done in by_dir.items():
        try:
            sync_dir(new_dir)
        except OSError as exc:
            for s in done:  # not durable: take it back so that a retry stores it once
                try:
                    os.unlink(s.new)
                    results[s.index] = exc
                except OSError:  # still visible in new/: report it stored, not failed
                    log.error("%s: directory sync failed and the file stays", s.new)
                    results[s.index] = s.key
            continue
        for s in done:
            results[s.index] = s.key
    return results


class Maildir:
    """One mailbox: ``INBOX`` at the root, other folders as ``.Name`` sub-directories."""

    def __init__(self, path: str | Path, address: str | None = None) -> None:
        self.path = Path(path)
        self.address = address  # user@domain, when the lab's MailStore made it
        self.hint = ""  # said when latest() finds nothing (e.g. "no account has this address")

    def _folder(self, folder: str) -> str:
        """``folder`` as stored: ``inbox``/``junk`` in any case are INBOX/Junk; another
        name must be a folder that exists (else a typo like ``"Spam"`` read as empty)."""
        if not isinstance(folder, str):
            raise TypeError(f"folder must be 'INBOX' or 'Junk', not {type(folder).__name__}")
        for known in FOLDERS:
            if folder.lower() == known.lower():
                return known
        if not os.path.isdir(self.base(folder)):
            raise UsageError(f"{self.address or self.path} has no folder {folder!r}: "
                             f"the lab files mail in {' and '.join(FOLDERS)}")
        return folder

    def base(self, folder: str = "INBOX") -> str:
        """Directory of ``folder`` as a string (not created)."""
        return str(self.path) if folder == "INBOX" else os.path.join(self.path, f".{folder}")

    def folder_path(self, folder: str = "INBOX") -> Path:
        """Directory of ``folder`` (created on first use)."""
        base = self.path if folder == "INBOX" else self.path / f".{folder}"
        for sub in ("tmp", "new", "cur"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        return base

    def deliver(self, message: bytes, folder: str = "INBOX") -> str:
        """Store ``message`` atomically (write, fsync, rename, fsync of ``new/``); return its key."""
        result = deliver_many([(self, message, folder)])[0]
        if isinstance(result, OSError):
            raise result
        return result

    def keys(self, folder: str = "INBOX") -> list[str]:
        """Keys of the messages in ``folder``, oldest first."""
        base = self.folder_path(self._folder(folder))
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
        folder = self._folder(folder)
        return [self.get(k, folder) for k in self.keys(folder)]

    def latest(self, folder: str = "INBOX") -> bytes:
        """Raw bytes of the newest message in ``folder``.

        An empty folder raises :class:`~labkit.errors.EmptyMailbox` (a ``LookupError``)
        that names the mailbox: in a notebook, the cell that sends the mail has not run.
        """
        folder = self._folder(folder)
        keys = self.keys(folder)
        if not keys:
            raise EmptyMailbox(f"{self.address or self.path}: {folder} is empty. " + (
                self.hint or "Nothing has been delivered there yet: run the cell that sends "
                             "the mail first."))
        return self.get(keys[-1], folder)

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
        from .groupcommit import SharedDirSync

        self.root = Path(root)
        self.dir_sync = SharedDirSync(_fsync_dir)
        self._boxes: dict[str, Maildir] = {}  # building the Path costs more than a delivery's Python

    def deliver(self, items: Sequence[tuple[str, bytes, str]]) -> list[str | OSError]:
        """Store each ``(address, message, folder)`` durably; one key or ``OSError`` each.

        Directory syncs are shared with deliveries running at the same time in other
        threads (see :mod:`labkit.mta.groupcommit`).
        """
        return deliver_many(
            [(self.mailbox(address), message, folder) for address, message, folder in items],
            sync_dir=self.dir_sync.sync)

    def mailbox(self, address: str) -> Maildir:
        """The Maildir of ``user@domain`` (the same object each time for the same address)."""
        box = self._boxes.get(address)
        if box is None:
            local, _, domain = address.strip("<>").rpartition("@")
            if domain.endswith(".") and not domain.endswith(".."):
                domain = domain[:-1]  # alice@corp.example. is alice@corp.example
            if not local or not domain or "/" in address or ".." in address:
                raise ValueError(f"not a mailbox address: {address!r}")
            box = Maildir(self.root / domain.lower() / local.lower(), address=f"{local}@{domain}".lower())
            if len(self._boxes) >= MAX_REMEMBERED_BOXES:
                self._boxes.clear()
            self._boxes[address] = box
        return box


__all__ = ["Maildir", "MailStore", "FOLDERS", "deliver_many"]
