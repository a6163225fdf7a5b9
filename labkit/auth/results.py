"""Trace header fields: ``Received-SPF`` (RFC 7208 9.1) and ``Authentication-Results``
(RFC 8601), written and read back.

``Authentication-Results`` is built and parsed with the ``authres`` package, so what
we write is what another implementation reads.

Introduced in lab 06 (the receiver's verdict: Authentication-Results).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import authres
import authres.arc
import authres.dmarc

from .. import _coerce

log = logging.getLogger(__name__)

_CTX = authres.FeatureContext(authres.dmarc, authres.arc)
_UNSAFE = re.compile(r"[^\x21-\x7e]")
_UNSAFE_QUOTED = re.compile(r"[^\x20-\x7e]")  # (space allowed)
_UNSAFE_PVALUE = re.compile(r"[^A-Za-z0-9.@_+\-]")
_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")


def _token(value: str) -> str:
    """A header-safe token (no spaces, controls or 8-bit characters)."""
    return _UNSAFE.sub("?", value or "")


def _pvalue(value: str) -> str:
    """An Authentication-Results property value: hostile characters become '_'."""
    return _UNSAFE_PVALUE.sub("_", value or "")


#: the longest domain name in text form (RFC 1035 2.3.4: 255 octets on the wire)
MAX_NAME = 253
#: the longest reverse-path (RFC 5321 4.5.3.1.3), for smtp.mailfrom
MAX_PATH = 256


def _name(value: str | None, limit: int = MAX_NAME) -> str | None:
    """A property value that names a domain (or a path): made safe, and left out (None)
    when it is longer than any real one.  Such a value comes from the message (a DKIM
    d= of megabytes); written out, it would break RFC 5322's 998-octet line limit."""
    value = _pvalue(value or "")
    return value if 0 < len(value) <= limit else None


def _quoted(value: str) -> str:
    """A quoted-string (RFC 5322 3.2.4): spaces stay (a quoted-string may hold them),
    controls and 8-bit characters become '?', backslash and quote are escaped."""
    safe = _UNSAFE_QUOTED.sub("?", value or "")
    return '"' + safe.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_result(value: Any) -> bool:
    """Is ``value`` one check's result (an object with a text ``.result``)?"""
    return isinstance(getattr(value, "result", None), str) and not isinstance(value, (str, bytes))


def _result_object(value: Any, what: str, *, example: str) -> Any:
    """``value`` if it is a check's result (it has a text ``.result``); else a ``TypeError``.

    A learner who passes the word (``spf="pass"``) or the message is told what object
    is wanted, with ``example`` showing how to make one.
    """
    if _is_result(value):
        return value
    hint = ""
    if isinstance(value, str):
        hint = f" ({value!r} is a word: pass the result object whose .result it would be)"
    elif isinstance(value, (list, tuple)):
        hint = " (one result here, not a list)"
    raise TypeError(f"{what} must be a result object such as {example}, not "
                    f"{type(value).__name__}{hint}")


def _result_objects(value: Any, what: str, *, example: str) -> tuple:
    """Results given as a list (or any iterable but text or a dict); ``None`` is none, one
    result alone is one."""
    if value is None:
        return ()
    if _is_result(value):
        return (value,)
    return tuple(_result_object(v, f"each of {what}", example=example)
                 for v in _coerce.sequence(value, what, of=f"result objects such as {example}"))


def received_spf(res: Any) -> str:
    """The ``Received-SPF`` header field for an SPF result (RFC 7208 9.1).

    Not named in the labs: :func:`labkit.auth.spf.check` (lab 03) writes its result's
    ``header`` with it.
    """
    _result_object(res, "received_spf's argument", example="lk.auth.spf.check(ip, mail_from, helo, dns=...)")
    comments = {
        "pass": f"domain of {res.mail_from or res.domain} designates {res.ip} as permitted sender",
        "fail": f"domain of {res.mail_from or res.domain} does not designate {res.ip} as permitted sender",
        "softfail": f"domain of {res.mail_from or res.domain} discourages use of {res.ip}",
        "neutral": f"{res.ip} is neither permitted nor denied by {res.domain}",
        "none": f"{res.domain} does not publish SPF" if res.domain else "no domain to check",
        "permerror": f"permanent error in the SPF record of {res.domain}",
        "temperror": f"temporary DNS error looking up {res.domain}",
    }
    comment = _token(comments.get(res.result, res.result)).replace("?", " ").replace("(", "[").replace(")", "]")
    parts = [f"client-ip={res.ip if _valid_ip(res.ip) else _pvalue(res.ip)}"]
    if res.mail_from:
        parts.append(f"envelope-from={_quoted(res.mail_from)}")
    parts.append(f"helo={_pvalue(res.helo) or 'unknown'}")
    parts.append(f"receiver={_pvalue(res.receiver)}")
    parts.append(f"identity={res.identity}")
    if res.mechanism:
        parts.append(f"mechanism={_quoted(res.mechanism)}")
    if res.result in ("permerror", "temperror") and res.reason:
        parts.append(f"problem={_quoted(res.reason[:200])}")
    return f"Received-SPF: {res.result} ({_pvalue(res.receiver)}: {comment}) " + "; ".join(parts)


