"""LabDNS and TSIG-signed requests (RFC 8945), over real sockets.

LabDNS holds no TSIG keys, so every key a client signs with is unknown to it. RFC 8945
section 5.2.1 says what such a server owes the client: an error response with RCODE 9
(NOTAUTH) and TSIG error 17 (BADKEY), and that response is unsigned (section 5.3.2: MAC
size 0, empty MAC). A TSIG record anywhere but last in the additional section is
FORMERR (section 5.2). Before this was handled, LabDNS answered every signed query
with a bare FORMERR, which dig and dnspython report as a broken server.
"""

from __future__ import annotations

import io
import logging
import socket
import struct
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

import labkit.dns
from tests.conftest import require_tool

ZONE = """
$ORIGIN tsig.example.
$TTL 300
@    IN SOA ns.tsig.example. hostmaster.tsig.example. 1 3600 600 86400 60
@    IN NS  ns
ns   IN A   192.0.2.53
www  IN A   192.0.2.80
"""

# A made-up key: LabDNS has never heard of it (no key is ever configured there).
KEY_NAME = "made-up-key."
SECRET = "bGFia2l0LW5ldmVyLWxvZ3MtdGhpcy1zZWNyZXQ="  # base64 of "labkit-never-logs-this-secret"
KEYRING = dns.tsigkeyring.from_text({KEY_NAME: SECRET})


@pytest.fixture(scope="module")
def server():
    with labkit.dns.LabDNS(zones=ZONE) as lab:
        yield lab


def signed_query(name="www.tsig.example", rdtype="A", **make) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype, **make)
    q.use_tsig(KEYRING, keyname=KEY_NAME, algorithm=dns.tsig.HMAC_SHA256)
    return q


