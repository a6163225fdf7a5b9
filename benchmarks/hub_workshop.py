"""A workshop rehearsal on a real JupyterHub: N learners run labs at the same time.

NOT RUN IN CI: it must run as root, it creates and deletes Unix users, and it installs
packages into the virtualenv it is given. Run it on a throwaway Linux machine only::

    sudo python benchmarks/hub_workshop.py --venv /work/hubenv --learners 6 \\
        --corpus /srv/corpora/spamassassin > RESULTS.md

What it does, following docs/instructor-guide.md section 3 (The Littlest JupyterHub):

1. Prepares the virtualenv ``--venv`` (created with ``--python`` if missing):
   JupyterHub 5.x, the course copied to ``--course`` (default /srv/antispam-labs, files
   that git tracks), its pinned requirements and labkit (``pip install --no-deps -e``,
   falling back to ``pip install -e`` when the pins do not install on that Python, as
   the guide says), ``labkit release --no-db --force`` there, configurable-http-proxy
   from npm under ``<venv>/chp``, and the guide's overrides.json (no Jupyter news).
   The Python must be one every user can run: a venv made from an interpreter under
   /root (pyenv) cannot start a learner's server, so that is checked first.
2. Creates the learners ``aslearner1``.. (``--prefix``), each with a copy of the release
   folder in ``~/antispam-labs``, as an instructor hands out an ungraded workshop.
3. Writes jupyterhub_config.py to a temporary folder: hub, proxy and proxy API on
   127.0.0.1 only, ``LocalProcessSpawner`` (the hub runs as root and starts each
   learner's server as that learner, as TLJH's spawner does), ``DummyAuthenticator`` with
   a shared password (test only), ``LABKIT_CORPUS`` for every kernel, ``/lab``.
4. Starts the hub; then for every learner at the same time (asyncio): logs in through
   the hub REST API (a token from the learner's password), starts the learner's server,
   and in that server (Jupyter Server REST API + kernel websocket, Jupyter messaging
   protocol) runs every code cell of the worked labs (``--labs``) in a fresh python3
   kernel whose working folder is the learner's copy of that lab, plus ``labkit doctor``
   (the guide's step 5) from inside the kernel. Meanwhile a thread samples, per
   learner uid, the resident memory of all that user's processes and every listening
   socket (psutil).
5. Checks isolation: every process that carries a learner's ``JUPYTERHUB_USER`` runs as
   that learner's uid; every listening socket of learners, hub and proxy is on loopback;
   no port is listened on by two uids at the same moment.
6. Stops everything, removes the users (unless ``--keep``) and prints a Markdown report.
   Exit status 0 only if every cell of every learner ran without error and isolation
   held; 1 otherwise; 2 for bad usage or a failed preparation.

It writes only to its temporary folder, ``--course``, the learners' homes and ``--venv``,
and binds nothing but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import ipaddress
import json
import os
import platform
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

LOOPBACK = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LABS = ("00-setup", "03-spf", "09-bayes")
MARKER = ".hub_workshop_copy"  # marks a course folder this script made (and may replace)
MiB = 1024 * 1024
DOCTOR = ("import subprocess\n"
          "_p = subprocess.run(['labkit', 'doctor'], capture_output=True, text=True)\n"
          "print(_p.stdout + _p.stderr)\n"
          "print('EXIT', _p.returncode)")


def hub_config(*, venv: Path, proxy_command: Path, state: Path, proxy_port: int, hub_port: int,
               proxy_api_port: int, learners: list[str], password: str, corpus: str,
               timeout: int = 600) -> str:
    """The text of jupyterhub_config.py for the rehearsal (every bind on 127.0.0.1)."""
    lines = [
        "# Written by benchmarks/hub_workshop.py for a workshop rehearsal.",
        "# TEST ONLY: DummyAuthenticator lets anyone who knows the shared password in as any",
        "# allowed user. Never use it on a hub that others can reach.",
        "c = get_config()  # noqa: F821",
        f"c.JupyterHub.bind_url = 'http://{LOOPBACK}:{proxy_port}'",
        f"c.JupyterHub.hub_bind_url = 'http://{LOOPBACK}:{hub_port}'",
        f"c.ConfigurableHTTPProxy.api_url = 'http://{LOOPBACK}:{proxy_api_port}'",
        f"c.ConfigurableHTTPProxy.command = [{str(proxy_command)!r}]",
        f"c.ConfigurableHTTPProxy.pid_file = {str(state / 'proxy.pid')!r}",
        f"c.JupyterHub.db_url = {'sqlite:///' + str(state / 'jupyterhub.sqlite')!r}",
        f"c.JupyterHub.cookie_secret_file = {str(state / 'cookie_secret')!r}",
        "c.JupyterHub.cleanup_servers = True",
        "c.JupyterHub.spawner_class = 'jupyterhub.spawner.LocalProcessSpawner'",
        f"c.Spawner.ip = '{LOOPBACK}'",
        f"c.Spawner.cmd = [{str(venv / 'bin' / 'jupyterhub-singleuser')!r}]",
        f"c.Spawner.environment = {{'LABKIT_CORPUS': {corpus!r}}}",
        "c.Spawner.default_url = '/lab'",
        "c.Spawner.notebook_dir = '~'",
        f"c.Spawner.start_timeout = {timeout}",
        f"c.Spawner.http_timeout = {timeout}",
        "c.JupyterHub.authenticator_class = 'dummy'",
        f"c.DummyAuthenticator.password = {password!r}",
        f"c.Authenticator.allowed_users = {set(learners)!r}",
    ]
    return "\n".join(lines) + "\n"


def free_port() -> int:
    """A port that the OS considers free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- isolation checks

