"""SVMSenderRobinson: SenderRobinson's rank plus a linear SVM on character 4-grams."""

from __future__ import annotations

import math
import os
import random

import numpy as np
import pytest

import labkit.filters as F
from labkit.errors import UsageError
from labkit.filters import ensemble
from labkit.filters.ensemble import SVMSenderRobinson
from labkit.filters.reputation import SenderRobinson
from labkit.filters.tokens import tokenize


@pytest.fixture(scope="module")
def small(subset):
    """About 200 real corpus messages to learn, 60 to score (mixed folders)."""
    return subset[:200], subset[200:260]


@pytest.fixture(scope="module")
def trained(small):
    train, _ = small
    return SVMSenderRobinson(reputation=0.2).train(train)


def test_exported():
    assert F.SVMSenderRobinson is SVMSenderRobinson


def test_rank_is_words_plus_weight_times_the_svm_margin(small, trained):
    _, test = small
    raws = [m.raw for m in test]
    words = SenderRobinson(reputation=0.2)
    for m in small[0]:
        words.learn(m.raw, m.spam)
    svm = trained.svm_margins(raws)
    assert np.abs(svm).max() > 0.1  # the SVM takes part
    want = [words.rank_tokens(tokenize(r)) + 0.3 * s for r, s in zip(raws, svm, strict=True)]
    assert trained.log_odds_many(raws) == pytest.approx(want, abs=1e-12)
    m = test[0]
    assert trained.rank(m.raw) == pytest.approx(want[0], abs=1e-12)
    assert trained.score(m.raw) == pytest.approx(1 / (1 + math.exp(-want[0])))
    assert trained.classify(m.raw) == trained.status(trained.score(m.raw))


def test_svm_margins_are_the_fitted_svms_decision_function_to_the_last_bit(small, trained):
    # svm_margins computes the product itself (skipping scikit-learn's input checks)
    raws = [m.raw for m in small[1]]
    want = trained._model().decision_function(trained._features(raws))
    assert np.array_equal(trained.svm_margins(raws), want)
    assert np.array_equal(trained.svm_margins(raws[:1]), want[:1])


def test_separates_real_ham_from_spam(small, trained):
    _, test = small
    ev = F.evaluate.run(SVMSenderRobinson(reputation=0.2), small[0], test, progress=False)
    assert ev.auc > 0.95
    # the batch path scores like score() does, one message at a time
    assert list(ev.scores) == pytest.approx([trained.score(m.raw) for m in test], abs=1e-12)


def test_save_load_gives_identical_scores(tmp_path, small, trained):
    _, test = small
    raws = [m.raw for m in test]
    before = trained.score_many(raws)
    for name in ("f.json", "f.json.gz"):
        g = SVMSenderRobinson.load(trained.save(tmp_path / name))
        assert g.params() == trained.params()
        assert (g.nham, g.nspam) == (trained.nham, trained.nspam)
        assert list(g.score_many(raws)) == list(before)
    # and the loaded filter keeps learning
    g.learn(test[0].raw, test[0].spam)
    assert g.nham + g.nspam == trained.nham + trained.nspam + 1


def test_unlearn_is_as_if_never_learned(small):
    train, test = small
    raws = [m.raw for m in test]
    f = SVMSenderRobinson().train(train[:-1])
    want = f.score_many(raws)
    f.learn(train[-1].raw, train[-1].spam)
    assert list(f.score_many(raws)) != list(want)
    f.unlearn(train[-1].raw, train[-1].spam)
    assert list(f.score_many(raws)) == pytest.approx(list(want), abs=1e-12)


def test_bad_input_gives_a_score(trained):
    rnd = random.Random(5)
    garbage = bytes(rnd.randrange(256) for _ in range(5000))
    for raw in (b"", b"\x00", garbage, b"\xff" * 10, b"Subject: \xc3\x28\r\n\r\n\x80\x81"):
        s = trained.score(raw)
        assert 0.0 <= s <= 1.0
        assert trained.classify(raw) in ("ham", "unsure", "spam")
    f = SVMSenderRobinson()
    f.learn(b"", False)  # learning empty mail works too
    f.learn(garbage, True)
    assert 0.0 <= f.score(b"anything") <= 1.0


