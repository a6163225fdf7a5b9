"""Session 17 learner audit of labs 00-05 (helper nbaudit-a): what a learner met, pinned.

- lab 00, exercise 3: an answer that put the DNSBL (or the Bayesian filter, or the
  blocklist) at the receiving server was told to look at "which host logged it" in the
  defence trail, and the trail the learner had just read logs the ``dnsbl`` check under
  ``mx.corp.example``, the receiving server: the hint pointed at evidence for the wrong
  answer. The hint for the filter's defences now says why the trail shows them there.
- lab 00, section 1: the text said that only ``live DNS`` and ``corpus`` may read
  ``degraded``, and that lab 09 fetches the corpus. ``labkit doctor`` can also report
  ``client addresses`` (macOS, Windows) and ``speed-ups`` (no C compiler) as degraded,
  and lab 09 does not fetch anything: it stops with a ``CorpusError`` that names
  ``labkit corpus fetch``.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import nbformat
import pytest

import labkit as lk
import labkit.doctor
from labkit.errors import CorpusError
from tests.notebooks.test_prose_sources import _cell

LABS = Path(__file__).resolve().parents[2] / "labs"


def _source(lab: str, cell_id: str) -> str:
    """The exact source of one cell of a stored lab."""
    nb = nbformat.read(str(LABS / lab / f"{lab}.ipynb"), as_version=4)
    (cell,) = [c for c in nb.cells if c.get("id") == cell_id]
    return cell.source


# ------------------------------------------------ lab 00, exercise 3: the hint for the filter

FILTER = ("DNSBL", "Bayesian filter", "blocklist")


def _graded_message(placed: dict[str, str]) -> str:
    """Run lab 00's graded cell of exercise 3 (visible and hidden tests, as nbgrader's
    autograder does) on an answer that follows the model table except for ``placed``;
    return the AssertionError message the learner reads."""
    ns: dict = {}
    exec(_source("00-setup", "24"), ns)  # PLACES and DEFENCES, as the lab defines them
    model = {"SMTP-AUTH": "sending server", "POP before SMTP": "sending server", "OP25B": "ISP",
             **{d: "filter" for d in FILTER},
             **{d: "receiving server" for d in ("SPF", "Sender ID", "DKIM", "DomainKeys", "DMARC")}}
    answer = {**model, **placed}
    ns["where_it_acts"] = answer.__getitem__
    with pytest.raises(AssertionError) as caught:
        exec(_source("00-setup", "26"), ns)
    return str(caught.value)


@pytest.mark.parametrize("defence", FILTER)
def test_lab00_filter_defence_at_the_receiver_gets_a_hint_that_explains_the_trail(defence):
    message = _graded_message({defence: "receiving server"})
    assert message.startswith(f"{defence}: you placed it at the 'receiving server'"), message
    assert "filter" in message.split(";", 1)[1], message
    # the hint explains why the trail logs the filter's checks under our MX
    assert "inside our MX" in message, message


def test_lab00_the_trail_does_log_the_dnsbl_check_under_our_mx():
    """The fact the hint explains: in the lab, the filter's checks run inside our MX."""
    with lk.Lab(scorer=None) as lab:
        note = lk.mta.make_message(from_="taro@isp.example", to="bob@corp.example",
                                   subject="agenda", body="The agenda is attached.")
        assert lab.send(note, from_host="mail.isp.example").status == "sent"
        hosts = {e["host"] for e in lab.events.entries(event="dnsbl")}
    assert hosts == {"mx.corp.example"}, hosts


def test_lab00_hint_for_the_other_places_still_sends_the_learner_to_the_map():
    message = _graded_message({"SPF": "filter"})
    assert message.startswith("SPF: you placed it at the 'filter'"), message
    assert "inside our MX" not in message, message


# ------------------------------------------------ lab 00, section 1: what doctor may say


def _may_be_degraded() -> set[str]:
    """Every check name labkit.doctor can report as degraded (read from its source)."""
    names = set(re.findall(r'Check\("([^"]+)", DEGRADED', inspect.getsource(labkit.doctor)))
    assert {"live DNS", "corpus"} <= names, names
    return names


def test_lab00_names_every_doctor_line_that_may_read_degraded(monkeypatch, tmp_path):
    # a real run where three of them are degraded: no live look-ups, an empty corpus
    # folder, and the compiled loops switched off
    monkeypatch.setenv("LABKIT_PURE_PYTHON", "1")
    monkeypatch.setenv("LABKIT_CORPUS", str(tmp_path))
    report = lk.doctor.run(live=False)
    seen = {c.name for c in report.checks if c.status == "degraded"}
    assert {"live DNS", "corpus", "speed-ups"} <= seen, seen
    text = _cell("00-setup", "3")
    missing = sorted(name for name in _may_be_degraded() | seen if f"`{name}`" not in text)
    assert not missing, f"lab 00 does not say why these may read degraded: {missing}"


def test_lab00_does_not_say_lab09_fetches_the_corpus(monkeypatch, tmp_path):
    monkeypatch.setenv("LABKIT_CORPUS", str(tmp_path / "nothing-here"))
    with pytest.raises(CorpusError, match="labkit corpus fetch"):
        lk.filters.corpus.load(folders=["easy_ham", "spam"])  # lab 09's first cell
    text = _cell("00-setup", "3")
    assert "fetched, in lab 09" not in text
    assert "`labkit corpus fetch`" in text


# ------------------------------------------------ lab 05, exercise 1: an empty auth_domain

EMPTY_NOT_HANDLED = '''
def aligned(from_domain: str, auth_domain: str, mode: str) -> bool:
    if mode == "s":
        return from_domain.lower() == auth_domain.lower()
    return org_domain(from_domain) == org_domain(auth_domain)
'''


def test_lab05_an_empty_auth_domain_passed_to_org_domain_is_explained():
    """Before: the learner read labkit's UsageError 'domain is empty' from deep inside
    org_domain(), with no word about what aligned() should have returned."""
    with lk.dns.LabDNS() as lab_dns:
        ns: dict = {"lk": lk, "lab_dns": lab_dns}
        exec(_source("05-dmarc", "code-13"), ns)  # the given org_domain()
        exec(EMPTY_NOT_HANDLED, ns)
        with pytest.raises(AssertionError) as caught:
            exec(_source("05-dmarc", "ex1-aligned-tests"), ns)
    message = str(caught.value)
    assert "aligned('brand.example', '', 'r')" in message, message
    assert "an empty auth_domain is never aligned" in message.lower(), message
