"""A time-out given wrongly fails the same way in labkit.dns and labkit.mta.

Before: ``lab.dns.resolver(timeout="2")`` was a UsageError while
``labkit.mta.send(..., timeout="2")`` was a TypeError from inside ``socket``
("'str' object cannot be interpreted as an integer"), and a negative or NaN
time-out reached ``socket`` as a ValueError. Now both go through
``labkit._coerce.seconds``: a wrong type is a TypeError, a wrong value a UsageError,
each naming the argument. Real lab servers throughout.
"""

from __future__ import annotations

import pytest

import labkit.mta
from labkit.errors import UsageError
from labkit.mta import make_message
from labkit.mta.pop3 import LabPOP3
from labkit.mta.smtpserver import Limits

WRONG_TYPE = ["2", "soon", None, True, [2]]
WRONG_VALUE = [0, -1, float("nan"), float("inf")]


@pytest.fixture(scope="module")
def lab(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, scorer=None) as running:
        yield running


def _send(lab, timeout):
    msg = make_message(from_="news@brand.example", to="alice@corp.example", subject="t", body="b\n")
    return labkit.mta.send(msg, lab=lab, from_host="mail.brand.example", timeout=timeout)


def _connect(lab, timeout):
    mx = lab.hosts["mx.corp.example"].address
    return labkit.mta.sender.connect(lab, lab.hosts["mail.brand.example"].address, mx,
                                     lab.endpoint(mx, 25), timeout)


CALLS = {
    "send": _send,
    "connect": _connect,
    "dns resolver": lambda lab, t: lab.dns.resolver(timeout=t),
    "as_resolver": lambda lab, t: labkit.dns.as_resolver(lab, timeout=t),
    "dig": lambda lab, t: labkit.dns.live.dig("brand.example", "TXT", mode="lab", lab=lab.dns, timeout=t),
    "LabPOP3": lambda lab, t: LabPOP3("127.0.0.1", 1, client="198.51.100.140", proxy=False, timeout=t),
    "Limits": lambda lab, t: Limits(idle_timeout=t),
}


@pytest.mark.parametrize(("call", "value"), [
    (call, value) for call in CALLS for value in WRONG_TYPE
    if not (call == "as_resolver" and value is None)  # None: the resolver's own time-out
], ids=repr)
def test_a_timeout_of_the_wrong_type_is_a_type_error_everywhere(lab, call, value):
    with pytest.raises(TypeError, match=r"timeout must be a number of seconds such as 2, not "):
        CALLS[call](lab, value)


@pytest.mark.parametrize("value", WRONG_VALUE, ids=repr)
@pytest.mark.parametrize("call", list(CALLS), ids=str)
def test_a_timeout_of_the_wrong_value_is_a_usage_error_everywhere(lab, call, value):
    with pytest.raises(UsageError, match=r"timeout must be a number of seconds above 0"):
        CALLS[call](lab, value)


def test_a_timeout_written_as_text_is_told_to_lose_the_quotes(lab):
    for call in ("send", "dns resolver"):
        with pytest.raises(TypeError, match=r"write timeout=2 without the quotes"):
            CALLS[call](lab, " 2")


def test_numbers_still_work(lab):
    assert _send(lab, 5).status == "sent"
    assert _send(lab, 2.5).status == "sent"
    assert lab.dns.resolver(timeout=1).resolve("brand.example", "TXT", search=False)
    with _connect(lab, 5) as smtp:
        assert smtp.noop()[0] == 250