@dataclasses.dataclass(frozen=True)
class Listener:
    """One listening socket seen in one sample."""

    uid: int
    pid: int
    proto: str  # "tcp" or "udp"
    ip: str
    port: int


def isolation_problems(samples: list[list[Listener]], learner_uids: dict[str, int],
                       owners: dict[str, set[int]], watched_root_pids: set[int]) -> list[str]:
    """What broke isolation, given listener samples and the uids seen per learner's processes.

    ``owners`` maps a learner to the uids of every process whose environment carries that
    learner's ``JUPYTERHUB_USER``; ``watched_root_pids`` are the hub's and proxy's processes.
    """
    problems: list[str] = []
    for name, uids in sorted(owners.items()):
        wrong = uids - {learner_uids[name]}
        if wrong:
            problems.append(f"{name}'s server or kernel ran as uid {sorted(wrong)}, "
                            f"not {learner_uids[name]}")
    for name in learner_uids:
        if name not in owners:
            problems.append(f"no process of {name}'s server was seen")
    watched = set(learner_uids.values())
    seen_bad: set[tuple] = set()
    for sample in samples:
        by_port: dict[tuple[str, int], set[int]] = {}
        for ln in sample:
            if ln.uid not in watched and ln.pid not in watched_root_pids:
                continue
            if not ipaddress.ip_address(ln.ip).is_loopback:
                key = ("bind", ln.uid, ln.proto, ln.ip, ln.port)
                if key not in seen_bad:
                    seen_bad.add(key)
                    problems.append(f"uid {ln.uid} (pid {ln.pid}) listens on {ln.ip}:{ln.port}/"
                                    f"{ln.proto}, not loopback")
            by_port.setdefault((ln.proto, ln.port), set()).add(ln.uid)
        for (proto, port), uids in by_port.items():
            if len(uids) > 1:
                key = ("shared", proto, port, tuple(sorted(uids)))
                if key not in seen_bad:
                    seen_bad.add(key)
                    problems.append(f"port {port}/{proto} listened on by uids {sorted(uids)} "
                                    "at the same time")
    return problems


