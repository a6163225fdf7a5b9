"""The ``labkit`` command audited again (session 17) by a demanding user: what a shell
pipeline, a copied SMTP transcript or a link-local address feeds it.

Each case failed before its fix; tests/test_cli_audit.py, test_cli_review13.py and
test_cli_bad_input.py hold the earlier audits'.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from labkit.cli import main

MAIL = (b"From: News <news@brand.example>\r\nTo: alice@corp.example\r\nSubject: Hi\r\n"
        b"Message-ID: <1@brand.example>\r\n\r\nHello there.\r\n")
SPF_FAIL_IP = "192.0.2.99"  # brand.example's record is "v=spf1 ip4:192.0.2.10 -all"


@pytest.fixture()
def model(tmp_path):
    """A small saved Fisher filter (two messages learned), as `labkit bayes train` writes."""
    from labkit.filters import bayes

    f = bayes.make("fisher")
    f.learn(MAIL, False)
    f.learn(b"Subject: cheap pills\r\n\r\nwinner winner\r\n", True)
    path = tmp_path / "model.json"
    f.save(path)
    return path


def labkit(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """Run ``python -m labkit.cli ARGS`` as a learner would (bytes in and out)."""
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], input=stdin,
                          capture_output=True, timeout=120, env=dict(os.environ))


def one_line_error(code: int, err: str, *expected: str) -> None:
    """Exit 2 and one ``labkit: ...`` line on stderr holding each of ``expected``."""
    assert code == 2, err
    assert err.startswith("labkit: ") and err.count("\n") == 1, err
    for text in expected:
        assert text in err, err


# --- an empty message: the usual sign of a step before it that failed -------------------

def test_verify_after_a_failed_sign_in_a_pipe_is_not_ok(tmp_path):
    # `labkit dkim sign ... | labkit dkim verify -`: the sign fails (no such key), verify
    # read nothing and said "nothing to verify" with exit 0, so the pipeline looked fine
    msg = tmp_path / "m.eml"
    msg.write_bytes(MAIL)
    sign = labkit("dkim", "sign", str(msg), "-d", "brand.example", "-s", "nokey")
    assert sign.returncode == 2 and sign.stdout == b"", sign.stderr
    verify = labkit("dkim", "verify", "-", stdin=sign.stdout)
    one_line_error(verify.returncode, verify.stderr.decode(), "standard input", "empty")


@pytest.mark.parametrize("argv", [
    ["dkim", "verify", "{file}"],
    ["dkim", "sign", "{file}", "-d", "brand.example", "-s", "s2026"],
    ["auth", "check", "{file}", "--ip", "192.0.2.10", "--mail-from", "news@brand.example",
     "--helo", "mail.brand.example"],
], ids=["dkim-verify", "dkim-sign", "auth-check"])
def test_an_empty_message_file_is_bad_input(tmp_path, capsys, model, argv):
    # before: verify exit 0 "nothing to verify", auth check a quarantine verdict (exit 1):
    # each a fact about no message at all
    empty = tmp_path / "signed.eml"
    empty.write_bytes(b"")
    argv = [a.format(file=empty, model=model) for a in argv]
    code = main(argv)
    one_line_error(code, capsys.readouterr().err, str(empty), "empty")


def test_bayes_score_scores_an_empty_file_with_the_others_and_says_it_is_empty(tmp_path, capsys, model):
    # issue #5: an empty message gets a score, never an exception; one empty file in a
    # batch must not cost the other files their scores. The empty one is named on stderr.
    good, empty = tmp_path / "good.eml", tmp_path / "empty.eml"
    good.write_bytes(MAIL)
    empty.write_bytes(b"")
    code = main(["bayes", "score", "--model", str(model), str(good), str(empty)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [line.split(":")[0] for line in out.splitlines()] == [str(good), str(empty)], out
    assert str(empty) in err and "empty" in err and str(good) not in err, err


def test_bayes_score_reads_standard_input_once(model):
    # `bayes score --model m.json - -`: the second '-' read an empty stdin and scored it 0.5
    proc = labkit("bayes", "score", "--model", str(model), "-", "-", stdin=MAIL)
    one_line_error(proc.returncode, proc.stderr.decode(), "'-'", "once")


# --- MAIL FROM as an SMTP transcript writes it -----------------------------------------

@pytest.mark.parametrize("mail_from, identity, result", [
    ("<>", "helo", "none"),  # RFC 5321 4.5.5: the null reverse-path
    ("<news@brand.example>", "mailfrom", "fail"),
])
def test_mail_from_in_angle_brackets_is_read_as_the_api_reads_it(capsys, mail_from, identity, result):
    # before: "MAIL FROM domain: '<>' is not a domain name" (exit 2), while
    # lk.auth.spf.check(ip, "<>", helo) gives the null sender's answer
    code = main(["spf", "check", SPF_FAIL_IP, mail_from, "mail.brand.example", "--json"])
    res = json.loads(capsys.readouterr().out)
    assert (res["identity"], res["result"]) == (identity, result)
    assert code == (1 if result == "fail" else 0)


def test_auth_check_takes_the_null_sender_in_brackets(tmp_path, capsys):
    msg = tmp_path / "m.eml"
    msg.write_bytes(MAIL)
    code = main(["auth", "check", str(msg), "--ip", "192.0.2.10", "--mail-from", "<>",
                 "--helo", "mail.brand.example", "--json"])
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["spf"]["identity"] == "helo" and verdict["spf"]["mail_from"] == ""
    assert code in (0, 1)


def test_a_second_unquoted_at_sign_is_bad_input(capsys):
    # `a@b@brand.example` is no mailbox (RFC 5321 4.1.2: '@' only inside a quoted local
    # part); it came out "none: brand.example does not publish SPF" with exit 0, from an
    # address that brand.example's -all refuses
    code = main(["spf", "check", SPF_FAIL_IP, "a@b@brand.example", "mail.brand.example"])
    one_line_error(code, capsys.readouterr().err, "a@b@brand.example", "quoted")


# --- an IPv6 address with a zone index is no client address ------------------------------

@pytest.mark.parametrize("argv", [
    ["spf", "check", "fe80::1%eth0", "news@brand.example", "mail.brand.example"],
    ["auth", "check", "{msg}", "--ip", "fe80::1%eth0", "--mail-from", "news@brand.example",
     "--helo", "mail.brand.example"],
], ids=["spf-check", "auth-check"])
def test_an_address_with_a_zone_index_is_bad_input(tmp_path, capsys, argv):
    # before: spf check gave permerror "Only hex digits permitted in '1%eth0'" (exit 1)
    msg = tmp_path / "m.eml"
    msg.write_bytes(MAIL)
    code = main([a.format(msg=msg) for a in argv])
    one_line_error(code, capsys.readouterr().err, "fe80::1%eth0", "zone index")
