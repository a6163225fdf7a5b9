"""Exceptions raised by labkit.

Outcomes of checks (an SPF ``fail``, a DMARC ``reject``, a spam score) are values,
never exceptions.  Exceptions mean the lab was set up wrongly or misused::

    LabkitError
    ├── UsageError        bad arguments or bad input from the learner (CLI exit 2)
    │   └── ZoneError     a zone file that does not parse (names the file and line)
    ├── ServiceError      a lab server could not start or stop (port in use, ...)
    └── CorpusError       the spam corpus is missing or damaged
"""

from __future__ import annotations


class LabkitError(Exception):
    """Root of every exception labkit raises on purpose."""


class UsageError(LabkitError):
    """Bad arguments or input; the CLI turns it into exit code 2."""


class ZoneError(UsageError):
    """A zone file could not be read; the message names the source and the line."""


class ServiceError(LabkitError):
    """A lab service could not start, or stopped unexpectedly."""


class CorpusError(LabkitError):
    """The corpus is missing, incomplete or damaged."""


__all__ = ["LabkitError", "UsageError", "ZoneError", "ServiceError", "CorpusError"]
