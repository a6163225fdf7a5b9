"""The lab clock: real time plus an offset that a notebook can advance.

Time windows in the lab (POP before SMTP, for one) read this clock, so a learner can
"wait ten minutes" with ``lab.clock.advance(600)`` instead of waiting for real.

Introduced in lab 07 (sending side: POP before SMTP).
"""

from __future__ import annotations

import datetime
import email.utils
import threading
import time

from .. import _coerce
from ..errors import UsageError


class LabClock:
    """Wall-clock time that can be moved forward (never back)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, lab time."""
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move lab time forward by ``seconds`` (a number or a ``datetime.timedelta``);
        return the new lab time.

        A wrong type (text, None, True) is a ``TypeError``; a number that is not finite
        or below 0 a :class:`~labkit.errors.UsageError` (as every bad value in labkit).
        """
        if isinstance(seconds, datetime.timedelta):
            seconds = seconds.total_seconds()
        seconds = _coerce.number(seconds, "seconds", example="600 (ten minutes)")  # NumPy's too
        if seconds < 0:
            raise UsageError(f"the lab clock only moves forward: advance({seconds:g}) would "
                             "turn it back")
        with self._lock:
            self._offset += float(seconds)
        return self.now()

    @property
    def offset(self) -> float:
        """How far lab time is ahead of real time, in seconds."""
        return self._offset

    def __repr__(self) -> str:
        return f"<LabClock +{self._offset:.0f}s>"


def mail_date(when: float | None = None) -> str:
    """An RFC 5322 date-time in UTC with an explicit ``+0000`` zone.

    ``email.utils.formatdate`` writes ``-0000``, which RFC 5322 3.3 reserves for
    "the local zone is unknown" (``email.utils.parsedate_to_datetime`` then gives a
    naive datetime): a learner reading a Received or Date line must see a real zone.
    """
    moment = datetime.datetime.fromtimestamp(time.time() if when is None else when,
                                             datetime.timezone.utc)
    return email.utils.format_datetime(moment)


__all__ = ["LabClock", "mail_date"]
