"""`labkit corpus ...` and `labkit bayes ...` on a small corpus folder."""

from __future__ import annotations

import json

import pytest

from labkit.cli import main


@pytest.fixture(scope="module")
def small_source(tmp_path_factory, subset):
    root = tmp_path_factory.mktemp("corpus")
    for m in subset[:160]:
        (root / m.folder).mkdir(exist_ok=True)
        (root / m.folder / m.name).write_bytes(m.raw)
    return root


def test_corpus_info_and_verify(small_source, capsys):
    assert main(["corpus", "info", "--source", str(small_source), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts"]["total"] == 160
    bad = next((small_source / "spam").iterdir()) if (small_source / "spam").exists() else None
    assert main(["corpus", "verify", "--source", str(small_source)]) == 0
    capsys.readouterr()
    if bad is not None:
        original = bad.read_bytes()
        bad.write_bytes(original + b"x")
        try:
            assert main(["corpus", "verify", "--source", str(small_source)]) == 1
            assert bad.name in capsys.readouterr().out
        finally:
            bad.write_bytes(original)


def test_bayes_train_score_evaluate(small_source, tmp_path, capsys, subset):
    model = tmp_path / "m.json"
    assert (
        main(
            [
                "bayes",
                "train",
                "--filter",
                "graham",
                "--source",
                str(small_source),
                "--out",
                str(model),
                "--json",
            ]
        )
        == 0
    )
    capsys.readouterr()
    msg = tmp_path / "msg.eml"
    msg.write_bytes(subset[200].raw)
    assert main(["bayes", "score", "--model", str(model), str(msg), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 <= out["results"][0]["score"] <= 1
    assert (
        main(
            [
                "bayes",
                "evaluate",
                "--filter",
                "fisher",
                "--split",
                "online",
                "--source",
                str(small_source),
                "--json",
            ]
        )
        == 0
    )
    ev = json.loads(capsys.readouterr().out)
    assert ev["n_ham"] + ev["n_spam"] == 160


def test_bad_usage_exit_codes(tmp_path, monkeypatch, capsys):
    assert main(["bayes", "score", "--model", str(tmp_path / "none.json"), "x"]) == 2
    monkeypatch.delenv("LABKIT_CORPUS", raising=False)
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path))
    assert main(["corpus", "info"]) == 1
    assert "labkit corpus fetch" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["sender-robinson", "graded-sender-robinson"])
def test_bayes_train_and_score_sender_robinson(kind, small_source, tmp_path, capsys, subset):
    model = tmp_path / "s.json"
    args = ["bayes", "train", "--filter", kind, "--source", str(small_source)]
    assert main([*args, "--out", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["filter"] == kind
    msg = tmp_path / "msg.eml"
    msg.write_bytes(subset[200].raw)
    assert main(["bayes", "score", "--model", str(model), str(msg), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["filter"] == kind and 0 <= out["results"][0]["score"] <= 1
