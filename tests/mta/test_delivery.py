"""Maildir delivery in batches and from many threads: each message stored once, faults local.

The faults are real file-system faults (a mailbox whose ``tmp/`` or ``new/`` is a plain
file, so the kernel refuses the create or the rename), not mocks.  Only the directory
sync failure, which no file system here can be made to produce on demand, is played
by a sync function given to :class:`SharedDirSync`.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import types
import warnings

import pytest

import labkit.mta
from labkit.mta import events as events_mod
from labkit.mta.groupcommit import SharedDirSync
from labkit.mta.maildir import MailStore, deliver_many

from .conftest import Dialogue, raw_connect


def _break(path, sub: str) -> None:
    """Replace the directory ``path/sub`` by a plain file (a real fault for create/rename)."""
    d = path / sub
    for f in d.iterdir():
        f.unlink()
    d.rmdir()
    d.write_bytes(b"not a directory\n")


def _files(path, sub: str) -> list:
    d = path / sub
    return sorted(d.iterdir()) if d.is_dir() else []


def test_a_batch_fails_only_the_items_whose_mailbox_is_broken(tmp_path):
    boxes = {name: labkit.mta.Maildir(tmp_path / name) for name in ("ok", "badtmp", "badnew")}
    for box in boxes.values():
        box.folder_path()
    _break(tmp_path / "badtmp", "tmp")  # the create in tmp/ fails
    _break(tmp_path / "badnew", "new")  # write + fsync succeed, the rename into new/ fails
    items = [(boxes[n], f"Subject: {i} {n}\r\n\r\nx\r\n".encode(), "INBOX")
             for i, n in enumerate(["ok", "badtmp", "ok", "badnew", "ok"])]
    results = deliver_many(items)
    assert [isinstance(r, OSError) for r in results] == [False, True, False, True, False]
    assert all(isinstance(r, NotADirectoryError) for r in results if isinstance(r, OSError))
    ok_keys = [r for r in results if isinstance(r, str)]
    assert len(set(ok_keys)) == 3
    assert sorted(boxes["ok"].get(k) for k in ok_keys) == sorted(
        m for (box, m, _) in items if box is boxes["ok"])
    # nothing half-written anywhere: the failed rename's file was removed from tmp/
    assert _files(tmp_path / "badnew", "tmp") == [] and _files(tmp_path / "ok", "tmp") == []
    assert boxes["ok"].count() == 3


def test_single_delivery_raises_the_fault_and_leaves_nothing(tmp_path):
    box = labkit.mta.Maildir(tmp_path / "box")
    box.folder_path("Junk")
    _break(tmp_path / "box" / ".Junk", "new")
    with pytest.raises(NotADirectoryError):
        box.deliver(b"Subject: s\r\n\r\nx\r\n", "Junk")
    assert _files(tmp_path / "box" / ".Junk", "tmp") == []
    assert box.deliver(b"Subject: t\r\n\r\nx\r\n") in box.keys()  # INBOX unaffected


def test_concurrent_deliveries_are_each_stored_once(tmp_path):
    store = MailStore(tmp_path)
    rcpts = ["alice@corp.example", "bob@corp.example", "carol@corp.example"]
    threads, per_thread = 8, 25
    start = threading.Barrier(threads)
    failures: list = []

    def work(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            rcpt = rcpts[(t + i) % 3]
            folder = "Junk" if i % 5 == 0 else "INBOX"
            msg = f"Subject: {t}/{i}\r\n\r\nfor {rcpt}\r\n".encode()
            res = store.deliver([(rcpt, msg, folder)])
            failures.extend(r for r in res if isinstance(r, OSError))

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    assert failures == []
    stored = [m for r in rcpts for f in ("INBOX", "Junk") for m in store.mailbox(r).messages(f)]
    expected = [f"Subject: {t}/{i}\r\n\r\nfor {rcpts[(t + i) % 3]}\r\n".encode()
                for t in range(threads) for i in range(per_thread)]
    assert sorted(stored) == sorted(expected)  # every one, once
    for r in rcpts:
        base = tmp_path / "corp.example" / r.split("@")[0]
        assert _files(base, "tmp") == [] and _files(base / ".Junk", "tmp") == []
    stats = store.dir_sync.stats()
    assert stats.requests == threads * per_thread and 1 <= stats.syncs <= stats.requests


def _recording_sync(hold: float = 0.02, fail_first: bool = False):
    """A directory sync that logs when each sync began (a global sequence) and can fail once."""
    seq = itertools.count(1)
    started: list[tuple[int, bool]] = []  # (sequence at start, succeeded)
    lock = threading.Lock()
    gate = threading.Event()

    def sync(path: str) -> None:
        with lock:
            n = next(seq)
            first = not started
            started.append((n, True))
            idx = len(started) - 1
        if first:
            gate.wait(10)  # the first sync waits until the test let the others queue up
        else:
            threading.Event().wait(hold)
        if first and fail_first:
            with lock:
                started[idx] = (n, False)
            raise OSError(5, "Input/output error (played)")

    return sync, seq, started, lock, gate


def _wait_until(condition) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition not reached within 10 s"
        time.sleep(0.001)


@pytest.mark.parametrize("fail_first", [False, True])
def test_shared_directory_sync_covers_each_caller_with_a_later_sync(fail_first):
    sync, seq, started, lock, gate = _recording_sync(fail_first=fail_first)
    shared = SharedDirSync(sync)
    callers = 8
    outcome: dict[int, tuple[int, object]] = {}

    def call(i: int) -> None:
        with lock:
            asked = next(seq)  # on the same clock as the syncs' starts
        try:
            shared.sync("/some/new")
            outcome[i] = (asked, None)
        except OSError as exc:
            outcome[i] = (asked, exc)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    _wait_until(lambda: shared.stats().syncs >= 1)
    rest = [threading.Thread(target=call, args=(i,)) for i in range(1, callers)]
    for th in rest:
        th.start()
    _wait_until(lambda: shared.stats().requests >= callers)
    gate.set()
    for th in [first, *rest]:
        th.join()
    errors = [i for i, (_, exc) in outcome.items() if exc is not None]
    assert errors == ([0] if fail_first else [])
    good_starts = [n for n, ok in started if ok]
    for i, (asked, exc) in outcome.items():
        if exc is None:  # returned: some successful sync began after this caller asked
            assert any(n > asked for n in good_starts), (i, asked, started)
    # the seven callers that queued behind the first one shared far fewer syncs than seven
    assert len(started) < callers
    assert shared.stats().requests == callers and shared.stats().syncs == len(started)


def test_a_partial_delivery_failure_defers_the_whole_message_and_the_retry_stores_once(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, scorer=None) as lab:
        bob = lab.mailbox("bob@corp.example")
        bob.folder_path()
        _break(bob.path, "new")
        msg = labkit.mta.make_message(from_="news@brand.example", to="alice@corp.example",
                                      subject="two copies", body="body\n")
        res = lab.send(msg, from_host="mail.brand.example",
                       rcpt_to=["alice@corp.example", "bob@corp.example"])
        assert res.code == 451
        # alice's copy was stored and taken back: a retry must not double it
        assert lab.mailbox("alice@corp.example").count() == 0
        errors = lab.events.entries(event="error", step="deliver")
        assert [e["rcpt"] for e in errors] == ["bob@corp.example"]
        (bob.path / "new").unlink()  # repair bob's mailbox; the client retries
        res = lab.send(msg, from_host="mail.brand.example",
                       rcpt_to=["alice@corp.example", "bob@corp.example"])
        assert res.status == "sent"
        for r in ("alice@corp.example", "bob@corp.example"):
            found = [m for m in lab.mailbox(r).messages() if b"two copies" in m]
            assert len(found) == 1


def test_held_lines_reach_the_file_before_the_data_reply_and_at_quit(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, scorer=None) as lab:
        path = lab.root / "logs" / "mx.corp.example.jsonl"
        d = Dialogue(raw_connect(lab, lab.hosts["mail.brand.example"].address, "mx.corp.example"))
        assert d.reply().startswith("220")
        assert d.cmd("EHLO mail.brand.example").startswith("250")
        assert d.cmd("MAIL FROM:<news@brand.example>").startswith("250")
        assert d.cmd("RCPT TO:<alice@corp.example>").startswith("250")
        held = lab.events.entries(host="mx.corp.example")
        assert [e["event"] for e in held][-2:] == ["spf", "rcpt"]  # in memory at once
        on_file = list(events_mod.read(path)) if path.exists() else []
        assert len(on_file) < len(held)  # the session's lines are held for the file
        assert d.cmd("DATA").startswith("354")
        d.send(b"From: news@brand.example\r\nTo: alice@corp.example\r\n"
               b"Subject: held\r\n\r\nbody\r\n.\r\n")
        assert d.reply().startswith("250")
        on_file = list(events_mod.read(path))
        assert on_file == lab.events.entries(host="mx.corp.example")
        assert [e["event"] for e in on_file][-2:] == ["verdict", "deliver"]
        assert d.cmd("MAIL FROM:<news@brand.example>").startswith("250")  # a new transaction
        assert len(list(events_mod.read(path))) == len(lab.events.entries(host="mx.corp.example")) - 1
        assert d.cmd("QUIT").startswith("221")
        assert list(events_mod.read(path)) == lab.events.entries(host="mx.corp.example")
        d.close()


def test_event_log_hold_flush_release_and_close(tmp_path):
    log = events_mod.EventLog(tmp_path)
    path = tmp_path / "h.jsonl"
    log.hold("h/1")
    log.record("h", "h/1", "a", decision="x")
    log.record("h", "h/1", "b", decision="y")
    assert not path.exists() or path.read_text() == ""
    log.record("h", None, "c")  # not held: written at once, after the pending ones
    assert [e["event"] for e in events_mod.read(path)] == ["a", "b", "c"]
    log.record("h", "h/1", "d")
    log.flush()
    assert [e["event"] for e in events_mod.read(path)] == ["a", "b", "c", "d"]
    log.record("h", "h/1", "e")
    log.release("h/1")
    log.record("h", "h/1", "f")  # released: at once
    assert [e["event"] for e in events_mod.read(path)] == ["a", "b", "c", "d", "e", "f"]
    log.hold("h/2")
    log.record("h", "h/2", "g")
    log.close()  # a normal stop writes what is held
    assert list(events_mod.read(path)) == log.entries()


def test_mailstore_mailbox_paths_and_refusals(tmp_path):
    store = MailStore(tmp_path)
    box = store.mailbox("<Alice@Corp.Example>")
    assert box.path == tmp_path / "corp.example" / "alice"
    assert store.mailbox("<Alice@Corp.Example>") is box  # remembered, not rebuilt
    assert store.mailbox("alice@corp.example").path == box.path
    for bad in ("alice", "@corp.example", "a/b@corp.example", "x@..", "../x@corp.example"):
        with pytest.raises(ValueError):
            store.mailbox(bad)
        with pytest.raises(ValueError):  # a refused address is refused every time
            store.mailbox(bad)


def test_latest_gives_the_newest_message_and_names_an_empty_mailbox(tmp_path):
    box = MailStore(tmp_path).mailbox("Alice@corp.example")
    with pytest.raises(labkit.EmptyMailbox, match=r"^alice@corp\.example: Junk is empty\..*run the cell"):
        box.latest("Junk")
    with pytest.raises(LookupError):  # (what messages()[-1] raised: IndexError, a LookupError too)
        box.latest()
    box.deliver(b"Subject: first\r\n\r\nx\r\n")
    box.deliver(b"Subject: second\r\n\r\nx\r\n")
    assert box.latest() == box.messages()[-1] == b"Subject: second\r\n\r\nx\r\n"


def test_messages_come_in_delivery_order_when_modification_times_tie(tmp_path, monkeypatch):
    """keys() sorts by modification time, then by name: file systems often give messages
    delivered within a few milliseconds the same time, so the names must sort in delivery
    order. Here every time is made equal, so only the names decide; the clock the names
    are made from is played (the one fake here) so that the deliveries cross the instants
    where the microseconds gain a digit (x.099999 -> x.100000) and the seconds tick."""
    import labkit.mta.maildir as maildir

    instants = iter([1764326400.0 + k * 0.000_001 for k in range(99_990, 100_010)]
                    + [1764326400.0 + k * 0.000_001 for k in range(999_990, 1_000_010)])
    monkeypatch.setattr(maildir, "time", types.SimpleNamespace(time=lambda: next(instants)))
    box = MailStore(tmp_path).mailbox("alice@corp.example")
    for i in range(40):
        box.deliver(b"Subject: %d\r\n\r\nx\r\n" % i)
    for path in (tmp_path / "corp.example" / "alice" / "new").iterdir():
        os.utime(path, ns=(10**18, 10**18))
    order = [int(m.split(b"\r\n", 1)[0].split(b" ")[1]) for m in box.messages()]
    assert order == list(range(40))


def test_event_query_with_a_misspelt_host_or_event_warns(lab):
    """A typo in host= or event= must not pass for "no such event" (a learner's mistake)."""
    msg = labkit.mta.make_message(from_="news@brand.example", to="bob@corp.example",
                                  subject="events", body="hello\n")
    assert lab.send(msg, from_host="mail.brand.example").status == "sent"
    with pytest.warns(UserWarning, match=r"host='mx\.corp\.exmaple'; did you mean 'mx\.corp\.example'"):
        assert lab.events.entries(host="mx.corp.exmaple") == []
    with pytest.warns(UserWarning, match=r"event='verdicts'; did you mean 'verdict'"):
        assert lab.events.entries(host="mx.corp.example", event="verdicts") == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # names that exist but match nothing together: an empty answer, no warning
        assert lab.events.entries(host="mx.corp.example", event="verdict", decision="nope") == []
        assert lab.events.entries(host="mx.corp.example", event="verdict")
        # a real event that has not happened yet (no close name seen): no warning either
        assert lab.events.entries(host="mx.corp.example", event="bounce") == []