class Monitor(threading.Thread):
    """Samples learners' memory (sum of RSS by uid) and all listening sockets."""

    def __init__(self, learner_uids: dict[str, int], interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.uids = learner_uids
        self.by_uid = {uid: name for name, uid in learner_uids.items()}
        self.interval = interval
        self.current: dict[str, str] = {}  # learner -> what runs now (lab name)
        self.peak: dict[tuple[str, str], int] = {}  # (learner, phase) -> bytes
        self.samples: list[list[Listener]] = []
        self.owners: dict[str, set[int]] = {}
        self.kernels: dict[str, set[int]] = {}  # learner -> kernel pids seen
        self.listen_max: dict[str, int] = {}  # learner -> most listening sockets at once
        self.together_peak = 0  # bytes: all learners' processes at one moment, the most seen
        self._env_seen: dict[int, str | None] = {}
        self._halt = threading.Event()
        self.errors: list[str] = []

    def stop(self) -> None:
        """End sampling and wait for the thread."""
        self._halt.set()
        self.join(timeout=30)

    def run(self) -> None:
        import psutil

        while not self._halt.is_set():
            try:
                self._sample(psutil)
            except Exception as exc:  # keep sampling; report it
                if len(self.errors) < 5:
                    self.errors.append(repr(exc))
            self._halt.wait(self.interval)

    def _sample(self, psutil) -> None:
        rss: dict[int, int] = {}
        pid_uid: dict[int, int] = {}
        for proc in psutil.process_iter(["uids", "memory_info", "cmdline"]):
            info = proc.info
            if not info["uids"] or info["memory_info"] is None:
                continue
            uid = info["uids"].real
            pid_uid[proc.pid] = uid
            if uid in self.by_uid:
                rss[uid] = rss.get(uid, 0) + info["memory_info"].rss
            if proc.pid not in self._env_seen:
                try:
                    who = proc.environ().get("JUPYTERHUB_USER")
                except (psutil.Error, OSError):
                    who = None
                self._env_seen[proc.pid] = who
            who = self._env_seen[proc.pid]
            if who in self.uids:
                self.owners.setdefault(who, set()).add(uid)
                if any("ipykernel_launcher" in part for part in info["cmdline"] or ()):
                    self.kernels.setdefault(who, set()).add(proc.pid)
        self.together_peak = max(self.together_peak, sum(rss.values()))
        for uid, total in rss.items():
            name = self.by_uid[uid]
            for phase in ("all", self.current.get(name, "")):
                if phase:
                    key = (name, phase)
                    self.peak[key] = max(self.peak.get(key, 0), total)
        sample = []
        for conn in psutil.net_connections(kind="inet"):
            listening = (conn.type == socket.SOCK_STREAM and conn.status == psutil.CONN_LISTEN) or (
                conn.type == socket.SOCK_DGRAM and not conn.raddr)
            if not listening or conn.pid is None or not conn.laddr:
                continue
            uid = pid_uid.get(conn.pid, -1)
            sample.append(Listener(uid, conn.pid, "tcp" if conn.type == socket.SOCK_STREAM else "udp",
                                   conn.laddr.ip, conn.laddr.port))
        for name, uid in self.uids.items():
            n = sum(1 for ln in sample if ln.uid == uid)
            self.listen_max[name] = max(self.listen_max.get(name, 0), n)
        self.samples.append(sample)


# ---------------------------------------------------------------- kernel websocket

@dataclasses.dataclass
class LabRun:
    """What one learner's run of one lab gave."""

    lab: str
    cells: int = 0
    seconds: float = 0.0
    errors: list[str] = dataclasses.field(default_factory=list)
    output: str = ""


def _message(msg_type: str, content: dict, session: str, channel: str = "shell") -> dict:
    """A Jupyter protocol message (v5.3) as the server's websocket takes it."""
    return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "workshop",
                       "session": session, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "version": "5.3"},
            "parent_header": {}, "metadata": {}, "content": content, "channel": channel,
            "buffers": []}


