"""Lab mail is the same mail on every run: a Message-ID of one fixed shape.

``email.utils.make_msgid`` writes the time, the process id and a random 64-bit number in
decimal, so its length changed from message to message (the random number has 18 to 20
digits, the process id 1 to 7). The spam filters' tokenizer keeps the length of such a
field (``message-id:skip:1 40`` or ``... 50``), so a filter trained on lab mail learned
different tokens on each run, and lab 10's content scores moved by up to 0.016 from one
run to the next (seen by the session-17 audit): a policy bar close to a score could pass
on one run of the autograder and fail on the next. Real parts: the lab's own message
builder, bounce writer and tokenizer.
"""

from __future__ import annotations

import email
import re

import labkit as lk
from labkit.mta import policy, sender

# RFC 5322 3.6.4: msg-id = "<" id-left "@" id-right ">", both dot-atom-text here
MSG_ID = re.compile(r"<[0-9]{14}\.[0-9a-f]{16}@[a-z0-9.-]+>")


def _message(n: int) -> bytes:
    return lk.mta.make_message(from_="orders@noptr.test", to="bob@corp.example",
                               subject=f"order {n % 3}", body="Your order has shipped.")


def test_make_message_ids_have_one_shape_and_are_unique():
    ids = [email.message_from_bytes(_message(n))["Message-ID"] for n in range(300)]
    assert all(MSG_ID.fullmatch(i) for i in ids), [i for i in ids if not MSG_ID.fullmatch(i)][:3]
    assert len(set(ids)) == len(ids)
    assert {i.rpartition("@")[2] for i in ids} == {"noptr.test>"}


def test_the_same_lab_mail_gives_the_same_tokens_every_time():
    seen = {}
    for n in range(300):
        seen.setdefault(n % 3, set()).add(tuple(sorted(lk.filters.tokens.tokenize(_message(n)))))
    assert {k: len(v) for k, v in seen.items()} == {0: 1, 1: 1, 2: 1}


def test_a_bounce_has_the_same_shape_of_message_id():
    raw = policy.make_delivery_report("mail.isp.example", "taro@isp.example",
                                      {"x@corp.example": "550 5.1.1 no such user"}, _message(0), 0.0)
    got = email.message_from_bytes(raw)["Message-ID"]
    assert MSG_ID.fullmatch(got), got
    assert got.endswith("@mail.isp.example>")


def test_message_id_names_its_domain():
    assert sender.message_id("brand.example").endswith("@brand.example>")
