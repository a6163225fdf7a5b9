"""The ``labkit`` command reviewed as a demanding user reads it (session 13): a help
text must say what the command really does (the option order its usage line shows
works, the defaults are named, the files it writes are the ones it names), ``--json``
must hold what the text shows, and an error must name the real cause.

Each case failed before its fix; tests/test_cli_audit.py holds the earlier audit's."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.cli import _leaves, build_parser, main

MAIL = (b"From: News <news@brand.example>\r\nTo: alice@corp.example\r\nSubject: Hi\r\n"
        b"Message-ID: <1@brand.example>\r\n\r\nHello there.\r\n")


def labkit(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m labkit.cli ARGS`` as a learner would (bytes output)."""
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], capture_output=True,
                          timeout=120, env={**os.environ, **(env or {})})


# --- help texts -----------------------------------------------------------------------

def _options_with_defaults() -> list[tuple[str, str, object]]:
    """(command, option, default) for every option whose default is a real value."""
    found = []
    for path, leaf in _leaves(build_parser()):
        for action in leaf._actions:
            if isinstance(action, argparse._StoreConstAction):
                continue  # a mode switch (dns dig --live/--lab): the description says the rest
            if action.default in (None, False, [], argparse.SUPPRESS):
                continue
            found.append((path, "/".join(action.option_strings) or action.dest, action))
    return found


@pytest.mark.parametrize("command,option,action", _options_with_defaults(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_help_names_each_default(command, option, action):
    # `labkit auth check --help` said nothing of --method's treewalk, `dkim keygen` nothing
    # of --out's current folder, `bayes evaluate` nothing of --every's 1
    assert "default" in (action.help or ""), f"labkit {command} {option}: default {action.default!r} unsaid"


def test_keygen_help_names_the_files_it_writes(tmp_path):
    # without --selector the pair is dkim-rsa.pem/.txt, not "<selector>.pem"
    proc = labkit("dkim", "keygen", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["dkim-rsa.pem", "dkim-rsa.txt"]
    helptext = " ".join(labkit("dkim", "keygen", "--help").stdout.decode().split())
    assert "dkim-<type>.pem" in helptext and "current folder" in helptext, helptext


# --- dkim sign --headers: the order the usage line shows --------------------------------

def test_dkim_sign_headers_then_file_as_usage_shows(tmp_path):
    # usage: labkit dkim sign ... [--headers ...] ... file; --headers took the file as one
    # more header name and the command ended "the following arguments are required: file"
    msg = tmp_path / "m.eml"
    msg.write_bytes(MAIL)
    proc = labkit("dkim", "sign", "-d", "brand.example", "-s", "s2026",
                  "--headers", "from:subject", str(msg))
    assert proc.returncode == 0, proc.stderr.decode()
    signature = proc.stdout.split(b"\r\n\r\n")[0].decode()
    h = re.search(r"\bh=([^;]+);", signature).group(1)
    assert [x.strip() for x in h.split(":")] == ["from", "subject"], signature
    # repeatable, and a comma list still works
    proc = labkit("dkim", "sign", "-d", "brand.example", "-s", "s2026",
                  "--headers", "from,to", "--headers", "subject", str(msg))
    assert proc.returncode == 0, proc.stderr.decode()
    h = re.search(r"\bh=([^;]+);", proc.stdout.decode()).group(1)
    assert [x.strip() for x in h.split(":")] == ["from", "to", "subject"]


# --- dns record under LABKIT_OFFLINE: the real cause -----------------------------------

def test_dns_record_offline_says_labkit_offline(monkeypatch, capsys, tmp_path):
    # said "no DNS resolver is configured on this machine" on a machine that has one
    monkeypatch.setenv("LABKIT_OFFLINE", "1")
    snapshots = Path(__file__).resolve().parents[1] / "data" / "snapshots"
    before = {p.name: p.read_bytes() for p in snapshots.glob("*.json")}
    assert main(["dns", "record", "_dmarc.gmail.com/TXT"]) == 1
    err = capsys.readouterr().err
    assert "LABKIT_OFFLINE" in err and "no DNS resolver is configured" not in err, err
    assert {p.name: p.read_bytes() for p in snapshots.glob("*.json")} == before
    # a malformed NAME/TYPE stays bad usage (2), offline or not
    assert main(["dns", "record", "a/b/c"]) == 2


# --- bayes train --json holds what the text says --------------------------------------

def _tiny_corpus(root: Path) -> Path:
    """Three ham and three spam messages, named as the public corpus names them."""
    for folder, words in (("easy_ham", "meeting agenda notes"), ("spam", "cheap pills winner")):
        (root / folder).mkdir(parents=True)
        for i in range(3):
            raw = (f"From: a{i}@example.com\nSubject: {words} {i}\n\n{words} number {i}\n").encode()
            (root / folder / f"{i:05d}.{hashlib.md5(raw).hexdigest()}").write_bytes(raw)
    return root


def test_bayes_train_json_has_the_token_count_the_text_shows(tmp_path, capsys):
    source = _tiny_corpus(tmp_path / "corpus")
    common = ["bayes", "train", "--source", str(source), "--set", "all"]
    assert main([*common, "--out", str(tmp_path / "a.json")]) == 0
    text = capsys.readouterr().out
    tokens = int(re.search(r"; (\d+) tokens>", text).group(1))
    assert main([*common, "--out", str(tmp_path / "b.json"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["nham"], data["nspam"], data["tokens"]) == (3, 3, tokens)