class KernelClient:
    """A minimal client for one kernel over /api/kernels/<id>/channels (JSON frames)."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.session = uuid.uuid4().hex

    async def request(self, msg_type: str, content: dict, timeout: float) -> tuple[dict, list[dict]]:
        """Send a shell request; return its reply and the iopub messages up to 'idle'."""
        msg = _message(msg_type, content, self.session)
        msg_id = msg["header"]["msg_id"]
        self.conn.write_message(json.dumps(msg))
        reply, idle, iopub = None, False, []
        deadline = time.monotonic() + timeout
        while reply is None or not idle:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{msg_type}: no reply in {timeout:.0f} s")
            raw = await asyncio.wait_for(self.conn.read_message(), left)
            if raw is None:
                raise ConnectionError("kernel websocket closed")
            if isinstance(raw, bytes):  # a message with binary buffers (widget comms)
                continue
            m = json.loads(raw)
            if m.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if m.get("channel") == "shell" and m["msg_type"].endswith("_reply"):
                reply = m["content"]
            elif m.get("channel") == "iopub":
                if m["msg_type"] == "status" and m["content"].get("execution_state") == "idle":
                    idle = True
                else:
                    iopub.append(m)
        return reply, iopub

    async def execute(self, code: str, timeout: float) -> tuple[str | None, str]:
        """Run ``code``; return (error text or None, stdout/stderr text)."""
        reply, iopub = await self.request("execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True}, timeout)
        out = "".join(m["content"].get("text", "") for m in iopub if m["msg_type"] == "stream")
        if reply.get("status") != "ok":
            return f"{reply.get('ename', reply.get('status'))}: {reply.get('evalue', '')}", out
        errors = [m["content"] for m in iopub if m["msg_type"] == "error"]
        if errors:
            return f"{errors[0].get('ename')}: {errors[0].get('evalue')}", out
        return None, out


def code_cells(notebook: Path) -> list[str]:
    """The code cells' sources of a notebook, in order (plain JSON, nbformat 4)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"] if c["cell_type"] == "code"]


# ---------------------------------------------------------------- one learner

@dataclasses.dataclass
class Learner:
    """A learner's account and results."""

    name: str
    uid: int = -1
    token_s: float = 0.0
    spawn_s: float = 0.0
    labs: list[LabRun] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)
    doctor: str = ""


class Workshop:
    """The hub's address, the learners' password and the labs to run."""

    def __init__(self, base: str, password: str, course: Path, labs: list[str],
                 monitor: Monitor, cell_timeout: float) -> None:
        from tornado.httpclient import AsyncHTTPClient

        AsyncHTTPClient.configure(None, max_clients=256)
        self.http = AsyncHTTPClient()
        self.base = base
        self.password = password
        self.course = course
        self.labs = labs
        self.monitor = monitor
        self.cell_timeout = cell_timeout

    async def api(self, method: str, path: str, token: str | None = None, body: dict | None = None,
                  timeout: float = 120) -> dict:
        """One hub or server REST call through the proxy; the JSON answer ({} if none)."""
        from tornado.httpclient import HTTPRequest

        headers = {"Authorization": f"token {token}"} if token else {}
        req = HTTPRequest(self.base + path, method=method, headers=headers,
                          body=None if body is None and method in ("GET", "DELETE") else
                          json.dumps(body or {}), request_timeout=timeout)
        resp = await self.http.fetch(req, raise_error=True)
        return json.loads(resp.body) if resp.body else {}

    async def run(self, learner: Learner) -> None:
        """Everything one learner does, start to end."""
        name = learner.name
        try:
            t0 = time.perf_counter()
            reply = await self.api("POST", f"/hub/api/users/{name}/tokens", body={
                "auth": {"username": name, "password": self.password},
                "note": "workshop rehearsal", "expires_in": 3600})
            token = reply["token"]
            learner.token_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            self.monitor.current[name] = "spawn"
            await self.api("POST", f"/hub/api/users/{name}/server", token)
            while True:
                model = await self.api("GET", f"/hub/api/users/{name}", token)
                server = model.get("servers", {}).get("")
                if server and server.get("ready"):
                    break
                if not server or not server.get("pending"):
                    raise RuntimeError(f"server of {name} did not start: {model}")
                await asyncio.sleep(0.5)
            learner.spawn_s = time.perf_counter() - t0
            for lab in self.labs:
                learner.labs.append(await self.run_lab(name, token, lab))
            self.monitor.current[name] = "doctor"
            doc = await self.run_lab(name, token, "doctor")
            learner.doctor = doc.output
            if doc.errors or "EXIT 0" not in doc.output:
                learner.problems.append(f"labkit doctor: {doc.errors or doc.output[-300:]}")
            self.monitor.current[name] = "stop"
            await self.api("DELETE", f"/hub/api/users/{name}/server", token)
        except Exception as exc:  # the report says what happened to this learner
            learner.problems.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.monitor.current[name] = ""

    async def run_lab(self, name: str, token: str, lab: str) -> LabRun:
        """Run a worked lab's code cells (or the doctor check) in a fresh kernel of ``name``."""
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        run = LabRun(lab)
        if lab == "doctor":
            cells, path = [DOCTOR], "antispam-labs"
        else:
            cells, path = code_cells(self.course / "labs" / lab / f"{lab}.ipynb"), f"antispam-labs/{lab}"
        self.monitor.current[name] = lab
        t0 = time.perf_counter()
        kernel = await self.api("POST", f"/user/{name}/api/kernels", token,
                                {"name": "python3", "path": path})
        ws_url = self.base.replace("http://", "ws://") + f"/user/{name}/api/kernels/{kernel['id']}/channels"
        conn = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {token}"},
                                                   request_timeout=120),
                                       max_message_size=256 * MiB)
        try:
            client = KernelClient(conn)
            await client.request("kernel_info_request", {}, 120)
            for i, code in enumerate(cells, 1):
                if not code.strip():
                    continue
                run.cells += 1
                error, out = await client.execute(code, self.cell_timeout)
                run.output += out
                if error:
                    run.errors.append(f"cell {i}: {error}")
                    break  # as "Run All" does: stop at the first error
        finally:
            conn.close()
            run.seconds = time.perf_counter() - t0
            await self.api("DELETE", f"/user/{name}/api/kernels/{kernel['id']}", token)
        return run


