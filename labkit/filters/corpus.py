"""The SpamAssassin public corpus: find it, fetch it, verify it, load it.

The corpus (messages of 2002-2003) comes in five folders; the public archives hold
6,046 messages (4,150 ham, 1,896 spam).  Each message file is named ``NNNNN.<md5>``,
the MD5 of its exact bytes, so every message is checked against its own name
whatever the source.  One hard_ham file was edited by the corpus maintainer after it
was named (:data:`EDITED_UPSTREAM`); it is skipped and reported as a known edit, so
the public archives and the course's offline copy both load as the same 6,045
messages.

Nothing is lost silently.  A :class:`Corpus` reports, by name, every file whose
MD5 does not match (skipped), every archive that could not be read to its end (a
damaged tar header or compressed stream: the messages read before the damage are
kept, the rest are lost), every folder that is missing, and every folder holding
fewer messages than the public archive (:data:`SIZES`).

Where the corpus is read from, first match wins:

1. the ``source`` argument of :func:`load` (a folder of archives or of extracted
   folders, or a single ``.tar.bz2``);
2. the environment variable ``LABKIT_CORPUS``;
3. the user cache folder filled by :func:`fetch` (``labkit corpus fetch``).

Nothing is ever downloaded implicitly: without a local copy :func:`load` raises a
:class:`~labkit.errors.CorpusError` that says how to get one.  :func:`fetch` checks
each download (its length, then the whole archive) before keeping it, replaces a
damaged archive it finds in its folder, and refuses to reach the network when
``LABKIT_OFFLINE`` is set (a ``file://`` or loopback ``base_url`` is still allowed).
The cache folder is ``$LABKIT_CACHE/spamassassin`` when that variable is set.

Introduced in lab 09 (Bayesian filtering).
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import http.client
import ipaddress
import logging
import lzma
import os
import re
import sys
import tarfile
import threading
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import _coerce
from ..errors import CorpusError, UsageError
from .tokens import _split

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

#: folder name -> number of messages in the public archive (``cmds`` not counted).
#: spam_2: the corpus README announces 1,397, but its maintainer removed
#: ``00529.0c8a07bb7b14576063ba0c1c4079e209`` (a ham filed as spam) on 11 March 2005,
#: the date in the archive's name; the copies we know lack exactly that file.
SIZES: dict[str, int] = {
    "easy_ham": 2500,
    "easy_ham_2": 1400,
    "hard_ham": 250,
    "spam": 500,
    "spam_2": 1396,
}

#: files the corpus maintainer edited after naming them, so their MD5 no longer matches
#: (corpus README, 16 December 2004: host names changed in the headers of
#: ``20030228_hard_ham/00230*``).  Skipped like any mismatch (the bytes cannot be told
#: from a damaged copy) and reported by name, but as a known edit: they do not make a
#: corpus "damaged", so ``labkit corpus fetch`` from the public site succeeds.
EDITED_UPSTREAM: dict[str, str] = {
    "hard_ham/00230.244a63cd74c81123ef26129453e32c95": (
        "edited by the corpus maintainer after it was named (host names changed, "
        "16 Dec 2004): MD5 does not match the file name"
    ),
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
    """The loaded messages, plus everything that could not be loaded, by name.

    ``problems``: corrupted files skipped, as (folder/name, reason);
    ``edited``: files of :data:`EDITED_UPSTREAM` found, skipped, as (folder/name, reason);
    ``unreadable``: archives not read to their end, as (path, reason);
    ``missing``: folders not found; ``short``: folders with fewer files than the
    public archive, as (folder, files found, files in the public archive);
    ``absent_edits``: files of :data:`EDITED_UPSTREAM` that a folder read to its end did
    not hold (copies that keep only files matching their MD5 leave them out).
    """

    messages: tuple[Message, ...]
    source: str
    problems: tuple[tuple[str, str], ...] = ()
    edited: tuple[tuple[str, str], ...] = ()
    unreadable: tuple[tuple[str, str], ...] = ()
    missing: tuple[str, ...] = ()
    short: tuple[tuple[str, int, int], ...] = ()
    absent_edits: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.messages)

    def __getitem__(self, index):  # type: ignore[override]
        return self.messages[index]

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)

    @property
    def damaged(self) -> bool:
        """True when a file was corrupted, an archive was cut short or a folder is missing."""
        return bool(self.problems or self.unreadable or self.missing)

    def counts(self) -> dict[str, int]:
        """Messages per folder, ``ham_total``, ``spam_total``, ``total``, and the losses.

        ``corrupted``: files skipped for a bad MD5; ``unreadable``: archives not read to
        their end; ``missing``: folders not found; ``short``: files the public archives
        hold beyond those found (neither loaded nor reported as corrupted).
        """
        out: dict[str, int] = {}
        for m in self.messages:
            out[m.folder] = out.get(m.folder, 0) + 1
        out["ham_total"] = sum(1 for m in self.messages if not m.spam)
        out["spam_total"] = sum(1 for m in self.messages if m.spam)
        out["total"] = len(self.messages)
        out["corrupted"] = len(self.problems)
        out["edited"] = len(self.edited)
        out["unreadable"] = len(self.unreadable)
        out["missing"] = len(self.missing)
        out["short"] = sum(expected - found for _, found, expected in self.short)
        return out

    def issues(self) -> list[str]:
        """One line per loss, damaged parts first (empty when the corpus is whole)."""
        lines = [f"corrupted file {n}: {r} (skipped)" for n, r in self.problems]
        lines += [f"archive {a} not read to its end: {r}" for a, r in self.unreadable]
        lines += [f"file {n} {r} (skipped, a known edit)" for n, r in self.edited]
        lines += [f"folder {f} missing" for f in self.missing]
        lines += [self._short_line(*short) for short in self.short]
        return lines

    def _short_line(self, folder: str, found: int, expected: int) -> str:
        line = f"folder {folder} short: {found} of the public archive's {expected} files "
        known = [n for n in self.absent_edits if n.startswith(folder + "/")]
        if known and len(known) == expected - found:  # exactly the known edits are absent
            return line + (f"({len(known)} not here: {', '.join(known)}, edited by the corpus "
                           "maintainer after it was named, so a copy that keeps only files "
                           "matching their MD5 leaves it out)")
        return line + f"({expected - found} not here)"

    def to_dict(self) -> dict:
        """Source, counts and every loss (corrupted files, unreadable archives, ...)."""
        return {
            "source": self.source,
            "counts": self.counts(),
            "problems": [{"name": n, "reason": r} for n, r in self.problems],
            "edited": [{"name": n, "reason": r} for n, r in self.edited],
            "unreadable": [{"archive": a, "reason": r} for a, r in self.unreadable],
            "missing": list(self.missing),
            "short": [
                {"folder": f, "found": found, "expected": expected}
                for f, found, expected in self.short
            ],
            "absent_edits": list(self.absent_edits),
        }

    def _summary(self) -> str:
        c = self.counts()
        parts = [
            f"{c['total']} messages ({c['ham_total']} ham, {c['spam_total']} spam)",
            f"{c['corrupted']} corrupted skipped",
        ]
        if c["edited"]:
            parts.append(f"{c['edited']} edited upstream skipped")
        if c["unreadable"]:
            parts.append(f"{c['unreadable']} archive(s) not read to the end")
        if c["missing"]:
            parts.append(f"{c['missing']} folder(s) missing")
        if c["short"]:
            parts.append(f"{c['short']} file(s) fewer than the public archives")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"<Corpus {self._summary()}, from {self.source}>"

    def _repr_html_(self) -> str:
        c = self.counts()
        rows = "".join(
            f"<tr><td>{f}</td><td>{c.get(f, 0)}</td><td>{lab}</td></tr>"
            for f, lab in FOLDERS.items()
        )
        bad = "".join(f"<li>{html.escape(line)}</li>" for line in self.issues())
        return (
            f"<b>SpamAssassin corpus</b> from <code>{html.escape(self.source)}</code>"
            f"<table><tr><th>folder</th><th>messages</th><th>label</th></tr>{rows}</table>"
            f"<p>{html.escape(self._summary())}</p>"
            + (f"<ul>{bad}</ul>" if bad else "")
        )


def cache_dir() -> Path:
    """The user cache folder for the corpus: ``<base>/spamassassin``.

    ``<base>`` is ``$LABKIT_CACHE`` when set, else the platform's user cache folder:
    Linux ``$XDG_CACHE_HOME/labkit`` (``~/.cache/labkit``); macOS
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


