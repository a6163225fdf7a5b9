"""POP3's optional commands on the lab's POP3 server: CAPA (RFC 2449), UIDL and TOP
(RFC 1939 section 7), spoken by Python's poplib, by curl and byte by byte; and the
response codes of RFC 2449 and RFC 3206 that tell a client why a login failed.

Before, the server answered "-ERR unknown command" to all three: poplib's ``capa()``,
``uidl()`` and ``top()`` raised, and a mail client that keeps mail on the server (it
needs UIDL to know what it has already downloaded) fetched everything again each time.
"""

from __future__ import annotations

import contextlib
import poplib
import socket
import subprocess
import uuid

import pytest

from labkit import net
from labkit.mta import default_password
from labkit.mta.lab import MX
from tests.conftest import require_tool

from .conftest import raw_connect

CAROL = "carol@corp.example"
CLIENT = "192.0.2.10"  # mail.brand.example: any lab address may read mail over POP3
EXPECTED_CAPA = {"USER": [], "TOP": [], "UIDL": [], "PIPELINING": [], "RESP-CODES": [],
                 "AUTH-RESP-CODE": [], "IMPLEMENTATION": ["labkit"]}
FIRST = (b"From: <ceo@brand.example>\r\nTo: <carol@corp.example>\r\nSubject: one\r\n"
         b"\r\nline 1\r\n.line 2 starts with a dot\r\nline 3\r\n")
SECOND = b"Subject: two\r\n\r\nsecond\r\n"


@pytest.fixture
def carol_box(lab):
    """Carol's INBOX holding exactly FIRST and SECOND (in that order)."""
    box = lab.mailbox(CAROL)
    for key in box.keys():
        box.remove(key)
    box.deliver(FIRST)
    box.deliver(SECOND)
    return box


def login(lab) -> poplib.POP3:
    return lab.pop3(CAROL, default_password(CAROL), from_host=CLIENT, host=MX)


def test_capa_lists_what_the_server_does_before_and_after_login(lab, carol_box):
    pop = poplib.POP3(*lab.server(MX, 110).address, timeout=10)
    try:
        assert pop.capa() == EXPECTED_CAPA  # AUTHORIZATION state
        pop.user(CAROL)
        pop.pass_(default_password(CAROL))
        assert pop.capa() == EXPECTED_CAPA  # TRANSACTION state: the same list
    finally:
        pop.quit()


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_pipelined_commands_are_answered_in_order(lab, carol_box):
    # PIPELINING is listed in CAPA: a client may send all its commands in one write
    sock = raw_connect(lab, CLIENT, MX, 110)
    try:
        sock.sendall(f"CAPA\r\nUSER {CAROL}\r\nPASS {default_password(CAROL)}\r\n"
                     f"STAT\r\nUIDL 2\r\nTOP 1 0\r\nNOOP\r\nQUIT\r\n".encode())
        lines = _read_until_closed(sock).decode().split("\r\n")
    finally:
        sock.close()
    assert lines[0].startswith("+OK")  # the greeting
    # the CAPA response format of RFC 2449 section 5: +OK, one capability a line, "."
    assert lines[1].startswith("+OK") and lines[9] == "."
    assert lines[2:9] == ["USER", "TOP", "UIDL", "PIPELINING", "RESP-CODES", "AUTH-RESP-CODE",
                          "IMPLEMENTATION labkit"]
    assert lines[10:13] == ["+OK send PASS", "+OK 2 messages", f"+OK 2 {len(FIRST) + len(SECOND)}"]
    assert lines[13].startswith("+OK 2 ")  # UIDL 2
    top = FIRST.split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert lines[14].startswith("+OK") and lines[15:15 + len(top) + 2] == [*top, "", "."]
    assert lines[15 + len(top) + 2:] == ["+OK", "+OK bye", ""]


def test_uidl_is_stable_across_sessions_and_unique(lab, carol_box):
    pop = login(lab)
    first = pop.uidl()[1]
    pop.quit()
    pop = login(lab)
    try:
        again = pop.uidl()[1]
        assert again == first  # the same stored messages keep their unique-ids
        numbers, ids = zip(*(line.split(b" ") for line in again), strict=True)
        assert numbers == (b"1", b"2") and ids[0] != ids[1]
        for uid in ids:  # RFC 1939 section 7: 1 to 70 characters in 0x21..0x7E
            assert 1 <= len(uid) <= 70 and all(0x21 <= c <= 0x7E for c in uid)
        assert pop.uidl(2).split() == [b"+OK", b"2", ids[1]]
        # deleted messages are left out, as LIST leaves them out
        pop.dele(1)
        assert pop.uidl()[1] == [again[1]]
        with pytest.raises(poplib.error_proto, match="no such message"):
            pop.uidl(1)
        pop.rset()
        assert pop.uidl()[1] == again
    finally:
        pop.quit()
    # a message delivered later gets a new id; the others keep theirs
    carol_box.deliver(b"Subject: three\r\n\r\nthird\r\n")
    pop = login(lab)
    try:
        later = pop.uidl()[1]
    finally:
        pop.quit()
    assert later[:2] == first and later[2].split()[1] not in ids


def test_top_sends_the_header_and_n_body_lines_dot_stuffed(lab, carol_box):
    head, body = FIRST.split(b"\r\n\r\n")
    head_lines = head.split(b"\r\n")
    pop = login(lab)
    try:
        assert pop.top(1, 0)[1] == [*head_lines, b""]
        # poplib removes the byte-stuffing: the dot line comes back as it was stored
        assert pop.top(1, 2)[1] == [*head_lines, b"", b"line 1", b".line 2 starts with a dot"]
        assert pop.top(1, 99)[1] == FIRST.split(b"\r\n")[:-1]  # more lines than there are
        for bad in ("1", "1 -1", "1 x", ""):
            with pytest.raises(poplib.error_proto):
                pop._shortcmd(f"TOP {bad}")
        pop.dele(1)
        with pytest.raises(poplib.error_proto, match="no such message"):
            pop.top(1, 0)
        assert pop.top(2, 5)[1] == [b"Subject: two", b"", b"second"]
    finally:
        pop.quit()


