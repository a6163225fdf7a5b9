"""Authentication in worker processes: the receiver's second CPU core.

Python runs one thread at a time per process, so a receiver that checks DKIM,
DMARC and ARC in its own process uses one core however many senders wait.  An
:class:`AuthPool` keeps a few worker processes that run
:func:`labkit.auth.evaluate` on a message and send the
:class:`~labkit.auth.verdict.Verdict` back.  Each is a fresh interpreter talking
length-prefixed pickles over its stdin/stdout: never a ``fork`` of the threaded
lab, and nothing re-runs the notebook's or script's main module (as
``multiprocessing``'s spawn and forkserver methods do).  Everything else (the SMTP dialogue,
the spam score, the decision, delivery, the event log) stays in the lab's process.

* Workers ask the LabDNS over UDP like any other client.  Their DNS cache is a
  :class:`labkit.dns.cache.LabCache` fed with the LabDNS ``generation`` read when the
  job is handed over: a record changed in the notebook is seen by the next message.
* One job per worker at a time, over its own pipe.  A worker that dies mid-job
  raises :class:`WorkerCrashed` for that message only (the receiver answers 451, so
  the sender retries: nothing is stored twice or lost) and is replaced.
* ``close()`` stops and reaps every worker.

Not named in the labs: the Lab's receiver (from lab 00) authenticates with it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class WorkerCrashed(RuntimeError):
    """The worker process running a job died before answering."""


class WorkerError(RuntimeError):
    """``labkit.auth.evaluate`` raised inside a worker (the worker's traceback is the text)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResolverSpec:
    """How a worker builds its resolver: the same server, time-outs and kind of cache."""

    nameservers: tuple[str, ...]
    port: int
    timeout: float
    lifetime: float
    cache: str  # "lab" (LabCache, generation-checked), "ttl" (dnspython Cache) or "none"
    max_ttl: float | None = None

    @classmethod
    def of(cls, resolver: Any) -> ResolverSpec:
        """Describe ``resolver`` (a dnspython Resolver) so a worker can rebuild it."""
        from labkit.dns.cache import LabCache

        cache = resolver.cache
        kind = "lab" if isinstance(cache, LabCache) else ("ttl" if cache is not None else "none")
        return cls(nameservers=tuple(str(n) for n in resolver.nameservers), port=resolver.port,
                   timeout=resolver.timeout, lifetime=resolver.lifetime, cache=kind,
                   max_ttl=getattr(cache, "max_ttl", None))

    def build(self, generation: Callable[[], int]) -> Any:
        """A dnspython Resolver matching this spec (in the worker)."""
        import dns.resolver

        from labkit.dns.cache import LabCache

        res = dns.resolver.Resolver(configure=False)
        res.nameservers = list(self.nameservers)
        res.port = self.port
        res.timeout = self.timeout
        res.lifetime = self.lifetime
        if self.cache == "lab":
            res.cache = LabCache(generation, max_ttl=self.max_ttl)
        elif self.cache == "ttl":
            res.cache = dns.resolver.Cache()
        return res


# -- the wire: length-prefixed pickles over the worker's stdin/stdout -------------------
def _frame(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return struct.pack("!I", len(data)) + data


def _send(stream: Any, obj: Any) -> None:
    _write(stream, _frame(obj))


def _write(stream: Any, frame: bytes) -> None:
    stream.write(frame)
    stream.flush()


def _recv(stream: Any) -> Any:
    head = stream.read(4)
    if len(head) < 4:
        raise EOFError("the other side closed the pipe")
    (size,) = struct.unpack("!I", head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the other side closed the pipe mid-message")
    return pickle.loads(data)


# -- the worker side ----------------------------------------------------------------------
def _worker_main() -> None:
    """Serve evaluate jobs on stdin/stdout until stdin closes or brings ``None``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the lab's process
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the pipe
    import labkit.auth

    resolvers: dict[ResolverSpec, Any] = {}
    seen = [0]
    try:
        _send(out, "ready")
    except OSError:  # the lab stopped while this worker was starting
        return
    while True:
        try:
            job = _recv(inp)
        except (EOFError, OSError):
            return
        if job is None:
            return
        spec, generation, message, kwargs = job
        try:
            seen[0] = generation
            res = resolvers.get(spec)
            if res is None:
                res = resolvers[spec] = spec.build(lambda: seen[0])
            answer: tuple[str, Any] = ("ok", labkit.auth.evaluate(message, dns=res, **kwargs))
        except Exception:  # noqa: BLE001 - sent back; the receiver answers 451
            answer = ("error", traceback.format_exc())
        try:
            try:
                _send(out, answer)
            except (pickle.PicklingError, TypeError, AttributeError):  # nothing written yet
                _send(out, ("error", traceback.format_exc()))
        except (EOFError, OSError):
            return


# -- the lab side -------------------------------------------------------------------------
class _Worker:
    """One worker: a fresh interpreter running :func:`_worker_main`, no fork."""

    def __init__(self) -> None:
        import labkit

        env = dict(os.environ)
        package_root = str(Path(labkit.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from labkit.mta.workers import _worker_main; _worker_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True,
        )
        self.pid = self.process.pid
        self.ready = False

    def wait_ready(self) -> None:
        """Wait for the worker's imports to finish (its "ready" message)."""
        try:
            hello = _recv(self.process.stdout)
        except (EOFError, OSError, ValueError) as exc:
            self.stop()
            raise WorkerCrashed(f"auth worker {self.pid} exited while starting") from exc
        if hello != "ready":
            self.stop()
            raise WorkerCrashed(f"auth worker {self.pid} said {hello!r} instead of ready")
        self.ready = True

    def ask(self, frame: bytes) -> Any:
        _write(self.process.stdin, frame)
        return _recv(self.process.stdout)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the worker to exit (kill it if it is still starting or does not), reap it."""
        if self.ready:
            try:
                _send(self.process.stdin, None)
            except (OSError, ValueError):
                pass
        else:
            self.process.kill()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class AuthPool:
    """``workers`` processes running :func:`labkit.auth.evaluate` for a receiver.

    ``resolver``: the lab's resolver (workers build the same kind, asking the same
    server).  ``generation``: returns the LabDNS data version (``lambda:
    lab.dns.generation``), or None when the DNS cannot tell (then a worker's cache
    is only as fresh as the resolver's own kind of cache).  ``start()`` returns at
    once: the workers come up in the background (see :meth:`usable`).

    Not named in the labs: :class:`labkit.mta.Lab` (from lab 00) starts one.
    """

    def __init__(self, workers: int, *, resolver: Any,
                 generation: Callable[[], int] | None = None) -> None:
        if workers < 1:
            raise ValueError("an AuthPool needs at least one worker")
        self.size = workers
        self.spec = ResolverSpec.of(resolver)
        self._generation = generation or (lambda: 0)
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self._failed: BaseException | None = None
        self._up = False
        self.crashes = 0
        self.jobs = 0

    # -- life cycle ---------------------------------------------------------------
    def start(self) -> AuthPool:
        """Start the workers in a background thread; return at once."""
        threading.Thread(target=self._spawn_all, name="labkit-auth-pool-start",
                         daemon=True).start()
        return self

    def _spawn_all(self) -> None:
        for _ in range(self.size):
            if not self._add_worker():
                return

    def _add_worker(self) -> bool:
        worker: _Worker | None = None
        try:
            with self._lock:
                if self._closed:
                    return False
                worker = _Worker()
                self._all.append(worker)  # from now on close() reaps it
            worker.wait_ready()
            self._up = True
        except Exception as exc:  # noqa: BLE001 - reported on the next job
            with self._lock:
                if worker is not None and worker in self._all:
                    self._all.remove(worker)
            if not self._closed:
                log.warning("auth worker could not start: %s", exc)
                self._failed = exc
            self._idle.put(None)  # wake a waiting job so it can see the failure
            return False
        self._idle.put(worker)
        return True

    def close(self) -> None:
        """Stop and reap every worker, including any still starting (idempotent)."""
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
        for w in workers:
            w.stop()
        self._idle.put(None)

    def pids(self) -> list[int]:
        """Process ids of the workers that are up (started, ready, alive)."""
        with self._lock:
            return [w.pid for w in self._all if w.ready and w.alive()]

    # -- jobs -----------------------------------------------------------------------
    def usable(self) -> bool:
        """True once a worker is up, until closed or a worker fails to start.

        While it is False the receiver checks in its own process (same verdicts), so
        the first messages after ``Lab.start()`` never wait for the workers' imports.
        """
        return self._up and not self._closed and self._failed is None

    def _acquire(self) -> _Worker:
        while True:
            worker = self._idle.get()
            if worker is not None and not self._closed:
                return worker
            self._idle.put(None)  # a wake-up (closed, or a start failure): pass it on
            if self._closed:
                raise WorkerCrashed("the auth pool is closed")
            raise WorkerCrashed(f"no auth worker could start: {self._failed}")

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            self.crashes += 1
            if worker in self._all:
                self._all.remove(worker)
        worker.stop(0.5)
        if not self._closed:
            threading.Thread(target=self._add_worker, name="labkit-auth-pool-respawn",
                             daemon=True).start()

    def evaluate(self, message: bytes, **kwargs: Any) -> Any:
        """``labkit.auth.evaluate(message, dns=<the lab's DNS>, **kwargs)`` in a worker.

        Raises :class:`WorkerCrashed` if the worker died, :class:`WorkerError` if
        evaluate raised there.
        """
        # pickled before a worker is taken: an unpicklable argument raises here, harmlessly
        frame = _frame((self.spec, self._generation(), bytes(message), kwargs))
        worker = self._acquire()
        try:
            status, value = worker.ask(frame)
        except (EOFError, OSError, ValueError) as exc:  # ValueError: closed by close()
            log.warning("auth worker %s died during a job: %s", worker.pid, exc)
            self._replace(worker)
            raise WorkerCrashed(f"auth worker {worker.pid} died during the job") from exc
        self._idle.put(worker)
        with self._lock:
            self.jobs += 1
        if status != "ok":
            raise WorkerError(value)
        return value

    def __repr__(self) -> str:
        return f"<AuthPool {len(self.pids())}/{self.size} workers, {self.crashes} crashes>"


__all__ = ["AuthPool", "ResolverSpec", "WorkerCrashed", "WorkerError"]
