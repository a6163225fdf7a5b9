"""Worker mode: the MX's end-of-DATA authentication in other processes, same outcomes."""

from __future__ import annotations

import collections
import email
import os
import signal
import threading
import time

import pytest

import labkit.auth
import labkit.mta
from labkit.mta import make_message, sender
from labkit.mta.demo import run as run_demo
from labkit.mta.workers import AuthPool, WorkerCrashed, WorkerError


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _wait(predicate, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(scope="module")
def worker_lab(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, workers=2) as running:
        assert _wait(lambda: len(running.auth_pool.pids()) == 2)
        yield running


def test_the_demo_story_gets_the_same_verdicts_with_and_without_workers(lab_dns, worker_lab):
    with labkit.mta.Lab(dns=lab_dns, workers=0) as in_process:
        assert in_process.auth_pool is None
        expected = [r.to_dict() for r in run_demo(lab=in_process).rows]
    jobs_before = worker_lab.auth_pool.jobs
    got = [r.to_dict() for r in run_demo(lab=worker_lab).rows]
    assert got == expected
    # the verdicts really came from the workers: one job per message the MX judged
    judged = sum(1 for r in got if r["dmarc"] not in ("", "-"))
    assert judged >= 5 and worker_lab.auth_pool.jobs - jobs_before >= judged


def _samples(lab):
    """(message, kwargs) pairs: pass, broken body, forged From, alignment break, ARC list mail."""
    brand = lab.hosts["mail.brand.example"].address
    attacker = lab.hosts["mail.attacker.test"].address
    signed = sender.dkim_sign(make_message(from_="news@brand.example", to="alice@corp.example",
                                           subject="equal", body="same verdict\n"), "brand.example")
    ed = sender.dkim_sign(make_message(from_="news@brand.example", to="bob@corp.example",
                                       subject="ed25519", body="edwards\n"), "brand.example", "ed2026")
    broken = signed.replace(b"same verdict", b"other verdict")
    forged = make_message(from_="ceo@brand.example", to="alice@corp.example", subject="pay",
                          body="now\n")
    phish = sender.dkim_sign(make_message(from_="security@brand.example", to="alice@corp.example",
                                          subject="verify", body="click\n"), "attacker.test")
    res = lab.send(make_message(from_="news@brand.example", to="lab-list@lists.example.org",
                                subject="list copy", body="to the list\n"),
                   from_host="mail.brand.example", dkim=True)
    assert res.ok
    assert _wait(lambda: any(b"list copy" in m for m in lab.mailbox("carol@corp.example").messages()))
    listed = next(m for m in lab.mailbox("carol@corp.example").messages() if b"list copy" in m)
    list_ip = lab.hosts["mail.lists.example.org"].address
    base = {"authserv_id": "mx.corp.example", "trusted_arc_sealers": ("lists.example.org",)}
    return [
        (signed, dict(base, ip=brand, mail_from="news@brand.example", helo="mail.brand.example")),
        (ed, dict(base, ip=brand, mail_from="news@brand.example", helo="mail.brand.example")),
        (broken, dict(base, ip=brand, mail_from="news@brand.example", helo="mail.brand.example")),
        (forged, dict(base, ip=attacker, mail_from="ceo@brand.example", helo="mail.attacker.test")),
        (phish, dict(base, ip=attacker, mail_from="b@attacker.test", helo="mail.attacker.test")),
        (listed, dict(base, ip=list_ip, mail_from="lab-list-bounces@lists.example.org",
                      helo="mail.lists.example.org")),
    ]


def test_a_worker_returns_exactly_the_in_process_verdict(worker_lab):
    samples = _samples(worker_lab)
    dispositions = set()
    arc_results = set()
    for message, kwargs in samples:
        here = labkit.auth.evaluate(message, dns=worker_lab.resolver, **kwargs)
        there = worker_lab.auth_pool.evaluate(message, **kwargs)
        assert there == here  # every field, nested results and steps included
        assert there.header == here.header
        dispositions.add(here.disposition)
        arc_results.add(here.arc.result)
    # the samples cover more than one outcome (else equality would prove little)
    assert {"accept", "reject"} <= dispositions and "pass" in arc_results


def test_worker_mode_stores_every_accepted_message_exactly_once(worker_lab):
    rcpts = ("alice@corp.example", "bob@corp.example", "carol@corp.example")
    batches = [[] for _ in range(8)]
    for i in range(48):
        raw = sender.dkim_sign(make_message(from_="news@brand.example", to=rcpts[i % 3],
                                            subject=f"once {i}", body=f"message {i}\n"),
                               "brand.example")
        batches[i % 8].append((rcpts[i % 3], raw))
    accepted: list[str] = []
    lock = threading.Lock()
    client = worker_lab.hosts["mail.brand.example"].address
    mx = worker_lab.hosts["mx.corp.example"].address
    endpoint = worker_lab.endpoint(mx, 25)
    jobs_before = worker_lab.auth_pool.jobs

    def run(batch):
        smtp = sender.connect(worker_lab, client, mx, endpoint, timeout=60)
        try:
            smtp.ehlo("mail.brand.example")
            for rcpt, raw in batch:
                smtp.sendmail("news@brand.example", [rcpt], raw)
                with lock:
                    accepted.append(email.message_from_bytes(raw)["Message-ID"].strip())
        finally:
            smtp.quit()

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(accepted) == 48
    assert worker_lab.auth_pool.jobs - jobs_before == 48
    stored = collections.Counter()
    for rcpt in rcpts:
        for folder in ("INBOX", "Junk"):
            for raw in worker_lab.mailbox(rcpt).messages(folder):
                mid = email.message_from_bytes(raw)["Message-ID"].strip()
                if mid in accepted:
                    stored[mid] += 1
    assert set(stored) == set(accepted)
    assert set(stored.values()) == {1}


def _signed(subject):
    return sender.dkim_sign(make_message(from_="news@brand.example", to="alice@corp.example",
                                         subject=subject, body="worker test\n"), "brand.example")


def test_a_worker_that_dies_mid_message_gives_451_and_nothing_is_stored(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, workers=1, scorer=None) as lab:
        pool = lab.auth_pool
        assert _wait(lambda: len(pool.pids()) == 1)
        victim = pool.pids()[0]
        key = "s2026._domainkey.brand.example"
        raw = _signed("crash")
        mid = email.message_from_bytes(raw)["Message-ID"].strip()
        lab_dns.clear_queries()
        lab_dns.set_fault(key + "/TXT", "timeout")  # the worker will wait for the key
        box: list = []
        try:
            t = threading.Thread(target=lambda: box.append(
                lab.send(raw, from_host="mail.brand.example")))
            t.start()
            asked = _wait(lambda: any(q.name.rstrip(".").lower() == key for q in lab_dns.queries))
            assert asked, "the worker never asked for the DKIM key"
            os.kill(victim, signal.SIGKILL)
            t.join(30)
        finally:
            lab_dns.clear_faults()
        first = box[0]
        assert first.code == 451 and not first.ok
        assert pool.crashes == 1
        assert not [m for m in lab.mailbox("alice@corp.example").messages() if mid.encode() in m]
        errors = lab.events.entries(host="mx.corp.example", event="error", step="data")
        assert errors and "WorkerCrashed" in errors[-1]["reason"]
        # a new worker takes over; the sender's retry is stored once
        assert _wait(lambda: pool.pids() and victim not in pool.pids())
        again = lab.send(raw, from_host="mail.brand.example")
        assert again.ok
        copies = [m for m in lab.mailbox("alice@corp.example").messages() if mid.encode() in m]
        assert len(copies) == 1
        assert lab.verdicts(mid)[-1]["dkim"] == ["pass:brand.example"]


def test_the_next_message_in_worker_mode_sees_a_dns_change(lab_dns):
    key = "s2026._domainkey.brand.example"
    key_text = [" ".join(f'"{s.decode()}"' for s in r.strings)
                for r in lab_dns.resolver().resolve(key, "TXT")]
    with labkit.mta.Lab(dns=lab_dns, workers=1, scorer=None) as lab:
        assert _wait(lambda: lab.auth_pool.usable())
        first = lab.send(_signed("before"), from_host="mail.brand.example")
        assert lab.auth_pool.jobs == 1  # judged in the worker, which now caches the key
        assert lab.verdicts(first.message_id)[-1]["dkim"] == ["pass:brand.example"]
        try:
            lab_dns.remove(key, "TXT")  # the worker has the key cached by now
            raw = _signed("after")
            second = lab.send(raw, from_host="mail.brand.example")
            # expected: what a fresh, uncached look-up in this process says
            fresh = labkit.auth.evaluate(raw, ip=lab.hosts["mail.brand.example"].address,
                                         mail_from="news@brand.example", helo="mail.brand.example",
                                         dns=lab_dns.resolver(), authserv_id="mx.corp.example")
        finally:
            lab_dns.add(key, "TXT", *key_text)
        got = lab.verdicts(second.message_id)[-1]
        assert got["dkim"] == [f"{d.result}:{d.domain}" for d in fresh.dkim]
        assert got["dkim"] != ["pass:brand.example"] and got["dmarc"] == fresh.dmarc.result
        third = lab.send(_signed("restored"), from_host="mail.brand.example")
        assert lab.verdicts(third.message_id)[-1]["dkim"] == ["pass:brand.example"]


def test_stop_reaps_the_workers_and_start_does_not_wait_for_them(lab_dns):
    t0 = time.monotonic()
    lab = labkit.mta.Lab(dns=lab_dns, workers=2, scorer=None)
    lab.start()
    started = time.monotonic() - t0
    try:
        # a message before the workers are up is judged here, not kept waiting
        if not lab.auth_pool.usable():
            early = lab.send(_signed("early"), from_host="mail.brand.example")
            assert early.ok and lab.verdicts(early.message_id)[-1]["dkim"] == ["pass:brand.example"]
        assert _wait(lambda: len(lab.auth_pool.pids()) == 2)
        pids = lab.auth_pool.pids()
        pool = lab.auth_pool
    finally:
        lab.stop()
    assert started < 5  # generous: the workers start in the background
    assert lab.auth_pool is None and all(_gone(p) for p in pids)
    with pytest.raises(WorkerCrashed):
        pool.evaluate(b"Subject: x\r\n\r\nhi\r\n", ip="192.0.2.1", mail_from="", helo="x")


def test_a_pool_needs_a_worker_and_workers_must_not_be_negative(lab_dns):
    with pytest.raises(ValueError):
        AuthPool(0, resolver=lab_dns.resolver())
    with pytest.raises(labkit.errors.UsageError):
        labkit.mta.Lab(dns=lab_dns, workers=-1)


def test_an_error_inside_evaluate_comes_back_and_the_worker_stays(worker_lab):
    pool = worker_lab.auth_pool
    pids = sorted(pool.pids())
    bad = {"ip": "192.0.2.1", "mail_from": "a@brand.example", "helo": 123}
    with pytest.raises(TypeError):  # what the same call does in this process
        labkit.auth.evaluate(b"From: a@brand.example\r\n\r\nhi\r\n", dns=worker_lab.resolver, **bad)
    for _ in range(3):  # more times than there are workers: none is lost
        with pytest.raises(WorkerError, match="TypeError"):
            pool.evaluate(b"From: a@brand.example\r\n\r\nhi\r\n", **bad)
        with pytest.raises(Exception):  # noqa: B017 - unpicklable: refused before any worker is taken
            pool.evaluate(b"x", ip="192.0.2.1", mail_from="", helo="x", spf=lambda: None)
    assert sorted(pool.pids()) == pids and pool.crashes == 0
    ok = pool.evaluate(_signed("after errors"), ip=worker_lab.hosts["mail.brand.example"].address,
                       mail_from="news@brand.example", helo="mail.brand.example")
    assert [d.result for d in ok.dkim] == ["pass"]
