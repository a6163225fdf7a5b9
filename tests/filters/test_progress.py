"""Progress bars follow the amount of work (messages trained and scored), not the
number of outer steps; the CLI draws them only on a terminal and never with --json."""

from __future__ import annotations

import json
import sys

import pytest

import labkit.filters as F
from labkit.cli import main
from labkit.filters import evaluate as E
from labkit.filters import poison
from labkit.filters.evaluate import split_md5


def test_cross_validation_bar_counts_every_fold(subset, capsys):
    msgs = subset[:300]
    E.cross_validate(F.Graham, msgs, k=5, progress=None)  # 5 folds, 1,500 messages of work
    err = capsys.readouterr().err
    assert "5-fold cross-validation" in err and "1500/1500" in err
    E.cross_validate(F.Graham, msgs, k=5, progress=False)
    assert capsys.readouterr().err == ""
    E.cross_validate(F.Graham, msgs[:100], k=4, progress=None)  # 400 messages: too little
    assert capsys.readouterr().err == ""


def test_poison_harness_and_hammy_words_show_their_work(subset, capsys):
    sp = split_md5(subset[::2])
    ham = [m for m in sp.train if not m.spam]
    spam = [m for m in sp.train if m.spam]
    words = poison.hammy_words(ham * 10, spam * 10, 20, progress=None)
    err = capsys.readouterr().err
    n = 10 * len(sp.train)
    assert n > E.AUTO_BAR_WORK
    assert "finding ham words" in err and f"{n}/{n}" in err
    fractions = (0.0, 0.25, 0.5, 0.75, 1.0)  # 5 runs of train + test
    poison.poisoned_training({"fisher": F.Fisher}, sp, words, fractions, progress=None)
    n = 5 * (len(sp.train) + len(sp.test))
    assert n > E.AUTO_BAR_WORK
    assert f"{n}/{n}" in capsys.readouterr().err
    counts = (0, 2, 4, 6, 8, 10, 15, 20)  # training once, then 8 scorings of the test set
    poison.good_word_attack({"graham": F.Graham}, sp, words, counts, progress=None)
    n = len(sp.train) + len(counts) * len(sp.test)
    assert n > E.AUTO_BAR_WORK
    assert "good-word attack" in (err := capsys.readouterr().err) and f"{n}/{n}" in err


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_cli_kfold_bar_on_a_terminal_only(small_source, cli_on_terminal, capsys):
    args = ["bayes", "evaluate", "--split", "kfold", "-k", "10", "--source", str(small_source)]
    code, err = cli_on_terminal(args)
    assert code == 0 and "10-fold cross-validation" in err  # 10 x 160 = 1,600 messages
    assert "10-fold" in capsys.readouterr().out
    code, err = cli_on_terminal([*args, "--json"])
    assert code == 0 and "cross-validation" not in err
    assert json.loads(capsys.readouterr().out)["mode"] == "10-fold"
    assert main(args) == 0  # stderr captured by pytest: not a terminal
    assert "cross-validation" not in capsys.readouterr().err
