"""The Bayes filters fed a learner's mistakes: labels as text, tokens as one string,
unlearning what was never learned, parameters that make no sense, damaged files and
saves that fail.  Each either fails at the call in words or, for mail, gives a score;
none may quietly give a wrong result."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

import labkit as lk
from labkit.errors import UsageError

F = lk.filters
SPAM = b"From: a@b.example\r\nSubject: cheap pills winner\r\n\r\nbuy cheap pills now winner prize\r\n"
HAM = b"From: c@d.example\r\nSubject: meeting agenda\r\n\r\nthe meeting agenda for the project review\r\n"
OTHER = b"From: e@f.example\r\nSubject: lunch\r\n\r\nlunch on friday with the team\r\n"


def _trained(kind=F.Robinson, **params):
    f = kind(**params)
    f.learn(SPAM, True)
    f.learn(HAM, False)
    return f


def _state(f):
    return (f.nham, f.nspam, {t: list(c) for t, c in f.counts.items()})


# --- labels -------------------------------------------------------------------------


@pytest.mark.parametrize("labels", [["spam", "ham"], ["ham", "spam"]])
def test_train_with_text_labels_is_refused_before_learning_anything(labels):
    # bool("ham") is True: both messages were learned as spam
    f = F.Robinson()
    with pytest.raises(TypeError, match=r"labels must be True \(spam\) or False \(ham\), not '(spam|ham)' \(label 0\)"):
        f.train([SPAM, HAM], labels)
    assert (f.nham, f.nspam, f.counts) == (0, 0, {})


def test_train_takes_numpy_and_plain_0_1_labels_like_bools():
    np = pytest.importorskip("numpy")
    a, b, c = F.Robinson(), F.Robinson(), F.Robinson()
    a.train([SPAM, HAM], [True, False])
    b.train([SPAM, HAM], [1, 0])
    c.train([SPAM, HAM], np.array([1, 0]))
    assert _state(a) == _state(b) == _state(c)
    assert a.score(OTHER) == b.score(OTHER) == c.score(OTHER)


def test_train_with_too_few_labels_names_both_counts():
    with pytest.raises(UsageError, match="2 messages but 1 labels"):
        F.Robinson().train([SPAM, HAM], [True])


def test_train_raw_bytes_without_labels_says_to_give_labels():
    with pytest.raises(TypeError, match=r"pass labels=\[True, False"):
        F.Robinson().train([SPAM, HAM])


def test_train_one_message_says_to_use_learn():
    with pytest.raises(TypeError, match=r"for one message use learn\(message, spam\)"):
        F.Robinson().train(SPAM, [True])


@pytest.mark.parametrize("kind", [F.Robinson, F.Multinomial, F.SenderRobinson])
def test_learn_tokens_refuses_text_label_and_a_string_of_tokens(kind):
    f = kind()
    with pytest.raises(TypeError, match="learn"):
        f.learn_tokens(["cheap"], "ham")
    with pytest.raises(TypeError, match=r"lk.filters.tokenize\(message\)"):
        f.learn_tokens("cheap pills", True)  # would be learned letter by letter
    assert (f.nham, f.nspam, f.counts) == (0, 0, {})


# --- unlearn -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [F.Robinson, F.Graham, F.Fisher, F.Multinomial, F.SenderRobinson])
def test_unlearn_with_the_wrong_label_changes_nothing_and_names_the_right_one(kind):
    f = _trained(kind)
    before = _state(f)
    with pytest.raises(UsageError, match=r"never learned as ham \(it looks learned as spam: unlearn\(message, True\)\)"):
        f.unlearn(SPAM, False)
    assert _state(f) == before
    f.unlearn(SPAM, True)  # the right label still works
    assert f.nspam == 0


@pytest.mark.parametrize("kind", [F.Robinson, F.Multinomial])
def test_unlearn_of_a_message_never_learned_changes_nothing(kind):
    f = _trained(kind)
    before = _state(f)
    with pytest.raises(UsageError, match="never learned as ham; nothing was changed"):
        f.unlearn(OTHER, False)
    assert _state(f) == before


def test_unlearn_on_an_empty_filter_says_nothing_was_learned():
    with pytest.raises(UsageError, match="no message has been learned as spam"):
        F.Robinson().unlearn(SPAM, True)


def test_unlearn_twice_is_refused_the_second_time():
    f = _trained()
    f.learn(OTHER, True)
    f.unlearn(OTHER, True)
    before = _state(f)
    with pytest.raises(UsageError, match="never learned as spam"):
        f.unlearn(OTHER, True)
    assert _state(f) == before


def test_svm_ensemble_unlearn_with_the_wrong_label_changes_nothing():
    pytest.importorskip("sklearn")
    f = F.SVMSenderRobinson()
    f.learn(SPAM, True)
    f.learn(HAM, False)
    with pytest.raises(UsageError, match="never learned as ham"):
        f.unlearn(SPAM, False)
    assert (f.nham, f.nspam) == (1, 1)


# --- parameters ----------------------------------------------------------------------


@pytest.mark.parametrize("kind, params, phrase", [
    (F.Robinson, {"min_dev": 2}, "min_dev must be at least 0 and below 0.5"),
    (F.Robinson, {"min_dev": 0.5}, "below 0.5"),  # no token would ever be a clue
    (F.Robinson, {"strength": -0.45}, "strength must be at least 0"),
    (F.Robinson, {"prior": 1.5}, "prior must be at least 0 and at most 1"),
    (F.Robinson, {"max_discriminators": 0}, "max_discriminators must be at least 1"),
    (F.Fisher, {"min_dev": float("nan")}, "min_dev must be"),
    (F.Graham, {"unknown": 4}, "unknown must be at least 0 and at most 1"),
    (F.Multinomial, {"temperature": 0}, "temperature must be above 0"),
    (F.Multinomial, {"alpha": 0}, "alpha must be above 0"),
])
def test_parameter_outside_its_range_is_refused(kind, params, phrase):
    with pytest.raises(UsageError, match=phrase):
        kind(**params)


def test_a_fraction_where_a_count_goes_is_a_type_error():
    with pytest.raises(TypeError, match="max_discriminators is a whole number"):
        F.Robinson(max_discriminators=1.5)


def test_parameters_at_their_limits_still_work():
    for f in (F.Robinson(min_dev=0.0, strength=0.0, prior=1.0, max_discriminators=1),
              F.Graham(min_count=0, unknown=0.0), F.Multinomial(alpha=1e-9, temperature=0.5)):
        f.learn(SPAM, True)
        f.learn(HAM, False)
        assert 0.0 <= f.score(SPAM) <= 1.0


# --- make ----------------------------------------------------------------------------


def test_make_with_a_typo_suggests_the_name_and_none_is_a_type_error():
    with pytest.raises(UsageError, match="did you mean 'robinson'"):
        F.make("robinsn")
    with pytest.raises(TypeError, match="kind must be a str"):
        F.make(None)


# --- save and load -------------------------------------------------------------------


@pytest.mark.parametrize("counts, phrase", [
    ({"tok": "12"}, r"counts are \[ham, spam\], not '12'"),  # int("1"), int("2") read it
    ({"tok": [1, 2, 3]}, r"not \[1, 2, 3\]"),
    ({"tok": [1.7, 2]}, "must be a whole number, not 1.7"),
    ({"tok": [True, 2]}, "must be a whole number, not True"),
])
def test_load_refuses_damaged_counts_instead_of_reading_them_wrongly(tmp_path, counts, phrase):
    data = _trained().to_dict()
    data["counts"] = counts
    path = tmp_path / "f.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=phrase) as info:
        F.load_filter(path)
    assert str(path) in str(info.value)


def test_load_refuses_a_fractional_message_count(tmp_path):
    data = _trained().to_dict()
    data["nspam"] = 1.5
    path = tmp_path / "f.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match="nspam must be a whole number"):
        F.load_filter(path)


def test_load_refuses_a_saved_parameter_out_of_range(tmp_path):
    data = _trained().to_dict()
    data["params"]["min_dev"] = 3
    path = tmp_path / "f.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=f"{path}: .*min_dev must be"):
        F.load_filter(path)


_NUMBER_PARAMS = [(F.Robinson, "strength"), (F.Graham, "unknown"), (F.Fisher, "ham_cutoff"),
                  (F.Multinomial, "alpha"), (F.SenderRobinson, "reputation"),
                  (F.GradedSenderRobinson, "spam_cutoff"), (F.SVMSenderRobinson, "weight"),
                  (F.SVMSenderRobinson, "C"), (F.SVMSenderRobinson, "ham_cutoff"),
                  (F.SklearnNB, "alpha")]


@pytest.mark.parametrize(("kind", "key", "value", "wanted"), [
    # float() read "0.3" as 0.3 and true as 1.0: a damaged file loaded as if whole
    *[(kind, key, value, "a number") for kind, key in _NUMBER_PARAMS
      for value in ("0.3", True, None, [0.3])],
    # the SVM's head and n_bits as bayes' whole-number parameters: int() read 2500.5 as
    # 2500, '3000' as 3000, true as n_bits 1
    *[(F.SVMSenderRobinson, key, value, "a whole number")
      for key, value in (("head", 2500.5), ("n_bits", 20.7), ("head", "3000"), ("n_bits", True))],
    # the scikit-learn peer read its n_bits with int() too
    *[(F.SklearnNB, "n_bits", value, "a whole number") for value in (20.7, "20", True)],
], ids=lambda v: getattr(v, "kind", repr(v)))
def test_load_refuses_a_damaged_parameter_naming_it(tmp_path, kind, key, value, wanted):
    data = _trained(kind).to_dict()
    data["params"][key] = value
    with pytest.raises(UsageError, match=f"^filter file: {key} must be {wanted}, not {re.escape(repr(value))}$"):
        kind.from_dict(data)
    path = tmp_path / "f.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=f"{path}: filter file: {key} must be {wanted}"):
        F.load_filter(path)


def test_load_still_takes_number_parameters_written_as_whole_numbers():
    data = _trained(F.Multinomial).to_dict()
    data["params"]["alpha"] = 2  # JSON 2, not 2.0: a number all the same
    f = F.Multinomial.from_dict(data)
    assert f.alpha == 2.0 and type(f.alpha) is float


@pytest.mark.parametrize("bad", [None, b"bayes.json", 5])
def test_save_and_load_without_a_file_name_say_what_to_give(bad):
    with pytest.raises(TypeError, match="path must be a file name"):
        _trained().save(bad)
    with pytest.raises(TypeError, match="path must be a file name"):
        F.load_filter(bad)


def test_save_into_a_missing_folder_is_a_usage_error_naming_the_file(tmp_path):
    path = tmp_path / "no-such-folder" / "bayes.json"
    with pytest.raises(UsageError, match="cannot write the filter file"):
        _trained().save(path)
    assert not path.parent.exists()


@pytest.mark.parametrize("target", ["/dev/null", "folder"])
def test_save_over_a_device_or_folder_is_refused_and_leaves_it_alone(tmp_path, target):
    path = tmp_path if target == "folder" else target
    with pytest.raises(UsageError, match="not a regular file"):
        _trained().save(path)
    assert os.path.isdir(tmp_path) and os.path.exists("/dev/null")


@pytest.mark.parametrize("name", ["bayes.json", "bayes.json.gz"])
def test_a_failed_save_leaves_the_earlier_file_whole(tmp_path, name):
    """A save cut short (here: the file-size limit, as a full disk would) must not leave
    half a filter where a good one was.  Run in a child process: it lowers its own
    RLIMIT_FSIZE."""
    pytest.importorskip("resource")
    path = tmp_path / name
    small = _trained()
    small.save(path)
    good = path.read_bytes()
    code = textwrap.dedent(f"""
        import resource, signal, sys
        import labkit as lk
        from labkit.errors import UsageError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        big = lk.filters.Robinson()
        big.learn_tokens([f"token-{{i}}" for i in range(200_000)], True)
        big.learn_tokens(["ham"], False)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(good) + 100}, resource.RLIM_INFINITY))
        try:
            big.save({str(path)!r})
        except UsageError as exc:
            print("refused:", exc)
            sys.exit(0)
        sys.exit(3)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "cannot write the filter file" in out.stdout
    assert path.read_bytes() == good
    assert F.load_filter(path).counts == small.counts
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary left behind


