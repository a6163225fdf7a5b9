"""Argument checks shared by the public calls: a wrong type fails at the call, in words.

A learner who passes an ``int`` where an address goes, or a list where one message
goes, should read what was wrong and what to pass instead, not a traceback that ends
in dnspython or the email package.  Harmless variants are accepted: a message as
``str`` or as an :class:`email.message.Message`, a corpus message (its ``.raw``), an
:mod:`ipaddress` object for an IP address.
"""

from __future__ import annotations

import difflib
import email.message
import ipaddress
import math
import numbers
import reprlib
from collections.abc import Mapping
from typing import Any

from .errors import UsageError

MESSAGE_TYPES = "bytes (or str, or an email.message.EmailMessage)"


def _kind(value: Any) -> str:
    return type(value).__name__


def message_bytes(message: Any, what: str = "message") -> bytes:
    """The raw bytes of ``message``; a ``TypeError`` that says what to pass otherwise.

    bytes-like objects are taken as they are, ``str`` is encoded as UTF-8 (bytes
    decoded with ``surrogateescape`` come back as they were), an
    :class:`email.message.Message` is rendered with CRLF line ends, and an object with
    a bytes ``raw`` attribute (a corpus message) gives its ``raw``.
    """
    if isinstance(message, bytes):
        return message
    if isinstance(message, (bytearray, memoryview)):
        return bytes(message)
    if isinstance(message, str):
        try:
            return message.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that stands for no byte: read as "?"
            return message.encode("utf-8", "replace")
    if isinstance(message, email.message.Message):
        return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    raw = getattr(message, "raw", None)
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw)
    hint = ""
    if isinstance(message, (list, tuple, set)):
        hint = ": pass one message at a time"
    elif message is None:
        hint = ": the variable holds no message (did the cell that makes it run?)"
    raise TypeError(f"{what} must be the raw mail as {MESSAGE_TYPES}, not {_kind(message)}{hint}")


def text(value: Any, what: str, *, example: str = "") -> str:
    """``value`` if it is a ``str``; else a ``TypeError`` naming ``what`` (and an example)."""
    if isinstance(value, str):
        return value
    like = f" such as {example!r}" if example else ""
    hint = ""
    if isinstance(value, (list, tuple, set)):
        hint = " (one value here, not a list)"
    elif isinstance(value, (bytes, bytearray)):
        hint = " (text, not bytes: .decode() it)"
    raise TypeError(f"{what} must be a str{like}, not {_kind(value)}{hint}")


def ip_text(value: Any, what: str = "ip") -> str:
    """An IP address as text: ``str`` as given, :mod:`ipaddress` objects converted."""
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    return text(value, what, example="203.0.113.5")


def truth(value: Any) -> bool | None:
    """``value`` as a bool when it is one: ``True``/``False``, NumPy's bool, or 1/0 of any
    whole-number type (NumPy's too); None for anything else (text above all)."""
    if isinstance(value, bool):
        return value
    if _numpy_bool(value) or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return bool(value)
    return None


def _numpy_bool(value: Any) -> bool:
    """Is ``value`` NumPy's bool scalar? (Its type is ``numpy.bool_`` before NumPy 2 and
    ``numpy.bool`` from 2.0 on; not a ``numbers.Integral``, and not imported here.)"""
    kind = type(value)
    return kind.__module__ == "numpy" and kind.__name__ in ("bool_", "bool")


def spam_label(spam: Any) -> bool:
    """The ``spam`` argument of ``learn()``: ``True``/``False`` (or 1/0); else a ``TypeError``.

    A string is refused, not read as truthy: ``learn(m, "ham")`` would learn spam.
    """
    value = truth(spam)
    if value is not None:
        return value
    hint = ""
    if isinstance(spam, str):
        hint = f": learn(message, True) for spam, learn(message, False) for ham (not {spam!r})"
    raise TypeError(f"spam must be True (spam) or False (ham), not {type(spam).__name__}{hint}")


def looks_like_host_name(value: str) -> bool:
    """Is ``value`` a dotted name with a letter in it (so not an IP address)?"""
    value = value.strip()
    return "." in value and any(c.isalpha() for c in value) and ":" not in value and "@" not in value


