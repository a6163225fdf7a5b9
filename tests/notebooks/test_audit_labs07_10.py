"""What a demanding learner found in labs 07-10, checked against the labs doing it.

A learner's audit (run each lab top to bottom, read every output against the prose, try
wrong answers in the exercises) found places where the words and the run disagreed, and
grading feedback that did not say what the learner's function returned.  Each test here
runs the real parts (the lab's own cells in a kernel, its hosts over SMTP on loopback,
the SpamAssassin corpus) and checks that the lab now shows what it says:

- lab 07, section 3: the prose says the submission server's ``Received`` line names the
  account and the protocol ``ESMTPSA``; the inspector's table shows neither, so a cell
  now prints that line;
- lab 07, exercises 1 and 3: the visible tests said "expected True" without saying what
  came back (a truthy list looked right to the learner); exercise 3's text now says that
  the addresses are strings (``"198.51.100.150" in POOL`` raises deep inside ipaddress);
- lab 09, section 5: the good words were written before the first MIME boundary of
  multipart spam, into the preamble that the tokenizer (rightly, RFC 2046 section 5.1.1)
  skips, so every multipart spam stayed caught however many words were added (101, 75,
  21, 21 for 0, 10, 30, 100 words): the padding now goes where a reader sees it;
- lab 09, exercise 1: the visible test now says what the learner's function returned;
- lab 10, section 4: "Three one-idea policies" above a table of four.
"""

from __future__ import annotations

import copy
import ipaddress
import json

import nbformat
import pytest
from nbclient import NotebookClient

import labkit.grading
from tests.conftest import require_corpus_for

LABS = {lab.assignment_id: lab.notebook for lab in labkit.grading.find_labs()}


def _cells(lab: str) -> list:
    return nbformat.read(str(LABS[lab]), as_version=4).cells


def _cell(lab: str, cell_id: str):
    (cell,) = [c for c in _cells(lab) if c.get("id") == cell_id]
    return cell


def _text(lab: str, cell_id: str) -> str:
    return " ".join(_cell(lab, cell_id).source.split())


def _visible(source: str) -> str:
    """The part of a grading cell that learners see (before the hidden tests)."""
    return source.split("### BEGIN HIDDEN TESTS")[0]


def _run_cells(lab: str, ids: list[str], extra: str = "") -> dict[str, str]:
    """Run the lab's cells ``ids`` (in that order) and then ``extra`` in one kernel;
    return the text each printed, by id (``extra`` under ``"extra"``)."""
    notebook = LABS[lab]
    require_corpus_for(notebook)
    nb = nbformat.read(str(notebook), as_version=4)
    by_id = {c.get("id"): c for c in nb.cells}
    nb.cells = [copy.deepcopy(by_id[i]) for i in ids]
    if extra:
        nb.cells.append(nbformat.v4.new_code_cell(extra, id="extra"))
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=False,
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    return {c["id"]: "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
            for c in nb.cells}


def _grading_message(source: str, namespace: dict) -> str:
    """Run the visible tests of a grading cell with a wrong answer in ``namespace``;
    return the message learners read."""
    try:
        exec(_visible(source), namespace)
    except AssertionError as exc:
        return str(exc)
    raise AssertionError("the visible tests passed a wrong answer")



# ---------------------------------------------------------------------------- lab 07


@pytest.mark.slow
@pytest.mark.notebook
def test_lab07_alices_copy_shows_the_account_and_esmtpsa():
    """Section 3 says the submission server's Received line names the account and the
    protocol ESMTPSA; the lab's own cells, run up to the submission, must print it."""
    code = [c.get("id") for c in _cells("07-submission") if c.cell_type == "code"]
    upto = code[: code.index("cell-received") + 1]
    upto = [i for i in upto if not _cell("07-submission", i).metadata.get("nbgrader", {}).get("grade")]
    out = _run_cells("07-submission", upto)["cell-received"]
    assert "(Authenticated sender: taro@isp.example)" in out, out
    assert "by smtp.isp.example" in out and "with ESMTPSA" in out, out
    assert "ESMTPSA" in _text("07-submission", "cell-021")


