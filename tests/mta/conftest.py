"""Fixtures for the mail lab: a running Lab on the session's LabDNS, raw SMTP clients."""

from __future__ import annotations

import socket

import pytest

import labkit.mta
from labkit import net
from labkit.mta import default_password


@pytest.fixture(scope="module")
def lab(lab_dns):
    """A Lab (alias addressing where possible) sharing the session's LabDNS."""
    with labkit.mta.Lab(dns=lab_dns) as running:
        yield running


def raw_connect(lab, client: str, host: str, port: int = 25) -> socket.socket:
    """A plain TCP socket to ``host``:``port`` that the server sees as ``client``."""
    address = lab.hosts.resolve(host).address
    h, p = lab.endpoint(address, port)
    if lab.client_addressing == "proxy":
        sock = socket.create_connection((h, p), timeout=10)
        sock.sendall(f"PROXY TCP4 {client} {address} {sock.getsockname()[1]} {p}\r\n".encode())
    else:
        sock = socket.create_connection((h, p), timeout=10,
                                        source_address=(net.to_loopback(client), 0))
    return sock


class Dialogue:
    """Line-by-line SMTP over a raw socket (for tests that need byte-exact input)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def reply(self) -> str:
        """Read one full (possibly multi-line) reply."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return "\n".join(lines) or ""
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            text = line.decode("utf-8", "replace")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                return "\n".join(lines)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def cmd(self, line: str) -> str:
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def dialogue(lab):
    """Factory: ``dialogue(client, host, port)`` -> a :class:`Dialogue` past the greeting."""
    opened = []

    def make(client: str, host: str = "mx.corp.example", port: int = 25) -> Dialogue:
        d = Dialogue(raw_connect(lab, client, host, port))
        opened.append(d)
        d.greeting = d.reply()
        return d

    yield make
    for d in opened:
        d.close()


class PopDialogue:
    """Line-by-line POP3 over a raw socket (for tests that need byte-exact replies)."""

    def __init__(self, lab, client: str, host: str) -> None:
        self.sock = raw_connect(lab, client, host, 110)
        self.buf = b""
        self.greeting = self.line()

    def line(self) -> str:
        """One reply line ("" once the server has closed the connection)."""
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return ""
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def raw_multi(self) -> bytes:
        """The rest of a multi-line response, as sent (with the final ".")."""
        while b"\r\n.\r\n" not in b"\r\n" + self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, self.buf
            self.buf += chunk
        data = b"\r\n" + self.buf
        end = data.index(b"\r\n.\r\n") + 5
        self.buf = data[end:]
        return data[2:end]

    def cmd(self, line: str | bytes) -> str:
        """Send ``line`` (text gets CRLF; bytes go as they are) and read one reply line."""
        self.sock.sendall(line if isinstance(line, bytes) else line.encode() + b"\r\n")
        return self.line()

    def multi(self, line: str) -> list[str]:
        """The lines of a multi-line response to ``line`` (without the final ".")."""
        first = self.cmd(line)
        assert first.startswith("+OK"), first
        return self.raw_multi().decode().split("\r\n")[:-2]

    def login(self, user: str, password: str | None = None) -> str:
        """USER and PASS (the lab password by default); the reply to PASS."""
        assert self.cmd(f"USER {user}").startswith("+OK")
        return self.cmd(f"PASS {password or default_password(user)}")

    def close(self) -> None:
        self.sock.close()
