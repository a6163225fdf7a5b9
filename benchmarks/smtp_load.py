"""Load and reliability of the lab receiver (``mx.corp.example``).

1. Throughput: the full receiver pipeline (FCrDNS, DNSBL, SPF, DKIM, DMARC, ARC,
   spam score, Received + Authentication-Results, fsync'ed Maildir delivery) with
   20 concurrent senders, against a bare aiosmtpd sink (no policy, no storage)
   measured in the same run on the same machine, with the same clients.  A third
   reference, a bare aiosmtpd handler that only stores each message with the
   same fsync'ed Maildir delivery, shows what durable storage alone costs here.
2. Reliability: 2,000 messages from 50 concurrent SMTP clients; every accepted
   message must be stored exactly once (counted by Message-ID in the Maildirs).

Run::

    python benchmarks/smtp_load.py            # both parts, prints a summary
    python benchmarks/smtp_load.py --json     # machine-readable
    python benchmarks/smtp_load.py --workers 2 --client-process   # see --help
    python benchmarks/smtp_load.py --bayes ../shared/corpora/spamassassin   # trained filter

The receiver's spam score is the Lab's default ``SpamScorer()``: DNSBL, reverse DNS
and authentication rules, with no trained Bayes filter (what a fresh lab has).
``--bayes CORPUS`` gives it a Robinson filter trained on the corpus's MD5 training
half, so every message is also tokenised and scored.

Results are written up in ``benchmarks/RESULTS-mta.md``.
"""

from __future__ import annotations

import argparse
import collections
import email
import json
import os
import platform
import smtplib
import sys
import threading
import time
import types
from typing import Any

import labkit.errors
import labkit.mta
from labkit.mta import make_message, sender
from labkit.mta.smtpserver import Limits

SENDER_HOST = "mail.brand.example"
RCPTS = ("alice@corp.example", "bob@corp.example", "carol@corp.example")


def _messages(n: int, *, tag: str, sign: bool) -> list[tuple[str, str, bytes]]:
    """n distinct messages (rcpt, message-id, bytes), DKIM-signed by brand.example if asked."""
    out = []
    for i in range(n):
        rcpt = RCPTS[i % len(RCPTS)]
        raw = make_message(from_="news@brand.example", to=rcpt, subject=f"{tag} {i}",
                           body=f"Load message {i} of {n}.\nNothing to see here.\n")
        if sign:
            raw = sender.dkim_sign(raw, "brand.example")
        mid = email.message_from_bytes(raw)["Message-ID"].strip()
        out.append((rcpt, mid, raw))
    return out


def _drive(open_conn: Any, batches: list[list[tuple[str, str, bytes]]]) -> dict[str, Any]:
    """One thread per batch, one connection per thread; count 250s and failures."""
    accepted: list[str] = []
    failed: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(len(batches) + 1)

    def client(batch: list[tuple[str, str, bytes]]) -> None:
        smtp = open_conn()
        try:
            smtp.ehlo(SENDER_HOST)
            start.wait()
            for rcpt, mid, raw in batch:
                try:
                    smtp.sendmail("news@brand.example", [rcpt], raw)
                    ok = True
                except smtplib.SMTPException:
                    ok = False
                with lock:
                    (accepted if ok else failed).append(mid)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    threads = [threading.Thread(target=client, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"accepted": accepted, "failed": failed, "seconds": elapsed}


def _split(items: list, parts: int) -> list[list]:
    return [items[i::parts] for i in range(parts)]


class _LabOpener:
    """Opens a connection the MX sees as coming from SENDER_HOST (picklable)."""

    def __init__(self, lab: Any) -> None:
        self.addressing = lab.client_addressing
        self.client = lab.hosts[SENDER_HOST].address
        self.mx = lab.hosts["mx.corp.example"].address
        self.endpoint = lab.endpoint(self.mx, 25)

    def __call__(self) -> smtplib.SMTP:
        stand_in = types.SimpleNamespace(client_addressing=self.addressing)
        return sender.connect(stand_in, self.client, self.mx, self.endpoint, timeout=120)


class _PlainOpener:
    """Opens a plain connection to 127.0.0.1:port (picklable)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def __call__(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, timeout=120)


def _workers_cpu(lab: Any) -> float | None:
    """CPU seconds (user + system) the lab's auth workers used so far (Linux /proc)."""
    if lab.auth_pool is None:
        return 0.0
    total = 0.0
    try:
        for pid in lab.auth_pool.pids():
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return total


def _lab_opener(lab: Any) -> Any:
    return _LabOpener(lab)


def _run_clients(opener: Any, batches: list[list[tuple[str, str, bytes]]],
                 client_process: bool) -> dict[str, Any]:
    """``_drive`` here, or in a separate (spawned) process when ``client_process``.

    Either way the clock runs only while messages flow (connections and EHLO first).
    """
    if not client_process:
        return _drive(opener, batches)
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_drive, (opener, batches))


