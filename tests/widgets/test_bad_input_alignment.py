"""AlignmentExplorer given a wrong setting: the project's TypeError / UsageError at the
call, naming the field, never a traitlets TraitError (or a KeyError from evaluate)."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

import traitlets  # noqa: E402

import labkit as lk  # noqa: E402
from labkit.errors import UsageError  # noqa: E402

Explorer = lk.widgets.AlignmentExplorer


def _refused(kind, pattern, call):
    """``call()`` raises ``kind`` matching ``pattern``, and that is no TraitError."""
    with pytest.raises(kind, match=pattern) as caught:
        call()
    assert not isinstance(caught.value, traitlets.TraitError)


def test_constructor_method_is_a_choice_with_the_tree_walk_hint():
    # both were traitlets TraitErrors, and "PSL" was refused while aspf="S" was taken
    _refused(UsageError, "method must be 'psl', not 'treewalk'.*tree walk needs dns=",
             lambda: Explorer(method="treewalk"))
    _refused(UsageError, "method must be 'psl', not 'x'", lambda: Explorer(method="x"))
    assert Explorer(method="PSL").value["method"] == "psl"


@pytest.fixture
def explorer():
    return Explorer("a@brand.example", "b@brand.example", "brand.example")


@pytest.mark.parametrize(("setting", "kind", "pattern"), [
    ({"aspf": "x", "mail_from": "b@attacker.test"}, UsageError, "aspf must be 'r' or 's', not 'x'"),
    ({"p": "rejct"}, UsageError, r"p must be .*'reject', not 'rejct' \(did you mean 'reject'\?\)"),
    ({"method": "treewalk"}, UsageError, "method must be 'psl'.*tree walk needs dns="),
    ({"bogus": 1}, UsageError, r"unknown keys \['bogus'\] in value: the keys are header_from"),
    ({"aspf": True}, TypeError, "aspf must be a str such as 'r', not bool"),
    ({"header_from": 5}, TypeError, "header_from must be a str such as 'brand.example', not int"),
    ({"mail_from": None}, TypeError, "mail_from must be a str .*not NoneType"),
    ({"dkim_domain": b"brand.example"}, TypeError, r"dkim_domain must be a str .*\.decode\(\)"),
    ("brand.example", TypeError, "value must be a dict .*not str 'brand.example'"),
    (None, TypeError, "value must be a dict .*not NoneType"),
    ([("aspf", "s")], TypeError, "value must be a dict .*not list"),
], ids=["aspf", "p", "treewalk", "unknown", "aspf-bool", "header-int", "mail-None", "dkim-bytes",
        "str", "None", "list"])
def test_a_wrong_setting_fails_in_words_and_changes_nothing(explorer, setting, kind, pattern):
    # header_from=5 was shown as the domain '5', the others were traitlets TraitErrors
    before, shown = dict(explorer.value), explorer.text

    def assign():
        explorer.value = setting

    _refused(kind, pattern, assign)
    assert explorer.value == before and explorer.text == shown


def test_choices_are_read_as_the_constructor_reads_them(explorer):
    explorer.value = {"aspf": "S", "p": " None "}  # was a TraitError
    assert (explorer.value["aspf"], explorer.value["p"]) == ("s", "none")


def test_evaluate_checks_its_argument_and_fills_in_the_rest(explorer):
    _refused(TypeError, "value must be a dict", lambda: explorer.evaluate("brand.example"))
    _refused(TypeError, "header_from must be a str", lambda: explorer.evaluate({"header_from": 5}))
    _refused(UsageError, "adkim must be 'r' or 's'", lambda: explorer.evaluate({"adkim": "x"}))
    # a partial dict was a KeyError; the fields not given are the widget's current ones
    assert explorer.evaluate({}) == explorer.verdict
    strict = explorer.evaluate({"mail_from": "b@news.brand.example", "aspf": "s"})
    assert strict["spf_aligned"] is False and explorer.value["aspf"] == "r"
