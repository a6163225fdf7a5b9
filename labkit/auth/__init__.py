"""Mail authentication for the lab: SPF, DKIM, DMARC, ARC and the headers that record them.

- :mod:`labkit.auth.spf` — ``check(ip, mail_from, helo, dns=...)`` with a readable trace
- :mod:`labkit.auth.spf_lint` — what is wrong or risky in an SPF record tree
- :mod:`labkit.auth.senderid` — the historical Sender ID (PRA) contrast
- :mod:`labkit.auth.dkim`, :mod:`labkit.auth.arc` — signatures and chains
- :mod:`labkit.auth.dmarc` — records, policy discovery, alignment, disposition
- :mod:`labkit.auth.fromheader` — the From domain, read strictly
- :mod:`labkit.auth.results` — ``Authentication-Results`` and ``Received-SPF``
- :mod:`labkit.auth.reports` — DMARC aggregate reports (imported on demand)
- :func:`evaluate` — one call for a whole message, returning a :class:`Verdict`

Introduced in lab 03 (SPF).
"""

from __future__ import annotations

import importlib
from typing import Any

from . import arc, dkim, dmarc, fromheader, orgdomain, results, senderid, spf, spf_lint
from .verdict import Verdict, evaluate


def __getattr__(name: str) -> Any:
    # reports pulls in pandas and xmlschema: load it on first use (lk.auth.reports)
    if name == "reports":
        return importlib.import_module(".reports", __name__)
    raise AttributeError(f"module 'labkit.auth' has no attribute {name!r}")


__all__ = ["evaluate", "Verdict", "spf", "spf_lint", "senderid", "dkim", "arc", "dmarc",
           "fromheader", "orgdomain", "results", "reports"]
