"""Bad input to the ``labkit`` sub-commands (all but corpus and bayes, which
tests/filters/test_cli.py covers): a one-line error and exit 2, never a traceback;
Ctrl-C exits 130 and a closed stdout exits quietly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

import labkit.cli
from labkit.cli import main

MAIL = b"From: a@corp.example\r\nTo: b@x.example\r\nSubject: hi\r\n\r\nbody\r\n"
SPF = ["spf", "check", "192.0.2.1"]


def _labkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "labkit.cli", *args]


def _one_line_error(capsys, code: int, *expected: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("labkit: ") and err.count("\n") == 1, err
    for text in expected:
        assert text in err
    return err


@pytest.fixture()
def bad_zones(tmp_path):
    """A zone path that does not exist, a binary file, and a folder whose x.zone is a folder."""
    garbage = tmp_path / "garbage.zone"
    garbage.write_bytes(bytes(range(256)))
    folder = tmp_path / "zones"
    (folder / "x.zone").mkdir(parents=True)
    return {"missing": (str(tmp_path / "nope"), "does not exist"),
            "binary": (str(garbage), "not UTF-8"),
            "folder": (str(folder), "Is a directory")}


@pytest.fixture()
def msg(tmp_path):
    path = tmp_path / "m.eml"
    path.write_bytes(MAIL)
    return str(path)


@pytest.mark.parametrize("kind", ["missing", "binary", "folder"])
@pytest.mark.parametrize("command", ["dns-serve", "dns-dig", "spf", "dkim-verify", "auth"])
def test_bad_zones_are_exit_2(bad_zones, msg, capsys, command, kind):
    zones, expected = bad_zones[kind]
    argv = {
        "dns-serve": ["dns", "serve"],
        "dns-dig": ["dns", "dig", "corp.example", "--lab"],
        "spf": [*SPF, "a@corp.example", "corp.example"],
        "dkim-verify": ["dkim", "verify", msg],
        "auth": ["auth", "check", msg, "--ip", "192.0.2.1", "--mail-from", "a@corp.example",
                 "--helo", "corp.example"],
    }[command]
    _one_line_error(capsys, main([*argv, "--zones", zones]), expected)


@pytest.mark.parametrize("host", ["300.1.1.1", "::gg"])
def test_serve_bad_host_names_the_host_not_the_port(capsys, host):
    err = _one_line_error(capsys, main(["dns", "serve", "--host", host]), "--host", "not an IP address")
    assert "port" not in err


def test_spf_alone_prints_spf_help(capsys):
    assert main(["spf"]) == 2
    out = capsys.readouterr().out
    assert "labkit spf" in out and "labkit auth" not in out


def test_trailing_dot_is_the_same_domain(capsys):
    assert main([*SPF, "a@corp.example.", "corp.example.", "--json"]) == 1
    res = json.loads(capsys.readouterr().out)
    assert res["result"] == "fail" and res["domain"] == "corp.example"
    assert main(["spf", "lint", "corp.example.", "--json"]) == 0


def test_idn_is_checked_as_a_labels(capsys):
    main([*SPF, "a@例え.jp", "例え.jp", "--json"])
    res = json.loads(capsys.readouterr().out)
    assert res["domain"] == "xn--r8jz45g.jp"
    assert "xn--r8jz45g.jp" in res["header"] and "__.jp" not in res["header"]


LONG = "a" * 300 + ".com"


@pytest.mark.parametrize("argv, expected", [
    ([*SPF, "a@exa mple.com", "corp.example"], "MAIL FROM domain"),
    ([*SPF, f"a@{LONG}", "corp.example"], "63 octets"),
    ([*SPF, "a@corp.example", "exa mple.com"], "HELO"),
    (["spf", "lint", "exa mple.com"], "not a domain name"),
    (["dkim", "sign", "{msg}", "-d", "exa mple.com", "-s", "lab2026"], "--domain"),
    (["dkim", "keygen", "--type", "ed25519", "--selector", "bad sel", "--domain", "corp.example",
      "--out", "{tmp}"], "--selector"),
    (["dkim", "keygen", "--type", "ed25519", "--selector", "s", "--domain", "a..example",
      "--out", "{tmp}"], "--domain"),
    (["auth", "check", "{msg}", "--ip", "192.0.2.1", "--mail-from", "a@corp.example", "--helo", "x",
      "--trust-arc", "a b"], "--trust-arc"),
])
def test_malformed_domains_are_exit_2(capsys, tmp_path, msg, argv, expected):
    argv = [a.format(msg=msg, tmp=tmp_path / "keys") for a in argv]
    _one_line_error(capsys, main(argv), expected)
    assert not (tmp_path / "keys").exists() or not any((tmp_path / "keys").iterdir())


def test_address_literal_helo_still_accepted(capsys):
    assert main([*SPF, "a@corp.example", "[192.0.2.1]"]) == 1  # SPF fail, not bad input


@pytest.mark.parametrize("out", ["{file}", "{file}/sub", "/proc/x/out"])
def test_keygen_unwritable_out_is_exit_2(capsys, tmp_path, out):
    (tmp_path / "f").write_text("x")
    out = out.format(file=tmp_path / "f")
    _one_line_error(capsys, main(["dkim", "keygen", "--type", "ed25519", "--out", out]), "--out")


def test_release_dest_that_is_a_file_is_exit_2(capsys, tmp_path):
    dest = tmp_path / "f"
    dest.write_text("x")
    _one_line_error(capsys, main(["release", "3", "--no-db", "--dest", str(dest)]), "--dest",
                    "not a folder")


def test_auth_check_folder_as_message_says_so(capsys, tmp_path):
    _one_line_error(capsys, main(["auth", "check", str(tmp_path), "--ip", "192.0.2.1",
                                  "--mail-from", "a@corp.example", "--helo", "corp.example"]),
                    "Is a directory")


def test_ctrl_c_anywhere_in_main_is_130(monkeypatch):
    def interrupted():
        raise KeyboardInterrupt  # e.g. while the sub-commands are imported

    monkeypatch.setattr(labkit.cli, "build_parser", interrupted)
    try:
        code = main(["doctor"])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped labkit.cli.main (a traceback for the learner)")
    assert code == 130


def test_ctrl_c_stops_dns_serve_with_130_and_frees_the_port():
    proc = subprocess.Popen(_labkit("dns", "serve"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = proc.stdout.readline()
        assert " port " in line, proc.stderr.read()
        port = int(line.split(" port ")[1].split()[0])
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))  # nothing left behind


def test_closed_stdout_is_quiet(tmp_path):
    read, write = os.pipe()
    os.close(read)  # the reader has gone, as with `labkit ... | head -1` once head has its line
    out = subprocess.run(_labkit("dkim", "keygen", "--type", "ed25519", "--out", str(tmp_path)),
                         stdout=write, stderr=subprocess.PIPE, text=True, timeout=60)
    os.close(write)
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr, out.stderr
    assert out.returncode == 141