_HOW_TO_GET_OFFLINE = (
    "LABKIT_OFFLINE is set, so `labkit corpus fetch` downloads nothing from the Internet: "
    "run it where the Internet is reachable (without LABKIT_OFFLINE), or copy the .tar.bz2 "
    "archives from {url} to this machine and point LABKIT_CORPUS (or the source argument) at "
    "their folder, or fetch from a local mirror with `--base-url file:///path/to/archives/`."
)


def _how_to_get() -> str:
    """How to get the corpus from here (without suggesting a download LABKIT_OFFLINE forbids)."""
    text = _HOW_TO_GET_OFFLINE if _offline() else _HOW_TO_GET
    return text.format(url=BASE_URL, cache=cache_dir())


def folders_present(root: str | os.PathLike) -> list[str]:
    """The corpus folders (of :data:`FOLDERS`) found under ``root``, extracted or as archives.

    Cheap: it looks at names only, reading no message.
    """
    path = Path(root)
    if not path.exists():
        return []
    return [f for f in FOLDERS if _folder_sources(path, f)]


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


def _held(root: Path) -> tuple[str, ...]:
    """The folders a source is read for when none are named: all of them for a folder,
    the one it holds for a single archive (``spam.tar.bz2``), whose absent siblings are
    not missing: that source was never meant to hold them."""
    if root.is_file():
        return tuple(f for f in FOLDERS if _folder_sources(root, f)) or tuple(FOLDERS)
    return tuple(FOLDERS)


