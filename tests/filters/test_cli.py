"""`labkit corpus ...` and `labkit bayes ...` on a small corpus folder."""

from __future__ import annotations

import json

import pytest

from labkit.cli import main


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
    # a message file that cannot be read is bad input, named (exit 2, no traceback)
    assert main(["bayes", "score", "--model", str(model), str(tmp_path / "gone.eml")]) == 2
    assert "gone.eml" in capsys.readouterr().err
    assert main(["bayes", "score", "--model", str(model), str(tmp_path)]) == 2
    assert "Is a directory" in capsys.readouterr().err
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


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, subset):
    """A small trained Fisher filter saved as .json and as .json.gz."""
    from labkit.filters import Fisher

    folder = tmp_path_factory.mktemp("model")
    f = Fisher().train(subset[:60])
    return f.save(folder / "m.json"), f.save(folder / "m.json.gz")


def _damaged(saved_model, tmp_path, how: str):
    """A model file damaged in one way; returns its path."""
    plain, packed = saved_model
    data = json.loads(plain.read_text())
    bad = tmp_path / f"{how}.json"
    if how == "truncated-gz":
        bad = tmp_path / "truncated.json.gz"
        bad.write_bytes(packed.read_bytes()[: len(packed.read_bytes()) // 2])
    elif how == "garbage":
        bad.write_bytes(b"\x00\x01 not json {")
    elif how == "a-list":
        bad.write_text("[1, 2, 3]")
    elif how == "counts-not-pairs":
        bad.write_text(json.dumps({**data, "counts": {"pills": 5}}))
    elif how == "count-not-a-number":
        bad.write_text(json.dumps({**data, "nham": "many"}))
    elif how == "negative-count":
        bad.write_text(json.dumps({**data, "counts": {"pills": [-3, 1]}}))
    elif how == "params-not-object":
        bad.write_text(json.dumps({**data, "params": [1]}))
    elif how == "sklearn-without-counts":
        bad.write_text(json.dumps({**data, "kind": "sklearn"}))
    return bad


@pytest.mark.parametrize(
    "how",
    [
        "truncated-gz",
        "garbage",
        "a-list",
        "counts-not-pairs",
        "count-not-a-number",
        "negative-count",
        "params-not-object",
        "sklearn-without-counts",
    ],
)
def test_damaged_model_is_bad_input(how, saved_model, tmp_path, capsys):
    bad = _damaged(saved_model, tmp_path, how)
    msg = tmp_path / "msg.eml"
    msg.write_bytes(b"Subject: hi\n\nhello")
    assert main(["bayes", "score", "--model", str(bad), str(msg)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err


def test_good_models_still_load(saved_model, tmp_path, capsys):
    msg = tmp_path / "msg.eml"
    msg.write_bytes(b"Subject: hi\n\nhello")
    for model in saved_model:
        assert main(["bayes", "score", "--model", str(model), str(msg), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["filter"] == "fisher"


@pytest.mark.parametrize(
    ("option", "target"),
    [
        ("--roc", "missing/roc.png"),  # folder does not exist
        ("--roc", "afile/roc.png"),  # "folder" is a file
        ("--roc", "adir"),  # a folder where the image should go
        ("--roc", "roc.xyz"),  # no such image format
        ("--out", "missing/m.json"),
    ],
)
def test_unwritable_output_is_bad_input(option, target, small_source, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    cmd = "evaluate" if option == "--roc" else "train"
    path = tmp_path / target
    args = ["bayes", cmd, "--source", str(small_source), option, str(path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err
    assert not (tmp_path / "roc.xyz").exists()


@pytest.mark.parametrize("command", [["corpus", "info"], ["corpus", "verify"],
                                     ["bayes", "evaluate"], ["bayes", "train", "--out", "m.json"]])
def test_missing_source_is_bad_input(command, tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main([*command, "--source", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"--source {missing} does not exist" in err and "labkit corpus fetch" in err


def test_evaluate_json_is_strict_json_when_a_metric_is_undefined(tmp_path, capsys, subset):
    # Only ham in the corpus: AUC and sm% have no value. `--json` must still be JSON that
    # strict readers accept (no NaN literal): the undefined figures are null.
    root = tmp_path / "hamonly"
    for m in [m for m in subset if not m.spam][:60]:
        (root / m.folder).mkdir(parents=True, exist_ok=True)
        (root / m.folder / m.name).write_bytes(m.raw)
    assert main(["bayes", "evaluate", "--filter", "graham", "--split", "online", "--source",
                 str(root), "--json"]) == 0
    out = capsys.readouterr().out

    def refuse(word):
        raise ValueError(f"not strict JSON: {word}")

    ev = json.loads(out, parse_constant=refuse)
    assert ev["n_spam"] == 0 and ev["n_ham"] == 60
    assert ev["auc"] is None


@pytest.mark.parametrize("command", [["corpus", "info"], ["corpus", "verify"],
                                     ["bayes", "evaluate"], ["bayes", "train", "--out", "m.json"]])
def test_a_source_that_is_a_file_but_no_archive_is_bad_input(command, tmp_path, capsys):
    # it was exit 1 ("no corpus folders found" / five folders "missing"), as if a
    # corpus had been read and found damaged
    notes = tmp_path / "notes.txt"
    notes.write_text("not a corpus\n")
    assert main([*command, "--source", str(notes)]) == 2
    err = capsys.readouterr().err
    assert f"--source {notes} is a file but not a corpus archive" in err


def test_a_source_that_is_one_archive_is_still_read(small_source, tmp_path, capsys):
    import tarfile

    one = tmp_path / "spam.tar.bz2"
    with tarfile.open(one, "w:bz2") as tar:
        tar.add(small_source / "spam", arcname="spam")
    assert main(["corpus", "info", "--source", str(one), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"]["spam"] == len(list((small_source / "spam").iterdir()))


def test_fetch_dest_that_is_a_file_is_bad_input(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a folder\n")
    assert main(["corpus", "fetch", "--folder", "spam", "--dest", str(notes)]) == 2
    assert f"--dest {notes} is not a folder" in capsys.readouterr().err