def test_top_is_byte_stuffed_on_the_wire_like_retr(lab, carol_box):
    sock = raw_connect(lab, CLIENT, MX, 110)
    try:
        sock.sendall(f"USER {CAROL}\r\nPASS {default_password(CAROL)}\r\n"
                     f"TOP 1 2\r\nRETR 1\r\nQUIT\r\n".encode())
        wire = _read_until_closed(sock)
    finally:
        sock.close()
    assert wire.count(b"\r\n..line 2 starts with a dot\r\n") == 2  # TOP and RETR alike


def test_second_session_is_refused_with_the_in_use_code(lab, carol_box):
    # RESP-CODES is listed: the refusal of RFC 1939's maildrop lock carries [IN-USE]
    # (RFC 2449 section 8.1.1), so a client knows the password was right
    first = login(lab)
    try:
        with pytest.raises(poplib.error_proto, match=r"^b'-ERR \[IN-USE\]"):
            login(lab)
    finally:
        first.quit()


@pytest.mark.parametrize("user,password", [
    (CAROL, "not-carols-password"),  # a wrong password
    ("nobody@corp.example", "whatever"),  # no such user: the same answer, nothing revealed
    ("carol@elsewhere.example", "whatever"),  # not a domain of this host
])
def test_wrong_credentials_are_refused_with_the_auth_code(lab, carol_box, user, password):
    # AUTH-RESP-CODE is listed (RFC 3206 section 6), so a refusal for the credentials
    # carries [AUTH] (section 5): the client asks the user again instead of retrying
    pop = poplib.POP3(*lab.server(MX, 110).address, timeout=10)
    try:
        pop.user(user)
        with pytest.raises(poplib.error_proto, match=r"^b'-ERR \[AUTH\] authentication failed"):
            pop.pass_(password)
    finally:
        pop.quit()
    pop = login(lab)  # and the right password still works (no lock was taken)
    pop.quit()


@contextlib.contextmanager
def maildrop_broken(box):
    """``box`` cannot be opened meanwhile: a plain file stands where its new/ folder goes."""
    new = box.path / "new"
    aside = box.path / f"new-aside-{uuid.uuid4().hex}"
    new.rename(aside)
    new.write_bytes(b"")
    try:
        yield
    finally:
        new.unlink()
        aside.rename(new)


def test_a_maildrop_that_cannot_be_opened_is_sys_temp_and_stays_unlocked(lab, carol_box):
    # RFC 3206 section 4: [SYS/TEMP] says the failure is the server's, so the client
    # keeps the password and tries later. Before, the login died without a reply
    # (poplib saw EOF) and the server logged an unhandled OSError.
    with maildrop_broken(carol_box), \
            pytest.raises(poplib.error_proto, match=r"^b'-ERR \[SYS/TEMP\]"):
        login(lab)
    entry = lab.events.entries(host=MX, event="auth")[-1]
    assert entry["decision"] == "reject" and "maildrop cannot be opened" in entry["reason"]
    pop = login(lab)  # repaired: the next login works, not "[IN-USE]" (no lock was left)
    try:
        assert pop.stat()[0] == 2
    finally:
        pop.quit()


# -- curl --------------------------------------------------------------------------------

def curl(lab, *args: str) -> subprocess.CompletedProcess:
    if lab.client_addressing != "alias":
        pytest.skip("curl binds loopback aliases here (Linux); this lab uses PROXY")
    host, port = lab.server(MX, 110).address
    cmd = [require_tool("curl"), "-sS", "-v", "--max-time", "20",
           "--interface", net.to_loopback(CLIENT), "--user", f"{CAROL}:{default_password(CAROL)}",
           *args, f"pop3://{host}:{port}/"]
    return subprocess.run(cmd, capture_output=True, timeout=60, check=False)


def test_curl_sees_the_auth_code_for_a_wrong_password(lab, carol_box):
    wrong = curl(lab, "--user", f"{CAROL}:not-carols-password")  # the later --user wins
    assert wrong.returncode == 67, wrong.stderr  # curl: login denied
    assert "< -ERR [AUTH] authentication failed" in wrong.stderr.decode()


def test_curl_reads_capa_uidl_and_top(lab, carol_box):
    pop = login(lab)
    ids = pop.uidl()[1]
    pop.quit()
    uidl = curl(lab, "-X", "UIDL")
    assert uidl.returncode == 0, uidl.stderr
    assert uidl.stdout == b"".join(line + b"\r\n" for line in ids)
    assert "< UIDL" in uidl.stderr.decode()  # curl asked CAPA first, and read the list
    top = curl(lab, "-X", "TOP 1 1")
    assert top.returncode == 0, top.stderr
    head = FIRST.split(b"\r\n\r\n")[0]
    assert top.stdout == head + b"\r\n\r\nline 1\r\n"
    marker = uuid.uuid4().hex  # TOP 1 0 of a message with a dot line: curl unstuffs it
    carol_box.deliver(f"Subject: {marker}\r\n.X: dot\r\n\r\nbody\r\n".encode())
    top = curl(lab, "-X", "TOP 3 0")
    assert top.returncode == 0 and top.stdout == f"Subject: {marker}\r\n.X: dot\r\n\r\n".encode()
