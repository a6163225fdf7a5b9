"""The cloud mail service (ESP): sends for customer domains, signing with its own.

A customer such as ``shop.example`` authorises the ESP in SPF
(``include:_spf.esp.example.com``); the ESP signs ``d=esp.example.com``.  The
receiver sees DKIM pass for a *third party*: it proves the ESP sent the mail, not
that the From domain did, so DMARC rests on SPF alignment alone.

Introduced in lab 06 (the receiver's verdict: ``lab.esp.send``); lab 04 (DKIM) signs as it
does to show third-party signatures.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable
from typing import Any

from . import sender as _sender


class ESP:
    """``out.esp.example.com``: an API that signs and sends for customers."""

    def __init__(self, lab: Any, *, hostname: str = "out.esp.example.com",
                 domain: str = "esp.example.com", selector: str = "esp") -> None:
        self.lab = lab
        self.hostname = hostname
        self.domain = domain
        self.selector = selector
        self.sent = 0

    def send(self, message: bytes, *, mail_from: str | None = None,
             rcpt_to: str | Iterable[str] | None = None) -> _sender.SendResult:
        """Sign ``d=esp.example.com`` and send from the ESP's address.

        The envelope sender defaults to ``bounce@<From domain>`` (the customer's
        domain, which authorises the ESP in SPF).
        """
        raw = _sender._as_bytes(message)
        if mail_from is None:
            frm = email.utils.parseaddr(_sender._header(raw, "From") or "")[1]
            mail_from = "bounce@" + frm.rpartition("@")[2]
        self.sent += 1
        return _sender.send(raw, lab=self.lab, from_host=self.hostname, mail_from=mail_from,
                            rcpt_to=rcpt_to, dkim=self.domain, selector=self.selector)

    def __repr__(self) -> str:
        return f"<ESP {self.hostname} d={self.domain} sent={self.sent}>"


__all__ = ["ESP"]
