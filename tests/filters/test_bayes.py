"""The Bayes family: formulas on hand-computed examples, save/load, unlearn, incremental."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2

import labkit.filters as F
from labkit.filters.bayes import chi2q, log_chi2_tails

HAM = [["meeting", "money", "agenda"], ["meeting", "lunch"]]
SPAM = [["free", "money", "cash"], ["free", "cash", "viagra"]]


def _train(f):
    for t in HAM:
        f.learn_tokens(t, False)
    for t in SPAM:
        f.learn_tokens(t, True)
    return f


def test_untrained_filters_are_neutral():
    for f in (F.Graham(), F.Robinson(), F.Fisher(), F.Multinomial(), F.SklearnNB()):
        assert f.score(b"Subject: hi\n\nhello") == 0.5


def test_graham_by_hand():
    f = _train(F.Graham(min_count=1))
    # free: g=0, b=2 -> 1/(0+1) = 1, clamped to 0.99; meeting: 0 -> 0.01
    assert f.probability("free") == 0.99 and f.probability("meeting") == 0.01
    # money: g = 2*1 = 2 -> min(1, 2/2) = 1; b = 1 -> 1/2; p = 0.5 / 1.5
    assert f.probability("money") == pytest.approx(1 / 3)
    expected = (0.99 * (1 / 3)) / (0.99 * (1 / 3) + 0.01 * (2 / 3))
    assert f.score_tokens(["free", "money"]) == pytest.approx(expected)
    # unknown tokens count as 0.4
    expected = (0.99 * 0.4) / (0.99 * 0.4 + 0.01 * 0.6)
    assert f.score_tokens(["free", "neverseen"]) == pytest.approx(expected)
    # with the default min_count of 5, two sightings are not enough
    assert F.Graham().probability("free") == 0.4


def test_robinson_by_hand():
    f = _train(F.Robinson())
    s, x = 0.45, 0.5
    f_free = (s * x + 2 * 1.0) / (s + 2)
    f_agenda = (s * x + 1 * 0.0) / (s + 1)
    assert f.probability("free") == pytest.approx(f_free)
    # one clue: P = f, Q = 1 - f, S = 2f - 1, score = f
    assert f.score_tokens(["free", "money"]) == pytest.approx(f_free)  # money: p = 0.5, ignored
    P = 1 - math.sqrt((1 - f_free) * (1 - f_agenda))
    Q = 1 - math.sqrt(f_free * f_agenda)
    assert f.score_tokens(["free", "agenda"]) == pytest.approx((1 + (P - Q) / (P + Q)) / 2)


def test_robinson_clue_cap_min_dev_and_fresh_after_learning():
    f = _train(F.Robinson(max_discriminators=1))
    s, x = 0.45, 0.5
    f_free = (s * x + 2 * 1.0) / (s + 2)  # the most extreme of free, agenda, lunch
    # with one clue allowed, only "free" counts: score = f(free)
    assert f.score_tokens(["agenda", "free", "lunch"]) == pytest.approx(f_free)
    g = _train(F.Robinson(min_dev=0.4))
    # f(agenda) = 0.225/1.45 is 0.345 from 0.5: below min_dev, so only "free" is a clue
    assert g.score_tokens(["agenda", "free"]) == pytest.approx(f_free)
    # scores follow further learning (no stale cached f(w)): same as a fresh filter
    before = g.score_tokens(["agenda", "free"])
    g.learn_tokens(["free", "agenda"], False)
    fresh = _train(F.Robinson(min_dev=0.4))
    fresh.learn_tokens(["free", "agenda"], False)
    after = g.score_tokens(["agenda", "free"])
    assert after == pytest.approx(fresh.score_tokens(["agenda", "free"])) and after != before


def test_chi2_tails_against_scipy():
    for x2, v in [(0.5, 2), (3.0, 4), (50.0, 10), (300.0, 6), (2000.0, 300), (10.0, 300)]:
        # the plain series underflows to 0 beyond e^-745; the log version does not
        assert chi2q(x2, v) == pytest.approx(
            chi2.sf(x2, v), rel=1e-9, abs=1e-300 if x2 < 1400 else 1e-200
        )
        q, p = log_chi2_tails(x2, v)
        assert q == pytest.approx(chi2.logsf(x2, v), rel=1e-9, abs=1e-12)
        assert p == pytest.approx(chi2.logcdf(x2, v), rel=1e-9, abs=1e-12)


def test_fisher_by_hand_with_scipy():
    f = _train(F.Fisher())
    s, x = 0.45, 0.5
    fs = [
        (s * x + 2) / (s + 2),
        (s * x + 0) / (s + 2),
        (s * x + 2) / (s + 2),
    ]  # free, meeting, cash
    H = chi2.sf(-2 * sum(math.log(p) for p in fs), 2 * len(fs))
    S = chi2.sf(-2 * sum(math.log(1 - p) for p in fs), 2 * len(fs))
    assert f.score_tokens(["free", "meeting", "cash"]) == pytest.approx((1 + H - S) / 2)
    # cutoffs and the unsure band
    assert (f.status(0.1), f.status(0.5), f.status(0.95)) == ("ham", "unsure", "spam")


def test_multinomial_matches_scikit_learn():
    from sklearn.naive_bayes import MultinomialNB

    f = _train(F.Multinomial())
    vocab = sorted({t for doc in HAM + SPAM for t in doc})
    X = np.array([[doc.count(w) for w in vocab] for doc in HAM + SPAM])
    y = np.array([0] * len(HAM) + [1] * len(SPAM))
    nb = MultinomialNB(alpha=1.0).fit(X, y)
    for doc in (["free", "free", "meeting"], ["lunch", "money"], ["cash", "unknownword"]):
        row = np.array([[doc.count(w) for w in vocab]])
        assert f.score_tokens(doc) == pytest.approx(nb.predict_proba(row)[0, 1])


def test_unlearn_restores_counts():
    f = _train(F.Fisher())
    before = {k: list(v) for k, v in f.counts.items()}
    f.learn_tokens(["free", "brandnew"], True)
    f.unlearn_tokens(["free", "brandnew"], True)
    assert f.counts == before and (f.nham, f.nspam) == (2, 2)
    m = _train(F.Multinomial())
    totals = list(m.total)
    m.learn_tokens(["x", "x", "free"], False)
    m.unlearn_tokens(["x", "x", "free"], False)
    assert m.total == totals and "x" not in m.counts


def test_incremental_equals_batch(subset):
    a, b = F.Fisher(), F.Fisher()
    a.train(subset[:200])
    for m in subset[:100]:
        b.learn(m.raw, m.spam)
    b.train(subset[100:200])
    assert a.counts == b.counts
    assert [a.score(m.raw) for m in subset[200:220]] == [b.score(m.raw) for m in subset[200:220]]


@pytest.mark.parametrize("kind", ["graham", "robinson", "fisher", "multinomial", "sklearn"])
@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_save_load_round_trip(kind, suffix, subset, tmp_path):
    params = {"strength": 0.3} if kind in ("robinson", "fisher") else {}
    f = F.make(kind, **params).train(subset[:150])
    path = f.save(tmp_path / f"model{suffix}")
    g = F.load_filter(path)
    assert type(g) is type(f) and (g.nham, g.nspam) == (f.nham, f.nspam)
    if params:
        assert g.strength == 0.3
    test = subset[150:190]
    assert [g.score(m.raw) for m in test] == pytest.approx(
        [f.score(m.raw) for m in test], abs=1e-12
    )
    # the loaded filter keeps learning
    g.learn(test[0].raw, test[0].spam)


def test_load_rejects_other_files(tmp_path):
    from labkit.errors import UsageError

    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "fisher"}')
    with pytest.raises(UsageError):
        F.load_filter(bad)
    bad.write_bytes(b"\x80\x04not json")
    with pytest.raises(UsageError):
        F.load_filter(bad)


def test_explain_lists_decisive_tokens():
    f = _train(F.Fisher())
    e = f.explain(b"Subject: x\n\nfree cash meeting")
    tokens = [t for t, _ in e.clues]
    assert tokens[:2] != [] and {"free", "cash", "meeting"} <= set(tokens)
    assert "free" in str(e) and "<table>" in e._repr_html_()


def _clues_by_formula(f, tokens, slack=1e-12):
    """(token, f(w)) of the clues of ``tokens``, straight from Robinson's definitions."""
    clues = []
    for t in set(tokens):
        c = f.counts.get(t)
        if c is None:
            continue
        h, s = c
        hr, sr = h / f.nham, s / f.nspam
        p = sr / (hr + sr) if hr + sr else f.prior
        fw = (f.strength * f.prior + (h + s) * p) / (f.strength + h + s)
        if abs(fw - 0.5) >= f.min_dev - slack:
            clues.append((t, fw))
    return clues


