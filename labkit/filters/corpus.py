"""The SpamAssassin public corpus: find it, fetch it, verify it, load it.

The corpus (6,045 messages of 2002-2003: 4,149 ham, 1,896 spam) comes in five
folders.  Each message file is named ``NNNNN.<md5>``, the MD5 of its exact bytes,
so every message is checked against its own name whatever the source.

Where the corpus is read from, first match wins:

1. the ``source`` argument of :func:`load` (a folder of archives or of extracted
   folders, or a single ``.tar.bz2``);
2. the environment variable ``LABKIT_CORPUS``;
3. the user cache folder filled by :func:`fetch` (``labkit corpus fetch``).

Nothing is ever downloaded implicitly: without a local copy :func:`load` raises a
:class:`~labkit.errors.CorpusError` that says how to get one.

Introduced in lab 09 (Bayesian filtering).
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import os
import re
import sys
import tarfile
import threading
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..errors import CorpusError

log = logging.getLogger(__name__)

#: folder name -> label
FOLDERS: dict[str, str] = {
    "easy_ham": "ham",
    "easy_ham_2": "ham",
    "hard_ham": "ham",
    "spam": "spam",
    "spam_2": "spam",
}

#: folder name -> archive name on the public site
ARCHIVES: dict[str, str] = {
    "easy_ham": "20030228_easy_ham.tar.bz2",
    "easy_ham_2": "20030228_easy_ham_2.tar.bz2",
    "hard_ham": "20030228_hard_ham.tar.bz2",
    "spam": "20030228_spam.tar.bz2",
    "spam_2": "20050311_spam_2.tar.bz2",
}

#: where the public archives live
BASE_URL = "https://spamassassin.apache.org/old/publiccorpus/"

_NAME = re.compile(r"^\d{5}\.([0-9a-f]{32})$")
_HOW_TO_GET = (
    "Get it with `labkit corpus fetch` (downloads the public archives from {url} into {cache}), "
    "or point LABKIT_CORPUS (or the source argument) at a folder holding the .tar.bz2 archives "
    "or their extracted folders."
)


@dataclass(frozen=True, kw_only=True)
class Message:
    """One corpus message: its file name, folder, label ("ham"/"spam") and raw bytes."""

    name: str
    folder: str
    label: str
    raw: bytes = field(repr=False)

    @property
    def spam(self) -> bool:
        """True for spam."""
        return self.label == "spam"

    @property
    def md5(self) -> str:
        """The MD5 hex digest named in the file name."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def date(self) -> datetime | None:
        """The Date header (UTC), else the mbox ``From`` line date, else None."""
        return message_date(self.raw)

    def to_dict(self) -> dict:
        """Name, folder, label and size (not the bytes)."""
        return {
            "name": self.name,
            "folder": self.folder,
            "label": self.label,
            "size": len(self.raw),
        }


@dataclass(frozen=True, kw_only=True)
class Corpus(Sequence):
    """The loaded messages plus the files that were skipped, by name, with the reason."""

    messages: tuple[Message, ...]
    source: str
    problems: tuple[tuple[str, str], ...] = ()

    def __len__(self) -> int:
        return len(self.messages)

    def __getitem__(self, index):  # type: ignore[override]
        return self.messages[index]

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)

    def counts(self) -> dict[str, int]:
        """Messages per folder, plus ``ham_total``, ``spam_total``, ``total`` and ``corrupted``."""
        out: dict[str, int] = {}
        for m in self.messages:
            out[m.folder] = out.get(m.folder, 0) + 1
        out["ham_total"] = sum(1 for m in self.messages if not m.spam)
        out["spam_total"] = sum(1 for m in self.messages if m.spam)
        out["total"] = len(self.messages)
        out["corrupted"] = len(self.problems)
        return out

    def to_dict(self) -> dict:
        """Source, counts and the skipped files."""
        return {
            "source": self.source,
            "counts": self.counts(),
            "problems": [{"name": n, "reason": r} for n, r in self.problems],
        }

    def __repr__(self) -> str:
        c = self.counts()
        return (
            f"<Corpus {c['total']} messages ({c['ham_total']} ham, {c['spam_total']} spam), "
            f"{c['corrupted']} skipped, from {self.source}>"
        )

    def _repr_html_(self) -> str:
        c = self.counts()
        rows = "".join(
            f"<tr><td>{f}</td><td>{c.get(f, 0)}</td><td>{lab}</td></tr>"
            for f, lab in FOLDERS.items()
        )
        bad = "".join(f"<li>{n}: {r}</li>" for n, r in self.problems)
        return (
            f"<b>SpamAssassin corpus</b> from <code>{self.source}</code>"
            f"<table><tr><th>folder</th><th>messages</th><th>label</th></tr>{rows}</table>"
            f"<p>{c['ham_total']} ham, {c['spam_total']} spam; {c['corrupted']} skipped</p>"
            + (f"<ul>{bad}</ul>" if bad else "")
        )


