"""The lab: the DNS and every mail host of the fictional Internet, in one call.

::

    import labkit as lk
    with lk.Lab() as lab:
        msg = lk.mta.make_message(from_="ceo@brand.example", to="alice@corp.example",
                                  subject="hi", body="hello")
        lab.send(msg, from_host="mail.brand.example", dkim=True)
        lab.mailbox("alice@corp.example").messages()

Everything listens on 127.0.0.1 on ports the OS picks, so two labs (two notebooks,
two learners on one JupyterHub host) never clash.  Hosts keep their documentation
addresses: a sender binds the loopback alias that plays its address (Linux), or
names it in a PROXY protocol header (``client_addressing="proxy"``, automatic where
aliases do not exist).  ``lab.advance(600)`` moves lab time forward (and retries
the messages waiting in ``lab.queue``: a relaying host that met a 4xx or a server
that was down tries again on the lab clock, and bounces to the sender in the end).

Mailboxes and logs go to a temporary folder ``labkit-lab-*``, removed at ``stop()``.
A kernel that is killed (SIGKILL, the out-of-memory killer, a SIGTERM) never gets
there, so on a shared JupyterHub such folders would pile up: each Lab holds an
exclusive ``flock`` on a lock file in its folder for as long as its process lives,
and every Lab that starts removes the folders of the same user whose lock nobody
holds any more (:func:`remove_stale_roots`; the kernel drops the lock of a dead
process, so a live Lab's folder is never touched, whatever its PID namespace).

Introduced in lab 00 (set-up).
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import numbers
import os
import poplib
import shutil
import stat
import tempfile
import threading
import time
import warnings
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import _coerce, net
from ..errors import LabkitError, UnknownHost, UsageError
from ..service import Service
from . import sender as _sender
from .accounts import Accounts
from .clock import LabClock
from .esp import ESP
from .events import EventLog
from .forwarder import Forwarder
from .hosts import HostTable
from .isp import OP25B
from .maildir import Maildir, MailStore
from .mailinglist import MailingList
from .policy import RelayQueue
from .pop3 import LabPOP3, POP3Server, RelayWindow
from .receiver import Receiver
from .smtpserver import Limits, SMTPServer
from .submission import Submission, make_certificates
from .workers import AuthPool

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; its temp folder is per user
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

ROOT_PREFIX = "labkit-lab-"
LOCK_NAME = "labkit-lab.lock"

MX = "mx.corp.example"
ISP_MTA = "mail.isp.example"
ISP_SUBMISSION = "smtp.isp.example"
FORWARDER = "mx.fwd.example.net"
LIST_HOST = "mail.lists.example.org"
ESP_HOST = "out.esp.example.com"

DEFAULT_ALIASES = {"alice@fwd.example.net": ["alice@corp.example"],
                   "bob@fwd.example.net": ["bob@corp.example"]}
DEFAULT_LISTS = {"lab-list@lists.example.org": ["bob@corp.example", "carol@corp.example"]}


class POP3LoginError(LabkitError, poplib.error_proto):
    """The POP3 server refused a login (:meth:`Lab.pop3`); ``reply`` is its answer.

    Also a ``poplib.error_proto``, as :meth:`Lab.pop3` raised before, and its text
    starts as that one did (the reply as bytes), then says what the reply means:
    ``[AUTH]`` a wrong address or password, ``[IN-USE]`` another session holds the
    mailbox, ``[SYS/TEMP]`` a trouble of the server's (RFC 2449, RFC 3206).
    """

    def __init__(self, response: bytes, *, user: str, host: str) -> None:
        super().__init__(response)
        self.reply = response.decode("utf-8", "replace")
        self.user = user
        self.host = host

    def __str__(self) -> str:
        code = self.reply.partition("[")[2].partition("]")[0].upper()
        if code == "AUTH":
            why = (f"the address or the password is wrong (the user is the whole address, "
                   f"such as 'taro@isp.example', and {self.host} keeps only its own "
                   f"domain's mailboxes)")
        elif code == "IN-USE":
            why = ("another POP3 session holds this mailbox: call .quit() on the earlier "
                   "one (it commits its deletions and frees the mailbox)")
        elif code == "SYS/TEMP":
            why = "the server could not open the mailbox just now: try again"
        else:
            why = "see the server's reply"
        return (f"{self.args[0]!r}: POP3 login as {self.user} at {self.host} refused: {why}")


def _default_scorer() -> Any:
    try:
        import labkit.filters

        factory = getattr(labkit.filters, "SpamScorer", None)
    except ImportError:  # pragma: no cover
        return None
    return factory() if factory is not None else None


def _default_workers() -> int:
    """``LABKIT_MTA_WORKERS`` if set (e.g. to run a test suite in worker mode), else 0."""
    import os

    value = os.environ.get("LABKIT_MTA_WORKERS", "").strip()
    try:
        return max(0, int(value)) if value else 0
    except ValueError:
        raise UsageError(f"LABKIT_MTA_WORKERS must be a number, not {value!r}") from None


def _check_dns_arg(source: Any) -> None:
    """``Lab(dns=...)`` takes a LabDNS or a dnspython Resolver (or nothing)."""
    import dns.resolver as dns_resolver

    import labkit.dns

    if source is None or isinstance(source, (labkit.dns.LabDNS, dns_resolver.Resolver)):
        return
    if isinstance(source, Lab):
        raise UsageError("dns= takes a LabDNS, not a Lab: to share another lab's DNS, "
                         "pass other_lab.dns")
    raise UsageError(f"dns= must be a labkit.dns.LabDNS (lk.dns.LabDNS().start()) or a "
                     f"dnspython Resolver, not {type(source).__name__}")


def _make_root() -> tuple[Path, int | None]:
    """A new private temporary folder for a Lab, and the fd of the lock it holds there.

    The lock file is made and locked under another name, then renamed: a Lab that
    looks for stale folders never sees the lock file of a live Lab unlocked.
    """
    root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))
    if fcntl is None:
        return root, None
    fresh = root / (LOCK_NAME + ".new")
    fd = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, f"held by labkit process {os.getpid()} while its Lab runs\n".encode())
        os.rename(fresh, root / LOCK_NAME)
    except BaseException:
        os.close(fd)
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root, fd


def remove_stale_roots(directory: str | Path | None = None) -> list[Path]:
    """Remove the ``labkit-lab-*`` folders of Labs whose process is gone; return them.

    Only folders of the current user (in ``directory``, default the temporary folder)
    that hold a Lab's lock file which nobody holds: a running Lab keeps an exclusive
    ``flock`` on it, and the kernel releases it when the process ends, however it
    ends.  A folder without a lock file (made by an older labkit, or by ``mkdtemp``
    a moment ago) is left alone, as is everything where ``flock`` is missing
    (Windows).  A fork of a Lab's process holds the lock too, so its folder stays.
    """
    if fcntl is None:
        return []
    base = Path(directory) if directory is not None else Path(tempfile.gettempdir())
    try:
        entries = [e for e in os.scandir(base) if e.name.startswith(ROOT_PREFIX)]
    except OSError:
        return []
    removed = []
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        lock = os.path.join(entry.path, LOCK_NAME)
        try:
            fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # held: that Lab is alive
            try:  # still the same file (not removed by its Lab's stop() meanwhile)?
                same = os.path.samestat(os.fstat(fd), os.stat(lock, follow_symlinks=False))
            except OSError:
                same = False
            if same:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(Path(entry.path))
        finally:
            os.close(fd)
    if removed:
        log.info("removed %d folder(s) left by Labs whose process died: %s",
                 len(removed), ", ".join(p.name for p in removed))
    return removed


# the Labs running in this process (a re-run "lab = lk.Lab().start()" cell leaves the
# previous one running: its threads keep it alive, so it is never garbage collected)
_RUNNING: weakref.WeakSet = weakref.WeakSet()
_RUNNING_LOCK = threading.Lock()


_DNS_CACHE = "True, False or a number of seconds"


def _dns_cache_setting(value: Any) -> bool | float:
    """``Lab(dns_cache=...)`` checked: ``True``/``False`` (NumPy's bool too) as given, a
    number of seconds as a float (``0`` is ``False``: no cache).

    Anything else is a ``TypeError`` (``None`` is not read as ``False``, nor text as a
    switch); a negative number, NaN or infinity is a :class:`UsageError`.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        as_bool = _coerce.truth(value)  # (NumPy's bool is no Number)
        if as_bool is not None:
            return as_bool
    try:
        seconds = _coerce.seconds(value, "dns_cache", zero=True)
    except TypeError:
        raise TypeError(f"dns_cache must be {_DNS_CACHE} such as 30, not "
                        f"{type(value).__name__} {value!r}") from None
    except UsageError:
        raise UsageError(f"dns_cache must be {_DNS_CACHE} of 0 or more, such as 30, not {value!r} "
                         "(True keeps each answer up to its TTL; False or 0 asks the LabDNS "
                         "every time)") from None
    return seconds if seconds > 0 else False


class Lab(Service):
    """The DNS and the mail hosts of the lab Internet, each in a background thread.

    ``dns``: a running :class:`labkit.dns.LabDNS` to use (else the lab starts its own
    with the course zones).  ``root``: where mailboxes and logs go (by default a
    temporary directory, removed at ``stop()``; starting a Lab also removes those that
    killed kernels left behind, see :func:`remove_stale_roots`).
    ``client_addressing``: ``"auto"``, ``"alias"`` or ``"proxy"``.  ``scorer``: the spam scorer the receiver calls
    (default ``labkit.filters.SpamScorer()`` when available; ``None`` for none).
    ``backscatter=True`` makes the MX accept unknown users and bounce later.
    ``dns_cache``: whether the hosts cache DNS answers.  ``True`` (the default)
    caches them up to their TTL, but only until the LabDNS data or faults change:
    ``lab.dns.add(...)`` is seen by the very next check (the cache is a
    :class:`labkit.dns.cache.LabCache`).  A number of seconds also caps the time an
    answer is kept; ``0``/``False`` makes every check ask the LabDNS (every question
    then shows in ``lab.dns.queries``).  With ``dns=`` given as a plain dnspython
    Resolver the lab cannot see changes, so it does not cache.
    ``workers``: how many worker processes run the MX's end-of-DATA authentication
    (:mod:`labkit.mta.workers`; DKIM, DMARC, ARC on another core).  ``0`` (the
    default, or ``LABKIT_MTA_WORKERS`` if set) checks in this process: a notebook
    sends a few messages, where the workers' memory and start-up buy nothing, a
    learner's replacement of ``labkit.auth`` functions acts at once, and since the
    DKIM fast path the hand-over costs more than it saves (see
    ``benchmarks/RESULTS-mta.md``).  Verdicts are the same either way.

    Introduced in lab 00 (set-up).
    """

    name = "lab"
    # on/off switches read at start(): True or False only (text such as "no" is refused)
    backscatter = _coerce.Flag()
    srs = _coerce.Flag()
    list_from_rewrite = _coerce.Flag()

    def __init__(
        self,
        *,
        dns: Any = None,
        root: str | Path | None = None,
        client_addressing: str = "auto",
        scorer: Any = "default",
        backscatter: bool = False,
        accounts: Accounts | None = None,
        limits: Limits | None = None,
        pop_window: float = 600.0,
        op25b: bool = True,
        srs: bool = False,
        list_from_rewrite: bool = False,
        aliases: dict[str, list[str]] | None = None,
        lists: dict[str, list[str]] | None = None,
        dns_cache: bool | float = True,
        workers: int | None = None,
    ) -> None:
        super().__init__()
        if client_addressing not in ("auto", "alias", "proxy"):
            raise UsageError("client_addressing must be 'auto', 'alias' or 'proxy'")
        if client_addressing == "auto":
            client_addressing = "alias" if net.aliases_available() else "proxy"
        self.client_addressing = client_addressing
        _check_dns_arg(dns)
        self._dns_given = dns
        self.dns: Any = dns
        self._root_given = Path(root) if root is not None else None
        self.root: Path | None = self._root_given
        self._root_lock: int | None = None
        self._scorer_arg = scorer
        self.backscatter = backscatter
        self.accounts = accounts or Accounts.default()
        self.limits = limits or Limits()
        self.clock = LabClock()
        self.pop_window = _coerce.seconds(pop_window, "pop_window")
        self.queue = RelayQueue(self.clock)
        self.gateway = OP25B(enabled=_coerce.flag(op25b, "op25b"), relay_host=ISP_MTA, submission_host=ISP_SUBMISSION)
        self.srs = srs
        self.list_from_rewrite = list_from_rewrite
        self.aliases = aliases or DEFAULT_ALIASES
        self.lists = lists or DEFAULT_LISTS
        self.dns_cache = dns_cache
        if workers is None:
            workers = _default_workers()
        if isinstance(workers, bool) or not isinstance(workers, int):
            raise TypeError(f"workers must be a whole number (0: authenticate in this process), "
                            f"not {workers!r}")
        if workers < 0:
            raise UsageError("workers must be 0 (authenticate in this process) or more")
        self.workers = int(workers)
        self.auth_pool: AuthPool | None = None
        self.servers: dict[tuple[str, int], Any] = {}
        self.handlers: dict[str, Any] = {}
        self.resolver: Any = None
        self.hosts: HostTable | None = None
        self.events: EventLog = EventLog(None, clock=self.clock)
        self.mailstore: MailStore | None = None
        self._esp: ESP | None = None
        self.client_tls_context: Any = None
        self.ca_pem: bytes | None = None

    @property
    def dns_cache(self) -> bool | float:
        """The DNS cache setting read at ``start()``: ``True`` (up to each answer's TTL),
        ``False`` (none) or the most seconds an answer is kept.  Assignments are checked
        as the constructor's argument is (:func:`_dns_cache_setting`)."""
        return self._dns_cache

    @dns_cache.setter
    def dns_cache(self, value: Any) -> None:
        """Set the DNS cache for the next ``start()``; None or text is a ``TypeError``."""
        self._dns_cache = _dns_cache_setting(value)

    # -- life cycle -------------------------------------------------------------------
    def _start(self) -> None:
        import labkit.dns

        if self._dns_given is None:
            self.dns = labkit.dns.LabDNS()
            self.dns.start()
        if self.dns_cache is not False and isinstance(self.dns, labkit.dns.LabDNS):
            max_ttl = None if self.dns_cache is True else float(self.dns_cache)
            self.resolver = self.dns.resolver(cache=True, max_ttl=max_ttl)
        else:
            self.resolver = labkit.dns.as_resolver(self.dns)
        if self._root_given is not None:
            self.root = self._root_given
        else:
            remove_stale_roots()
            self.root, self._root_lock = _make_root()
        self.events = EventLog(self.root / "logs", clock=self.clock)
        self.mailstore = MailStore(self.root / "mail")
        self.hosts = HostTable(self.resolver)
        server_tls, self.client_tls_context, self.ca_pem = make_certificates(
            [h.name for h in self.hosts]
        )
        self.scorer = _default_scorer() if self._scorer_arg == "default" else self._scorer_arg
        self.gateway.own_servers = frozenset(
            self.hosts[n].address for n in (ISP_MTA,) if n in self.hosts
        )
        proxy = self.client_addressing == "proxy"
        self.isp_window = RelayWindow(self.clock, self.pop_window)

        def smtp(host: str, port: int, handler: Any, **kw: Any) -> None:
            if host not in self.hosts:
                log.warning("skipping %s: not in the lab DNS", host)
                return
            address = self.hosts[host].address
            srv = SMTPServer(handler, hostname=host, proxy=proxy, limits=self.limits,
                             admission=functools.partial(self._network_admits, address, port),
                             **kw)
            srv.start()
            self.servers[(address, port)] = srv
            self.handlers[f"{host}:{port}"] = handler

        def pop3(host: str, domains: tuple[str, ...], window: RelayWindow | None) -> None:
            if host not in self.hosts:
                return
            srv = POP3Server(lab=self, hostname=host, domains=domains, window=window, proxy=proxy,
                             idle_timeout=self.limits.pop3_idle_timeout, max_errors=self.limits.errors,
                             connections_per_client=self.limits.connections_per_client)
            srv.start()
            self.servers[(self.hosts[host].address, 110)] = srv

        if self.workers:
            generation = ((lambda: self.dns.generation)
                          if isinstance(self.dns, labkit.dns.LabDNS) else None)
            self.auth_pool = AuthPool(self.workers, resolver=self.resolver,
                                      generation=generation).start()
        smtp(MX, 25, Receiver(lab=self, hostname=MX, local_domains=("corp.example",),
                              accounts=self.accounts, mailstore=self.mailstore,
                              scorer=self.scorer, backscatter=self.backscatter,
                              auth_pool=self.auth_pool))
        pop3(MX, ("corp.example",), None)
        smtp(ISP_MTA, 25, Receiver(lab=self, hostname=ISP_MTA, local_domains=("isp.example",),
                                   accounts=self.accounts, mailstore=self.mailstore,
                                   dnsbl_zones=(), relay_window=self.isp_window,
                                   authenticate=False))
        pop3(ISP_MTA, ("isp.example",), self.isp_window)
        sub = Submission(lab=self, hostname=ISP_SUBMISSION, domains=("isp.example",))
        from .policy import Authenticator

        smtp(ISP_SUBMISSION, 587, sub, tls_context=server_tls, require_starttls=True,
             authenticator=Authenticator(self.accounts, sub))
        smtp(FORWARDER, 25, Forwarder(lab=self, hostname=FORWARDER, domain="fwd.example.net",
                                      aliases=self.aliases, srs=self.srs))
        self._list_host = MailingList(lab=self, hostname=LIST_HOST, domain="lists.example.org",
                                      lists=self.lists, from_rewrite=self.list_from_rewrite)
        smtp(LIST_HOST, 25, self._list_host)
        self._esp = ESP(self, hostname=ESP_HOST)
        log.info("lab started in %s (%s addressing)", self.root, self.client_addressing)
        self.started_at = time.strftime("%H:%M:%S")
        self._started = time.monotonic()
        with _RUNNING_LOCK:
            others = [lab for lab in _RUNNING if lab is not self]
            _RUNNING.add(self)
        if others:
            log.warning(
                "labkit: %d other lab%s still running in this process (started at %s), each "
                "holding about 10 threads, 30 open sockets and files, and its ports. If you "
                "re-ran the cell that starts the lab, stop the old one first: "
                "lk.Lab.stop_all() stops them all "
                "(run it before starting a new lab), or restart the kernel.",
                len(others), " is" if len(others) == 1 else "s are",
                ", ".join(lab.started_at for lab in sorted(others, key=lambda lab: lab._started)))

    @staticmethod
    def all_running() -> list[Lab]:
        """The Labs running in this process, oldest first."""
        with _RUNNING_LOCK:
            labs = list(_RUNNING)
        return sorted(labs, key=lambda lab: lab._started)

    @staticmethod
    def stop_all() -> int:
        """Stop every Lab running in this process (e.g. those a re-run cell left behind);
        return how many were stopped."""
        labs = Lab.all_running()
        for lab in labs:
            lab.stop()
        return len(labs)

    def _stop(self) -> None:
        with _RUNNING_LOCK:
            _RUNNING.discard(self)
        # the last started first: the forwarder, the list and submission finish what
        # they are relaying (each server's stop() waits for its steps in progress)
        # while the MX they relay to still listens, instead of queueing it to be dropped
        for srv in reversed(list(self.servers.values())):
            srv.stop()
        for item in self.queue.drain():  # never silently: each leaves a line in the log
            self.events.record(item.policy.hostname, None, "defer", qid=item.qid,
                               rcpts=item.rcpts, mail_from=item.mail_from, decision="drop",
                               reason=f"the lab stopped with the message still queued "
                                      f"({item.last_reply})")
        self.servers.clear()
        self.handlers.clear()
        if self.auth_pool is not None:
            self.auth_pool.close()
            self.auth_pool = None
        self.events.close()
        if self._dns_given is None and self.dns is not None:
            self.dns.stop()
            self.dns = None
        if self._root_given is None and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
        if self._root_lock is not None:  # after the folder is gone: never seen stale
            os.close(self._root_lock)
            self._root_lock = None

    def _network_admits(self, dst: str, port: int, client: str) -> str | None:
        """The ISP gateway's word on a connection that reached ``dst``:``port``.

        ``None`` lets it in; else the 554 reply that refuses it (OP25B).  Senders ask
        before connecting; this catches connections opened any other way (raw sockets).
        """
        decision = self.gateway.enforce(client, dst, port, events=self.events, where="server")
        return None if decision.allowed else decision.smtp_reply

    # -- routing ------------------------------------------------------------------------
    def endpoint(self, address: str, port: int) -> tuple[str, int] | None:
        """Where the service at documentation ``address``:``port`` really listens.

        ``address`` may also be a lab host's name (``"smtp.isp.example"``).  ``None``:
        no lab service listens there.
        """
        if isinstance(address, str) and self.hosts is not None:
            try:
                ipaddress.ip_address(address)
            except ValueError:  # a name: its address, or UnknownHost listing the cast
                address = self.hosts.resolve(address).address
        srv = self.servers.get((address, port))
        return srv.address if srv is not None else None

    def server(self, host: str, port: int = 25) -> Any:
        """The running server of ``host`` on ``port`` (SMTPServer or POP3Server)."""
        self._require()
        return self.servers[(self.hosts[host].address, port)]

    def handler(self, host: str, port: int = 25) -> Any:
        """The policy object behind ``host``:``port`` (e.g. the MX's :class:`Receiver`)."""
        self._require()
        if not isinstance(host, str):
            raise TypeError(f"host must be a host name such as {MX!r}, not {type(host).__name__}")
        key = f"{host.lower().rstrip('.')}:{port}"
        if key not in self.handlers:
            raise UnknownHost(f"no lab service at {host}:{port}; the mail services: "
                              f"{', '.join(sorted(self.handlers))}")
        return self.handlers[key]

    @property
    def receiver(self) -> Receiver:
        """Our organisation's MX policy (``mx.corp.example``)."""
        return self.handler(MX, 25)

    @property
    def esp(self) -> ESP:
        """The cloud mail service ``out.esp.example.com`` (its ``send`` signs and sends)."""
        self._require()
        assert self._esp is not None
        return self._esp

    def _require(self) -> None:
        if not self.running:
            raise UsageError("the lab is not running: call lab.start() or use `with Lab() as lab`")

    # -- actions --------------------------------------------------------------------------
    def send(self, message: Any, *, from_host: str, **kw: Any) -> _sender.SendResult:
        """Send as a lab host; see :func:`labkit.mta.sender.send` for the options."""
        self._require()
        return _sender.send(message, lab=self, from_host=from_host, **kw)

    def submit(self, message: Any, *, user: str, password: str,
               from_host: str = "198.51.100.140", host: str = ISP_SUBMISSION,
               **kw: Any) -> _sender.SendResult:
        """Submit on port 587 with STARTTLS and SMTP-AUTH (as a customer PC by default)."""
        self._require()
        _coerce.text(user, "user", example="taro@isp.example")
        _coerce.text(password, "password")
        kw.setdefault("mail_from", user)
        return _sender.send(message, lab=self, from_host=from_host, to_host=host, port=587,
                            starttls=True, auth=(user, password), **kw)

    def pop3(self, user: str, password: str, *, from_host: str = "198.51.100.140",
             host: str = ISP_MTA) -> LabPOP3:
        """A logged-in POP3 client (``poplib`` API) connected as ``from_host``.

        Raises :class:`POP3LoginError` (also a ``poplib.error_proto``) with the
        server's reply on a wrong address or password, or while another session holds
        the mailbox (RFC 1939's maildrop lock).  Close it with ``.quit()``: that
        commits its deletions and frees the mailbox.
        """
        self._require()
        _coerce.text(user, "user", example="taro@isp.example")
        _coerce.text(password, "password")
        client = self.hosts.resolve(from_host).address
        h, p = self.server(host, 110).address
        pop = LabPOP3(h, p, client=client, proxy=self.client_addressing == "proxy")
        try:
            pop.user(user)
            pop.pass_(password)
        except poplib.error_proto as exc:
            pop.close()
            reply = exc.args[0] if exc.args and isinstance(exc.args[0], bytes) else None
            if reply is None:
                raise
            raise POP3LoginError(reply, user=user, host=host) from None
        except Exception:
            pop.close()
            raise
        return pop

    def mailbox(self, address: str) -> Maildir:
        """The Maildir of a lab user (``alice@corp.example``; case and a final dot do not matter).

        An address that no lab account has gets a mailbox that stays empty: a warning
        says so (a typo?), and so does ``latest()`` when it finds nothing.  The mailing
        list's bounce addresses (``lab-list-bounces@lists.example.org``) have no account
        but do keep mail.
        """
        self._require()
        if not isinstance(address, str):
            raise TypeError(f"address must be one mail address such as 'alice@corp.example', "
                            f"not {type(address).__name__}")
        if "@" not in address:
            raise UsageError(f"{address!r} is not a mail address: a mailbox is user@domain, "
                             f"such as 'alice@corp.example'")
        box = self.mailstore.mailbox(address)
        kept_by_the_list = (box.address or address).lower() in self._list_host.bounce_addresses()
        if not self.accounts.exists(box.address or address) and not kept_by_the_list:
            domain = (box.address or address).rpartition("@")[2]
            known = self.accounts.users(domain) or self.accounts.users()
            box.hint = (f"No lab account has the address {box.address}, so no mail is ever "
                        f"delivered there (a typo? the accounts: {', '.join(known)})")
            warnings.warn(f"lab.mailbox({address!r}): {box.hint}", stacklevel=2)
        else:
            box.hint = ""
        return box

    def advance(self, seconds: float) -> float:
        """Move the lab clock forward: POP-before-SMTP windows close, and queued
        messages whose retry time has come are tried again (see ``lab.queue``)."""
        now = self.clock.advance(seconds)
        if self.running:
            self.queue.run()
        return now

    def verdicts(self, message_id: str | None = None) -> list[dict[str, Any]]:
        """The MX's verdict events (optionally for one Message-ID)."""
        found = self.events.entries(host=MX, event="verdict")
        if message_id is not None:
            found = [e for e in found if e.get("message_id") == message_id]
        return found

    def listeners(self) -> list[dict[str, Any]]:
        """Every running service: host, documentation address, port, real socket."""
        out = []
        for (addr, port), srv in sorted(self.servers.items()):
            out.append({"host": srv.hostname, "address": addr, "port": port,
                        "listen": f"{srv.address[0]}:{srv.address[1]}"})
        return out

    def __repr__(self) -> str:
        return (f"<Lab {self.state.value} {len(self.servers)} services, "
                f"{self.client_addressing} addressing, root={self.root}>")

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td>{html.escape(d['host'])}</td><td>{d['address']}</td><td>{d['port']}</td>"
            f"<td>{d['listen']}</td></tr>"
            for d in self.listeners()
        )
        return (f"<b>{html.escape(repr(self))}</b><table><tr><th>host</th><th>address</th>"
                f"<th>port</th><th>listens on</th></tr>{rows}</table>")


def hosts_of(lab: Lab) -> Iterable[str]:
    """Names of the lab's hosts (for widgets)."""
    return [h.name for h in lab.hosts] if lab.hosts else []


__all__ = ["Lab", "POP3LoginError", "MX", "ISP_MTA", "ISP_SUBMISSION", "FORWARDER", "LIST_HOST", "ESP_HOST"]