# ---------------------------------------------------------------- set-up and tear-down

def sh(cmd: list[str], log, **kw) -> subprocess.CompletedProcess:
    """Run a command, its output to ``log``; raise if it fails."""
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True, **kw)


def runs_as_nobody(python: Path) -> bool:
    """Whether an unprivileged user can start this interpreter (not one under /root)."""
    proc = subprocess.run(["runuser", "-u", "nobody", "--", str(python), "-c", "pass"],
                          capture_output=True, cwd="/")
    return proc.returncode == 0


def prepare(args, log) -> dict[str, str]:
    """Venv, course copy, release folders, proxy; returns what was done (for the report)."""
    venv, course = args.venv, args.course
    done = {}
    if not (venv / "bin" / "python").exists():
        sh([args.python, "-m", "venv", str(venv)], log)
    if not runs_as_nobody(venv / "bin" / "python"):
        raise SystemExit(f"hub_workshop: {venv}/bin/python cannot be run by other users "
                         f"(it points to {os.path.realpath(venv / 'bin' / 'python')}); make the "
                         "venv with a Python every user can run, e.g. --python /usr/bin/python3")
    if course.exists() and not (course / MARKER).exists():
        raise SystemExit(f"hub_workshop: {course} exists and was not made by this script; "
                         "move it away or pass --course")
    if course.exists():
        shutil.rmtree(course)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        dest = course / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest)
    (course / MARKER).write_text(f"copied from {ROOT} by benchmarks/hub_workshop.py\n")
    os.chmod(course, 0o755)
    pip = [str(venv / "bin" / "pip"), "install", "--disable-pip-version-check"]
    sh(pip + ["jupyterhub>=5,<6"], log)
    try:
        sh(pip + ["-r", str(course / "binder" / "requirements.txt")], log)
        sh(pip + ["--no-deps", "-e", str(course)], log)
        done["install"] = "pinned: pip install -r binder/requirements.txt; pip install --no-deps -e ."
    except subprocess.CalledProcessError:
        sh(pip + ["-e", str(course)], log)
        done["install"] = ("the pins did not install on this Python (see the log); "
                           "fell back to pip install -e . as the guide says")
    sh([str(venv / "bin" / "labkit"), "release", "--no-db", "--force"], log, cwd=course)
    chp = venv / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
    if not chp.exists():
        sh(["npm", "install", "--prefix", str(venv / "chp"), "configurable-http-proxy"], log)
    overrides = venv / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    overrides.parent.mkdir(parents=True, exist_ok=True)
    overrides.write_text(json.dumps({"@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false", "checkForUpdates": False}}) + "\n")
    subprocess.run(["chmod", "-R", "a+rX", str(course)], check=True)
    done["proxy"] = str(chp)
    return done


