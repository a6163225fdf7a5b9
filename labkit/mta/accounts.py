"""Lab user accounts (mailboxes and SMTP-AUTH / POP3 passwords).

Passwords are kept only as salted PBKDF2 hashes and compared in constant time; they
never appear in a repr or a log.  The default accounts are the cast's users; a lab
password is ``<local part>-pass`` (e.g. ``taro-pass``), printed in the lab notebooks.

Introduced in lab 00 (set-up: ``default_password``); lab 07 (sending side: SMTP-AUTH) adds accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading

from ..errors import UsageError

DEFAULT_USERS = (
    "alice@corp.example",
    "bob@corp.example",
    "carol@corp.example",
    "postmaster@corp.example",
    "dmarc@corp.example",
    "taro@isp.example",
    "postmaster@isp.example",
    # the forwarder and the mailing list keep their postmaster's mail (RFC 5321 4.5.1)
    "postmaster@fwd.example.net",
    "postmaster@lists.example.org",
)

_ITERATIONS = 2_000  # a lab, not a vault: fast enough for thousands of logins in a test


def default_password(address: str) -> str:
    """The lab password of a default account: ``<local part>-pass``."""
    return address.partition("@")[0].lower() + "-pass"


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, _ITERATIONS)


class Accounts:
    """Address -> password hash, thread-safe; addresses compare case-insensitively."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, tuple[bytes, bytes]] = {}
        for address, password in (users or {}).items():
            self.add(address, password)

    @classmethod
    def default(cls) -> Accounts:
        """The cast's users with their lab passwords."""
        return cls({a: default_password(a) for a in DEFAULT_USERS})

    def add(self, address: str, password: str) -> None:
        """Create or replace an account (``address`` is user@domain)."""
        if not isinstance(address, str) or "@" not in address.strip("<>")[1:-1]:
            raise UsageError(f"an account is a mail address such as 'taro@isp.example', "
                             f"not {address!r}")
        if not isinstance(password, str):
            raise TypeError(f"password must be a str, not {type(password).__name__}")
        salt = os.urandom(16)
        with self._lock:
            self._users[address.lower()] = (salt, _hash(password, salt))

    def remove(self, address: str) -> None:
        """Delete an account (its mailbox stays)."""
        with self._lock:
            self._users.pop(address.lower(), None)

    def exists(self, address: str) -> bool:
        """True if ``address`` is a lab user."""
        return address.strip("<>").lower() in self._users

    def check(self, address: str, password: str) -> bool:
        """True if the password is right for ``address``."""
        with self._lock:
            entry = self._users.get(address.strip("<>").lower())
        if entry is None:
            _hash(password, b"\0" * 16)  # same work either way
            return False
        salt, digest = entry
        return hmac.compare_digest(digest, _hash(password, salt))

    def users(self, domain: str | None = None) -> list[str]:
        """Addresses of all users (optionally of one domain)."""
        with self._lock:
            names = sorted(self._users)
        return [a for a in names if domain is None or a.endswith("@" + domain.lower())]

    def __repr__(self) -> str:
        return f"<Accounts {len(self._users)} users>"


__all__ = ["Accounts", "DEFAULT_USERS", "default_password"]
