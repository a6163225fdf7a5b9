"""8-bit mail for a server that does not offer 8BITMIME: convert it to 7 bits, or bounce it.

RFC 6152 section 3: a client MUST NOT send octets above 127 to a server whose EHLO
reply lacks ``8BITMIME``.  It either converts the message to 7 bits (RFC 2045: each
8-bit body part re-encoded as quoted-printable or base64) or returns it to the sender
(a DSN with the enhanced code ``5.6.3``, "conversion required but not supported",
RFC 3463).  Postfix converts where it can; so does :func:`to_7bit`.  Converting
changes the body, so a DKIM signature made before it no longer verifies: that is why
RFC 6376 section 5.3 asks signers to convert 8-bit mail to 7 bits *before* signing.

8-bit octets in a header cannot be converted (that needs SMTPUTF8, RFC 6531, which
the lab does not offer), nor can a part declared base64 whose text holds 8-bit
octets (it is damaged: decoding would drop them); both raise :class:`CannotConvert`.

Used by :mod:`labkit.mta.sender` for every hop, relays included, when the next server's
EHLO reply lacks ``8BITMIME`` (a lab server's ``eightbitmime`` switch).  Introduced in
lab 04 (DKIM: a 7-bit hop breaks a signature made over 8-bit octets).
"""

from __future__ import annotations

import email
import email.base64mime
import email.policy
import email.quoprimime
import io
from email.generator import BytesGenerator
from email.message import Message

from ..errors import LabkitError

#: compat32 keeps header text as it came (no re-folding with a line length of 0)
_POLICY = email.policy.compat32.clone(linesep="\r\n", max_line_length=0)


class CannotConvert(LabkitError):
    """The message needs 8 bits on the wire and cannot be turned into 7-bit MIME."""


def to_7bit(raw: bytes) -> tuple[bytes, int]:
    """``raw`` with every 8-bit body part re-encoded: text as quoted-printable, anything
    else as base64, its Content-Transfer-Encoding set to match; returns the new bytes
    and how many parts were converted (0: ``raw`` itself, already 7-bit).

    Parts without 8-bit octets and every header are kept as they were, apart from a
    multipart's own ``8bit``/``binary`` encoding label, which becomes ``7bit``.
    Raises :class:`CannotConvert` for 8-bit octets in a header, a preamble or epilogue,
    or a part declared base64.
    """
    if not isinstance(raw, (bytes, bytearray)):
        raise TypeError(f"raw must be the message as bytes, not {type(raw).__name__}")
    raw = bytes(raw)
    if raw.isascii():
        return raw, 0
    msg = email.message_from_bytes(raw, policy=_POLICY)
    converted = 0
    for part in msg.walk():
        _check_headers(part)
        if part.is_multipart():
            for where in ("preamble", "epilogue"):
                if not (getattr(part, where) or "").isascii():
                    raise CannotConvert(f"8-bit octets in a multipart {where}: nothing to re-encode "
                                        "them as (RFC 2046 gives it no encoding)")
            if _encoding(part) in ("8bit", "binary"):
                part.replace_header("Content-Transfer-Encoding", "7bit")  # RFC 2045 section 6.4
            continue
        if isinstance(part.get_payload(), list):  # message/rfc822: walk() goes inside
            continue
        if _convert(part):
            converted += 1
    out = io.BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=_POLICY).flatten(msg)
    data = out.getvalue()
    if not data.isascii():  # a shape this walk did not foresee: never send 8 bits anyway
        raise CannotConvert("8-bit octets left after converting every body part")
    return data, converted


def _check_headers(part: Message) -> None:
    for name, value in part.items():
        if not str(value).isascii():  # compat32 keeps 8-bit octets as lone surrogates
            raise CannotConvert(f"8-bit octets in the {name} header: only SMTPUTF8 (RFC 6531) "
                                "could carry them, and the next server does not offer it")


def _encoding(part: Message) -> str:
    return str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()


def _convert(part: Message) -> bool:
    """Re-encode one leaf part if its body holds 8-bit octets; True if it did."""
    body = part.get_payload()  # 8-bit octets come back as non-ASCII text (charset-decoded)
    if not isinstance(body, str) or body.isascii():
        return False
    encoding = _encoding(part)
    if encoding == "base64":
        raise CannotConvert("8-bit octets inside a part declared base64: the part is damaged "
                            "(decoding would drop them)")
    # the octets themselves for 7bit (a wrong label), 8bit, binary or an unknown label;
    # quoted-printable with 8-bit octets left unencoded is decoded, which keeps them
    data = part.get_payload(decode=True)
    if part.get_content_maintype() == "text":
        # quoted-printable keeps text readable; lines are split on CRLF or LF
        text = data.decode("latin-1").replace("\r\n", "\n")
        encoded = email.quoprimime.body_encode(text, maxlinelen=76, eol="\n")
        label = "quoted-printable"
    else:
        # (without the last line break: the boundary's own CRLF, or the end, follows)
        encoded = email.base64mime.body_encode(data, maxlinelen=76, eol="\n").rstrip("\n")
        label = "base64"
    part.set_payload(encoded)
    if "Content-Transfer-Encoding" in part:
        part.replace_header("Content-Transfer-Encoding", label)
    else:
        part["Content-Transfer-Encoding"] = label
    return True


__all__ = ["to_7bit", "CannotConvert"]