def cache_dir() -> Path:
    """The user cache folder for the corpus (``$LABKIT_CACHE`` overrides).

    Linux: ``$XDG_CACHE_HOME/labkit`` (``~/.cache/labkit``); macOS
    ``~/Library/Caches/labkit``; Windows ``%LOCALAPPDATA%\\labkit``.
    """
    env = os.environ.get("LABKIT_CACHE")
    if env:
        base = Path(env)
    elif sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "labkit"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches" / "labkit"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "labkit"
    return base / "spamassassin"


def locate(source: str | os.PathLike | None = None) -> Path:
    """Find the local corpus: ``source``, else ``$LABKIT_CORPUS``, else the cache folder.

    Raises CorpusError (saying how to get the corpus) when none exists.
    """
    if source is not None:
        path = Path(source).expanduser()
        if not path.exists():
            raise CorpusError(f"corpus source {path} does not exist. " + _how_to_get())
        return path
    env = os.environ.get("LABKIT_CORPUS")
    if env:
        path = Path(env).expanduser()
        if not path.exists():
            raise CorpusError(f"LABKIT_CORPUS={env} does not exist. " + _how_to_get())
        return path
    cache = cache_dir()
    if cache.is_dir() and any(_folder_sources(cache, f) for f in FOLDERS):
        return cache
    raise CorpusError("no local copy of the SpamAssassin corpus. " + _how_to_get())


def _how_to_get() -> str:
    return _HOW_TO_GET.format(url=BASE_URL, cache=cache_dir())


def _archive_pattern(folder: str) -> re.Pattern:
    return re.compile(rf"^(\d{{8}}_)?{re.escape(folder)}\.tar\.bz2$")


def _folder_sources(root: Path, folder: str) -> list[Path]:
    """The extracted folder or the archive that holds ``folder`` under ``root``."""
    if root.is_file():
        return [root] if _archive_pattern(folder).match(root.name) else []
    extracted = root / folder
    if extracted.is_dir():
        return [extracted]
    pattern = _archive_pattern(folder)
    return sorted(p for p in root.iterdir() if p.is_file() and pattern.match(p.name))


def _iter_files(src: Path, folder: str) -> Iterator[tuple[str, bytes]]:
    """(file name, bytes) of every regular file of ``folder`` in a folder or archive."""
    if src.is_dir():
        for p in sorted(src.iterdir()):
            if p.is_file():
                yield p.name, p.read_bytes()
        return
    try:
        with tarfile.open(src, "r:*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                parts = member.name.split("/")
                if len(parts) < 2 or parts[-2] != folder:
                    continue
                fh = tar.extractfile(member)
                if fh is not None:
                    yield parts[-1], fh.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise CorpusError(f"cannot read archive {src}: {exc}") from exc


def _read_folder(
    root: Path, folder: str, verify: bool
) -> tuple[list[Message], list[tuple[str, str]]]:
    messages: list[Message] = []
    problems: list[tuple[str, str]] = []
    label = FOLDERS[folder]
    for src in _folder_sources(root, folder)[:1]:
        for fname, raw in _iter_files(src, folder):
            m = _NAME.match(fname)
            if m is None:
                if fname != "cmds":
                    log.info("skipping non-message file %s/%s", folder, fname)
                continue
            if verify and hashlib.md5(raw).hexdigest() != m.group(1):
                log.warning(
                    "corrupted corpus file %s/%s: MD5 does not match its name", folder, fname
                )
                problems.append((f"{folder}/{fname}", "MD5 does not match the file name"))
                continue
            messages.append(Message(name=fname, folder=folder, label=label, raw=raw))
    return messages, problems


_CACHE: dict[tuple, Corpus] = {}
_CACHE_LOCK = threading.Lock()


def load(
    source: str | os.PathLike | None = None,
    *,
    folders: Iterable[str] | None = None,
    verify: bool = True,
    progress: bool = False,
) -> Corpus:
    """Load the corpus (all folders, or ``folders``) as a :class:`Corpus` of Messages.

    Each message's MD5 is checked against its name (``verify``); a mismatch is logged
    and reported in ``Corpus.problems`` by name, never counted as a message.  Files
    that are not messages (``cmds``) are skipped.  The parsed corpus is cached per
    process, so a second call is instant.

    Introduced in lab 09 (Bayesian filtering).
    """
    root = locate(source).resolve()
    wanted = tuple(folders) if folders is not None else tuple(FOLDERS)
    for f in wanted:
        if f not in FOLDERS:
            raise CorpusError(f"unknown corpus folder {f!r}; folders are {', '.join(FOLDERS)}")
    stamp = tuple(
        (str(p), p.stat().st_mtime_ns) for f in wanted for p in _folder_sources(root, f)[:1]
    )
    key = (str(root), wanted, verify, stamp)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    missing = [f for f in wanted if not _folder_sources(root, f)]
    if len(missing) == len(wanted):
        raise CorpusError(f"no corpus folders found in {root}. " + _how_to_get())
    if missing:
        log.warning("corpus folders missing in %s: %s", root, ", ".join(missing))
    messages: list[Message] = []
    problems: list[tuple[str, str]] = []
    bar = _progress(wanted, progress, "loading corpus")
    for f in bar:
        got, bad = _read_folder(root, f, verify)
        messages.extend(got)
        problems.extend(bad)
    corpus = Corpus(messages=tuple(messages), source=str(root), problems=tuple(problems))
    with _CACHE_LOCK:
        _CACHE[key] = corpus
    return corpus


def verify(source: str | os.PathLike | None = None) -> Corpus:
    """Re-read and check every message of the corpus (no cache); see ``Corpus.problems``."""
    root = locate(source).resolve()
    messages: list[Message] = []
    problems: list[tuple[str, str]] = []
    for f in FOLDERS:
        if not _folder_sources(root, f):
            problems.append((f, "folder missing"))
            continue
        got, bad = _read_folder(root, f, True)
        messages.extend(got)
        problems.extend(bad)
    return Corpus(messages=tuple(messages), source=str(root), problems=tuple(problems))


def _progress(items, enabled: bool | None, desc: str, total: int | None = None, unit: str = "it"):
    """Wrap ``items`` in a tqdm bar; ``enabled=None`` means: only for more than 1,000 items."""
    if enabled is None:
        enabled = (total if total is not None else len(items)) > 1000
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, total=total, unit=unit)


