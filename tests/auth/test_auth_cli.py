"""The CLI: labkit spf check|lint, labkit auth check — exit codes and --json against the
course zones (in process, and once as a real subprocess reading stdin)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from labkit.cli import main

MAIL = b"From: Brand News <news@brand.example>\r\nTo: alice@corp.example\r\nSubject: hi\r\n\r\nHello\r\n"


def test_spf_check_pass_and_fail_exit_codes(capsys):
    assert main(["spf", "check", "192.0.2.10", "news@brand.example", "mail.brand.example", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["result"] == "pass" and data["lookups"][0]["name"] == "brand.example"
    assert main(["spf", "check", "203.0.113.66", "news@brand.example", "mail.attacker.test"]) == 1
    assert "Received-SPF: fail" in capsys.readouterr().out


def test_bad_usage_exits_2(tmp_path):
    assert main(["spf", "check", "999.1.1.1", "a@b.example", "h"]) == 2
    assert main(["auth", "check", str(tmp_path / "missing.eml"), "--ip", "192.0.2.10",
                 "--mail-from", "a@b.example", "--helo", "h"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["auth", "check"])
    assert exc.value.code == 2


def test_spf_lint_exit_codes(capsys):
    assert main(["spf", "lint", "brand.example"]) == 0
    assert main(["spf", "lint", "plusall.spf.test", "--json"]) == 1
    out = capsys.readouterr().out
    assert '"plus-all"' in out


def test_auth_check_file(tmp_path, capsys):
    path = tmp_path / "forged.eml"
    path.write_bytes(MAIL)
    code = main(["auth", "check", str(path), "--ip", "198.51.100.150", "--mail-from", "news@brand.example",
                 "--helo", "dyn-198-51-100-150.pool.isp.example", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["disposition"] == "reject"
    assert data["dmarc"]["result"] == "fail"
    assert data["header"].startswith("Authentication-Results: mx.corp.example;")


def test_zones_option(tmp_path, capsys):
    zone = tmp_path / "z.zone"
    zone.write_text('$ORIGIN own.test.\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n@ TXT "v=spf1 ip4:192.0.2.77 -all"\n')
    assert main(["spf", "check", "192.0.2.77", "x@own.test", "h", "--zones", str(zone)]) == 0
    assert main(["spf", "check", "192.0.2.77", "x@own.test", "h", "--zones", str(tmp_path / "nope")]) == 2


def test_dkim_commands_registered_too():
    from labkit.cli import build_parser

    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert {"spf", "auth", "dkim"} <= set(choices)


def test_auth_check_reads_stdin():
    proc = subprocess.run([sys.executable, "-m", "labkit.cli", "auth", "check", "-", "--ip", "192.0.2.10",
                           "--mail-from", "news@brand.example", "--helo", "mail.brand.example", "--json"],
                          input=MAIL, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dmarc"]["result"] == "pass"  # SPF aligned pass
