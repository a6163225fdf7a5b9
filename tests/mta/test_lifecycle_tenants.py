"""The Lab's life cycle on a shared host: killed kernels, and stop() with mail in flight.

(Two Labs in two processes, start/stop twice and restart are in test_lab.py.)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import labkit
import labkit.mta
from labkit.mta import _loopthread, make_message
from labkit.mta.lab import MX

from .conftest import Dialogue, raw_connect

_CHILD = textwrap.dedent(
    """
    import json, sys
    import labkit
    from labkit.mta import make_message
    with labkit.Lab(scorer=None) as lab:
        lab.send(make_message(from_="news@brand.example", to="bob@corp.example",
                              subject="kept", body="x"), from_host="mail.brand.example")
        sys.stdout.write(json.dumps(str(lab.root)) + "\\n")
        sys.stdout.flush()
        sys.stdin.readline()
    """
)


def _loop_threads() -> list[str]:
    return [t.name for t in threading.enumerate()
            if t.is_alive() and t.name.startswith(("smtp ", "pop3 ")) and "worker" not in t.name]


def _listening(listen: list[str]) -> list[str]:
    out = []
    for item in listen:
        host, port = item.rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
        except OSError:
            continue
        out.append(item)
    return out


def test_next_lab_removes_the_folders_of_killed_kernels_and_keeps_live_ones(tmp_path, monkeypatch):
    # four learners' kernels start at once in one temp folder; two are killed (no stop())
    env = dict(os.environ, TMPDIR=str(tmp_path))
    kids = [subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env) for _ in range(4)]
    try:
        roots = [json.loads(k.stdout.readline()) for k in kids]
        assert len(set(roots)) == 4 and all(os.path.dirname(r) == str(tmp_path) for r in roots)
        for k in kids[:2]:
            os.kill(k.pid, signal.SIGKILL)
            k.wait(30)
        assert all(os.path.isdir(r) for r in roots)  # what a killed kernel leaves behind
        legacy = tmp_path / "labkit-lab-olderlabkit"  # no lock file: cannot be judged
        (legacy / "mail").mkdir(parents=True)
        foreign = tmp_path / "labkit-lab-otheruser"
        if os.getuid() == 0:  # another user's folder, even with a free lock
            foreign.mkdir()
            (foreign / labkit.mta.lab.LOCK_NAME).write_text("")
            os.chown(foreign, 65534, 65534)
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        with labkit.Lab(scorer=None) as lab:
            res = lab.send(make_message(from_="news@brand.example", to="bob@corp.example",
                                        subject="after", body="x"), from_host="mail.brand.example")
            assert res.status == "sent" and len(lab.mailbox("bob@corp.example")) == 1
            assert not os.path.exists(roots[0]) and not os.path.exists(roots[1])
            assert os.path.isdir(roots[2]) and os.path.isdir(roots[3])  # live Labs untouched
            assert legacy.is_dir()
            assert foreign.is_dir() or os.getuid() != 0
            # the live Labs still work with their folder in place
            for k in kids[2:]:
                k.stdin.write("stop\n")
                k.stdin.flush()
                assert k.wait(30) == 0
        assert not any(os.path.exists(r) for r in roots)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [legacy.name] + ([foreign.name] if os.getuid() == 0 else []))
    finally:
        for k in kids:
            if k.poll() is None:
                k.kill()
                k.wait(30)


class _SlowScorer:
    """A learner's scorer that takes its time; ``started`` is set when a message is in it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = threading.Event()
        self.release = threading.Event()

    def judge(self, data, **kw):
        self.started.set()
        self.release.wait(self.seconds)
        from labkit.filters import SpamScorer

        return SpamScorer().judge(data, **kw)


