"""Labs 00-05: what a learner saw after the SMTP replies gained enhanced status codes (walk1).

Each test runs the lab's own cells (nbclient, a fresh kernel, the stored solutions) and
checks the output the prose now describes, then the prose itself:

- lab 00: the defence trail's table shows the ``mechanism`` column the text points at
  (PLAIN, then LOGIN, for the wrong password);
- lab 01: the steps read ``250 2.1.0 OK`` / ``250 2.1.5 OK`` / ``250 2.0.0``, and the EHLO
  step a bare ``250``: the text explains reply codes, RFC 3463 codes, and why EHLO has none
  (RFC 2034 section 4), and the key terms name both;
- lab 03: a policy that returns ``250 OK`` reaches the client as ``250 2.1.0 OK``;
- lab 04: an ``l=`` signature with text appended passes with two warnings, not one;
- lab 05: the aggregate report states ``<sp>quarantine</sp>`` for a record without ``sp=``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.notebooks.test_prose_sources import _cell

LABS = Path(__file__).resolve().parents[2] / "labs"

pytestmark = [pytest.mark.slow, pytest.mark.notebook]


def _run(lab: str, ids: list[str], extra: str = "") -> dict[str, str]:
    """Run the cells ``ids`` of ``lab`` (in that order), then ``extra``, in one kernel;
    return, by cell id, the text a learner sees (streams and text/plain results)."""
    nb = nbformat.read(str(LABS / lab / f"{lab}.ipynb"), as_version=4)
    by_id = {c.get("id"): c for c in nb.cells}
    nb.cells = [copy.deepcopy(by_id[i]) for i in ids]
    if extra:
        nb.cells.append(nbformat.v4.new_code_cell(extra, id="extra"))
    NotebookClient(nb, kernel_name="python3", timeout=180, allow_errors=False,
                   resources={"metadata": {"path": str(LABS / lab)}}).execute()
    return {c["id"]: "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                             for o in c.outputs) for c in nb.cells}


def test_lab00_defence_trail_shows_the_mechanism_column():
    out = _run("00-setup", ["2", "4", "5", "7", "16", "defence-trail-send", "defence-trail-log"],
               extra="lab.stop(); lab_dns.stop()")
    rows = [line.split() for line in out["defence-trail-log"].splitlines()]
    auth = [row for row in rows if len(row) > 2 and row[2] == "auth"]
    assert [(row[-2], row[-1]) for row in auth] == [("PLAIN", "reject"), ("LOGIN", "reject"),
                                                    ("PLAIN", "accept")], out["defence-trail-log"]
    text = _cell("00-setup", "defence-trail-read")
    assert "(the `mechanism` column says which)" in text, text
    assert "the log's `mechanism` field" not in text, text


def test_lab01_steps_show_enhanced_status_codes_and_the_prose_explains_them():
    out = _run("01-anatomy", ["2", "5"], extra=(
        "import smtplib\n"
        "_host, _port = lab.endpoint('mx.corp.example', 25)\n"
        "with smtplib.SMTP(_host, _port, local_hostname='mail.isp.example',"
        " source_address=(lk.net.to_loopback('198.51.100.25'), 0)) as _s:\n"
        "    print('EHLO', _s.ehlo()[0], 'ENHANCEDSTATUSCODES' if _s.has_extn('enhancedstatuscodes') else 'none')\n"
        "lab.stop()"))
    steps = out["5"]
    for shown in ("'EHLO mail.isp.example -> 250'", "'MAIL FROM:<taro@isp.example> -> 250 2.1.0 OK'",
                  "'RCPT TO:<bob@corp.example> -> 250 2.1.5 OK'", "'DATA -> 250 2.0.0 Ok: queued as"):
        assert shown in steps, (shown, steps)
    assert "EHLO 250 ENHANCEDSTATUSCODES" in out["extra"], out["extra"]
    text = _cell("01-anatomy", "6")
    for said in ("three-digit **reply code** (RFC 5321 §4.2)", "`ENHANCEDSTATUSCODES`",
                 "**enhanced status code** (RFC 3463)", "in `2.1.5`", "`2.1.0`", "`2.0.0`",
                 "(RFC 2034 §4), which is why the EHLO step shows a bare `250`"):
        assert said in text, (said, text)
    terms = _cell("01-anatomy", "26")
    assert '"SMTP reply code", "SMTP応答コード"' in terms and '"enhanced status code", "拡張ステータスコード"' in terms


def test_lab03_a_250_ok_policy_reaches_the_client_as_250_2_1_0():
    out = _run("03-spf", ["code-03", "code-05", "code-43", "ex3-spf-reply", "code-spf-policy-plug"], extra=(
        "_mail = lk.mta.make_message(from_='news@brand.example', to='alice@corp.example', subject='s', body='b')\n"
        "print(repr(spf_reply('pass')))\n"
        "print('\\n'.join(lab.send(_mail, from_host='mail.brand.example').steps))\n"
        "lab.stop(); lab_dns.stop()"))
    assert "'250 OK'" in out["extra"], out["extra"]
    assert "MAIL FROM:<news@brand.example> -> 250 2.1.0 OK" in out["extra"], out["extra"]
    text = _cell("03-spf", "md-ex3")
    assert "so the client reads `250 2.1.0 OK`" in text, text
    terms = _cell("03-spf", "code-61")
    assert '"SMTP reply code", "SMTP応答コード"' in terms and '"enhanced status code", "拡張ステータスコード"' in terms


def test_lab04_l_tag_passes_with_two_warnings():
    out = _run("04-dkim", ["code-03", "code-05", "code-40"], extra=(
        "_r = lk.auth.dkim.verify(appended, dns=lab_dns)[0]\n"
        "print(_r.result, len(_r.warnings), all(f'warning: {w}' in _r.steps for w in _r.warnings))\n"
        "print('\\n'.join(_r.warnings))\n"
        "lab_dns.stop()"))
    first, *warnings = out["extra"].splitlines()
    assert first == "pass 2 True", out["extra"]
    assert "only the first" in warnings[0] and "body bytes after l= are not covered" in warnings[1], warnings
    text = _cell("04-dkim", "md-41")
    assert "Its two `warnings` (repeated as `warning:` lines in its `steps`) are the only hint" in text, text


def test_lab05_report_states_sp_the_record_did_not_publish():
    out = _run("05-dmarc", ["code-03", "code-25", "code-26", "code-32", "code-35", "code-37", "code-38"], extra=(
        "import xml.etree.ElementTree as _ET\n"
        "_pp = _ET.fromstring(str(report3).encode()).find('{urn:ietf:params:xml:ns:dmarc-2.0}policy_published')\n"
        "_rec = lk.auth.dmarc.discover('none.dmarc.test', dns=lab_dns).record\n"
        "print(_rec.p, _rec.sp, _pp.findtext('{urn:ietf:params:xml:ns:dmarc-2.0}sp'))\n"
        "lab_dns.stop()"))
    assert "<sp>quarantine</sp>" in out["code-38"], out["code-38"]
    assert out["extra"].strip() == "quarantine None quarantine", out["extra"]
    text = _cell("05-dmarc", "md-39")
    assert "The record published `p=quarantine` and no `sp=`, yet the report says `<sp>quarantine</sp>`" in text, text
