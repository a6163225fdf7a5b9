"""On/off switches outside labkit.mta given text: refused, not read as True.

Found by probing each public ``bool`` parameter with ``"no"``: every one below took it
as True (a progress bar shown, a PTR check kept on, a live DNS check run, a detailed
trace printed, a UDP port reserved).  They now fail as :func:`labkit._coerce.flag`
does: a ``TypeError`` that names the argument.  (labkit.mta's and labkit.dns's own
switches are covered in tests/mta/ and tests/dns/.)
"""

from __future__ import annotations

import pytest

import labkit as lk
import labkit.doctor
import labkit.filters.corpus as corpus
import labkit.net
from labkit.errors import UsageError
from labkit.filters.evaluate import Evaluation, plot_roc

SWITCH = "must be True or False, not 'no'"


def test_spam_scorer_check_rdns_refuses_text():
    with pytest.raises(TypeError, match=f"check_rdns {SWITCH}"):
        lk.filters.SpamScorer(check_rdns="no")
    scorer = lk.filters.SpamScorer()
    assert scorer.check_rdns is True
    with pytest.raises(TypeError, match="check_rdns must be True or False"):
        scorer.check_rdns = "off"  # an assignment too: judge() reads it later
    assert scorer.check_rdns is True
    scorer.check_rdns = False
    assert scorer.check_rdns is False


def test_train_progress_refuses_text():
    f = lk.filters.Robinson()
    with pytest.raises(TypeError, match=f"progress {SWITCH}"):
        f.train([b"Subject: a\n\ncheap pills"], [True], progress="no")
    f.train([b"Subject: a\n\ncheap pills"], [True], progress=False)  # still taken
    f.train([b"Subject: b\n\nlunch at noon"], [False], progress=None)
    assert (f.nspam, f.nham) == (1, 1)


@pytest.mark.parametrize("kw", ["verify", "progress"])
def test_corpus_load_switches_refuse_text(corpus_dir, kw):
    with pytest.raises(TypeError, match=f"{kw} {SWITCH}"):
        corpus.load(corpus_dir, folders=["hard_ham"], **{kw: "no"})


def test_corpus_verify_and_fetch_check_their_arguments(tmp_path):
    with pytest.raises(TypeError, match=f"progress {SWITCH}"):
        corpus.verify(tmp_path, progress="no")
    with pytest.raises(TypeError, match=f"progress {SWITCH}"):
        corpus.fetch(tmp_path, progress="no")
    with pytest.raises(TypeError, match="timeout must be a number of seconds"):
        corpus.fetch(tmp_path, timeout="60")
    with pytest.raises(UsageError, match="timeout must be a number of seconds above 0"):
        corpus.fetch(tmp_path, timeout=0)
    assert not any(tmp_path.iterdir())  # nothing was fetched


def test_plot_roc_log_refuses_text():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    ev = Evaluation(filter="f", mode="test", scores=(0.1, 0.9), ranks=(0.1, 0.9),
                    labels=(False, True), names=("h", "s"))
    with pytest.raises(TypeError, match=f"log {SWITCH}"):
        plot_roc([ev], log="no")
    with pytest.raises(TypeError, match=f"log {SWITCH}"):
        ev.plot_roc(log="no")
    assert ev.plot_roc(log=False).get_xscale() == "linear"


def test_doctor_run_live_refuses_text(monkeypatch):
    # no check is run before the argument is read (live="no" used to ask the real DNS)
    monkeypatch.setattr(labkit.doctor, "CHECKS", ())
    with pytest.raises(TypeError, match=f"live {SWITCH}"):
        labkit.doctor.run(live="no")
    assert labkit.doctor.run(live=False).checks == ()


def test_verdict_explain_detail_refuses_text(lab_dns):
    msg = lk.mta.make_message(from_="news@brand.example", to="alice@corp.example",
                              subject="s", body="b\n")
    verdict = lk.auth.evaluate(msg, ip="203.0.113.66", mail_from="news@brand.example",
                               helo="mail.brand.example", dns=lab_dns)
    with pytest.raises(TypeError, match=f"detail {SWITCH}"):
        verdict.explain(detail="no")
    assert "SPF (MAIL FROM):" not in verdict.explain(detail=False)
    assert "SPF (MAIL FROM):" in verdict.explain(detail=True)


def test_free_port_udp_too_refuses_text():
    with pytest.raises(TypeError, match=f"udp_too {SWITCH}"):
        labkit.net.free_port(udp_too="no")
    assert 0 < labkit.net.free_port(udp_too=False) < 65536