def _start_transaction(lab, subject: str, *, client: str = "mail.brand.example",
                       sender: str = "news@brand.example", host: str = MX,
                       rcpt: str = "alice@corp.example") -> Dialogue:
    """Send a whole message up to its final dot (the reply is not read yet)."""
    d = Dialogue(raw_connect(lab, lab.hosts[client].address, host))
    d.reply()
    assert d.cmd(f"EHLO {client}").startswith("250")
    assert d.cmd(f"MAIL FROM:<{sender}>").startswith("250")
    assert d.cmd(f"RCPT TO:<{rcpt}>").startswith("250")
    assert d.cmd("DATA").startswith("354")
    d.send(f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nbody\r\n.\r\n".encode())
    return d


def _stop_when(ready: threading.Event, lab, d: Dialogue) -> str:
    """Once ``ready`` is set, stop ``lab``; return the reply the client got after it."""
    try:
        assert ready.wait(30)
        lab.stop()
        return d.reply()
    finally:
        d.close()


def _stored(root, subject: str) -> int:
    box = root / "mail" / "corp.example" / "alice"
    return sum(subject.encode() in p.read_bytes() for p in box.rglob("*") if p.is_file())


def test_stop_lets_a_message_being_checked_finish_and_answer_250(tmp_path, lab_dns):
    # a message whose end of DATA is being processed when stop() comes: before, it was
    # stored but the sender saw the connection drop (and would send it again)
    scorer = _SlowScorer(0.5)
    lab = labkit.Lab(dns=lab_dns, scorer=scorer, root=tmp_path).start()
    listen = [d["listen"] for d in lab.listeners()]
    d = _start_transaction(lab, "in flight at stop")
    reply = _stop_when(scorer.started, lab, d)
    assert reply.startswith("250"), reply
    assert _stored(tmp_path, "in flight at stop") == 1
    assert not _listening(listen)
    assert not _loop_threads()


def test_stop_returns_and_frees_its_threads_while_a_policy_step_hangs(lab_dns, monkeypatch):
    monkeypatch.setattr(_loopthread, "STOP_GRACE", 0.2)
    scorer = _SlowScorer(120)  # hangs until released
    lab = labkit.Lab(dns=lab_dns, scorer=scorer).start()
    listen = [d["listen"] for d in lab.listeners()]
    d = _start_transaction(lab, "hung")
    try:
        assert scorer.started.wait(30)
        lab.stop()
        assert not d.reply().startswith("2")  # never a 250 for what was not finished
        assert not _listening(listen)
        assert not _loop_threads()  # before: the loop thread waited for the hung step
    finally:
        scorer.release.set()
        d.close()
    for t in threading.enumerate():  # the step itself ends when it is released
        if t.name.startswith("smtp ") and "worker" in t.name:
            t.join(30)


def test_a_message_the_forwarder_is_relaying_at_stop_reaches_the_mx(tmp_path, lab_dns):
    # before, the MX stopped first: the forwarder's relay met a closed port, queued the
    # message it had accepted, and stop() dropped it
    lab = labkit.Lab(dns=lab_dns, scorer=None, root=tmp_path).start()
    fwd = lab.handler("mx.fwd.example.net")
    mx = lab.server(MX)
    relaying = threading.Event()
    relay = fwd.relay

    def slow_relay(*args, **kw):
        relaying.set()
        deadline = time.monotonic() + 1.0
        while mx.running and time.monotonic() < deadline:
            time.sleep(0.01)
        return relay(*args, **kw)

    fwd.relay = slow_relay
    # no SPF, no DMARC at nospf.example: the forwarded copy is accepted
    d = _start_transaction(lab, "forwarded at stop", client="mail.nospf.example",
                           sender="info@nospf.example", host="mx.fwd.example.net",
                           rcpt="alice@fwd.example.net")
    reply = _stop_when(relaying, lab, d)
    assert reply.startswith("250"), reply
    assert _stored(tmp_path, "forwarded at stop") == 1
    dropped = [e for e in labkit.mta.events.read(tmp_path / "logs") if e.get("decision") == "drop"]
    assert not dropped