def test_train_fits_the_svm_learn_leaves_it_for_the_first_score(small):
    """A batch training pays for the SVM fit (so a benchmark's classify time holds no
    fit); one learn() only marks the model stale."""
    train, test = small
    f = SVMSenderRobinson(reputation=0.2).train(train)
    assert f._svm is not None
    before = f.svm_margins([test[0].raw])
    f.learn(test[1].raw, test[1].spam)
    assert f._svm is None
    assert f.svm_margins([test[0].raw])[0] != before[0]  # refitted with the new example
    assert f._svm is not None
    one_class = SVMSenderRobinson().train([m for m in train if m.spam][:5])
    assert one_class._svm is None and not one_class.trained  # nothing to fit yet


def test_untrained_scores_one_half():
    f = SVMSenderRobinson()
    assert f.score(b"Subject: hi\r\n\r\nhello") == 0.5
    f.learn(b"Subject: hi\r\n\r\nhello", False)  # one class only: still untrained
    assert not f.trained
    assert f.score(b"Subject: hi\r\n\r\nhello") == 0.5


@pytest.mark.parametrize("kw", [
    {"weight": -1}, {"weight": float("nan")}, {"weight": float("inf")}, {"C": 0}, {"C": -1.0},
    {"clean_origin": -1}, {"clean_origin": float("nan")}, {"aligned_origin": -1},
    {"aligned_origin": float("nan")}, {"aligned_origin": float("inf")},
    {"C": float("inf")}, {"head": 2}, {"n_bits": 40}, {"n_bits": 7}, {"spam_cutoff": 2},
    {"ham_cutoff": -0.1},
], ids=repr)
def test_a_wrong_value_is_a_usage_error_naming_the_parameter(kw):
    (key,) = kw
    with pytest.raises(UsageError, match=f"^SVMSenderRobinson: {key} must be"):
        SVMSenderRobinson(**kw)


@pytest.mark.parametrize(("kw", "shown"), [
    ({"C": "big"}, "str 'big'"),
    ({"head": "3000"}, "str '3000'"),
    ({"weight": None}, "NoneType None"),
    ({"n_bits": 2.0}, "float 2.0"),
    ({"spam_cutoff": "0.9"}, r"str '0.9': a number, not text"),
    ({"ham_cutoff": True}, "bool True"),
    ({"head": 3000.0}, "float 3000.0"),
    ({"clean_origin": "0.1"}, "str '0.1'"),
    ({"aligned_origin": "0.1"}, "str '0.1'"),
    ({"aligned_origin": None}, "NoneType None"),
], ids=repr)
def test_a_wrong_type_is_a_type_error_naming_the_parameter(kw, shown):
    # these were UsageErrors, unlike every other labkit call given a wrong type
    (key,) = kw
    with pytest.raises(TypeError, match=f"^SVMSenderRobinson: {key} must be .*, not {shown}"):
        SVMSenderRobinson(**kw)


def test_numpy_numbers_are_taken_as_parameters():
    f = SVMSenderRobinson(weight=np.float64(0.2), C=np.int64(10), head=np.int64(500),
                          n_bits=np.int32(12), spam_cutoff=np.float32(0.5))
    assert (f.weight, f.C, f.head, f.n_bits, f.spam_cutoff) == (0.2, 10.0, 500, 12, 0.5)
    assert type(f.head) is int and type(f.n_bits) is int and type(f.spam_cutoff) is float


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "labkit-filter", "kind": "robinson"}')
    with pytest.raises(UsageError, match="bad.json"):
        SVMSenderRobinson.load(bad)


def _two_examples():
    f = SVMSenderRobinson()
    f.learn(b"Subject: win cash\r\n\r\ncheap pills", True)
    f.learn(b"Subject: agenda\r\n\r\nthe meeting", False)
    return f.to_dict()


@pytest.mark.parametrize("label", ["false", "true", "0", None, 2, 0.5], ids=repr)
def test_load_refuses_an_example_label_that_is_no_label(label):
    # bool() read "false" (any non-empty text) as spam
    data = _two_examples()
    data["examples"][1][0] = label
    with pytest.raises(UsageError, match=rf"^filter file: an example's label must be 1 \(spam\) or 0 "
                                         rf"\(ham\), not {label!r}"):
        SVMSenderRobinson.from_dict(data)


def test_load_takes_labels_as_1_0_or_true_false():
    data = _two_examples()
    assert [y for y, _ in data["examples"]] == [1, 0]
    assert SVMSenderRobinson.from_dict(data)._labels == [True, False]
    data["examples"][0][0], data["examples"][1][0] = True, False
    f = SVMSenderRobinson.from_dict(data)
    assert f._labels == [True, False] and f.trained


