"""Structured event log: every SMTP/POP3 session's decisions, one JSON object a line.

Each lab host appends to ``<lab root>/logs/<host>.jsonl``; a line looks like::

    {"t": 1790000000.1, "host": "mx.corp.example", "session": "mx.corp.example/7",
     "event": "rcpt", "decision": "reject", "reason": "unknown user", "rcpt": "zed@corp.example"}

Notebooks and aggregate reports read it with :meth:`EventLog.entries` or
:func:`read`.  Secrets never reach it: callers log user names, never passwords, and
:meth:`EventLog.record` drops any field whose name looks like a secret.  A field
whose value is ``None`` is left out of the line, and a text longer than
:data:`MAX_TEXT` characters is cut (a crafted message must not fill the log).

The receiver's ``verdict`` event (one per message, at the end of DATA) carries the
short forms a notebook table shows, and beside them what a DMARC aggregate report
needs, so that ``labkit.auth.reports.build(lab.verdicts(), policy_domain=...)`` or
``build(read(path), ...)`` gives the report straight from the log:

=====================  ===========================================================
``client``             the connecting client's address (the report's source IP)
``mail_from``          the envelope sender as given (``"<>"`` for a null sender)
``rcpts``              the accepted recipients
``decision``           what the receiver did: ``INBOX``, ``Junk`` or ``reject``
``spf``                the SPF result; ``spf_domain`` the domain it checked (the
                       MAIL FROM domain, or the HELO name for a null sender)
``dkim``               ``"result:domain"`` per signature (short form); each in full,
                       with its selector, in ``dkim_results`` (``domain``,
                       ``selector``, ``result``)
``header_from``        the From domain DMARC evaluated
``dmarc``              the DMARC result; ``dmarc_policy`` the policy that applied,
                       ``dmarc_policy_domain`` where it was published (``""``: no
                       record), ``dmarc_disposition`` what it asked for (after
                       ``t=y``), ``dmarc_testing``, ``dmarc_published`` the
                       record's tags (``p``, ``sp``, ``np``, ``adkim``, ``aspf``,
                       ``testing``, ``fo``, ``discovery_method``; ``{}`` without a
                       record); ``spf_aligned`` and ``dkim_aligned`` DMARC's aligned
                       verdicts
``arc``                the ARC result; ``arc_override`` true when a trusted sealer's
                       recorded pass overrode a DMARC failure
``disposition``        accept, quarantine or reject, by DMARC and ARC
=====================  ===========================================================

With authentication turned off a verdict has none of the authentication fields
(``dkim`` is an empty list), and no report can count it.

Hosts that pass mail on (submission, forwarder, mailing list, the ISP's relay) log
each onward attempt as ``relay`` (``forward`` for the forwarder) with its
``attempt`` number and the remote reply; ``defer`` when a temporary failure puts the
message in ``lab.queue`` for a retry (retried as ``lab.advance`` passes the retry
times); ``bounce`` when a delivery report goes back to the envelope sender (or, for a
null sender, is dropped).  The ISP gateway logs ``blocked`` under the host name
``isp-gateway`` for every port-25 connection OP25B refuses, with ``where`` saying
whether the sender or the server side stopped it.

What reaches the file when: an event is in memory (:meth:`EventLog.entries`) at
once.  The file gets it at once too, unless its session is *held*
(:meth:`EventLog.hold`): the SMTP hosts hold each session and write its lines
together when a reply ends a transaction or the session (the reply to DATA, to QUIT,
a dropped connection; see :mod:`labkit.mta.policy`) and on :meth:`EventLog.close`.
So the file has every line of a message before its client reads the 250, a stopped
lab's file has every line, and a busy receiver makes one ``write`` per message
instead of one per event.  Lines are written to the operating system, not
``fsync``-ed: the log explains decisions, the Maildir holds the mail; a crash of the
machine (not of the lab) may lose its last lines.

Introduced in lab 00 (set-up: ``lab.events``).
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: the event names labkit's hosts log (a custom policy may log others of its own)
EVENT_NAMES = frozenset({
    "allow-list", "auth", "block-list", "blocked", "bounce", "connect", "data", "defer",
    "deliver", "distribute", "dkim-sign", "dnsbl", "error", "errors", "fcrdns",
    "forged-results", "forged-spam-headers", "forward", "mail", "quit", "rcpt", "relay",
    "return-path", "spf", "verdict",
})

_SECRET_FIELDS = ("password", "passwd", "secret", "private_key", "key_pem")
# what json.dumps(entry, ensure_ascii=False, default=str) does, without a new encoder per line
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
MAX_PENDING = 256  # held lines written anyway once this many wait
#: longest text kept in a field (longer ones are cut, saying how long they were): a
#: Message-ID or DKIM d= folded over a 2 MB message put 6 MB into the log for good
MAX_TEXT = 2048


@functools.lru_cache(maxsize=512)
def _secret(name: str) -> bool:
    """Does a field name look like it holds a secret? (cached: the same names recur)"""
    low = name.lower()
    return any(s in low for s in _SECRET_FIELDS)


def _short(value: Any) -> Any:
    """``value`` with every text over :data:`MAX_TEXT` characters cut, also inside lists,
    tuples and dicts (such a container becomes a new list or dict); anything else, and
    any container with no long text, is returned as it is."""
    if isinstance(value, str):
        if len(value) <= MAX_TEXT:
            return value
        return f"{value[:MAX_TEXT]}... ({len(value)} characters)"
    if isinstance(value, (list, tuple)):
        items = [_short(v) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        pairs = {k: _short(v) for k, v in value.items()}
        return pairs if any(pairs[k] is not v for k, v in value.items()) else value
    return value


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: _short(v) for k, v in fields.items() if v is not None and not _secret(k)}


class EventLog:
    """Thread-safe JSON-lines log, one file per host under ``directory``, kept in memory too."""

    def __init__(self, directory: str | Path | None = None, *, clock: Any = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self._counters: dict[str, int] = {}
        self._files: dict[str, Any] = {}
        self._closed = False
        self._held: set[str] = set()
        self._pending: list[tuple[str, str]] = []  # (host, line) not yet in the files

    def new_session(self, host: str) -> str:
        """Return a fresh session id for ``host`` (``"host/N"``)."""
        with self._lock:
            n = self._counters.get(host, 0) + 1
            self._counters[host] = n
        return f"{host}/{n}"

    def record(self, host: str, session: str | None, event: str, **fields: Any) -> dict[str, Any]:
        """Append one event; ``decision`` and ``reason`` are the conventional fields."""
        now = self._clock.now() if self._clock is not None else time.time()
        entry = {"t": round(now, 3), "host": host, "session": session, "event": event}
        entry.update(_clean(fields))
        line = _ENCODER.encode(entry)
        with self._lock:
            self._entries.append(entry)
            if self.directory is not None and not self._closed:
                self._pending.append((host, line))
                if session not in self._held or len(self._pending) >= MAX_PENDING:
                    self._write_pending()
        log.debug("%s", line)
        return entry

    def _write_pending(self) -> None:
        """Append the pending lines to their files, one write per file (lock held)."""
        by_host: dict[str, list[str]] = {}
        for host, line in self._pending:
            by_host.setdefault(host, []).append(line)
        self._pending.clear()
        assert self.directory is not None
        for host, lines in by_host.items():
            fh = self._files.get(host)
            if fh is None:
                fh = open(self.directory / f"{host}.jsonl", "a", encoding="utf-8")  # noqa: SIM115
                self._files[host] = fh
            lines.append("")
            fh.write("\n".join(lines))
            fh.flush()

    def hold(self, session: str) -> None:
        """Keep ``session``'s lines for the file until :meth:`flush` or :meth:`release`."""
        with self._lock:
            self._held.add(session)

    def flush(self) -> None:
        """Write every pending line to the files now."""
        with self._lock:
            if self._pending and not self._closed:
                self._write_pending()

    def release(self, session: str) -> None:
        """Stop holding ``session`` (it ended) and write what is pending."""
        with self._lock:
            self._held.discard(session)
            if self._pending and not self._closed:
                self._write_pending()

    def close(self) -> None:
        """Write what is pending and close the log files (the in-memory events stay readable)."""
        with self._lock:
            if self._pending and not self._closed:
                self._write_pending()
            self._held.clear()
            for fh in self._files.values():
                fh.close()
            self._files.clear()
            self._closed = True

    def entries(
        self,
        *,
        host: str | None = None,
        event: str | None = None,
        session: str | None = None,
        **match: Any,
    ) -> list[dict[str, Any]]:
        """Events so far, filtered by host, event name, session and any other field values.

        An empty answer is a fair answer (nothing happened yet), but a ``host`` or
        ``event`` that no event so far has, and that is one letter or two away from one
        that some event has, is more likely a typo: that case warns with the close name,
        so a misspelt name does not pass for "no such event".  So does an ``event``
        that no event so far has and labkit never logs (:data:`EVENT_NAMES`).
        """
        with self._lock:
            items = list(self._entries)
        found = [
            e
            for e in items
            if (host is None or e["host"] == host)
            and (event is None or e["event"] == event)
            and (session is None or e["session"] == session)
            and all(e.get(k) == v for k, v in match.items())
        ]
        if not found and items:
            for field, value in (("host", host), ("event", event)):
                seen = {e[field] for e in items}
                if not isinstance(value, str) or value in seen:
                    continue
                close = difflib.get_close_matches(value, sorted(seen), n=1, cutoff=0.8)
                if close:
                    warnings.warn(f"no event so far has {field}={value!r}; did you mean "
                                  f"{close[0]!r}? (the {field}s seen so far: "
                                  f"{', '.join(sorted(seen))})", stacklevel=2)
                    if field == "event":
                        return found
        if (not found and isinstance(event, str) and event not in EVENT_NAMES
                and not any(e["event"] == event for e in items)):
            close = difflib.get_close_matches(event, sorted(EVENT_NAMES), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            warnings.warn(f"no event so far has event={event!r}, and labkit logs no event of "
                          f"that name; {hint}(labkit's events: {', '.join(sorted(EVENT_NAMES))})",
                          stacklevel=2)
        return found

    def to_frame(self, **filters: Any) -> Any:
        """The (filtered) events as a pandas DataFrame, for a notebook table."""
        import pandas as pd

        return pd.DataFrame(self.entries(**filters))

    def sessions(self, host: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Events grouped by session id, in order."""
        out: dict[str, list[dict[str, Any]]] = {}
        for e in self.entries(host=host):
            out.setdefault(e["session"], []).append(e)
        return out

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<EventLog {len(self)} events in {self.directory}>"


def read(path: str | Path) -> Iterator[dict[str, Any]]:
    """Read events back from a ``.jsonl`` file or a directory of them."""
    p = Path(path)
    files: Iterable[Path] = sorted(p.glob("*.jsonl")) if p.is_dir() else [p]
    for f in files:
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


__all__ = ["EventLog", "EVENT_NAMES", "read"]
