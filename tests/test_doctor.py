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
    assert names == ["python", "packages", "client addresses", "lab DNS", "live DNS", "corpus",
                     "speed-ups"]
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


def _corpus_check(env_corpus):
    import os

    env = dict(os.environ, LABKIT_CORPUS=str(env_corpus))
    out = _doctor("--json", "--offline", env=env)
    return next(c for c in json.loads(out.stdout)["checks"] if c["name"] == "corpus")


def test_an_empty_corpus_folder_is_not_ok(tmp_path):
    """LABKIT_CORPUS pointing at a folder without the corpus: 'labkit corpus info' fails
    there, so the doctor must not say ok."""
    check = _corpus_check(tmp_path)
    assert check["status"] == "degraded", check
    assert "none of the corpus folders" in check["detail"] and "labkit corpus fetch" in check["detail"], check


def test_a_corpus_folder_missing_some_folders_names_them(tmp_path):
    import labkit.filters.corpus as corpus

    present = list(corpus.FOLDERS)[:2]
    for folder in present:
        (tmp_path / folder).mkdir()
    check = _corpus_check(tmp_path)
    assert check["status"] == "degraded", check
    for folder in corpus.FOLDERS:
        assert (folder in check["detail"].split("lacks", 1)[1]) == (folder not in present), check


def test_doctor_says_when_the_compiled_loops_are_switched_off():
    import os

    out = _doctor("--json", "--offline", env=dict(os.environ, LABKIT_PURE_PYTHON="1"))
    check = next(c for c in json.loads(out.stdout)["checks"] if c["name"] == "speed-ups")
    assert check["status"] == "degraded"
    assert "LABKIT_PURE_PYTHON" in check["detail"] and "same scores" in check["detail"]
    assert "pip install" not in check["detail"]  # nothing to build: they were switched off