def domain(value: Any, what: str = "domain", *, example: str = "brand.example",
           lower: bool = True) -> str:
    """A domain name given as text, without its final dot (and lower-cased if ``lower``).

    An address (``news@brand.example``) is refused with a hint: the check wants the
    domain, and which domain of a message is meant is the lesson.
    """
    name = text(value, what, example=example).strip()
    if any(c.isspace() for c in name):  # (a look-up would just find nothing)
        raise UsageError(f"{what} must be a domain name such as {example!r}, without spaces, "
                         f"not {name!r}")
    if "@" in name:
        raise UsageError(f"{what} must be a domain name such as {example!r}, not the address "
                         f"{name!r}: give the part after the @ ({name.rpartition('@')[2]!r})")
    if name.endswith(".") and not name.endswith(".."):
        name = name[:-1]
    return name.lower() if lower else name


def choice(value: Any, allowed: tuple[str, ...], what: str) -> str:
    """One of ``allowed``, read without regard to case or surrounding spaces.

    Anything else is a :class:`UsageError` that names the value, lists the choices and,
    for a near miss (``"tree"``), suggests the closest one; a value that is not text at
    all is a ``TypeError`` (as in :func:`text`).  A misspelt option must never fall
    back silently to the default.
    """
    options = " or ".join(repr(a) for a in allowed)
    key = text(value, what, example=allowed[0] if allowed else "").strip().lower()
    lowered = {a.lower(): a for a in allowed}
    if key in lowered:
        return lowered[key]
    near = difflib.get_close_matches(key, list(lowered), n=1)
    hint = f" (did you mean {lowered[near[0]]!r}?)" if near else ""
    raise UsageError(f"{what} must be {options}, not {value!r}{hint}")


def port(value: Any, what: str = "port", *, zero: bool = False) -> int:
    """A TCP port number given as an ``int``; text such as ``"25"`` is a ``TypeError``.

    ``"25" != 25`` in Python, so a port given as text would silently take the branch
    meant for another port.  A number outside 1..65535 (0..65535 if ``zero``: 0 asks
    for a free port) is a :class:`UsageError`.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be a number such as 25 or 587, not {value!r}")
    least = 0 if zero else 1
    if not least <= value <= 65535:
        raise UsageError(f"{what} must be a port number from {least} to 65535, not {value!r}")
    return int(value)


def count(value: Any, what: str, *, least: int = 1) -> int:
    """A whole number of things (connections, errors, folds ...), ``least`` or more.

    A wrong type is a ``TypeError``: ``True``, text (``"10"`` too), a float (``2.5`` is
    no count); numpy's whole numbers are taken.  A number below ``least`` is a
    :class:`UsageError`.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be a whole number such as {max(least, 2)}, not "
                        f"{_kind(value)} {value!r}")
    if value < least:
        raise UsageError(f"{what} must be {least} or more, not {value!r}")
    return int(value)