class _Damaged(Exception):
    """An archive could not be read to its end; the argument says where and why."""


#: what a damaged tar or compressed stream raises while it is read
_READ_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)


def _iter_files(src: Path, folder: str) -> Iterator[tuple[str, bytes]]:
    """(file name, bytes) of every regular file of ``folder`` in a folder or archive.

    An archive is read to its real end; if it cannot be, the files read so far are
    yielded and then :class:`_Damaged` is raised.
    """
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
            _check_tail(tar)
    except _READ_ERRORS as exc:
        raise _Damaged(" ".join(f"{type(exc).__name__}: {exc}".split())) from exc


def _check_tail(tar: tarfile.TarFile) -> None:
    """Raise :class:`_Damaged` unless only NUL padding follows where ``tar`` stopped.

    tarfile ends its iteration quietly at a header it cannot parse (a bad checksum, a
    garbled block), as if the archive ended there; reading the rest of the stream
    tells the two apart, and also surfaces compression errors further on.
    """
    stream = tar.fileobj
    pos = tar.offset
    stream.seek(pos)
    while chunk := stream.read(1 << 16):
        rest = chunk.lstrip(b"\0")
        if rest:
            at = pos + len(chunk) - len(rest)
            raise _Damaged(
                f"unreadable tar block at byte {at} of the unpacked archive "
                "(a damaged header); the files after it were not read"
            )
        pos += len(chunk)