def _valid_ip(ip: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, kw_only=True)
class ReceivedSPF:
    """A parsed ``Received-SPF`` field: the result, the comment and the key=value pairs."""

    result: str
    comment: str
    pairs: dict

    def to_dict(self) -> dict:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"result": self.result, "comment": self.comment, "pairs": dict(self.pairs)}


_RSPF = re.compile(r"^\s*(?:Received-SPF:)?\s*([A-Za-z]+)\s*(?:\((.*?)\))?\s*(.*)$", re.S | re.I)
_PAIR = re.compile(r'([A-Za-z][A-Za-z0-9_.\-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]+)')


def _field_text(text: Any, call: str, example: str) -> str | None:
    """A header field's text to read back: bytes (as a message holds it) decoded, None
    kept; any other type is a TypeError naming ``call`` and an ``example``."""
    if isinstance(text, (bytes, bytearray)):
        return bytes(text).decode("utf-8", "replace")
    if text is not None and not isinstance(text, str):
        raise TypeError(f"{call} takes the field's text, such as {example!r}, not {type(text).__name__}")
    return text


def parse_received_spf(text: str) -> ReceivedSPF | None:
    """Read a ``Received-SPF`` field back; ``None`` if it is not one."""
    text = _field_text(text, "parse_received_spf",
                       "pass (domain of brand.example designates 192.0.2.10 as permitted sender)")
    m = _RSPF.match(" ".join((text or "").split()))
    if not m:
        return None
    pairs = {}
    for key, value in _PAIR.findall(m.group(3)):
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        pairs[key.lower()] = value
    return ReceivedSPF(result=m.group(1).lower(), comment=m.group(2) or "", pairs=pairs)


#: the longest reason written into a result: a reason may quote what the message
#: held (dkimpy's words for a malformed b= include the whole value), and a message
#: of megabytes must not make a header line of megabytes, nor fill the memo below
MAX_REASON = 512


def _reason(text: str | None) -> str | None:
    """``text`` (None if empty), cut to :data:`MAX_REASON` characters with "..." after."""
    if not text:
        return None
    return text if len(text) <= MAX_REASON else text[:MAX_REASON] + "..."


def _spf_clause(res: Any, identity: str) -> tuple:
    reason = _reason(res.reason) if res.result in ("permerror", "temperror") else None
    if identity == "helo":
        return ("spf-helo", res.result, reason, _name(res.helo))
    mail_from = res.mail_from or f"postmaster@{res.helo}"
    return ("spf", res.result, reason, _name(mail_from, MAX_PATH))


def authentication_results(authserv_id: str, *, spf: Any = None, spf_helo: Any = None,
                           dkim: Iterable[Any] = (), dmarc: Any = None, arc: Any = None,
                           remote_ip: str | None = None) -> str:
    """Build the ``Authentication-Results:`` field (RFC 8601) with ``authres``.

    Each argument is a result object of this package (duck-typed: ``.result`` and the
    identifiers). Returns the whole field, ``"Authentication-Results: ..."``.
    A DKIM result names its signature with ``header.b`` (RFC 6008 2); an ARC result
    carries ``smtp.remote-ip`` (``remote_ip``, the client) and ``header.oldest-pass``
    (RFC 8617 6 and 5.2: 0 when every ARC-Message-Signature verifies).

    Introduced in lab 06 (the receiver's verdict: Authentication-Results).
    """
    _coerce.text(authserv_id, "authserv_id", example="mx.corp.example")
    for value, what in ((spf, "spf"), (spf_helo, "spf_helo"), (dmarc, "dmarc"), (arc, "arc")):
        if value is not None:
            _result_object(value, what, example=f"the .{what} of lk.auth.evaluate(...)")
    dkim = _result_objects(dkim, "dkim", example="lk.auth.dkim.verify(message, dns=...)")
    clauses: list[tuple] = []
    if spf is not None:
        clauses.append(_spf_clause(spf, spf.identity))
    if spf_helo is not None and (spf is None or spf.identity != "helo"):
        clauses.append(_spf_clause(spf_helo, "helo"))
    for sig in dkim:
        clauses.append((
            "dkim", sig.result, _reason(getattr(sig, "reason", "")) if sig.result != "pass" else None,
            _name(getattr(sig, "domain", "")),
            _name(getattr(sig, "selector", "")),
            _name(getattr(sig, "algorithm", "")),
            _BASE64.sub("", getattr(sig, "header_b", "") or "") or None))  # authres quotes it
    if arc is not None and getattr(arc, "result", "none") != "none":
        oldest = getattr(arc, "oldest_pass", None)
        clauses.append(("arc", arc.result, _reason(getattr(arc, "reason", "")),
                        remote_ip if remote_ip and _valid_ip(remote_ip) else None,
                        None if oldest is None else str(oldest)))  # RFC 8617 5.2 step 5
    if dmarc is not None:
        policy = getattr(dmarc, "policy", None)
        clauses.append(("dmarc", dmarc.result, _reason(dmarc.reason), _name(dmarc.header_from),
                        policy if policy in ("none", "quarantine", "reject") else None))
    authserv_id, key = _pvalue(authserv_id), tuple(clauses)
    if len(authserv_id) + sum(len(x) for c in key for x in c if x) > _MEMO_LIMIT:
        return _header_text.__wrapped__(authserv_id, key)  # (big values are not kept)
    return _header_text(authserv_id, key)