def _real(value: Any, what: str, wanted: str) -> float:
    """``value`` as a float if it is a real number (not ``True``); else a ``TypeError``
    saying ``what`` must be ``wanted``, with a hint to drop the quotes from ``"2"``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        hint = ""
        if isinstance(value, str):
            try:
                float(value)
                hint = f": a number, not text (write {what}={value.strip()} without the quotes)"
            except ValueError:
                pass
        raise TypeError(f"{what} must be {wanted}, not {_kind(value)} {value!r}{hint}")
    return float(value)


def seconds(value: Any, what: str = "timeout", *, zero: bool = False) -> float:
    """A duration such as a time-out: a number of seconds above 0 (from 0 if ``zero``).

    A wrong type is a ``TypeError``: text (``"2"`` included, with a hint to drop the
    quotes, as :func:`port` refuses ``"25"``), ``None``, ``True``.  A wrong value is a
    :class:`UsageError`: 0 (unless ``zero``), below 0, ``nan`` or ``inf`` would only ever
    give a silent time-out (or none at all).  Numbers of any kind (numpy's too) are taken.
    """
    number = _real(value, what, "a number of seconds such as 2")
    if not math.isfinite(number) or number < 0 or (number == 0 and not zero):
        least = "0 or more" if zero else "above 0"
        raise UsageError(f"{what} must be a number of seconds {least}, such as 2, not {value!r}")
    return number


def number(value: Any, what: str, *, least: float | None = None, most: float | None = None,
           example: str = "0.5") -> float:
    """A finite number (numpy's too), from ``least`` to ``most`` where given.

    A wrong type is a ``TypeError``: text (``"0.3"`` included), ``None``, ``True``.  A
    wrong value is a :class:`UsageError`: ``nan``, ``inf``, or outside the bounds.
    """
    number = _real(value, what, f"a number such as {example}")
    if (not math.isfinite(number) or (least is not None and number < least)
            or (most is not None and number > most)):
        span = ("a finite number" if least is None and most is None
                else f"a number from {least:g} to {most:g}" if least is not None and most is not None
                else f"a number of {least:g} or more" if least is not None
                else f"a number of {most:g} or less")
        raise UsageError(f"{what} must be {span}, such as {example}, not {value!r}")
    return number


#: a value shown in an error message: cut short, so that one raw message or a corpus
#: where a list goes gives a readable line, not the whole value
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60


def sequence(value: Any, what: str, *, of: str) -> tuple:
    """Several values as a tuple: a list, a tuple or any other iterable but text, bytes
    or a mapping.  One value alone (``3``, ``"3"``, ``True``), a string (which would be
    read letter by letter) or a dict is a ``TypeError``: "``what`` must be a list of
    ``of``, not ..."."""
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not hasattr(value, "__iter__"):
        hint = " (one string, which would be read letter by letter)" if isinstance(value, str) and value else ""
        raise TypeError(f"{what} must be a list of {of}, not {_kind(value)} {_SHORT.repr(value)}{hint}")
    return tuple(value)


def items(value: Any, what: str, *, example: str) -> tuple:
    """:func:`sequence` of values such as ``example``; no values at all is a
    :class:`UsageError`."""
    out = sequence(value, what, of=f"values such as {example}")
    if not out:
        raise UsageError(f"{what} is empty: give at least one value, such as {example}")
    return out


def names(value: Any, what: str, *, example: str, of: str = "domain names") -> tuple[str, ...]:
    """Names such as ``example`` (zones, domains, sealers) as a tuple of text: one name
    alone is one name (``tuple("bl.example")`` would be its letters, and nothing would
    ever match), None is none; else a list of text (:func:`sequence`) of ``of``, each a
    ``str``."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    return tuple(text(v, f"each of {what}", example=example)
                 for v in sequence(value, what, of=f"{of} such as {example!r}"))


def ip_address(value: Any, what: str = "ip") -> str:
    """An IP address as text, checked: a host name is a :class:`UsageError` that says
    where the address is (``lab.hosts[name].address``), other bad text one that shows
    the form; ``ipaddress`` objects are converted, other types are a ``TypeError``."""
    address = ip_text(value, what).strip()
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        pass
    if looks_like_host_name(address):
        raise UsageError(f"{what} must be an IP address, not the host name {address!r}: "
                         f"give its address, lab.hosts[{address!r}].address") from None
    raise UsageError(f"{what} must be an IP address such as '203.0.113.5', "
                     f"not {address!r}") from None


def flag(value: Any, what: str) -> bool:
    """An on/off switch: ``True``/``False`` (or numpy's bool, or 1/0); else a ``TypeError``.

    Text is refused, not read as truthy: ``op25b="no"`` would switch OP25B on.
    """
    as_bool = truth(value)
    if as_bool is not None:
        return as_bool
    hint = ""
    if isinstance(value, str) and value:
        hint = f" (any non-empty text, even {value!r}, would count as True)"
    raise TypeError(f"{what} must be True or False, not {value!r}{hint}")


class Flag:
    """A class attribute that holds an on/off switch checked with :func:`flag` on every
    assignment, so ``receiver.backscatter = "no"`` fails at once instead of switching
    backscatter on.  Use as ``backscatter = Flag()`` in the class body."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.slot = f"_flag_{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        try:
            return obj.__dict__[self.slot]
        except KeyError:
            raise AttributeError(self.name) from None

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = flag(value, self.name)


__all__ = ["message_bytes", "text", "ip_text", "domain", "choice", "spam_label", "looks_like_host_name",
           "port", "count", "seconds", "number", "sequence", "items", "ip_address", "flag", "Flag", "truth"]