def _geometric_mean_score(clues):
    """Robinson's combination of clue probabilities (exact sums); 0.5 without clues."""
    if not clues:
        return 0.5
    n = len(clues)
    P = 1 - math.exp(math.fsum(math.log(1 - p) for p in clues) / n)
    Q = 1 - math.exp(math.fsum(math.log(p) for p in clues) / n)
    return (1 + (P - Q) / (P + Q)) / 2


def _robinson_by_formula(f, tokens):
    """Robinson's score straight from the definitions (every clue, exact sums)."""
    return _geometric_mean_score([fw for _, fw in _clues_by_formula(f, tokens)])


def test_memoised_scoring_matches_the_formula_lazily_and_in_bulk(subset):
    from labkit.filters.bayes import _FULL_AFTER
    from labkit.filters.tokens import tokenize

    f = F.Robinson(strength=0.1, min_dev=0.2, max_discriminators=10_000).train(subset[:300])
    test = [tokenize(m.raw) for m in subset[300 : 300 + 2 * _FULL_AFTER]]
    got = [f.score_tokens(t) for t in test]  # the first few fill the memo lazily, then all at once
    assert f._memo["full"]
    assert got == pytest.approx([_robinson_by_formula(f, t) for t in test], rel=1e-12)
    # the same messages again, now from the complete table: the very same numbers
    assert [f.score_tokens(t) for t in test] == got


