"""labkit: the helper package behind Anti-Spam Labs.

In a notebook::

    import labkit as lk
    with lk.dns.LabDNS() as dns:
        lk.auth.spf.check("203.0.113.25", "alice@corp.example", "mx.corp.example", dns=dns)

Subpackages: :mod:`labkit.dns` (the lab Internet's DNS), :mod:`labkit.auth` (SPF,
DKIM, DMARC, ARC), :mod:`labkit.mta` (mail hosts), :mod:`labkit.filters` (spam
filters and the corpus), :mod:`labkit.widgets` (explainers), :mod:`labkit.grading`.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import (
    CorpusError,
    EmptyMailbox,
    LabkitError,
    ServiceError,
    UnknownHost,
    UsageError,
    ZoneError,
)

__version__ = "0.1.0"

_SUBPACKAGES = ("dns", "auth", "mta", "filters", "widgets", "grading", "net", "service")


def __getattr__(name: str) -> Any:
    # Subpackages load on first use so ``import labkit`` stays fast.
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    if name == "Lab":
        return importlib.import_module(".mta", __name__).Lab
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


__all__ = [
    "__version__",
    "LabkitError",
    "UsageError",
    "ZoneError",
    "UnknownHost",
    "ServiceError",
    "EmptyMailbox",
    "CorpusError",
    *_SUBPACKAGES,
    "Lab",
]