@dataclass
class _Folder:
    """What reading one folder gave: messages and every loss."""

    messages: list[Message] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    edited: list[tuple[str, str]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    short: list[tuple[str, int, int]] = field(default_factory=list)
    absent_edits: list[str] = field(default_factory=list)


def _read_folder(root: Path, folder: str, verify: bool, bar=None) -> _Folder:
    """Read ``folder`` under ``root``; ``bar`` (tqdm) advances by one per file read."""
    out = _Folder()
    label = FOLDERS[folder]
    seen = 0
    names: set[str] = set()
    for src in _folder_sources(root, folder)[:1]:
        files = _iter_files(src, folder)
        try:
            for fname, raw in files:
                m = _NAME.match(fname)
                if m is None:
                    if fname != "cmds":
                        log.info("skipping non-message file %s/%s", folder, fname)
                    continue
                seen += 1
                names.add(fname)
                if bar is not None:
                    bar.update(1)
                if verify and hashlib.md5(raw).hexdigest() != m.group(1):
                    if (known := EDITED_UPSTREAM.get(f"{folder}/{fname}")) is not None:
                        log.info("skipping %s/%s: %s", folder, fname, known)
                        out.edited.append((f"{folder}/{fname}", known))
                        continue
                    log.warning(
                        "corrupted corpus file %s/%s: MD5 does not match its name", folder, fname
                    )
                    out.problems.append((f"{folder}/{fname}", "MD5 does not match the file name"))
                    continue
                out.messages.append(Message(name=fname, folder=folder, label=label, raw=raw))
        except _Damaged as exc:
            reason = f"{exc}; {seen} {folder} files read before it. {_REPLACE}"
            log.warning("corpus archive %s not read to its end: %s", src, reason)
            out.unreadable.append((str(src), reason))
    if seen < SIZES[folder]:
        log.info(
            "corpus folder %s holds %d of the public archive's %d files",
            folder, seen, SIZES[folder],
        )
        out.short.append((folder, seen, SIZES[folder]))
        if not out.unreadable:  # (a cut archive says nothing about its missing tail)
            out.absent_edits = [n for n in EDITED_UPSTREAM
                                if n.partition("/")[0] == folder and n.partition("/")[2] not in names]
    return out


_REPLACE = "Delete that archive and fetch it again (`labkit corpus fetch`)."


def _read(root: Path, wanted: Sequence[str], verify: bool, progress: bool | None) -> Corpus:
    """Read the ``wanted`` folders under ``root`` into a Corpus that lists every loss."""
    missing = tuple(f for f in wanted if not _folder_sources(root, f))
    if missing:
        log.warning("corpus folders missing in %s: %s", root, ", ".join(missing))
    total = sum(SIZES[f] for f in wanted if f not in missing)
    bar = _progress(None, progress, "reading corpus", total, "msg") if total else None
    parts = [_read_folder(root, f, verify, bar) for f in wanted if f not in missing]
    if bar is not None:
        bar.close()
    return Corpus(
        messages=tuple(m for p in parts for m in p.messages),
        source=str(root),
        problems=tuple(x for p in parts for x in p.problems),
        edited=tuple(x for p in parts for x in p.edited),
        unreadable=tuple(x for p in parts for x in p.unreadable),
        missing=missing,
        short=tuple(x for p in parts for x in p.short),
        absent_edits=tuple(x for p in parts for x in p.absent_edits),
    )


def _wanted(folders: Iterable[str] | None) -> tuple[str, ...]:
    """The folders asked for (all by default); CorpusError for an unknown name.

    One name alone (``folders="spam"``) is that folder; an empty list asks for nothing,
    which is a mistake (it used to end in "no corpus folders found", as if none were
    installed).
    """
    if isinstance(folders, str):
        folders = [folders]
    wanted = tuple(folders) if folders is not None else tuple(FOLDERS)
    if not wanted:
        raise UsageError(f"folders= is empty: name at least one of {', '.join(FOLDERS)} "
                         "(or leave it out for all of them)")
    for f in wanted:
        if f not in FOLDERS:
            raise CorpusError(f"unknown corpus folder {f!r}; folders are {', '.join(FOLDERS)}")
    return wanted


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
    that are not messages (``cmds``) are skipped.  An archive that cannot be read to
    its end keeps the messages read before the damage and is reported in
    ``Corpus.unreadable``; missing and short folders are reported too (damage and
    missing folders are also logged as warnings).  A ``source`` that is one archive
    (``spam.tar.bz2``) is read for the folder it holds unless ``folders`` names others.
    The parsed corpus is cached per process, so a second call is instant.

    Introduced in lab 09 (Bayesian filtering).
    """
    verify = _coerce.flag(verify, "verify")
    progress = _progress_flag(progress)
    root = locate(source).resolve()
    wanted = _wanted(folders) if folders is not None else _held(root)
    stamp = tuple(
        (str(p), p.stat().st_mtime_ns) for f in wanted for p in _folder_sources(root, f)[:1]
    )
    key = (str(root), wanted, verify, stamp)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    if not stamp:
        raise CorpusError(f"no corpus folders found in {root}. " + _how_to_get())
    corpus = _read(root, wanted, verify, progress)
    with _CACHE_LOCK:
        _CACHE[key] = corpus
    return corpus


def verify(source: str | os.PathLike | None = None, *, progress: bool = False) -> Corpus:
    """Re-read and check every folder and message (no cache); see :meth:`Corpus.issues`.

    ``Corpus.damaged`` is True when a file is corrupted, an archive could not be read
    to its end or a folder is missing.  A ``source`` that is one archive
    (``spam.tar.bz2``) is checked for the folder it holds; the other four are not
    reported missing.
    """
    progress = _progress_flag(progress)
    root = locate(source).resolve()
    return _read(root, _held(root), True, progress)


def _progress_flag(progress: object) -> bool | None:
    """A ``progress`` argument: True, False or None (let the amount of work decide).

    Text is refused (a ``TypeError``, as :func:`labkit._coerce.flag` does): ``"no"``
    would show a bar.
    """
    return None if progress is None else _coerce.flag(progress, "progress")


def _progress(items, enabled: bool | None, desc: str, total: int | None = None, unit: str = "it"):
    """Wrap ``items`` in a tqdm bar; ``enabled=None`` means: only for more than 1,000 items."""
    enabled = _progress_flag(enabled)
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

    An archive already there is kept if it reads to its end (that one read is also the
    load returned: nothing is read twice); a damaged one that fetch itself named is
    downloaded again.  Each download shows a tqdm bar and is checked
    (length, whole archive) before it takes its place.  With ``LABKIT_OFFLINE`` set,
    only a ``file://`` or loopback ``base_url`` may be used (else UsageError).
    Returns the loaded (verified) corpus.  This is the only function that downloads.
    """
    progress = _coerce.flag(progress, "progress")
    timeout = _coerce.seconds(timeout)
    wanted = _wanted(folders)
    target = Path(dest).expanduser() if dest is not None else cache_dir()
    # resolved as load() resolves it, so its damage report names the same paths
    root = target.resolve()
    sources = {f: _folder_sources(root, f)[:1] for f in wanted} if root.is_dir() else {}
    present = tuple(f for f in wanted if sources.get(f))
    # what is already here is read once: this check is also the load returned below
    damage = dict(load(target, folders=present, progress=progress).unreadable) if present else {}
    todo: list[str] = []
    for f in wanted:
        if f not in present:
            todo.append(f)
            continue
        src = sources[f][0]
        reason = damage.get(str(src))
        if reason is None:
            log.info("%s already present in %s", f, target)
            continue
        if src != root / ARCHIVES[f]:
            raise CorpusError(f"archive {src} is damaged: {reason}")
        todo.append(f)
    if todo and _offline() and _leaves_machine(base_url):
        raise UsageError(f"the corpus is not downloaded from {base_url}. " + _how_to_get())
    target.mkdir(parents=True, exist_ok=True)
    for f in todo:
        path = target / ARCHIVES[f]
        if path.exists():
            log.warning("removing damaged archive %s to download it again", path)
            path.unlink()
        _download(base_url.rstrip("/") + "/" + ARCHIVES[f], path, f, progress, timeout)
    return load(target, folders=wanted)


def _archive_damage(src: Path, folder: str) -> str | None:
    """Why ``src`` (an archive of ``folder``) cannot be read to its end, or None if it can."""
    if src.is_dir():
        return None
    try:
        for _ in _iter_files(src, folder):
            pass
    except _Damaged as exc:
        return str(exc)
    return None


def _offline() -> bool:
    from ..dns.live import offline

    return offline()


def _leaves_machine(url: str) -> bool:
    """False for ``file://`` URLs and loopback hosts; True for anything else."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


class _NoRedirectOffTheMachine(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to ``file://`` or loopback (used with ``LABKIT_OFFLINE``)."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> Any:
        """The redirected request, or a :class:`UsageError` when it would leave the machine."""
        target = urllib.parse.urljoin(req.full_url, newurl)
        if _leaves_machine(target):
            raise UsageError(f"LABKIT_OFFLINE is set: {req.full_url} redirects ({code}) to "
                             f"{target}, off this machine; not followed. " + _how_to_get())
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    """urllib's opener; with ``LABKIT_OFFLINE``, one that uses no proxy (a proxy is
    another machine, and ``http_proxy`` would send even a loopback URL there) and
    follows no redirect off the machine."""
    if not _offline():
        return urllib.request.build_opener()
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirectOffTheMachine())


def _download(url: str, path: Path, folder: str, progress: bool, timeout: float) -> None:
    """Download ``url`` to ``path`` via ``.part``; keep it only if whole and readable."""
    tmp = path.with_name(path.name + ".part")
    got = 0
    try:
        with _opener().open(url, timeout=timeout) as resp, open(tmp, "wb") as out:
            declared = resp.headers.get("Content-Length")
            total = int(declared) if declared and declared.isdigit() else None
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, desc=path.name)
            while chunk := resp.read(1 << 16):
                out.write(chunk)
                got += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
            if bar is not None:
                bar.close()
    except (OSError, http.client.HTTPException) as exc:
        tmp.unlink(missing_ok=True)
        raise CorpusError(
            f"download of {url} failed: {exc}. Without network access, point LABKIT_CORPUS "
            "at a local copy of the archives."
        ) from exc
    damage = None
    if total is not None and got != total:
        damage = f"received {got} of the {total} bytes announced"
    else:
        damage = _archive_damage(tmp, folder)
    if damage is not None:
        tmp.unlink(missing_ok=True)
        raise CorpusError(f"download of {url} is damaged ({damage}); nothing kept, try again.")
    tmp.replace(path)


_DATE = re.compile(rb"^Date:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_FROM_LINE = re.compile(rb"^From \S+\s+(.+)$", re.MULTILINE)


def message_date(raw: bytes) -> datetime | None:
    """The message's date in UTC from its Date header (or mbox ``From`` line); None if absent."""
    head = _split(raw)[0]  # the header block, whether lines end in LF or CRLF
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
    "EDITED_UPSTREAM",
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