def test_save_keeps_the_usual_file_permissions(tmp_path):
    path = _trained().save(tmp_path / "bayes.json")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# --- sender_standing ----------------------------------------------------------------


def test_sender_standing_of_the_raw_message_reads_its_tokens():
    f = F.SenderRobinson()
    for _ in range(3):
        f.learn(SPAM, True)
        f.learn(HAM, False)
    good, bad = f.sender_standing(SPAM)  # the lab passes tokenize(raw); raw bytes met nothing
    assert (good, bad) == f.sender_standing(F.tokenize(SPAM))
    assert bad


def test_numpy_whole_number_labels_are_labels_for_every_filter():
    """Labels straight from a NumPy array (np.int64 1/0) are spam/ham for every filter
    class, as they were for the Bayes family; the peer and the SVM ensemble used to
    refuse them (their check knew only Python ints)."""
    import numpy as np

    from labkit.filters.ensemble import SVMSenderRobinson
    from labkit.filters.sklearn_peer import SklearnNB

    spam = b"From: x@spam.test\r\nSubject: cheap pills\r\n\r\nbuy cheap pills now\r\n"
    ham = b"From: bob@corp.example\r\nSubject: agenda\r\n\r\nthe agenda for monday\r\n"
    for make in (SklearnNB, SVMSenderRobinson):
        f = make()
        f.learn(spam, np.int64(1))
        f.learn(ham, np.int64(0))
        assert f.score(spam) > f.score(ham), make


@pytest.mark.parametrize(("field", "value"), [("nham", "1"), ("nspam", 1.5), ("nham", True)])
def test_sklearn_peer_file_with_damaged_message_counts_is_refused(tmp_path, field, value):
    data = _trained(F.SklearnNB).to_dict()
    data[field] = value  # int() read "1" as 1 and 1.5 as 1
    path = tmp_path / "nb.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=f"{path}: filter file: {field} must be a whole number"):
        F.SklearnNB.load(path)  # names the file, as every filter's load does


@pytest.mark.parametrize(("params", "error"), [
    ({"alpha": "1.0"}, TypeError), ({"alpha": None}, TypeError), ({"alpha": -1}, UsageError),
    ({"alpha": float("nan")}, UsageError), ({"n_bits": 2.0}, TypeError),
    ({"n_bits": 0}, UsageError), ({"n_bits": 25}, UsageError),
])
def test_sklearn_peer_checks_its_parameters_at_the_call(params, error):
    with pytest.raises(error, match="SklearnNB: (alpha|n_bits) must be"):
        F.SklearnNB(**params)
