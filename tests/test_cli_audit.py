"""The ``labkit`` command run as a learner runs it (a real subprocess), fed what a
demanding user feeds it: paths that cannot be made, URLs that are not URLs, file names
that are not UTF-8, addresses off the machine, numbers out of range, a write that fails
half-way. Each case wants one ``labkit: ...`` line on stderr, exit 2 (bad usage or input)
or 1 (a failure), no traceback and nothing half-written left behind.

tests/test_cli_bad_input.py and tests/filters/test_cli.py cover the cases found before
(bad zones, malformed domains, damaged models...); this file holds the later audit's."""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import sys

import pytest


def labkit(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m labkit.cli ARGS`` and return the finished process (bytes output).

    ``timeout`` only stops a command that never ends (a server that should have refused
    to start); it is no measure of speed."""
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], capture_output=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def one_line_error(proc: subprocess.CompletedProcess, code: int, *expected: str) -> str:
    """Assert exit ``code`` and a single ``labkit: ...`` line on stderr holding ``expected``."""
    err = proc.stderr.decode(errors="replace")
    assert "Traceback" not in err, err
    assert proc.returncode == code, err
    assert err.startswith("labkit: ") and err.count("\n") == 1, err
    for text in expected:
        assert text in err, err
    return err


# --- corpus fetch: a --dest that cannot be made, a --base-url that is no URL -----------

def test_fetch_dest_that_cannot_be_made_is_exit_2():
    proc = labkit("corpus", "fetch", "--dest", "/proc/no/such/folder",
                  "--base-url", "file:///nonexistent")
    one_line_error(proc, 2, "--dest /proc/no/such/folder")


@pytest.mark.parametrize("url", ["not a url", "www.example.com/corpus", "gopher://x/"])
def test_fetch_base_url_that_is_no_url_is_exit_2(tmp_path, url):
    dest = tmp_path / "corpus"
    one_line_error(labkit("corpus", "fetch", "--dest", str(dest), "--base-url", url), 2,
                   "--base-url", "http://")
    assert not dest.exists()  # nothing made for a download that cannot start


def test_failed_fetch_leaves_no_empty_dest(tmp_path):
    dest = tmp_path / "corpus"
    proc = labkit("corpus", "fetch", "--dest", str(dest), "--base-url", f"file://{tmp_path}/none")
    one_line_error(proc, 1, "download of")
    assert not dest.exists()


# --- file names that are not UTF-8, with a locale whose stdout is strict UTF-8 ----------

def test_non_utf8_file_name_is_printed_without_a_traceback(tmp_path):
    out = os.fsencode(tmp_path) + b"/keys-\xff"
    # PYTHONIOENCODING makes stdout strict UTF-8, as an en_US.UTF-8 locale does
    proc = subprocess.run([sys.executable, "-m", "labkit.cli", "dkim", "keygen", "--type",
                           "ed25519", "--out", out], capture_output=True, timeout=60,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert proc.returncode == 0 and b"Traceback" not in proc.stderr, proc.stderr
    assert out + b"/dkim-ed25519.pem" in proc.stdout  # the name as the file system has it


# --- dns serve --host: the lab DNS serves this machine only --------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::1", "::"])
def test_serve_refuses_a_host_off_ipv4_loopback(host):
    proc = labkit("dns", "serve", "--host", host, timeout=60)  # before: served until stopped
    err = one_line_error(proc, 2, f"--host {host}", "127.")
    assert "port" not in err.split("(")[0]


# --- a write that fails half-way (disk full, quota): the old file stays, no partial one --

def _file_size_limit(limit: int):
    """preexec_fn: writing past ``limit`` bytes fails with EFBIG, as on a full disk."""
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _limited(limit: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], capture_output=True,
                          timeout=300, preexec_fn=_file_size_limit(limit))


def test_train_out_that_cannot_be_written_whole_keeps_the_old_model(tmp_path, corpus_dir):
    model = tmp_path / "model.json"
    model.write_text("the model trained yesterday")
    # the corpus' model is some MB; 1 MB of it fits before the "disk" is full
    proc = _limited(1 << 20, "bayes", "train", "--source", str(corpus_dir), "--out", str(model))
    one_line_error(proc, 2, f"--out {model}", "File too large")
    assert model.read_text() == "the model trained yesterday"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]  # no partial file either


def test_keygen_that_cannot_be_written_whole_leaves_no_half_key(tmp_path):
    proc = _limited(64, "dkim", "keygen", "--type", "ed25519", "--out", str(tmp_path))
    one_line_error(proc, 2, "--out", "File too large")
    assert list(tmp_path.iterdir()) == []


def test_keygen_keeps_an_existing_key_unless_forced(tmp_path):
    args = ("dkim", "keygen", "--type", "ed25519", "--selector", "s1", "--domain",
            "corp.example", "--out", str(tmp_path))
    assert labkit(*args).returncode == 0
    first = (tmp_path / "s1.pem").read_bytes()
    one_line_error(labkit(*args), 2, "s1.pem", "--force")
    assert (tmp_path / "s1.pem").read_bytes() == first  # the published key still signs
    proc = labkit(*args, "--force")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "s1.pem").read_bytes() != first
    assert (tmp_path / "s1.pem").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s1.pem", "s1.txt"]


def test_keygen_bits_with_ed25519_is_exit_2_and_a_refused_size_makes_no_folder(tmp_path):
    out = tmp_path / "keys"
    one_line_error(labkit("dkim", "keygen", "--type", "ed25519", "--bits", "4096",
                          "--out", str(out)), 2, "--bits")
    one_line_error(labkit("dkim", "keygen", "--bits", "-5", "--out", str(out)), 2, "2048..8192")
    assert not out.exists()


# --- bayes evaluate -k: only with --split kfold, and no more folds than messages --------

@pytest.mark.parametrize("args, expected", [
    (["--split", "md5", "-k", "5"], "-k goes with --split kfold"),
    (["-k", "-3"], "-k goes with --split kfold"),
    # every 500th message: 13 of them; 14 folds cannot each hold one
    (["--split", "kfold", "-k", "14", "--every", "500"], "13 messages"),
    # one message: no spam and ham to train and measure ("no messages scored", exit 0, before)
    (["--every", "100000000"], "leaves 1 message(s), not both spam and ham"),
])
def test_evaluate_k_out_of_place_is_exit_2(args, expected, corpus_dir):
    proc = labkit("bayes", "evaluate", "--source", str(corpus_dir), *args)
    one_line_error(proc, 2, expected)


# --- --help: every command says what its exit codes mean; every argument says what it is --

def _commands() -> list[str]:
    from labkit.cli import _leaves, build_parser

    return [path for path, _ in _leaves(build_parser())]


def test_every_command_is_in_the_exit_status_table():
    from labkit.cli import EXIT_1

    assert sorted(_commands()) == sorted(EXIT_1)


@pytest.mark.parametrize("command", _commands())
def test_help_gives_exit_codes_and_a_word_on_every_argument(command):
    from labkit.cli import EXIT_1, _leaves, build_parser

    proc = labkit(*command.split(), "--help", timeout=60)
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr
    flat = " ".join(out.split())
    assert "exit status: 0 ok" in flat and "2 bad usage or bad input" in flat, out
    if EXIT_1.get(command):
        assert f"1 {' '.join(EXIT_1[command].split())}" in flat, out
    parser = dict(_leaves(build_parser()))[command]
    silent = [a.dest for a in parser._actions if not a.help]
    assert not silent, f"labkit {command} --help says nothing about {silent}"


def test_release_refused_leaves_no_empty_dest(tmp_path):
    dest = tmp_path / "release"
    one_line_error(labkit("release", "99", "--no-db", "--dest", str(dest)), 2, "no lab called '99'")
    assert not dest.exists()


def test_score_with_a_folder_as_model_says_it_is_a_folder(tmp_path):
    msg = tmp_path / "m.eml"
    msg.write_bytes(b"Subject: hi\r\n\r\nhello\r\n")
    one_line_error(labkit("bayes", "score", "--model", str(tmp_path), str(msg)), 2,
                   f"--model {tmp_path} is a folder")


@pytest.mark.parametrize("group", ["dns", "spf", "auth", "dkim", "corpus", "bayes"])
def test_every_command_group_names_its_sub_commands_alike(group):
    usage = labkit(group, "--help", timeout=60).stdout.decode().splitlines()[0]
    assert usage == f"usage: labkit {group} [-h] ACTION ...", usage


# --- dkim sign on binary garbage: one readable line, not the whole header quoted -------

def test_sign_garbage_quotes_only_the_start_of_the_bad_line(tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(random.Random(7).randbytes(3000))  # binary: its first 'header' line has no name
    err = one_line_error(labkit("dkim", "sign", str(garbage), "-d", "corp.example", "-s", "lab2026"),
                         2, "cannot sign this message", "Unexpected characters in RFC822 header")
    assert len(err) < 200, err


# --- spf check with no domain at all --------------------------------------------------

def test_spf_check_with_empty_mail_from_and_helo_says_there_is_no_domain():
    out = labkit("spf", "check", "192.0.2.1", "", "")
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr
    assert "none (no domain to check" in text and "(record)" not in text, text
    assert "Received-SPF: none (mx.corp.example: no domain to check)" in text, text


# --- log lines look like the error lines -------------------------------------------------

def test_warnings_read_like_the_error_lines(tmp_path):
    """'labkit: warning: ...' (was Python's default 'WARNING:labkit.filters.corpus:...');
    with -v the info lines also name the part of labkit that speaks."""
    empty = tmp_path / "empty"
    empty.mkdir()
    err = labkit("corpus", "verify", "--source", str(empty)).stderr.decode()
    assert "labkit: warning: corpus folders missing in" in err, err
    assert "WARNING:" not in err, err
    err = labkit("-v", "dns", "dig", "brand.example", "MX", "--lab").stderr.decode()
    assert "labkit: info [labkit.dns.server]: LabDNS serving on 127.0.0.1" in err, err
