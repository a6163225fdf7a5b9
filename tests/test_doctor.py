"""``labkit doctor``: one table, exit 0 when the labs can run, 1 when they cannot."""

from __future__ import annotations

import json
import subprocess
import sys

import labkit.doctor


def _doctor(*args, env=None):
    return subprocess.run([sys.executable, "-m", "labkit.cli", "doctor", *args],
                          capture_output=True, text=True, timeout=120, env=env)


def test_doctor_json_reports_every_check_and_a_working_lab_dns():
    out = _doctor("--json", "--offline")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    names = [c["name"] for c in report["checks"]]
    assert names == ["python", "packages", "client addresses", "lab DNS", "live DNS", "corpus"]
    lab = next(c for c in report["checks"] if c["name"] == "lab DNS")
    assert lab["status"] == "ok" and "RRsets" in lab["detail"]
    assert report["ok"] is True


def test_doctor_fails_when_the_zones_are_missing(tmp_path):
    import os

    env = dict(os.environ, LABKIT_DATA=str(tmp_path))
    out = _doctor("--offline", env=env)
    assert out.returncode == 1
    assert "FAIL" in out.stdout and f"{tmp_path}/zones" in out.stdout


def test_live_dns_is_never_asked_when_offline(monkeypatch):
    monkeypatch.setenv("LABKIT_OFFLINE", "1")
    report = labkit.doctor.run()
    live = next(c for c in report.checks if c.name == "live DNS")
    assert live.status == "degraded" and "LABKIT_OFFLINE" in live.detail
    assert "<table>" in report._repr_html_()