def test_memo_follows_a_learn_then_unlearn_that_restores_the_totals():
    f = _train(F.Robinson())
    before = f.score_tokens(["meeting", "free"])
    # totals go 2 -> 3 -> 2 ham, but "meeting" lost a ham sighting: f(meeting) changed
    f.learn_tokens(["lunch"], False)
    f.unlearn_tokens(["meeting"], False)
    fresh = F.Robinson()
    fresh.counts = {k: list(v) for k, v in f.counts.items()}
    fresh.nham, fresh.nspam = f.nham, f.nspam
    assert f.score_tokens(["meeting", "free"]) == fresh.score_tokens(["meeting", "free"]) != before


def test_scores_do_not_depend_on_the_hash_seed(corpus_dir, tmp_path):
    """Set order changes with PYTHONHASHSEED; scores (summed exactly) must not."""
    import subprocess
    import sys

    script = tmp_path / "scores.py"
    script.write_text(
        "import sys, labkit.filters as F, labkit.filters.corpus as C\n"
        "ms = sorted(C.load(sys.argv[1]), key=lambda m: m.md5)[::40]\n"
        "out = []\n"
        "for kind in ('robinson', 'fisher', 'graham'):\n"
        "    f = F.make(kind).train(ms[:100])\n"
        "    out += [repr(f.score(m.raw)) for m in ms[100:130]]\n"
        "    out += [repr(c) for c in f.explain(ms[100].raw).clues]\n"
        "print(' '.join(out))\n"
    )
    runs = {
        subprocess.run(
            [sys.executable, str(script), str(corpus_dir)],
            env={**__import__("os").environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1


def test_complete_table_caps_the_clues_like_the_formula(subset):
    """From the complete f(w) table, more clues than max_discriminators: the most extreme
    ones count (ties by token text), as computed here from the counts."""
    from labkit.filters.tokens import tokenize

    cap = 25
    f = F.Robinson(strength=0.1, min_dev=0.2, max_discriminators=cap).train(subset[:300])
    lazy = F.Robinson(strength=0.1, min_dev=0.2, max_discriminators=cap).train(subset[:300])
    f._warm()
    assert f._memo["full"]
    capped = 0
    for m in subset[300:340]:
        toks = tokenize(m.raw)
        clues = [
            (abs(math.log(fw) - math.log(1 - fw)), t, fw)
            for t, fw in _clues_by_formula(f, toks, slack=0.0)
        ]
        capped += len(clues) > cap
        expected = _geometric_mean_score([fw for _, _, fw in sorted(clues, reverse=True)[:cap]])
        got = f.score_tokens(toks)
        assert got == pytest.approx(expected, rel=1e-12)
        # the lazily filled memo of an unwarmed twin gives the very same number
        assert lazy.score_tokens(toks) == got
    assert capped > 10  # the cap was exercised


def test_chi2_tails_beyond_the_factorial_table_against_scipy():
    # many degrees of freedom: ln i! is taken from a table grown on demand
    for x2, v in [(3000.0, 4000), (4100.0, 4000), (9000.0, 8002), (20.0, 2), (7000.0, 8002)]:
        q, p = log_chi2_tails(x2, v)
        assert q == pytest.approx(chi2.logsf(x2, v), rel=1e-9, abs=1e-12)
        assert p == pytest.approx(chi2.logcdf(x2, v), rel=1e-9, abs=1e-12)
