"""Exceptions raised by labkit.

Outcomes of checks (an SPF ``fail``, a DMARC ``reject``, a spam score) are values,
never exceptions.  Exceptions mean the lab was set up wrongly or misused::

    LabkitError
    ├── UsageError        bad arguments or bad input from the learner (CLI exit 2)
    │   ├── ZoneError     a zone file that does not parse (names the file and line)
    │   └── UnknownHost   a host name that is not in the lab (also a KeyError)
    ├── ServiceError      a lab server could not start or stop (port in use, ...)
    ├── EmptyMailbox      a mailbox folder was asked for its newest mail but holds none
    │                     (also a LookupError)
    └── CorpusError       the spam corpus is missing or damaged
"""

from __future__ import annotations


class LabkitError(Exception):
    """Root of every exception labkit raises on purpose."""


class UsageError(LabkitError):
    """Bad arguments or input; the CLI turns it into exit code 2."""


class ZoneError(UsageError):
    """A zone file could not be read; the message names the source and the line."""


class UnknownHost(UsageError, KeyError):
    """A name that is no lab host (no A record in the lab DNS); the message lists the cast."""

    __str__ = Exception.__str__  # (KeyError's would print the message in quotes)


class ServiceError(LabkitError):
    """A lab service could not start, or stopped unexpectedly."""


class EmptyMailbox(LabkitError, LookupError):
    """A mailbox folder holds no message where one was asked for (the mail was not sent yet?)."""


class CorpusError(LabkitError):
    """The corpus is missing, incomplete or damaged."""


__all__ = ["LabkitError", "UsageError", "ZoneError", "UnknownHost", "ServiceError", "EmptyMailbox", "CorpusError"]