def test_lab07_ex1_feedback_says_what_came_back():
    """A relay_allowed that returns the matching logins (a truthy list, not True) fails
    the visible test, and the message shows the list, not just "expected True"."""
    def relay_allowed(logins, client_ip, now, window):
        return [e for e in logins if e["client"] == client_ip and e["decision"] == "accept"
                and e["t"] <= now < e["t"] + window]

    msg = _grading_message(_cell("07-submission", "cell-018").source, {"relay_allowed": relay_allowed})
    assert "expected True" in msg and "got [{" in msg, msg


def test_lab07_ex3_addresses_are_strings_and_feedback_says_what_came_back():
    """The exercise hands op25b_allows address strings; asking ``str in network`` raises
    an AttributeError from inside ipaddress, so the text says how to compare.  A function
    that forgets to return gets "got None" in the visible test's message."""
    pool = ipaddress.ip_network("198.51.100.128/25")
    with pytest.raises(AttributeError):
        "198.51.100.150" in pool  # noqa: B015 - the trap the prose warns about
    assert "ipaddress.ip_address(src)" in _text("07-submission", "cell-046")
    namespace = {"op25b_allows": lambda src, dst, port: None, "BOT": "198.51.100.150",
                 "TARO_PC": "198.51.100.140",
                 "isp": {"mail.isp.example": "198.51.100.25", "smtp.isp.example": "198.51.100.26",
                         "mx.corp.example": "203.0.113.25"}}
    msg = _grading_message(_cell("07-submission", "cell-049").source, namespace)
    assert "got None" in msg, msg


# ---------------------------------------------------------------------------- lab 09


@pytest.mark.slow
@pytest.mark.notebook
def test_lab09_good_words_reach_multipart_spam():
    """Section 5's attack: with the lab's own with_words, the good words are tokens of
    every padded spam (multipart spam included), and more words never leave a plateau of
    caught spam above zero (before: 101, 75, 21, 21 - the 21 were all the multipart spam,
    whose padding sat in the MIME preamble)."""
    check = (
        "import json\n"
        "_multi = [m for m in caught_spam if b'multipart/' in m.raw.partition(b'\\n\\n')[0].lower()]\n"
        "_missing = [m.name for m in caught_spam\n"
        "            if not set(good_words[:10]) <= set(lk.filters.tokenize(with_words(m.raw, good_words[:10])))]\n"
        "print(json.dumps({'attack': attack, 'multipart': len(_multi), 'missing': _missing}))\n"
    )
    out = _run_cells("09-bayes", ["2", "6", "11", "21", "23"], check)["extra"]
    found = json.loads(out)
    attack = {int(k): v for k, v in found["attack"].items()}
    assert found["multipart"] > 0, found
    assert found["missing"] == [], found
    assert attack[0] >= attack[10] >= attack[30] >= attack[100], attack
    assert attack[100] == 0 or attack[100] < attack[30], attack
    text = _text("09-bayes", "22")
    assert "at the top of its body" not in text, text
    assert "preamble" in text and "RFC 2046" in text, text


def test_lab09_ex1_feedback_says_what_came_back():
    """A token_probability that compares counts, not rates, fails the visible test with
    the value it returned and the one expected."""
    def token_probability(ham_count, spam_count, n_ham, n_spam, strength=0.45, prior=0.5):
        n = ham_count + spam_count
        if n == 0:
            return prior
        p = spam_count / n
        return (strength * prior + n * p) / (strength + n)

    msg = _grading_message(_cell("09-bayes", "9").source, {"token_probability": token_probability})
    assert "got 0.5" in msg and "0.663" in msg, msg


# ---------------------------------------------------------------------------- lab 10


def test_lab10_the_policy_table_has_the_policies_the_prose_counts():
    """Section 4 compares four policies (three one-idea ones and spf_strict); the text
    above them used to count three and say nothing of the fourth row."""
    code = _cell("10-capstone", "cell-018").source
    compared = code.rsplit("for p in (", 1)[1].split(")", 1)[0]
    assert [p.strip() for p in compared.split(",")] == ["dmarc_only", "dnsbl_only", "content_only", "spf_strict"]
    text = _text("10-capstone", "cell-017")
    assert "a tempting mistake, `spf_strict`" in text, text

