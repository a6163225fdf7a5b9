"""The mail hosts of the lab Internet, and the sender that plays any of them.

- :class:`Lab` — DNS + every host in background threads (``with lk.Lab() as lab``)
- :func:`send` / :func:`make_message` — send as a lab host, routed by MX
- :class:`Receiver` — the MX policy (FCrDNS, DNSBL, SPF, DKIM, DMARC, ARC, score)
- :class:`Submission`, :class:`POP3Server`, :class:`OP25B`, :class:`Forwarder`,
  :class:`MailingList`, :class:`ESP` — the rest of the cast
- :class:`Maildir`, :class:`EventLog` — where mail and decisions end up
- :mod:`downgrade` — 8-bit mail made 7-bit for a server without 8BITMIME (lab 04)

Introduced in lab 00 (set-up).
"""

from __future__ import annotations

from . import demo, downgrade, sender
from .accounts import Accounts, default_password
from .clock import LabClock
from .esp import ESP
from .events import EventLog
from .forwarder import Forwarder, srs_forward, srs_reverse
from .isp import OP25B, GatewayDecision
from .lab import Lab, POP3LoginError
from .maildir import Maildir, MailStore
from .mailinglist import MailingList
from .pop3 import POP3Server, RelayWindow
from .receiver import Decision, Receiver
from .sender import SendResult, make_message, send
from .smtpserver import Limits, SMTPServer
from .submission import Submission

__all__ = [
    "Lab",
    "POP3LoginError",
    "demo",
    "downgrade",
    "sender",
    "send",
    "make_message",
    "SendResult",
    "Receiver",
    "Decision",
    "Submission",
    "POP3Server",
    "RelayWindow",
    "OP25B",
    "GatewayDecision",
    "Forwarder",
    "srs_forward",
    "srs_reverse",
    "MailingList",
    "ESP",
    "Maildir",
    "MailStore",
    "EventLog",
    "LabClock",
    "Accounts",
    "default_password",
    "Limits",
    "SMTPServer",
]
