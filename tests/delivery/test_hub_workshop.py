"""The pure parts of benchmarks/hub_workshop.py, and the guide's claims about its run.

The driver itself is not run here (it needs root, creates Unix users and starts a real
JupyterHub): these tests check the configuration it writes (every bind on loopback,
LocalProcessSpawner, the corpus for every kernel), its isolation verdict on made-up
listener samples, and that the numbers docs/instructor-guide.md quotes from the
rehearsal are in benchmarks/RESULTS-hub.md.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from traitlets.config import Config

from tests.conftest import ROOT

SPEC = importlib.util.spec_from_file_location("hub_workshop", ROOT / "benchmarks" / "hub_workshop.py")
hub_workshop = importlib.util.module_from_spec(SPEC)
sys.modules.setdefault("hub_workshop", hub_workshop)  # dataclasses look their module up there
SPEC.loader.exec_module(hub_workshop)
Listener = hub_workshop.Listener


def _config(**overrides) -> tuple[str, Config]:
    kwargs = dict(venv=Path("/opt/hubenv"), proxy_command=Path("/opt/hubenv/chp/chp"),
                  state=Path("/tmp/state"), proxy_port=8000, hub_port=8081, proxy_api_port=8001,
                  learners=["aslearner1", "aslearner2"], password="not-a-secret",
                  corpus="/srv/corpora/spamassassin")
    kwargs.update(overrides)
    text = hub_workshop.hub_config(**kwargs)
    c = Config()
    exec(compile(text, "jupyterhub_config.py", "exec"), {"get_config": lambda: c})
    return text, c


def test_config_binds_only_loopback():
    text, c = _config()
    urls = [c.JupyterHub.bind_url, c.JupyterHub.hub_bind_url, c.ConfigurableHTTPProxy.api_url]
    hosts = [urlsplit(url).hostname for url in urls]
    assert hosts == ["127.0.0.1"] * 3, urls
    assert [urlsplit(url).port for url in urls] == [8000, 8081, 8001]
    assert c.Spawner.ip == "127.0.0.1"
    # nothing else in the file names an address that is not loopback
    for addr in re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", text):
        assert ipaddress.ip_address(addr).is_loopback, addr
    assert "0.0.0.0" not in text and "'::'" not in text


def test_config_spawns_each_learner_as_a_local_user_with_the_corpus():
    text, c = _config()
    assert c.JupyterHub.spawner_class == "jupyterhub.spawner.LocalProcessSpawner"
    assert c.Spawner.cmd == ["/opt/hubenv/bin/jupyterhub-singleuser"]
    assert c.Spawner.environment == {"LABKIT_CORPUS": "/srv/corpora/spamassassin"}
    assert c.Spawner.default_url == "/lab"
    assert c.Spawner.notebook_dir == "~"
    assert c.Authenticator.allowed_users == {"aslearner1", "aslearner2"}
    assert c.JupyterHub.authenticator_class == "dummy"
    assert c.DummyAuthenticator.password == "not-a-secret"
    assert "TEST ONLY" in text  # the config says the authenticator is for a test


def test_driver_says_it_is_not_run_in_ci():
    assert "NOT RUN IN CI" in hub_workshop.__doc__


UIDS = {"aslearner1": 1001, "aslearner2": 1002}
OWNERS = {"aslearner1": {1001}, "aslearner2": {1002}}


def test_isolation_holds_for_separate_loopback_ports():
    samples = [[Listener(1001, 10, "tcp", "127.0.0.1", 40001), Listener(1002, 20, "tcp", "127.0.0.1", 40002),
                Listener(1002, 21, "udp", "127.0.0.1", 40001),  # udp and tcp are separate ports
                Listener(0, 5, "tcp", "0.0.0.0", 22)],  # sshd: not the hub's, not a learner's
               [Listener(1002, 20, "tcp", "127.0.0.1", 40001)]]  # reused later: not at once
    assert hub_workshop.isolation_problems(samples, UIDS, OWNERS, {1}) == []


@pytest.mark.parametrize("sample, owners, words", [
    ([Listener(1001, 10, "tcp", "0.0.0.0", 40001)], OWNERS, "not loopback"),
    ([Listener(0, 1, "tcp", "192.0.2.1", 8000)], OWNERS, "not loopback"),  # the hub itself
    ([Listener(1001, 10, "tcp", "127.0.0.1", 40001), Listener(1002, 20, "tcp", "127.0.0.1", 40001)],
     OWNERS, "at the same time"),
    ([], {"aslearner1": {1001, 0}, "aslearner2": {1002}}, "ran as uid [0]"),
    ([], {"aslearner1": {1001}}, "no process of aslearner2"),
])
def test_isolation_problems_are_named(sample, owners, words):
    problems = hub_workshop.isolation_problems([sample], UIDS, owners, {1})
    assert len(problems) == 1 and words in problems[0], problems


def test_guide_quotes_the_rehearsal_as_recorded():
    """Every figure the guide quotes from the hub rehearsal is in RESULTS-hub.md."""
    guide = (ROOT / "docs" / "instructor-guide.md").read_text(encoding="utf-8")
    results = (ROOT / "benchmarks" / "RESULTS-hub.md").read_text(encoding="utf-8")
    paragraphs = [p for p in guide.split("\n\n") if "RESULTS-hub.md" in p]
    assert paragraphs, "the instructor guide no longer points to benchmarks/RESULTS-hub.md"
    text = " ".join(paragraphs[0].split())
    figures = re.findall(r"\d+(?:\.\d+)+|\d+ MiB", text)
    assert len(figures) >= 5, figures  # versions, memory, times
    missing = [f for f in figures if f not in results]
    assert not missing, f"the guide quotes {missing}, which RESULTS-hub.md does not have"
    for unchecked in ("bootstrap.py", "SystemdSpawner", "Zero to JupyterHub"):
        assert unchecked in text, f"the guide should still say {unchecked} was not checked"
    assert "not in CI" in text
