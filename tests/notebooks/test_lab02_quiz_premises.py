"""Lab 02's quiz states every fact its right answer rests on.

Question 3 (Carol's reply to shop.example is never delivered) is right only because
shop.example has no MX record and no A/AAAA record to fall back on (RFC 5321 section
5.1). The prompt used to give the empty MX answer alone, so "no A/AAAA either" was an
unstated assumption. The prompt now says what corp.example's server was told for all
three questions, the lab DNS answers exactly that, and the answer index still points at
the choice those answers make true.
"""

from __future__ import annotations

import dns.resolver
import pytest

import labkit.grading
from tests.widgets.test_quiz_content import quiz_questions

LAB = next(lab for lab in labkit.grading.find_labs() if lab.assignment_id == "02-dns")


def _reply_question() -> dict:
    (question,) = [q for q in quiz_questions(LAB.notebook) if "shop.example MX" in q["prompt"]]
    return question


def test_the_prompt_gives_the_empty_a_and_aaaa_answers_too():
    prompt = _reply_question()["prompt"]
    assert "shop.example MX" in prompt, prompt
    assert "shop.example A and AAAA" in prompt, prompt
    assert "each got NOERROR with an empty answer" in prompt, prompt


def test_the_marked_choice_is_the_one_the_stated_answers_make_true():
    question = _reply_question()
    marked = question["choices"][question["answer"]]
    assert marked.startswith("shop.example publishes no MX record and no A/AAAA record"), marked
    # the explanation reasons from what the prompt states, not from knowledge of the zone
    assert "the A and AAAA questions came back empty too" in question["explanation"], question["explanation"]


@pytest.mark.parametrize("rdtype", ["MX", "A", "AAAA"])
def test_the_lab_dns_answers_what_the_prompt_says(lab_dns, rdtype):
    """NOERROR with an empty answer (dnspython's NoAnswer), not NXDOMAIN or a failure."""
    with pytest.raises(dns.resolver.NoAnswer):
        lab_dns.resolver().resolve("shop.example", rdtype)
