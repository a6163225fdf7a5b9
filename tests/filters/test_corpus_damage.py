"""Damaged corpus copies and downloads: every loss is reported by name, never silent.

Archives are built from real corpus messages in a temporary folder and damaged the way
disks and networks damage them (a bad tar header, a flipped compressed byte, a cut
stream); downloads come from a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import bz2
import http.server
import io
import json
import sys
import tarfile
import threading

import pytest

import labkit.filters.corpus as corpus
from labkit.cli import main
from labkit.errors import CorpusError, UsageError

FOLDER = "spam"


@pytest.fixture(scope="module")
def spam_msgs(full_corpus):
    """Twelve real spam messages."""
    return [m for m in full_corpus if m.folder == FOLDER][:12]


@pytest.fixture(scope="module")
def all_spam(full_corpus):
    """The real spam folder: with 100 kB bz2 blocks, an archive of many blocks."""
    return [m for m in full_corpus if m.folder == FOLDER]


def _tar(msgs, folder: str = FOLDER) -> bytes:
    """An uncompressed tar of ``msgs`` under ``folder/``, plus a ``cmds`` file."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for m in msgs:
            info = tarfile.TarInfo(f"{folder}/{m.name}")
            info.size = len(m.raw)
            tar.addfile(info, io.BytesIO(m.raw))
        info = tarfile.TarInfo(f"{folder}/cmds")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"rm\n"))
    return buf.getvalue()


def _bad_header(tar_bytes: bytes, index: int) -> bytes:
    """``tar_bytes`` with the header checksum of member ``index`` spoiled."""
    offset = tarfile.open(fileobj=io.BytesIO(tar_bytes)).getmembers()[index].offset
    data = bytearray(tar_bytes)
    data[offset + 148 : offset + 156] = b"0000000\0"
    return bytes(data)


def _write(root, data: bytes, folder: str = FOLDER):
    path = root / corpus.ARCHIVES[folder]
    path.write_bytes(data)
    return path


def _accounted(c, folder: str = FOLDER) -> int:
    """Messages loaded plus files reported as corrupted, for ``folder``."""
    return sum(1 for m in c if m.folder == folder) + sum(
        1 for n, _ in c.problems if n.startswith(folder + "/")
    )


