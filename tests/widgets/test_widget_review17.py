"""Widgets driven the way a learner drives them, each result checked against labkit's
own check on the same input (SPF trace and counters, DMARC check, ROC counts) or against
what the learner typed (search box, our-server box).

Every test here failed before the fix it guards (session 13 review of labkit/widgets).
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("ipywidgets")

import labkit.auth.dmarc  # noqa: E402
import labkit.auth.spf  # noqa: E402
from labkit.widgets.alignment import AlignmentExplorer  # noqa: E402
from labkit.widgets.inspector import MessageInspector  # noqa: E402
from labkit.widgets.roc import ROCExplorer  # noqa: E402
from labkit.widgets.spf_stepper import SPFStepper  # noqa: E402
from labkit.widgets.terms import KeyTerms  # noqa: E402

# --- SPFStepper ---------------------------------------------------------------------------

@pytest.mark.parametrize(("ip", "domain"), [
    ("192.0.2.109", "toomany.spf.test"),   # the 11th DNS-querying term stops the check
    ("192.0.2.110", "voids.spf.test"),     # a:v3 (a querying term) is the third void look-up
    ("2001:db8:2::100", "toomany.spf.test"),  # over IPv6 the void limit stops it earlier
])
def test_stop_row_counts_the_term_that_stopped_the_check(lab_dns, ip, domain):
    result = labkit.auth.spf.check(ip, f"a@{domain}", "x", dns=lab_dns)
    assert result.result == "permerror"
    w = SPFStepper(result)
    w.value = len(w.rows)
    stop = w.rows[-1]
    assert stop.term == "(stop)"
    # the table's look-up column on the last row and the footer under it agree with labkit
    assert stop.spent == result.dns_mechanisms
    last_cell = re.findall(r"<td>(\d+)</td></tr>", w._view.value)[-1]
    assert int(last_cell) == result.dns_mechanisms
    assert f"DNS-querying terms: {result.dns_mechanisms} of 10" in w.text


def test_mx_host_query_is_shown_under_the_mx_step(lab_dns):
    # i1.toomany.spf.test: "v=spf1 a mx ...", its MX host is i1.toomany.spf.test itself, so
    # over IPv6 the same AAAA query is asked twice: once for "a", once for the MX host
    result = labkit.auth.spf.check("2001:db8:2::100", "a@toomany.spf.test", "x", dns=lab_dns)
    asked = [str(q).split(" ->")[0] for q in result.lookups]
    assert asked.count("i1.toomany.spf.test AAAA") == 2
    w = SPFStepper(result)
    a_row = next(r for r in w.rows if r.term == "a" and r.domain == "i1.toomany.spf.test")
    mx_row = next(r for r in w.rows if r.term == "mx" and r.domain == "i1.toomany.spf.test")
    assert [q.split(" ->")[0] for q in a_row.queries] == ["i1.toomany.spf.test AAAA"]
    assert [q.split(" ->")[0] for q in mx_row.queries] == ["i1.toomany.spf.test MX",
                                                          "i1.toomany.spf.test AAAA"]


# --- AlignmentExplorer --------------------------------------------------------------------

@pytest.mark.parametrize("header_from", ["", "  ", ".", "@"])
def test_empty_from_domain_gives_labkits_permerror(lab_dns, header_from):
    # a learner clears the From box: no From domain, so DMARC cannot pass or fail
    w = AlignmentExplorer("brand.example", "brand.example", "brand.example", dns=lab_dns)
    w.value = {"header_from": header_from}
    ref = labkit.auth.dmarc.check("", dns=lab_dns)
    assert (w.verdict["dmarc"], w.verdict["disposition"]) == (ref.result, ref.disposition)
    assert "permerror" in w.text and "fail" not in w.text.split("DMARC:")[1]
    assert "permerror" in w._view.value


def test_non_empty_from_still_evaluated(lab_dns):
    w = AlignmentExplorer("", "brand.example", "brand.example", dns=lab_dns)
    w.value = {"header_from": "news@brand.example"}
    assert w.verdict["dmarc"] == "pass"


# --- ROCExplorer --------------------------------------------------------------------------

def _shown_counts(text: str) -> tuple[float, int, int, int, int]:
    m = re.search(r"threshold ([0-9.]+): TP (\d+) FP (\d+) TN (\d+) FN (\d+)", text)
    assert m, text
    return float(m.group(1)), *map(int, m.groups()[1:])


def test_shown_threshold_gives_the_shown_counts():
    # lab 09 starts the explorer at pick_threshold's answer, which is a ham's own score
    # (measured there: 0.4173410111330183, shown as "threshold 0.42" with 3 FP; at 0.42
    # the count is 2)
    scores = [0.4026, 0.4173410111330183, 0.4207, 0.95, 0.1]
    labels = [False, False, True, True, False]
    w = ROCExplorer(scores, labels, threshold=0.4173410111330183)
    t, tp, fp, tn, fn = _shown_counts(repr(w))
    # recount by hand at the threshold the learner reads
    assert (tp, fp, tn, fn) == (
        sum(1 for s, y in zip(scores, labels, strict=True) if y and s >= t),
        sum(1 for s, y in zip(scores, labels, strict=True) if not y and s >= t),
        sum(1 for s, y in zip(scores, labels, strict=True) if not y and s < t),
        sum(1 for s, y in zip(scores, labels, strict=True) if y and s < t),
    )
    svg_t = float(re.search(r"threshold ([0-9.]+): ham lost", w.curve.value).group(1))
    assert svg_t == t
    assert w.threshold.readout_format == f".{len(str(t).partition('.')[2])}f"  # the slider too
    # a slider position keeps its short form
    w.threshold.value = 0.5
    assert repr(w).startswith("threshold 0.50:")


def test_text_fallback_is_not_cut():
    w = ROCExplorer([0.9, 0.8, 0.2], [True, True, True])
    plain = w._repr_mimebundle_()["text/plain"]
    assert plain.endswith("they need both spam and ham") and "…" not in plain
    assert w.text == plain


# --- MessageInspector ---------------------------------------------------------------------

_CHAIN = (b"Received: from mail.isp.example (dyn.pool.isp.example [198.51.100.150]) "
          b"by mx.corp.example with ESMTP; Sat, 28 Nov 2026 10:00:00 +0000\r\n"
          b"Received: from pc.isp.example (mail.isp.example [198.51.100.25]) "
          b"by mail.isp.example with ESMTPSA; Sat, 28 Nov 2026 09:58:00 +0000\r\n"
          b"From: taro@isp.example\r\n\r\nhi\r\n")


@pytest.mark.parametrize("typed", [" mx.corp.example", "mx.corp.example ", "\tMX.corp.example.\n"])
def test_spaces_around_our_server_name_are_ignored(typed):
    w = MessageInspector(_CHAIN)
    assert w.result.client_ip == "198.51.100.150"
    w.receiver.value = typed
    assert w.result.client_ip == "198.51.100.150"
    assert "nothing here is verified" not in w.text


def test_several_servers_typed_in_the_box():
    # lab 01: a mail can pass several of our servers; the lowest of our top run is trusted
    msg = (b"Received: from mx.corp.example (mx.corp.example [203.0.113.25]) "
           b"by store.corp.example with LMTP; Sat, 28 Nov 2026 10:00:01 +0000\r\n" + _CHAIN)
    w = MessageInspector(msg, receiver="store.corp.example, mx.corp.example")
    assert w.result.trusted == 1 and w.result.client_ip == "198.51.100.150"


# --- KeyTerms -----------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "found"), [
    ("ＳＰＦ", "SPF"),            # full-width Latin, as a Japanese input method types it
    ("ｓｐｆ", "SPF"),
    ("ﾍﾞｲｼﾞｱﾝ", "Bayesian filter"),  # half-width katakana
    ("ベイジアン", "Bayesian filter"),
])
def test_search_reads_full_and_half_width_forms(typed, found):
    k = KeyTerms([("SPF", "SPF (送信ドメイン認証)", "who may send"),
                  ("Bayesian filter", "ベイジアンフィルタ", "")])
    k.search.value = typed
    assert [t.en for t in k.visible] == [found]
