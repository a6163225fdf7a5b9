"""The benchmark scripts' command lines do what their help and docstrings say.

Each test runs a script in a subprocess in its smallest mode (or only up to the point
where it refuses its input), so none of them measures anything worth reading; they
check what a reader who runs the documented command gets.  None of them writes a
RESULTS file (auth.py always gets ``--no-write``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def _run(script: str, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    environ = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, str(BENCH / script), *args], cwd=cwd or ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)


def test_lab_start_refuses_a_checkout_without_labkit(tmp_path):
    # it measured whatever labkit the interpreter found instead (the installed one),
    # printed under the given folder's name, and exited 0
    proc = _run("lab_start.py", "--what", "dns", "--n", "1", "--rounds", "1", str(tmp_path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no labkit" in proc.stderr
    assert str(tmp_path) in proc.stderr
    assert "dns " not in proc.stdout  # no measurement row


def test_lab_start_measures_its_own_checkout_by_default(tmp_path):
    # the default checkout was '.', i.e. wherever the command was typed
    proc = _run("lab_start.py", "--what", "dns", "--n", "1", "--rounds", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("dns ")]
    assert len(rows) == 1
    assert str(ROOT)[-28:] in rows[0]
    assert str(tmp_path)[-28:] not in rows[0]


def test_auth_baseline_refuses_a_folder_without_labkit(tmp_path):
    # the baseline child imported the installed labkit and the report called it "earlier"
    proc = _run("auth.py", "--quick", "--no-write", "--baseline", str(tmp_path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no labkit" in proc.stderr
    assert "earlier" not in proc.stdout


def test_auth_help_says_which_options_rewrite_the_results_file():
    text = " ".join(_run("auth.py", "--help").stdout.split())
    assert "RESULTS-auth.md is rewritten unless --no-write" in text
    assert "--quick" in text and "instead of --rounds" in text


def test_filters_stages_refuses_when_nothing_is_compiled():
    # with no compiled module both columns ran the Python code, under a 'compiled' heading
    proc = _run("filters_stages.py", "--source", "/nonexistent-corpus", LABKIT_PURE_PYTHON="1")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no compiled" in proc.stderr
    assert "| stage |" not in proc.stdout


def test_many_labs_help_names_the_default_sizes():
    text = " ".join(_run("many_labs.py", "--help").stdout.split())
    assert "default 10 30" in text
    assert "one Lab alone" in text


def _module(script: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(script.removesuffix(".py"), BENCH / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smtp_load_counts_refused_throughput_messages_as_a_problem():
    # its exit code looked at the reliability part only: a pipeline that refused mail
    # published the rate of what it accepted and exited 0
    problems = _module("smtp_load.py").problems
    reliable = {"missing": 0, "doubled": 0, "stray": 0, "failed": 0}
    all_in = {"messages": 50, **{p: {"accepted": 50} for p in ("pipeline", "sink", "storing_sink")}}
    assert problems({"reliability": reliable, "throughput": all_in}) == []
    refused = dict(all_in, pipeline={"accepted": 31})
    assert problems({"reliability": reliable, "throughput": refused}) == [
        "throughput: pipeline accepted 31 of 50 messages"]
    assert problems({"reliability": dict(reliable, doubled=2), "throughput": all_in}) == [
        "reliability: 2 doubled"]


def test_smtp_load_says_what_is_wrong_with_a_corpus_folder(tmp_path):
    # a relative --bayes path typed from another folder ended in a CorpusError traceback
    proc = _run("smtp_load.py", "--bayes", str(tmp_path / "no-corpus-here"), "--messages", "1")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--bayes:" in proc.stderr and "Traceback" not in proc.stderr


def test_auth_sanity_failures_are_named_and_stop_the_write_up():
    sanity = _module("auth.py").sanity_problems
    good = {"spf": "pass", "dkim_rsa": ["pass"], "dkim_ed25519": ["pass"], "peer_pyspf": "pass",
            "peer_dkimpy_verify": True}
    assert sanity(good) == []
    assert sanity(dict(good, dkim_rsa=["fail"])) == ["dkim_rsa: ['fail'], expected ['pass']"]
