"""``labkit demo``: the story, end to end, through the real command."""

from __future__ import annotations

import json
import subprocess
import sys

import labkit.mta.demo

# what the course's story says must happen (issue 4): scenario -> (SPF, DKIM, DMARC, ARC, outcome)
STORY = {
    "legitimate signed mail": ("pass", "pass", "pass", "none", "delivered"),
    "forged From, foreign address": ("fail", None, "fail", None, "rejected 550 5.7.1"),
    "alignment-break phish": ("pass", "pass", "fail", None, "rejected 550 5.7.1"),
    "forwarded mail": ("fail", "pass", "pass", None, "delivered"),
    "mailing-list mail": (None, "fail", None, "pass", "delivered"),
    "bot on a dynamic address": (None, None, None, None, "blocked (OP25B)"),
    "unauthenticated relay attempt": (None, None, None, None, "rejected 554 at RCPT"),
    "unknown recipient": (None, None, None, None, "rejected 550 at RCPT"),
    # the ISP's submission service signs its customer's mail with isp.example's key
    "customer submits on 587 with AUTH": ("pass", "pass", "pass", None, "delivered"),
}


def _check_story(out):
    assert out["ok"] is True
    rows = {r["scenario"]: r for r in out["rows"]}
    for name, (spf, dkim, dmarc, arc, outcome) in STORY.items():
        r = rows[name]
        assert r["disposition"].startswith(outcome), r
        for col, want in (("spf", spf), ("dkim", dkim), ("dmarc", dmarc), ("arc", arc)):
            if want is not None:
                assert r[col] == want, (name, col, r)
    assert rows["bot on a dynamic address"]["client"] == "198.51.100.150"
    assert rows["forwarded mail"]["client"] == "198.51.100.40"


def test_labkit_demo_json_plays_the_story():
    proc = subprocess.run([sys.executable, "-m", "labkit.cli", "demo", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _check_story(json.loads(proc.stdout))


def test_demo_story_over_the_proxy_protocol():
    result = labkit.mta.demo.run(client_addressing="proxy")
    assert result.addressing == "proxy"
    _check_story(result.to_dict())


def test_demo_table_and_failure_exit_code(lab, monkeypatch, capsys):
    result = labkit.mta.demo.run(lab=lab)
    table = result.table()
    assert table.splitlines()[0].split()[:3] == ["scenario", "client", "address"]
    assert "every scenario got its expected outcome" in table
    assert "<table>" in result._repr_html_()
    # a story whose expectation cannot hold makes the command exit 1
    broken = [("legitimate signed mail", "rejected",
               labkit.mta.demo.scenarios()[0][2])]
    monkeypatch.setattr(labkit.mta.demo, "scenarios", lambda: broken)
    from labkit.cli import main

    assert main(["demo"]) == 1
    assert "EXPECTED rejected" in capsys.readouterr().out
