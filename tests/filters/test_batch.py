"""classify_many: the same scores, in input order, in this process or in worker processes."""

from __future__ import annotations

import multiprocessing

import pytest

import labkit.filters as F
from labkit.filters import batch
from labkit.filters import evaluate as E


@pytest.fixture(scope="module")
def robinson(subset):
    return F.Robinson(strength=0.1, min_dev=0.2).train(subset[:200])


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_workers_give_each_message_its_own_score_in_order(robinson, subset, method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} on this platform")
    test = list(subset[200:300])
    expected = [robinson.score(m.raw) for m in test]
    # small chunks, so that both workers get several and finish out of order
    got = batch.classify_many(robinson, test, workers=2, chunksize=7, method=method)
    assert got.start_method == method and got.workers == 2
    assert list(got.scores) == expected
    assert list(got.statuses) == [robinson.classify(m.raw) for m in test]
    assert list(got.ranks) == [robinson.rank_tokens(F.tokenize(m.raw)) for m in test]
    assert sum(got.counts().values()) == len(test) == len(got)


def test_in_process_by_default_and_for_other_filters(robinson, subset):
    test = [m.raw for m in subset[300:340]]
    one = batch.classify_many(robinson, test)
    assert one.start_method == "in-process" and one.workers == 1
    assert list(one.scores) == [robinson.score(r) for r in test]
    d = one.to_dict()
    assert d["messages"] == 40 and d["scores"] == list(one.scores)
    assert "40 messages" in str(one) and "<pre>" in one._repr_html_()
    for f in (F.Multinomial().train(subset[:200]), F.Graham().train(subset[:200])):
        assert list(batch.classify_many(f, test).scores) == [f.score(r) for r in test]

    class OnlyScore:  # any object with score() will do
        def score(self, raw):
            return len(raw) % 7 / 7

    got = batch.classify_many(OnlyScore(), test)
    assert list(got.scores) == [len(r) % 7 / 7 for r in test] and got.statuses == ()


def test_evaluate_run_with_workers_equals_one_process(subset):
    train, test = subset[:200], subset[200:320]
    one = E.run(F.Fisher(), train, test, progress=False)
    two = E.run(F.Fisher(), train, test, progress=False, workers=2)
    assert one.scores == two.scores and one.ranks == two.ranks and one.names == two.names
    assert one.one_minus_auc_pct == two.one_minus_auc_pct


def test_start_method_choice():
    assert batch.start_method("spawn") == "spawn"
    assert batch.start_method() in ("fork", "forkserver", "spawn")


class _Shifted(F.Robinson):
    """A subclass that redefines both rank and score (as sender reputation does)."""

    def rank_tokens(self, tokens):
        return 40.0 + 10.0 * F.Robinson.score_tokens(self, tokens)

    def score_tokens(self, tokens):
        return self.score_from_rank(self.rank_tokens(tokens))


def test_subclasses_get_their_own_score_and_unsaturated_rank(subset):
    f = _Shifted().train(subset[:200])
    test = [m.raw for m in subset[200:240]]
    got = batch.classify_many(f, test)
    assert list(got.scores) == [f.score(r) for r in test]
    # ranks beyond logit(1 - 1e-16) ~ 36.8 stay distinct (a score's logit would saturate)
    assert list(got.ranks) == [f.rank_tokens(F.tokenize(r)) for r in test]
    assert len(set(got.ranks)) > 30