def exchange_udp(lab, wire: bytes) -> dns.message.Message:
    """Send raw bytes; read the reply without verifying any TSIG in it (keyring=False)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(wire, (lab.host, lab.port))
        return dns.message.from_wire(s.recv(65535), keyring=False)


def exchange_tcp(conn: socket.socket, query: dns.message.Message) -> dns.message.Message:
    dns.query.send_tcp(conn, query.to_wire())
    reply, _ = dns.query.receive_tcp(conn, time.time() + 2, keyring=False)
    return reply


def assert_unsigned_badkey(reply: dns.message.Message, query: dns.message.Message) -> None:
    assert reply.id == query.id
    assert reply.rcode() == dns.rcode.NOTAUTH
    assert reply.question == query.question
    assert reply.tsig is not None, "the reply must carry a TSIG record naming the error"
    assert reply.keyname == dns.name.from_text(KEY_NAME)
    (rd,) = reply.tsig
    assert rd.error == dns.rcode.BADKEY
    assert rd.mac == b"", "a BADKEY reply is unsigned (RFC 8945 5.3.2)"
    assert rd.algorithm == dns.tsig.HMAC_SHA256
    assert rd.original_id == query.id
    assert not reply.answer, "no data for a request the server could not authenticate"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_dnspython_client_is_told_badkey(server, transport):
    # dnspython checks the reply's TSIG against the request: an unsigned reply with
    # error BADKEY raises PeerBadKey; a reply without any TSIG raised FormError.
    q = signed_query()
    send = dns.query.udp if transport == "udp" else dns.query.tcp
    with pytest.raises(dns.tsig.PeerBadKey):
        send(q, server.host, port=server.port, timeout=2)


def test_the_wire_carries_notauth_and_an_unsigned_badkey_tsig_over_udp(server):
    q = signed_query()
    assert_unsigned_badkey(exchange_udp(server, q.to_wire()), q)


def test_the_wire_carries_notauth_and_an_unsigned_badkey_tsig_over_tcp(server):
    # and the connection keeps serving: a plain query after the signed one is answered
    q = signed_query()
    plain = dns.message.make_query("www.tsig.example", "A")
    with socket.create_connection((server.host, server.port), timeout=2) as conn:
        assert_unsigned_badkey(exchange_tcp(conn, q), q)
        answer = exchange_tcp(conn, plain)
    assert answer.rcode() == dns.rcode.NOERROR
    assert answer.answer[0][0].to_text() == "192.0.2.80"


def test_signed_query_with_edns_keeps_tsig_last(server):
    # RFC 8945 5.2 / RFC 6891: OPT, then TSIG as the very last record
    q = signed_query(use_edns=0)
    reply = exchange_udp(server, q.to_wire())
    assert_unsigned_badkey(reply, q)
    assert reply.edns == 0


def test_signed_update_is_notauth_badkey_too(server):
    # nsupdate's usual case: a signed UPDATE. LabDNS takes no updates and knows no
    # keys; the key check comes first, as in RFC 8945 5.2.
    upd = dns.update.UpdateMessage("tsig.example", keyring=KEYRING, keyname=KEY_NAME,
                                   keyalgorithm=dns.tsig.HMAC_SHA256)
    upd.add("new", 300, "A", "192.0.2.99")
    reply = exchange_udp(server, upd.to_wire())
    assert reply.rcode() == dns.rcode.NOTAUTH
    assert reply.tsig[0].error == dns.rcode.BADKEY


def test_misplaced_tsig_is_formerr(server):
    # RFC 8945 5.2: a TSIG that is not the last record in the additional section is a
    # format error (here an A record follows it)
    q = signed_query()
    wire = bytearray(q.to_wire())
    trailer = io.BytesIO()
    dns.rrset.from_text("www.tsig.example.", 0, "IN", "A", "192.0.2.1").to_wire(trailer)
    struct.pack_into("!H", wire, 10, struct.unpack_from("!H", wire, 10)[0] + 1)
    reply = exchange_udp(server, bytes(wire) + trailer.getvalue())
    assert reply.rcode() == dns.rcode.FORMERR
    assert reply.id == q.id


def test_the_server_keeps_answering_and_logs_without_the_key(server, caplog):
    server.clear_queries()
    with caplog.at_level(logging.DEBUG, logger="labkit"):
        for _ in range(5):
            q = signed_query()
            assert_unsigned_badkey(exchange_udp(server, q.to_wire()), q)
        ok = dns.query.udp(dns.message.make_query("www.tsig.example", "A"),
                           server.host, port=server.port, timeout=2)
    assert ok.rcode() == dns.rcode.NOERROR and ok.answer
    log = server.queries
    assert [entry.rcode for entry in log[:5]] == ["NOTAUTH BADKEY"] * 5
    assert log[0].name == "www.tsig.example." and log[0].rdtype == "A"
    assert log[-1].rcode == "NOERROR"
    shown = caplog.text + str(log) + log._repr_html_() + repr([e.to_dict() for e in log])
    assert "TSIG" in caplog.text  # RFC 8945 5.2.1: the server SHOULD log the error
    for secret_part in (SECRET, SECRET[:12], "labkit-never-logs", KEY_NAME.rstrip(".")):
        assert secret_part not in shown


@pytest.mark.parametrize("transport", ["+notcp", "+tcp"])
def test_dig_with_an_unknown_key_gets_notauth_badkey(server, transport):
    dig = require_tool("dig")
    out = subprocess.run(
        [dig, "@" + server.host, "-p", str(server.port), transport, "+tries=1", "+time=3",
         "-y", f"hmac-sha256:{KEY_NAME.rstrip('.')}:{SECRET}", "www.tsig.example", "A"],
        capture_output=True, text=True, timeout=20)
    assert "status: NOTAUTH" in out.stdout, out.stdout + out.stderr
    assert "BADKEY" in out.stdout, out.stdout + out.stderr
    # and the server still answers plain dig afterwards
    plain = subprocess.run([dig, "@" + server.host, "-p", str(server.port), transport, "+short",
                            "www.tsig.example", "A"], capture_output=True, text=True, timeout=20)
    assert plain.stdout.strip() == "192.0.2.80"
