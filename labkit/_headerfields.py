"""Header fields of a raw header block: the folding rule (RFC 5322 2.2.3) in one place.

A header field is its first line and the continuation lines after it, each of which
starts with a space or a tab.  :func:`split` cuts a header block (bytes) into fields;
what to do before (find the end of the header) and after (read names, refuse odd input)
stays with the caller, because callers differ there on purpose:

- line ends: CRLF only (mail as SMTP carries it), or also a bare LF (``lf=True``: a
  message read from a file);
- what a field holds: its lines joined with CRLF (the default), or its lines exactly as
  they stood, line ends included (``keep_ends=True``: ``b"".join(fields) == head``);
- a continuation line before any field becomes a field of its own here; a caller that
  refuses it checks ``fields[0][:1] in (b" ", b"\\t")``.

Each line is looked at once and each field joined once, so the time is linear in the
size of the head: adding each continuation line to a growing field copied the field
each time (a field folded over 640,000 lines took 26 s).

Not named in the labs: ARC sealing, the mailing list and the receiver split header
blocks with it.
"""

from __future__ import annotations

_WSP = (b" ", b"\t")


def lines(head: bytes, *, lf: bool = False, keep_ends: bool = False) -> list[bytes]:
    """The lines of the header block ``head``; a line end after the last line is optional.

    CRLF ends a line; with ``lf`` a bare LF does too (a CR before it belongs to the line
    end, any other CR stays in the line).  With ``keep_ends`` each line keeps its end.
    An empty ``head`` has no lines.
    """
    end = b"\n" if lf else b"\r\n"
    parts = head.split(end)
    last = parts.pop()  # what follows the last line end: b"" when head ends with one
    if keep_ends:
        parts = [part + end for part in parts]
    elif lf:
        parts = [part[:-1] if part[-1:] == b"\r" else part for part in parts]
    if last:
        parts.append(last)
    return parts


def group(head_lines: list[bytes]) -> list[list[bytes]]:
    """``head_lines`` grouped into fields: each group a first line and its continuation
    lines (those that start with a space or a tab).  A continuation line before any
    field starts a group of its own."""
    fields: list[list[bytes]] = []
    for line in head_lines:
        if line[:1] in _WSP and fields:
            fields[-1].append(line)
        else:
            fields.append([line])
    return fields


def split(head: bytes, *, lf: bool = False, keep_ends: bool = False) -> list[bytes]:
    """The header fields of the header block ``head``, in order, each with its folded lines.

    ``lf`` and ``keep_ends`` as for :func:`lines`: without ``keep_ends`` a field's lines
    are joined with CRLF (and it has no line end of its own); with it, each field is the
    exact bytes it took in ``head``.
    """
    sep = b"" if keep_ends else b"\r\n"
    return [sep.join(field) for field in group(lines(head, lf=lf, keep_ends=keep_ends))]
