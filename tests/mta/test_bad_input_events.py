"""``events.entries(event=...)`` with a name labkit never logs: before, a typo such
as ``"auht"`` answered ``[]`` without a word (a host typo already warned).
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

import labkit
import labkit.mta
from labkit.mta import events, make_message


@pytest.fixture(scope="module")
def lab(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, scorer=None) as running:
        yield running


def _msg(subject: str) -> bytes:
    return make_message(from_="news@brand.example", to="alice@corp.example", subject=subject,
                        body="body\n")


# ------------------------------------------------------------------ 7. event names
def test_entries_warns_for_an_event_name_labkit_never_logs(lab):
    lab.send(_msg("events"), from_host="mail.brand.example")
    with pytest.warns(UserWarning, match="did you mean 'auth'"):
        assert lab.events.entries(event="auht") == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a known name not logged yet is a fair empty answer
        assert events.EventLog().entries(event="forged-results") == []
        lab.events.entries(event="verdict")


def test_event_names_list_every_event_labkit_logs():
    """EVENT_NAMES must grow with the code, or entries() would warn about a real name."""
    root = Path(labkit.__file__).parent
    logged = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in ("event", "_event", "record") and len(node.args) >= 2:
                args = node.args[1:3] if name == "record" else node.args[1:2]
                logged |= {a.value for a in args
                           if isinstance(a, ast.Constant) and isinstance(a.value, str)}
            logged |= {k.value.value for k in node.keywords if k.arg == "event"
                       and isinstance(k.value, ast.Constant) and name in ("relay", "attempt")}
    logged.discard("isp-gateway")  # record(host, session, event): the host, not the event
    assert logged and logged <= events.EVENT_NAMES, sorted(logged - events.EVENT_NAMES)