def make_learners(args, log) -> list[Learner]:
    """Create the Unix users, each with a copy of the release folder in ~/antispam-labs."""
    names = [f"{args.prefix}{i}" for i in range(1, args.learners + 1)]
    taken = [n for n in names if _user_exists(n)]
    if taken:
        raise SystemExit(f"hub_workshop: users {taken} already exist; remove them "
                         f"(userdel -r NAME) or pass another --prefix")
    learners = []
    for name in names:
        sh(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", name], log)
        _made.append(name)
        entry = pwd.getpwnam(name)
        dest = Path(entry.pw_dir) / "antispam-labs"
        shutil.copytree(args.course / "release", dest)
        sh(["chown", "-R", f"{name}:{name}", str(dest)], log)
        learners.append(Learner(name, entry.pw_uid))
    return learners


_made: list[str] = []  # users this run created, for clean-up after a failure half-way


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def remove_learners(learners: list[Learner], log) -> None:
    """End what is left of the learners' processes (by pid) and delete the users."""
    import psutil

    uids = {ln.uid for ln in learners}
    for proc in psutil.process_iter(["uids"]):
        if proc.info["uids"] and proc.info["uids"].real in uids:
            log.write(f"left over: pid {proc.pid} uid {proc.info['uids'].real}\n")
            try:
                proc.kill()
            except psutil.Error:
                pass
    time.sleep(0.5)
    for ln in learners:
        subprocess.run(["userdel", "--remove", ln.name], stdout=log, stderr=subprocess.STDOUT)


def start_hub(args, state: Path, config: Path, log) -> subprocess.Popen:
    """Start jupyterhub as root with a clean environment (no PYTHONPATH of the caller)."""
    env = {"PATH": f"{args.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
           "LANG": os.environ.get("LANG", "C.UTF-8"), "HOME": "/root"}
    return subprocess.Popen([str(args.venv / "bin" / "jupyterhub"), "-f", str(config)], cwd=state,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_hub(base: str, hub: subprocess.Popen, timeout: float = 180) -> None:
    """Until the hub answers through the proxy."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise RuntimeError(f"jupyterhub exited with {hub.returncode}: see the hub log")
        try:
            with urllib.request.urlopen(base + "/hub/api/", timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the hub did not answer at {base} in {timeout:.0f} s")


def stop_hub(hub: subprocess.Popen, state: Path, log) -> None:
    """SIGTERM the hub (it stops servers and proxy), then make sure the proxy is gone."""
    if hub.poll() is None:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(60)
        except subprocess.TimeoutExpired:
            hub.kill()
            hub.wait(10)
    pid_file = state / "proxy.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            log.write("proxy was still running: terminated\n")
        except (ValueError, ProcessLookupError):
            pass


def _version(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return (proc.stdout + proc.stderr).strip().splitlines()[-1] if proc.returncode == 0 else "?"


# ---------------------------------------------------------------- report

def report(args, argv: list[str], learners: list[Learner], monitor: Monitor, problems: list[str],
           done: dict[str, str], started: float, wall: float, load: float, log_text: str) -> str:
    """The Markdown report."""
    import psutil

    venv_py = str(args.venv / "bin" / "python")
    out = [f"## Hub rehearsal: {len(learners)} learners, "
           f"{time.strftime('%d %b %Y %H:%M UTC', time.gmtime(started))}", "",
           "```", "python " + " ".join(argv), "```", "",
           f"- machine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GiB RAM, "
           f"load average {load:.1f} at start; {platform.platform()}",
           f"- learners' Python: {_version([venv_py, '--version'])}; JupyterHub "
           f"{_version([str(args.venv / 'bin' / 'jupyterhub'), '--version'])}; JupyterLab "
           f"{_version([str(args.venv / 'bin' / 'jupyter-lab'), '--version'])}; "
           f"configurable-http-proxy {_version([done.get('proxy', 'false'), '--version'])}",
           f"- install: {done.get('install', '?')}",
           "- spawner: LocalProcessSpawner (one Unix user per learner); authenticator: "
           "DummyAuthenticator (shared test password); hub, proxy and servers on 127.0.0.1",
           f"- labs (worked versions, every code cell, fresh kernel each): {', '.join(args.labs)}; "
           "then `labkit doctor` from a kernel",
           f"- all learners at once; wall time from the first login to the last server stopped: "
           f"{wall:.1f} s", ""]
    head = ["learner", "uid", "login s", "spawn s"] + [f"{lab} s" for lab in args.labs] + [
        "peak RSS MiB (all the user's processes)", "listening sockets at once (max)", "errors"]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 3) + "---|"]
    for ln in learners:
        times = {r.lab: r for r in ln.labs}
        cells = [f"{times[lab].seconds:.1f}" if lab in times else "-" for lab in args.labs]
        errors = [f"{r.lab} {e}" for r in ln.labs for e in r.errors] + ln.problems
        peak = monitor.peak.get((ln.name, "all"), 0) / MiB
        out.append("| " + " | ".join([ln.name, str(ln.uid), f"{ln.token_s:.2f}", f"{ln.spawn_s:.1f}",
                                      *cells, f"{peak:.0f}", str(monitor.listen_max.get(ln.name, 0)),
                                      "; ".join(errors).replace("|", "/") or "none"]) + " |")
    out += ["", "Peak resident memory of each learner's processes while a lab ran (MiB; "
            "min / median / max over learners):", ""]
    for phase in ["spawn", *args.labs]:
        vals = sorted(monitor.peak.get((ln.name, phase), 0) / MiB for ln in learners)
        if vals:
            out.append(f"- {phase}: {vals[0]:.0f} / {vals[len(vals) // 2]:.0f} / {vals[-1]:.0f}")
    out.append(f"- all learners together, at one moment: {monitor.together_peak / MiB:.0f} MiB "
               "(the most seen)")
    ran = sum(r.cells for ln in learners for r in ln.labs)
    failed = sum(len(r.errors) for ln in learners for r in ln.labs)
    out += ["", f"Cells run: {ran}; cells with an error: {failed}.",
            f"Isolation: {len(monitor.samples)} samples of every listening socket; "
            f"kernels seen per learner: "
            f"{', '.join(str(len(monitor.kernels.get(ln.name, ()))) for ln in learners)}; "
            + ("held: every learner process ran as its learner, every listening socket was on "
               "loopback, no port had two owners at once." if not problems else
               "BROKEN: " + "; ".join(problems))]
    clashes = [line.strip() for line in log_text.splitlines() if "Address already in use" in line]
    out.append(f"'Address already in use' in the hub's and servers' log: {len(clashes)}"
               + (f" (first: `{clashes[0]}`)" if clashes else ""))
    if monitor.errors:
        out.append(f"Monitor errors: {monitor.errors}")
    if learners and learners[0].doctor:
        out += ["", f"`labkit doctor` in {learners[0].name}'s kernel:", "", "```",
                learners[0].doctor.strip(), "```"]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    """Parse arguments, run the rehearsal, print the report; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", type=Path, required=True, help="virtualenv for hub and labs")
    parser.add_argument("--python", default="/usr/bin/python3",
                        help="interpreter that makes --venv if missing (must be runnable by all)")
    parser.add_argument("--course", type=Path, default=Path("/srv/antispam-labs"))
    parser.add_argument("--corpus", default="/srv/corpora/spamassassin",
                        help="LABKIT_CORPUS for every kernel (readable by all users)")
    parser.add_argument("--learners", type=int, default=6)
    parser.add_argument("--prefix", default="aslearner")
    parser.add_argument("--labs", default=",".join(DEFAULT_LABS))
    parser.add_argument("--port", type=int, default=0, help="proxy port on 127.0.0.1 (0: any)")
    parser.add_argument("--cell-timeout", type=float, default=600)
    parser.add_argument("--keep", action="store_true", help="keep the users and their homes")
    parser.add_argument("--log", type=Path, help="where the set-up and hub log go (default: temp dir)")
    args = parser.parse_args(argv)
    args.labs = [lab for lab in args.labs.split(",") if lab]
    if os.geteuid() != 0:
        parser.error("must run as root (it creates users and the hub spawns as them)")
    if not 1 <= args.learners <= 200:
        parser.error("--learners must be between 1 and 200")
    missing = [lab for lab in args.labs if not (ROOT / "labs" / lab / f"{lab}.ipynb").exists()]
    if missing:
        parser.error(f"no such labs: {missing}")
    args.venv, args.course = args.venv.absolute(), args.course.absolute()

    state = Path(tempfile.mkdtemp(prefix="hub-workshop-"))
    log = open(args.log or state / "workshop.log", "a", encoding="utf-8")  # noqa: SIM115
    print(f"hub_workshop: state and log in {state}", file=sys.stderr)
    try:
        done = prepare(args, log)
    except subprocess.CalledProcessError as exc:
        print(f"hub_workshop: preparation failed: {exc}; see {log.name}", file=sys.stderr)
        return 2
    learners: list[Learner] = []
    try:
        learners = make_learners(args, log)
    except BaseException:
        remove_learners([Learner(n, pwd.getpwnam(n).pw_uid) for n in _made], log)
        raise
    uids = {ln.name: ln.uid for ln in learners}
    password = secrets.token_urlsafe(12)
    proxy_port = args.port or free_port()
    config = state / "jupyterhub_config.py"
    config.write_text(hub_config(venv=args.venv, proxy_command=Path(done["proxy"]), state=state,
                                 proxy_port=proxy_port, hub_port=free_port(),
                                 proxy_api_port=free_port(), learners=list(uids),
                                 password=password, corpus=args.corpus))
    monitor = Monitor(uids)
    hub = None
    status = 1
    try:
        hub = start_hub(args, state, config, log)
        base = f"http://{LOOPBACK}:{proxy_port}"
        wait_for_hub(base, hub)
        import psutil

        hub_pids = {hub.pid} | {p.pid for p in psutil.Process(hub.pid).children(recursive=True)}
        load = os.getloadavg()[0]
        monitor.start()
        started = time.time()
        t0 = time.perf_counter()
        workshop = Workshop(base, password, args.course, args.labs, monitor, args.cell_timeout)

        async def everyone() -> None:
            await asyncio.gather(*(workshop.run(ln) for ln in learners))

        asyncio.run(everyone())
        wall = time.perf_counter() - t0
        time.sleep(1)
        monitor.stop()
        problems = isolation_problems(monitor.samples, uids, monitor.owners, hub_pids)
        log.flush()
        log_text = Path(log.name).read_text(encoding="utf-8", errors="replace")
        print(report(args, ["benchmarks/hub_workshop.py", *argv], learners, monitor, problems,
                     done, started, wall, load, log_text))
        ok = not problems and all(not ln.problems and len(ln.labs) == len(args.labs)
                                  and not any(r.errors for r in ln.labs) for ln in learners)
        status = 0 if ok else 1
    finally:
        for step in (monitor.stop if monitor.is_alive() else None,
                     (lambda: stop_hub(hub, state, log)) if hub is not None else None,
                     (lambda: remove_learners(learners, log)) if not args.keep else None):
            try:
                if step:
                    step()
            except Exception as exc:  # go on with the next clean-up step
                print(f"hub_workshop: clean-up step failed: {exc!r}", file=sys.stderr)
        for secret in ("cookie_secret", "jupyterhub.sqlite"):  # tokens of deleted users
            (state / secret).unlink(missing_ok=True)
        log.close()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
