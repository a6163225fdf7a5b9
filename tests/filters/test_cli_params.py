"""``labkit bayes train|evaluate --param NAME=VALUE``: the benchmark's filters from the
command line, with their parameters recorded in the JSON; bad parameters are bad usage
(exit 2, named), never a traceback.  And filter constructors accept only their tunable
parameters: a method's or class attribute's name (``score=0.5``) used to be set on the
filter, hiding the method."""

from __future__ import annotations

import json

import pytest

from labkit.cli import main
from labkit.errors import UsageError
from labkit.filters import bayes, ensemble, graded, reputation

BEST = ["--param", "strength=0.0178", "--param", "prior=0.52", "--param", "min_dev=0.45",
        "--param", "max_discriminators=2000", "--param", "reputation=0.2",
        "--param", "clean_origin=0.1", "--param", "aligned_origin=0.2"]


def test_evaluate_runs_the_filter_with_the_params_and_says_so(small_source, capsys):
    assert main(["bayes", "evaluate", "--filter", "svm-sender-robinson", "--source",
                 str(small_source), "--json", "--split", "kfold", "-k", "2", *BEST]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["filter"] == "svm-sender-robinson"
    p = out["params"]
    assert (p["strength"], p["min_dev"], p["max_discriminators"]) == (0.0178, 0.45, 2000)
    assert (p["reputation"], p["clean_origin"], p["aligned_origin"], p["weight"]) == (0.2, 0.1, 0.2, 0.3)
    assert out["n_ham"] + out["n_spam"] > 0


def test_train_saves_a_model_with_the_params(small_source, tmp_path, capsys):
    model = tmp_path / "robinson.json"
    assert main(["bayes", "train", "--filter", "robinson", "--source", str(small_source),
                 "--out", str(model), "--json", "--param", "strength=0.0178",
                 "--param", "max_discriminators=2000"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["params"]["strength"] == 0.0178 and out["params"]["max_discriminators"] == 2000
    saved = bayes.load(model).params()
    assert saved["strength"] == 0.0178 and saved["max_discriminators"] == 2000


@pytest.mark.parametrize(("args", "said"), [
    (["--param", "strength"], "write NAME=VALUE"),
    (["--param", "=0.1"], "write NAME=VALUE"),
    (["--param", "strength="], "write NAME=VALUE"),
    (["--param", "strength=abc"], "'abc' is not a number"),
    (["--param", "strength=1", "--param", "strength=2"], "--param strength is given twice"),
    (["--param", "foo=1"], "Fisher has no parameter 'foo'"),
    (["--param", "max_discriminators=2e3"], "max_discriminators is a whole number"),
    (["--filter", "svm-sender-robinson", "--param", "foo=1"],
     "SVMSenderRobinson has no parameter 'foo'; its parameters: C, aligned_origin, clean_origin"),
    (["--filter", "sklearn", "--param", "foo=1"], "--filter sklearn with --param"),
])
def test_bad_params_are_bad_usage_before_the_corpus_is_read(args, said, tmp_path, capsys):
    missing = tmp_path / "no-corpus-here"  # never reached: the parameters are checked first
    assert main(["bayes", "evaluate", "--source", str(missing), *args]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err, err


@pytest.mark.parametrize("klass", [bayes.Graham, bayes.Robinson, bayes.Fisher, bayes.Multinomial,
                                   reputation.SenderRobinson, graded.GradedSenderRobinson])
@pytest.mark.parametrize("name", ["score", "params", "learn", "distinct", "kind"])
def test_a_filter_takes_only_its_tunable_parameters(klass, name):
    with pytest.raises(UsageError, match=f"has no parameter {name!r}"):
        klass(**{name: 0.5})


def test_the_ensemble_names_its_own_parameters_when_refusing_one():
    with pytest.raises(UsageError) as caught:
        ensemble.SVMSenderRobinson(score=0.5)
    said = str(caught.value)
    assert said.startswith("SVMSenderRobinson has no parameter 'score'")
    for own in ("weight", "clean_origin", "C", "n_bits", "strength", "reputation"):
        assert own in said.split("its parameters: ")[1], said