def test_choose_uses_cv_on_training_messages_only(small):
    train, _ = small
    c = ensemble.choose(train, seeds=(0,), weights=(0.1, 0.5))
    assert c.params["weight"] in (0.1, 0.5)
    assert len(c.rows) == 2 and 0.0 < c.cutoff < 1.0
    # the chosen row is the lowest mean (1-AUC)%
    assert min(c.rows, key=lambda r: r.mean_pct).params == c.params
    f = SVMSenderRobinson(**c.params, spam_cutoff=c.cutoff, ham_cutoff=c.cutoff)
    assert f.spam_cutoff == c.cutoff


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork start method")
def test_classify_many_in_two_processes_scores_the_same(small, trained):
    _, test = small
    one = F.batch.classify_many(trained, test, workers=1, progress=False)
    two = F.batch.classify_many(trained, test, workers=2, chunksize=10, progress=False)
    assert two.scores == one.scores


def test_batch_scores_and_ranks_in_one_pass_equal_to_score(small, trained):
    """batch.score_raws (classify_many, evaluate) runs the SVM once per list and gives the
    same scores as score() one message at a time."""
    raws = [m.raw for m in small[1]]
    calls = []
    real = trained.svm_margins
    trained.svm_margins = lambda messages: calls.append(len(messages)) or real(messages)
    try:
        scores, ranks = F.batch.score_raws(trained, raws)
    finally:
        del trained.svm_margins
    assert calls == [len(raws)]
    assert ranks == [trained.rank(r) for r in raws]
    assert scores == [trained.score(r) for r in raws]


def test_made_and_loaded_by_kind_like_every_filter(tmp_path, small, trained):
    """``labkit.filters.make``/``load`` (and so ``labkit bayes train|score``) know the kind."""
    made = F.bayes.make("svm-sender-robinson", weight=0.2)
    assert isinstance(made, SVMSenderRobinson) and made.weight == 0.2
    path = trained.save(tmp_path / "svm.json.gz")
    loaded = F.bayes.load(path)
    assert isinstance(loaded, SVMSenderRobinson)
    _, test = small
    raws = [m.raw for m in test[:10]]
    assert list(loaded.score_many(raws)) == list(trained.score_many(raws))


# a damaged head or n_bits (2500.5, "3000", true) is refused, not cut: in
# tests/filters/test_bad_input_bayes.py, with the other parameters read by the same readers


def test_whole_number_parameters_written_as_floats_still_load_whole():
    data = SVMSenderRobinson(head=2000, n_bits=18).to_dict()
    data["params"].update(head=2000.0, n_bits=18.0)
    back = SVMSenderRobinson.from_dict(data)
    assert (back.head, back.n_bits) == (2000, 18)
    assert type(back.head) is int and type(back.n_bits) is int


# -- round 7: the origin relay's two signals (labkit.filters.origin) ----------------------


def _with_origin(f, clean, aligned):
    """The same trained filter with other origin weights (through to_dict/from_dict)."""
    data = f.to_dict()
    data["params"] = {**data["params"], "clean_origin": clean, "aligned_origin": aligned}
    return SVMSenderRobinson.from_dict(data)


def test_origin_weights_zero_give_the_old_ranks_to_the_last_bit(small, trained):
    raws = [m.raw for m in small[1]] + [m.raw for m in small[0][:60]]
    # the rank as it was computed before the origin weights existed
    old = (np.array([trained.words.rank_tokens(tokenize(r)) for r in raws], dtype=float)
           + trained.weight * trained.svm_margins(raws))
    assert (trained.clean_origin, trained.aligned_origin) == (0.0, 0.0)
    assert np.array_equal(trained.log_odds_many(raws), old)
    zero = _with_origin(trained, 0.0, 0.0)
    assert np.array_equal(zero.log_odds_many(raws), old)
    assert [zero.rank(r) for r in raws[:5]] == list(old[:5])