def stored_message_ids(lab: Any) -> collections.Counter:
    """How many times each Message-ID is stored in the corp mailboxes (INBOX + Junk)."""
    counts: collections.Counter = collections.Counter()
    for rcpt in RCPTS:
        box = lab.mailbox(rcpt)
        for folder in ("INBOX", "Junk"):
            for raw in box.messages(folder):
                counts[email.message_from_bytes(raw)["Message-ID"].strip()] += 1
    return counts


def reliability(lab: Any, *, messages: int = 2000, clients: int = 50,
                sign: bool = False) -> dict[str, Any]:
    """Send ``messages`` from ``clients`` concurrent connections; check exactly-once storage."""
    batch = _messages(messages, tag="reliability", sign=sign)
    run = _drive(_lab_opener(lab), _split(batch, clients))
    counts = stored_message_ids(lab)
    accepted = run["accepted"]
    missing = [m for m in accepted if counts[m] == 0]
    doubled = [m for m, c in counts.items() if c > 1]
    stray = [m for m in counts if m not in set(accepted)]
    return {
        "messages": messages, "clients": clients, "accepted": len(accepted),
        "failed": len(run["failed"]), "stored": sum(counts.values()), "missing": len(missing),
        "doubled": len(doubled), "stray": len(stray), "seconds": round(run["seconds"], 2),
        "rate": round(len(accepted) / run["seconds"], 1),
    }