#: fields whose values are longer in all are written afresh each time, not remembered:
#: a value may come from the message (a DKIM d= of megabytes), and the memo holds 1,024
_MEMO_LIMIT = 4096


@functools.lru_cache(maxsize=1024)
def _header_text(authserv_id: str, clauses: tuple[tuple, ...]) -> str:
    """The field authres writes for these clause values (remembered: a receiver writes the
    same few fields again and again, and authres's objects cost more than the look-up)."""
    return str(authres.AuthenticationResultsHeader(authserv_id=authserv_id,
                                                   results=[_authres_clause(*c) for c in clauses]))


def _authres_clause(kind: str, result: str, reason: str | None, *ids: str | None) -> Any:
    if kind == "spf-helo":
        return authres.SPFAuthenticationResult(result=result, smtp_helo=ids[0], reason=reason)
    if kind == "spf":
        return authres.SPFAuthenticationResult(result=result, smtp_mailfrom=ids[0], reason=reason)
    if kind == "dkim":
        found = authres.DKIMAuthenticationResult(result=result, reason=reason, header_d=ids[0],
                                                 header_s=ids[1], header_a=ids[2])
        if ids[3]:
            found.properties.append(authres.AuthenticationResultProperty("header", "b", ids[3]))
        return found
    if kind == "arc":
        return authres.arc.ARCAuthenticationResult(result=result, reason=reason, smtp_remote_ip=ids[0],
                                                   header_oldest_pass=ids[1])
    return authres.dmarc.DMARCAuthenticationResult(result=result, reason=reason, header_from=ids[0],
                                                   policy=ids[1])


def fold(field: str) -> str:
    """``field`` folded after each ``;`` that ends a result (never inside a quoted reason).

    Keeps every line of a long ``Authentication-Results`` under the 998-octet limit
    of RFC 5322 2.1.1 (one line per method, as most receivers write it); unfolding
    gives back the original text with a tab for each space folded after a ``;``.
    """
    return _FOLD.sub(_fold_match, _coerce.text(field, "field", example="mx.corp.example; spf=pass"))


# a quoted string (to the end of the text if unclosed), or a space right after ";"
_FOLD = re.compile(r'("(?:[^"\\]|\\.)*(?:"|\\?$))|(?<=;) ')


def _fold_match(m: re.Match) -> str:
    return m.group(1) or "\r\n\t"


#: the longest field value read: authres's parser is quadratic in the number of results
#: (8,000 results: 3.2 s; 32,000 in an ARC-Authentication-Results: 34 s), and a real
#: field holds a handful.  A longer one is read up to its last ";" within the limit.
MAX_RESULTS_LENGTH = 8192


def cap_results(value: str) -> str:
    """``value`` cut after the last complete result within :data:`MAX_RESULTS_LENGTH`."""
    if len(value) <= MAX_RESULTS_LENGTH:
        return value
    cut = value.rfind(";", 0, MAX_RESULTS_LENGTH)
    return value[: cut if cut > 0 else MAX_RESULTS_LENGTH]


def parse_authentication_results(text: str) -> Any | None:
    """Parse an ``Authentication-Results`` field with ``authres``; ``None`` if unreadable.

    Accepts the field with or without its name, folded or not.  Of a field longer
    than :data:`MAX_RESULTS_LENGTH`, the results within that length are read.
    """
    text = _field_text(text, "parse_authentication_results",
                       "mx.corp.example; spf=pass smtp.mailfrom=brand.example")
    value = cap_results(" ".join((text or "").split()))
    if not value.lower().startswith("authentication-results:"):
        value = "Authentication-Results: " + value
    try:
        return _CTX.parse(value)
    except Exception as exc:  # authres raises several unrelated types on bad input
        log.debug("unreadable Authentication-Results: %s", exc)
        return None


def results_by_method(text: str) -> dict[str, list[str]]:
    """``{"spf": ["pass"], "dkim": ["pass", "fail"], ...}`` from a header (empty if unreadable)."""
    parsed = parse_authentication_results(text)
    out: dict[str, list[str]] = {}
    if parsed is None:
        return out
    for r in parsed.results:
        method = getattr(r, "method", None)
        if method:
            out.setdefault(method, []).append(r.result)
    return out


__all__ = ["received_spf", "parse_received_spf", "ReceivedSPF", "authentication_results", "fold",
           "parse_authentication_results", "results_by_method"]