def fetch(
    dest: str | os.PathLike | None = None,
    *,
    folders: Iterable[str] | None = None,
    base_url: str = BASE_URL,
    progress: bool = True,
    timeout: float = 60.0,
) -> Corpus:
    """Download the public archives into ``dest`` (default: :func:`cache_dir`) and verify them.

    Archives already present are kept.  Shows a tqdm progress bar per archive.
    Returns the loaded (verified) corpus.  This is the only function that downloads.
    """
    target = Path(dest).expanduser() if dest is not None else cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    wanted = tuple(folders) if folders is not None else tuple(FOLDERS)
    for f in wanted:
        if f not in FOLDERS:
            raise CorpusError(f"unknown corpus folder {f!r}")
        if _folder_sources(target, f):
            log.info("%s already present in %s", f, target)
            continue
        _download(base_url.rstrip("/") + "/" + ARCHIVES[f], target / ARCHIVES[f], progress, timeout)
    return load(target, folders=wanted)


def _download(url: str, path: Path, progress: bool, timeout: float) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, desc=path.name)
            while chunk := resp.read(1 << 16):
                out.write(chunk)
                if bar is not None:
                    bar.update(len(chunk))
            if bar is not None:
                bar.close()
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CorpusError(
            f"download of {url} failed: {exc}. Without network access, point LABKIT_CORPUS "
            "at a local copy of the archives."
        ) from exc
    tmp.replace(path)


_DATE = re.compile(rb"^Date:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_FROM_LINE = re.compile(rb"^From \S+\s+(.+)$", re.MULTILINE)


def message_date(raw: bytes) -> datetime | None:
    """The message's date in UTC from its Date header (or mbox ``From`` line); None if absent."""
    end = raw.find(b"\n\n")
    head = raw if end < 0 else raw[:end]
    for pattern in (_DATE, _FROM_LINE):
        m = pattern.search(head)
        if not m:
            continue
        text = re.sub(rb"\s+", b" ", m.group(1)).decode("ascii", "replace").strip()
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            try:
                when = datetime.strptime(text, "%a %b %d %H:%M:%S %Y")
            except ValueError:
                continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        try:
            return when.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            continue
    return None


def sample(name: str | None = None) -> list[Message] | Message:
    """The project's own small lab messages from ``data/messages`` (no corpus needed).

    Files are named ``ham-*.eml`` / ``spam-*.eml``.  With ``name`` returns that message.
    """
    from .. import paths

    folder = paths.data_dir() / "messages"
    out = []
    for p in sorted(folder.glob("*.eml")):
        label = "spam" if p.name.startswith("spam") else "ham"
        msg = Message(name=p.name, folder="lab", label=label, raw=p.read_bytes())
        if name is not None and p.name in (name, name + ".eml"):
            return msg
        out.append(msg)
    if name is not None:
        raise CorpusError(f"no sample message {name!r} in {folder}")
    return out


__all__ = [
    "FOLDERS",
    "ARCHIVES",
    "BASE_URL",
    "Message",
    "Corpus",
    "cache_dir",
    "locate",
    "load",
    "verify",
    "fetch",
    "message_date",
    "sample",
]