def test_origin_weights_move_the_rank_by_exactly_the_weighted_signals(small, trained):
    from labkit.filters.origin import origin_signals

    raws = [m.raw for m in small[1]] + [m.raw for m in small[0][:60]]
    signals = [origin_signals(r) for r in raws]
    assert any(c for c, _ in signals) and any(a for _, a in signals)  # both take part
    assert not all(c and a for c, a in signals)
    g = _with_origin(trained, 0.1, 0.2)
    base = trained.log_odds_many(raws)
    want = [b - (0.1 * c + 0.2 * a) for b, (c, a) in zip(base, signals, strict=True)]
    assert list(g.log_odds_many(raws)) == want
    assert [g.rank(r) for r in raws[:10]] == want[:10]
    assert [g.score(r) for r in raws[:10]] == [1 / (1 + math.exp(-w)) for w in want[:10]]
    assert list(g.score_many(raws)) == pytest.approx([g.score(r) for r in raws], abs=1e-15)
    scores, ranks = F.batch.score_raws(g, raws)
    assert ranks == want
    # the ensemble helper says the same per message
    assert [ensemble.origin_shift(r, 0.1, 0.2) for r in raws] == [
        0.1 * c + 0.2 * a for c, a in signals]


def test_origin_weights_are_kept_by_params_save_load_and_repr(tmp_path, small, trained):
    g = _with_origin(trained, 0.1, 0.2)
    assert (g.clean_origin, g.aligned_origin) == (0.1, 0.2)
    assert g.params()["clean_origin"] == 0.1 and g.params()["aligned_origin"] == 0.2
    assert "clean_origin 0.1, aligned_origin 0.2" in repr(g)
    assert "origin" not in repr(trained)
    raws = [m.raw for m in small[1]]
    back = SVMSenderRobinson.load(g.save(tmp_path / "o.json.gz"))
    assert (back.clean_origin, back.aligned_origin) == (0.1, 0.2)
    assert back.params() == g.params()
    assert list(back.log_odds_many(raws)) == list(g.log_odds_many(raws))
    made = F.bayes.make("svm-sender-robinson", clean_origin=0.1, aligned_origin=0.2)
    assert (made.clean_origin, made.aligned_origin) == (0.1, 0.2)


def test_a_file_without_origin_weights_loads_with_zero(trained):
    data = trained.to_dict()
    for key in ("clean_origin", "aligned_origin"):
        del data["params"][key]
    back = SVMSenderRobinson.from_dict(data)
    assert (back.clean_origin, back.aligned_origin) == (0.0, 0.0)


@pytest.mark.parametrize("value", ["0.1", None, True])
def test_a_damaged_origin_weight_in_a_file_is_refused(trained, value):
    data = trained.to_dict()
    data["params"]["aligned_origin"] = value
    with pytest.raises(UsageError, match="aligned_origin must be a number"):
        SVMSenderRobinson.from_dict(data)


def test_choose_passes_the_origin_weights_through_and_reuses_cv(small):
    train, _ = small
    per_seed = [ensemble.cv_ranks(lambda: SVMSenderRobinson(), train, seed=0)]
    plain = ensemble.choose(train, seeds=(0,), weights=(0.3,), cv=per_seed)
    assert plain.params == {"weight": 0.3}  # no origin keys when they are 0
    again = ensemble.choose(train, seeds=(0,), weights=(0.3,))
    assert again.rows == plain.rows and again.cutoff == plain.cutoff
    c = ensemble.choose(train, seeds=(0,), weights=(0.3,), clean_origin=0.1,
                        aligned_origin=0.2, margin=0.3, cv=per_seed)
    assert c.params == {"weight": 0.3, "clean_origin": 0.1, "aligned_origin": 0.2}
    assert c.margin == 0.3
    # its CV ranks are the plain ones minus the weighted signals
    words, svm = per_seed[0]
    ranks = [words[m.name] + 0.3 * svm[m.name] - ensemble.origin_shift(m.raw, 0.1, 0.2)
             for m in train]
    labels = [m.spam for m in train]
    want = F.tuning.margin_rank(labels, ranks, 0.3)
    assert c.cutoff_rank == want
    f = SVMSenderRobinson(**c.params, spam_cutoff=c.cutoff, ham_cutoff=c.cutoff)
    assert f.clean_origin == 0.1


def test_choose_checks_its_origin_weights_and_cv(small):
    train, _ = small
    with pytest.raises(TypeError, match="clean_origin"):
        ensemble.choose(train, seeds=(0,), clean_origin="0.1")
    with pytest.raises(UsageError, match="aligned_origin"):
        ensemble.choose(train, seeds=(0,), aligned_origin=-1)
    with pytest.raises(UsageError, match="cv"):
        ensemble.choose(train, seeds=(0, 1), cv=[({}, {})])