class _Sink:
    """A bare aiosmtpd handler: count and drop."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


class _StoringSink:
    """A bare aiosmtpd handler that only stores: labkit's fsync'ed Maildir delivery.

    Not a pipeline stage: a reference for what atomic, durable storage alone costs
    here (it runs the write + fsync + rename in the loop's threads, as the MX does).
    """

    def __init__(self, root: str) -> None:
        from labkit.mta.maildir import Maildir

        self.box = Maildir(root)
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.box.deliver, envelope.original_content)
        self.count += 1
        return "250 OK"


def sink_throughput(messages: list[tuple[str, str, bytes]], senders: int, *,
                    store_in: str | None = None, client_process: bool = False) -> dict[str, Any]:
    """The same messages into a bare aiosmtpd Controller on loopback.

    ``store_in``: a directory; the sink then stores each message with
    ``labkit.mta.maildir.Maildir.deliver`` (the storage reference), else it only counts.
    """
    from aiosmtpd.controller import Controller

    from labkit import net

    handler = _Sink() if store_in is None else _StoringSink(store_in)
    port = net.free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        run = _run_clients(_PlainOpener(port), _split(messages, senders), client_process)
    finally:
        ctl.stop()
    return {"accepted": len(run["accepted"]), "seconds": round(run["seconds"], 2),
            "rate": round(len(run["accepted"]) / run["seconds"], 1)}


def throughput(lab: Any, *, messages: int = 1000, senders: int = 20,
               client_process: bool = False) -> dict[str, Any]:
    """Full pipeline vs bare sink, same signed messages, same concurrency, same clients."""
    import tempfile

    batch = _messages(messages, tag="throughput", sign=True)
    deadline = time.monotonic() + 60
    while lab.auth_pool is not None and len(lab.auth_pool.pids()) < lab.auth_pool.size:
        if time.monotonic() > deadline:  # measure anyway; the JSON says how many were up
            break
        time.sleep(0.05)
    load = round(os.getloadavg()[0], 2)
    syncs0 = lab.mailstore.dir_sync.stats()
    cpu0, workers0 = os.times(), _workers_cpu(lab)
    full = _run_clients(_lab_opener(lab), _split(batch, senders), client_process)
    cpu1, workers1 = os.times(), _workers_cpu(lab)
    syncs1 = lab.mailstore.dir_sync.stats()
    sink = sink_throughput(batch, senders, client_process=client_process)
    with tempfile.TemporaryDirectory(prefix="smtp-load-sink-") as root:
        stored = sink_throughput(batch, senders, store_in=root, client_process=client_process)
    full_rate = len(full["accepted"]) / full["seconds"]
    return {
        "messages": messages, "senders": senders,
        "clients": "separate process" if client_process else "receiver's process",
        "workers_up": len(lab.auth_pool.pids()) if lab.auth_pool is not None else 0,
        "load_average_1min": load,
        "pipeline": {"accepted": len(full["accepted"]), "seconds": round(full["seconds"], 2),
                     "rate": round(full_rate, 1),
                     # the receiver's own process (workers not included), per message
                     "user_ms": round((cpu1.user - cpu0.user) / messages * 1000, 2),
                     "sys_ms": round((cpu1.system - cpu0.system) / messages * 1000, 2),
                "workers_ms": (round((workers1 - workers0) / messages * 1000, 2)
                               if workers0 is not None and workers1 is not None else None),
                     # Maildir new/ syncs asked for and actually run (shared between threads)
                     "dir_syncs": {"requests": syncs1.requests - syncs0.requests,
                                   "run": syncs1.syncs - syncs0.syncs}},
        "sink": sink,
        "ratio": round(full_rate / sink["rate"], 2) if sink["rate"] else None,
        "storing_sink": stored,
        "storing_sink_ratio": round(stored["rate"] / sink["rate"], 2) if sink["rate"] else None,
    }


def _scorer(corpus: str | None) -> tuple[Any, str]:
    """The receiver's scorer: the Lab's default, or one with a Robinson filter trained
    on ``corpus``'s MD5 training half; and a line saying which."""
    if not corpus:
        return "default", "Lab default SpamScorer(): no trained Bayes filter"
    import labkit.filters as F
    from labkit.filters import evaluate

    train = evaluate.split_md5(F.corpus.load(corpus)).train
    robinson = F.Robinson()
    for m in train:
        robinson.learn(m.raw, m.spam)
    # a receiver that has been running has built its f(w) table (the filter builds it
    # on the 17th message scored after training): build it before the clock starts
    for m in train[:20]:
        robinson.score(m.raw)
    return F.SpamScorer(robinson), f"SpamScorer(Robinson trained on {len(train)} corpus messages)"


def machine() -> dict[str, Any]:
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--throughput-messages", type=int, default=1000)
    p.add_argument("--senders", type=int, default=20)
    p.add_argument("--dns-cache", type=float, default=None,
                   help="seconds the lab hosts may cache DNS answers; 0: no cache (default: the "
                        "Lab's own, a cache dropped whenever the LabDNS data changes)")
    p.add_argument("--workers", type=int, default=0,
                   help="worker processes for the receiver's end-of-DATA authentication "
                        "(labkit.mta.Lab(workers=N)); 0: in the receiver's process")
    p.add_argument("--client-process", action="store_true",
                   help="run the sending clients in a separate process (for the pipeline and "
                        "for both sinks alike); default: in the receiver's process")
    p.add_argument("--bayes", metavar="CORPUS",
                   help="train a Robinson filter on this corpus's MD5 training half and give it "
                        "to the receiver's SpamScorer (default: the Lab's untrained scorer)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    limits = Limits(connections_per_client=max(args.clients, args.senders) + 10)
    cache: Any = True if args.dns_cache is None else args.dns_cache
    out: dict[str, Any] = {"machine": machine(), "dns_cache": cache, "workers": args.workers,
                           "load_average": [round(x, 2) for x in os.getloadavg()]}
    try:
        scorer, out["scorer"] = _scorer(args.bayes)
    except labkit.errors.LabkitError as exc:  # a corpus folder that is not there, say
        p.error(f"--bayes: {exc}")
    # Throughput first: a stopped Lab deletes its mailboxes, and on a journal-less ext4
    # (this machine's) every inode deleted in the last 60-300 s is skipped, one by one,
    # when the next file is created; measured right after the reliability part's 2,000
    # deletions, the receiver would pay for the benchmark's own clean-up.
    with labkit.mta.Lab(limits=limits, dns_cache=cache, workers=args.workers,
                        scorer=scorer) as lab:
        out["addressing"] = lab.client_addressing
        out["throughput"] = throughput(lab, messages=args.throughput_messages,
                                       senders=args.senders, client_process=args.client_process)
    with labkit.mta.Lab(limits=limits, dns_cache=cache, workers=args.workers,
                        scorer=scorer) as lab:
        out["reliability"] = reliability(lab, messages=args.messages, clients=args.clients)
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        r, t = out["reliability"], out["throughput"]
        print(f"machine: {out['machine']}")
        print(f"reliability: {r['accepted']}/{r['messages']} accepted from {r['clients']} clients, "
              f"stored {r['stored']}, missing {r['missing']}, doubled {r['doubled']}, "
              f"{r['rate']} msg/s")
        print(f"throughput ({t['senders']} senders, {t['messages']} signed messages, clients in "
              f"the {t['clients']}): pipeline {t['pipeline']['rate']} msg/s, bare aiosmtpd sink "
              f"{t['sink']['rate']} msg/s, ratio {t['ratio']}; sink that only stores "
              f"(fsync'ed Maildir) {t['storing_sink']['rate']} msg/s")
    bad = problems(out)
    for line in bad:
        print(f"problem: {line}", file=sys.stderr)
    return 1 if bad else 0


def problems(out: dict[str, Any]) -> list[str]:
    """What makes a run's figures unusable: lost, doubled or stray messages in the
    reliability part, or throughput messages that the pipeline or a sink did not accept
    (their rates count accepted messages only, so a refusing receiver looks fast)."""
    r, t = out["reliability"], out["throughput"]
    found = [f"reliability: {r[k]} {k}" for k in ("missing", "doubled", "stray", "failed") if r[k]]
    sent = t["messages"]
    for part in ("pipeline", "sink", "storing_sink"):
        if t[part]["accepted"] != sent:
            found.append(f"throughput: {part} accepted {t[part]['accepted']} of {sent} messages")
    return found


if __name__ == "__main__":
    sys.exit(main())