def test_bad_header_mid_archive_is_reported_not_taken_as_the_end(tmp_path, spam_msgs, capsys):
    path = _write(tmp_path, bz2.compress(_bad_header(_tar(spam_msgs), 6)))
    c = corpus.load(tmp_path, folders=[FOLDER])
    assert [m.name for m in c] == [m.name for m in spam_msgs[:6]]  # read before the damage
    assert [a for a, _ in c.unreadable] == [str(path.resolve())]
    assert "damaged header" in c.unreadable[0][1]
    assert c.short == ((FOLDER, 6, corpus.SIZES[FOLDER]),)
    assert c.damaged and c.counts()["unreadable"] == 1 and c.counts()["corrupted"] == 0
    assert main(["corpus", "verify", "--source", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert str(path.resolve()) in out and "not read to its end" in out


def test_flipped_compressed_byte_never_loses_messages_silently(tmp_path, all_spam):
    data = bytearray(bz2.compress(_tar(all_spam), 1))
    data[len(data) // 2] ^= 0xFF
    path = _write(tmp_path, bytes(data))
    c = corpus.verify(tmp_path)
    # the archive is reported whatever the damage looked like inside
    assert [a for a, _ in c.unreadable] == [str(path.resolve())]
    assert c.damaged and 0 < _accounted(c) < len(all_spam)
    assert c.short == ((FOLDER, _accounted(c), corpus.SIZES[FOLDER]),)


def test_cut_stream_is_reported(tmp_path, all_spam):
    good = bz2.compress(_tar(all_spam), 1)
    path = _write(tmp_path, good[: len(good) * 2 // 3])
    c = corpus.verify(tmp_path)
    assert [a for a, _ in c.unreadable] == [str(path.resolve())]
    assert "EOFError" in c.unreadable[0][1]
    assert 0 < len(c) < len(all_spam) and not c.problems


def test_unopenable_archive_is_reported(tmp_path, spam_msgs):
    path = _write(tmp_path, b"")
    c = corpus.verify(tmp_path)
    assert [a for a, _ in c.unreadable] == [str(path.resolve())] and len(c) == 0


def test_whole_archive_reports_no_damage(tmp_path, spam_msgs):
    _write(tmp_path, bz2.compress(_tar(spam_msgs)))
    c = corpus.load(tmp_path, folders=[FOLDER])
    assert len(c) == len(spam_msgs) and not c.unreadable and not c.damaged


def test_missing_folders_are_missing_not_corrupted(tmp_path, spam_msgs, capsys):
    _write(tmp_path, bz2.compress(_tar(spam_msgs)))
    c = corpus.verify(tmp_path)
    assert set(c.missing) == set(corpus.FOLDERS) - {FOLDER}
    counts = c.counts()
    assert counts["corrupted"] == 0 and counts["missing"] == len(corpus.FOLDERS) - 1
    assert main(["corpus", "verify", "--source", str(tmp_path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["problems"] == [] and set(data["missing"]) == set(c.missing)


def test_short_extracted_folder_is_reported_with_its_count(tmp_path, spam_msgs):
    (tmp_path / FOLDER).mkdir()
    for m in spam_msgs[:5]:
        (tmp_path / FOLDER / m.name).write_bytes(m.raw)
    c = corpus.load(tmp_path, folders=[FOLDER])
    assert c.short == ((FOLDER, 5, corpus.SIZES[FOLDER]),)
    assert c.counts()["short"] == corpus.SIZES[FOLDER] - 5
    assert any("short: 5 of" in line for line in c.issues())


def test_unknown_or_missing_source_is_bad_input(tmp_path, capsys):
    for action in ("verify", "info"):
        assert main(["corpus", action, "--source", str(tmp_path / "nowhere")]) == 2
        assert "does not exist" in capsys.readouterr().err
    dest = tmp_path / "dest"
    assert main(["corpus", "fetch", "--folder", "nope", "--dest", str(dest)]) == 2
    assert "unknown corpus folder nope" in capsys.readouterr().err
    assert not dest.exists()
    with pytest.raises(CorpusError, match="unknown corpus folder"):
        corpus.fetch(dest, folders=["nope"])
    assert not dest.exists()


def test_offline_fetch_refuses_before_any_download(tmp_path, monkeypatch, capsys, spam_msgs):
    monkeypatch.setenv("LABKIT_OFFLINE", "1")
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LABKIT_CORPUS", raising=False)
    # a download attempt would end in CorpusError (exit 1) or succeed (exit 0)
    assert main(["corpus", "fetch"]) == 2
    err = capsys.readouterr().err
    assert "LABKIT_OFFLINE" in err and "LABKIT_CORPUS" in err and "--base-url file://" in err
    assert "Get it with `labkit corpus fetch`" not in err  # the command that just refused
    assert not (tmp_path / "cache").exists()
    with pytest.raises(UsageError, match="LABKIT_OFFLINE"):
        corpus.fetch(tmp_path / "dest", base_url="https://mirror.example/corpus/")
    assert not (tmp_path / "dest").exists()
    # a copy on this machine is still fine
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _write(mirror, bz2.compress(_tar(spam_msgs)))
    c = corpus.fetch(tmp_path / "dest", folders=[FOLDER], base_url=mirror.as_uri(), progress=False)
    assert len(c) == len(spam_msgs)


class _Site(http.server.BaseHTTPRequestHandler):
    """Serves ``files``: name -> (body, Content-Length it announces)."""

    files: dict[str, tuple[bytes, int]] = {}
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        name = self.path.rsplit("/", 1)[-1]
        self.requests.append(name)
        if name not in self.files:
            self.send_error(404)
            return
        body, length = self.files[name]
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    """A real HTTP server on 127.0.0.1 (ephemeral port); yields (handler class, base URL)."""
    handler = type("Site", (_Site,), {"files": {}, "requests": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_rejects_short_and_damaged_downloads_then_keeps_a_good_one(
    tmp_path, site, spam_msgs, monkeypatch
):
    """With LABKIT_OFFLINE set, as in CI: a loopback base URL is still allowed."""
    monkeypatch.setenv("LABKIT_OFFLINE", "1")
    handler, url = site
    name = corpus.ARCHIVES[FOLDER]
    good = bz2.compress(_tar(spam_msgs))
    cache = tmp_path / "cache"
    # the connection closes after a part of the announced length
    handler.files[name] = (good[: len(good) // 4], len(good))
    with pytest.raises(CorpusError, match=f"received {len(good) // 4} of the {len(good)} bytes"):
        corpus.fetch(cache, folders=[FOLDER], base_url=url, progress=False)
    assert list(cache.iterdir()) == []
    # complete as announced, but the archive inside is damaged
    damaged = bz2.compress(_bad_header(_tar(spam_msgs), 3))
    handler.files[name] = (damaged, len(damaged))
    with pytest.raises(CorpusError, match="damaged header"):
        corpus.fetch(cache, folders=[FOLDER], base_url=url, progress=False)
    assert list(cache.iterdir()) == []
    handler.files[name] = (good, len(good))
    c = corpus.fetch(cache, folders=[FOLDER], base_url=url, progress=False)
    assert [m.name for m in c] == [m.name for m in spam_msgs] and not c.damaged
    assert [p.name for p in cache.iterdir()] == [name]
    assert handler.requests == [name] * 3


def test_fetch_replaces_a_damaged_archive_in_its_cache(tmp_path, site, spam_msgs):
    handler, url = site
    name = corpus.ARCHIVES[FOLDER]
    good = bz2.compress(_tar(spam_msgs))
    handler.files[name] = (good, len(good))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / name).write_bytes(good[:5000])  # left by an older, broken download
    c = corpus.fetch(cache, folders=[FOLDER], base_url=url, progress=False)
    assert len(c) == len(spam_msgs) and (cache / name).read_bytes() == good
    assert handler.requests == [name]
    # a whole archive already there is kept without a request
    corpus.fetch(cache, folders=[FOLDER], base_url=url, progress=False)
    assert handler.requests == [name]


def test_fetch_reads_an_archive_already_there_once(tmp_path, site, spam_msgs, monkeypatch):
    """The check that a present archive is whole is also the load fetch returns."""
    handler, url = site
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / corpus.ARCHIVES[FOLDER]).write_bytes(bz2.compress(_tar(spam_msgs)))
    opened = []
    real = corpus._iter_files

    def counting(src, folder):
        opened.append(src.name)
        return real(src, folder)

    monkeypatch.setattr(corpus, "_iter_files", counting)
    c = corpus.fetch(cache, folders=[FOLDER], base_url=url, progress=False)
    assert [m.name for m in c] == [m.name for m in spam_msgs] and not c.damaged
    assert opened == [corpus.ARCHIVES[FOLDER]] and handler.requests == []


def test_fetch_never_deletes_an_archive_it_did_not_name(tmp_path, site, spam_msgs):
    _, url = site
    dest = tmp_path / "mine"
    dest.mkdir()
    own = dest / f"{FOLDER}.tar.bz2"
    own.write_bytes(b"not an archive")
    with pytest.raises(CorpusError, match=str(own)):
        corpus.fetch(dest, folders=[FOLDER], base_url=url, progress=False)
    assert own.read_bytes() == b"not an archive"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_verify_shows_a_progress_bar_on_a_terminal_only(tmp_path, spam_msgs, cli_on_terminal, capsys):
    (tmp_path / FOLDER).mkdir()
    for m in spam_msgs:
        (tmp_path / FOLDER / m.name).write_bytes(m.raw)
    code, err = cli_on_terminal(["corpus", "verify", "--source", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1  # four folders missing
    assert "reading corpus" in err and "msg" in err
    assert "reading corpus" not in out and out.startswith("<Corpus 12 messages")
    code, err = cli_on_terminal(["corpus", "verify", "--source", str(tmp_path), "--json"])
    out = capsys.readouterr().out
    assert "reading corpus" not in err and json.loads(out)["counts"]["total"] == 12
    assert main(["corpus", "verify", "--source", str(tmp_path)]) == 1  # stderr not a terminal
    assert "reading corpus" not in capsys.readouterr().err
