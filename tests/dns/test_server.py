"""LabDNS over real sockets: answers, faults, truncation, concurrency, bad input."""

from __future__ import annotations

import asyncio
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.resolver
import pytest

import labkit.dns
from labkit.errors import ServiceError, UsageError, ZoneError
from tests.conftest import require_tool

LONG = "v=spf1 " + " ".join(f"ip4:192.0.2.{i}" for i in range(1, 60)) + " -all"

ZONE = f"""
$ORIGIN t.example.
$TTL 300
@       IN SOA ns.t.example. hostmaster.t.example. 1 3600 600 86400 300
@       IN NS  ns
ns      IN A   192.0.2.53
@       IN TXT "v=spf1 ip4:192.0.2.1 -all"
esc     IN TXT "a\\065\\066c"
multi   IN TXT "first " "second"
long    IN TXT {" ".join('"' + LONG[i:i + 255] + '"' for i in range(0, len(LONG), 255))}
alias   IN CNAME step
step    IN CNAME www
www     IN A   192.0.2.80
loop1   IN CNAME loop2
loop2   IN CNAME loop1
*.wild  IN TXT "wildcard answer"
own.wild IN A  192.0.2.81
a.b.deep IN A  192.0.2.82
"""

ZONE_OTHER = """
$ORIGIN t.example.
$TTL 300
@ IN SOA ns hostmaster 1 3600 600 86400 300
@ IN TXT "v=spf1 ip4:198.51.100.1 -all"
"""


@pytest.fixture(scope="module")
def server():
    with labkit.dns.LabDNS(zones=ZONE) as lab:
        yield lab


def ask(lab, name, rdtype="A", tcp=False):
    q = dns.message.make_query(name, rdtype)
    fn = dns.query.tcp if tcp else dns.query.udp
    return fn(q, lab.host, port=lab.port, timeout=2)


def test_binds_loopback_on_ephemeral_port(server):
    assert server.host == "127.0.0.1"
    assert server.port >= 1024


def test_txt_and_decimal_escapes(server):
    r = ask(server, "esc.t.example", "TXT")
    assert r.answer[0][0].strings == (b"aABc",)  # \065 is decimal 65 = 'A'


def test_multi_string_txt_is_kept_and_joinable(server):
    rr = server.resolver().resolve("multi.t.example", "TXT", search=False)
    assert rr.rrset[0].strings == (b"first ", b"second")
    assert b"".join(rr.rrset[0].strings) == b"first second"


def test_long_txt_sets_tc_over_udp_and_comes_whole_over_tcp(server):
    udp = ask(server, "long.t.example", "TXT")
    assert udp.flags & dns.flags.TC
    assert not udp.answer
    tcp = ask(server, "long.t.example", "TXT", tcp=True)
    strings = tcp.answer[0][0].strings
    assert all(len(s) <= 255 for s in strings)
    assert b"".join(strings).decode() == LONG
    # the resolver falls back to TCP by itself
    rr = server.resolver().resolve("long.t.example", "TXT", search=False)
    assert b"".join(rr.rrset[0].strings).decode() == LONG


def test_edns_buffer_size_lets_a_long_answer_fit_in_udp(server):
    q = dns.message.make_query("long.t.example", "TXT", use_edns=0, payload=4096)
    r = dns.query.udp(q, server.host, port=server.port, timeout=2)
    assert not r.flags & dns.flags.TC
    assert b"".join(r.answer[0][0].strings).decode() == LONG
    small = dns.message.make_query("long.t.example", "TXT", use_edns=0, payload=512)
    assert dns.query.udp(small, server.host, port=server.port, timeout=2).flags & dns.flags.TC



def test_udp_replies_stop_at_1232_bytes_whatever_the_client_offers():
    """RFC 6891 section 6.2.5: a UDP reply is no larger than the smaller of the client's
    EDNS size and the server's own; LabDNS's is 1232 (DNS Flag Day 2020), and replies
    announce it.  An answer of about 2 kB offered 4096 bytes is truncated (TC), and
    comes whole over TCP."""
    huge = "v=spf1 " + " ".join(f"ip4:198.51.100.{i}" for i in range(1, 130)) + " -all"
    zone = ZONE_OTHER + "big IN TXT " + " ".join(
        '"' + huge[i:i + 255] + '"' for i in range(0, len(huge), 255)) + "\n"
    with labkit.dns.LabDNS(zones=zone) as lab:
        q = dns.message.make_query("big.t.example", "TXT", use_edns=0, payload=4096)
        r = dns.query.udp(q, lab.host, port=lab.port, timeout=2)
        assert r.flags & dns.flags.TC and not r.answer
        assert r.payload == labkit.dns.server.UDP_PAYLOAD == 1232
        whole = dns.query.tcp(q, lab.host, port=lab.port, timeout=2)
        assert b"".join(whole.answer[0][0].strings).decode() == huge
        assert len(whole.to_wire()) > 1232

def test_nxdomain_vs_nodata(server):
    assert ask(server, "missing.t.example").rcode() == dns.rcode.NXDOMAIN
    nodata = ask(server, "www.t.example", "TXT")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert nodata.authority and nodata.authority[0].rdtype == dns.rdatatype.SOA
    # an empty non-terminal exists: NOERROR, no data
    ent = ask(server, "b.deep.t.example")
    assert ent.rcode() == dns.rcode.NOERROR and not ent.answer


def test_names_outside_every_zone_are_nxdomain(server):
    assert ask(server, "gmail.com", "TXT").rcode() == dns.rcode.NXDOMAIN


def test_case_insensitive_and_question_case_kept(server):
    r = ask(server, "WwW.T.Example")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer[0][0].address == "192.0.2.80"
    assert r.question[0].name.to_text() == "WwW.T.Example."


def test_cname_chain_followed_inside_data(server):
    r = ask(server, "alias.t.example")
    types = [dns.rdatatype.to_text(rr.rdtype) for rr in r.answer]
    assert types == ["CNAME", "CNAME", "A"]
    assert r.answer[-1][0].address == "192.0.2.80"


def test_cname_loop_is_guarded(server):
    r = ask(server, "loop1.t.example")
    assert r.rcode() == dns.rcode.NOERROR
    from labkit.dns.authority import MAX_CNAME_CHAIN

    owners = [rr.name.to_text() for rr in r.answer]
    assert owners == ["loop1.t.example.", "loop2.t.example."]
    assert len(r.answer) <= MAX_CNAME_CHAIN


def test_wildcards_rfc4592(server):
    r = ask(server, "anything.wild.t.example", "TXT")
    assert r.answer[0].name.to_text() == "anything.wild.t.example."
    assert r.answer[0][0].strings == (b"wildcard answer",)
    # a name that exists is not covered by the wildcard: NOERROR, no data
    own = ask(server, "own.wild.t.example", "TXT")
    assert own.rcode() == dns.rcode.NOERROR and not own.answer


@pytest.mark.parametrize("kind,rcode", [("servfail", dns.rcode.SERVFAIL), ("refused", dns.rcode.REFUSED)])
def test_fault_rcodes(kind, rcode):
    with labkit.dns.LabDNS(zones=ZONE, faults={"www.t.example/A": kind}) as lab:
        assert ask(lab, "www.t.example").rcode() == rcode
        # only that type is affected
        assert ask(lab, "www.t.example", "TXT").rcode() == dns.rcode.NOERROR
        assert lab.queries[0].fault == kind


def test_fault_timeout_gives_no_answer_over_udp_and_tcp():
    with labkit.dns.LabDNS(zones=ZONE, faults={"t.example": "timeout"}) as lab:
        with pytest.raises(dns.exception.Timeout):
            dns.query.udp(dns.message.make_query("t.example", "TXT"), lab.host, port=lab.port, timeout=0.3)
        with pytest.raises(dns.exception.Timeout):
            dns.query.tcp(dns.message.make_query("t.example", "TXT"), lab.host, port=lab.port, timeout=0.3)
        with pytest.raises(dns.resolver.LifetimeTimeout):
            lab.resolver(timeout=0.3).resolve("t.example", "TXT", search=False)
        # other names still answer
        assert ask(lab, "www.t.example").rcode() == dns.rcode.NOERROR


def test_bad_fault_kind_and_form_are_usage_errors():
    with pytest.raises(UsageError, match="timeout, servfail, refused"):
        labkit.dns.LabDNS(zones=ZONE, faults={"x.t.example": "explode"})
    with pytest.raises(UsageError, match="NAME=KIND"):
        labkit.dns.parse_fault("x.t.example")


def test_query_log(server):
    server.clear_queries()
    ask(server, "www.t.example", "A")
    ask(server, "nope.t.example", "TXT", tcp=True)
    log = server.queries
    assert [(q.name, q.rdtype, q.rcode, q.transport) for q in log] == [
        ("www.t.example.", "A", "NOERROR", "udp"),
        ("nope.t.example.", "TXT", "NXDOMAIN", "tcp"),
    ]
    assert log[0].answers == ("192.0.2.80",)
    assert "www.t.example." in str(log) and "<table>" in log._repr_html_()


def test_records_can_change_while_running():
    with labkit.dns.LabDNS(zones=ZONE) as lab:
        res = lab.resolver()
        lab.add("new.t.example", "TXT", '"v=spf1 -all"')
        assert res.resolve("new.t.example", "TXT", search=False).rrset[0].strings == (b"v=spf1 -all",)
        assert lab.remove("new.t.example", "TXT") == 1
        with pytest.raises(dns.resolver.NXDOMAIN):
            res.resolve("new.t.example", "TXT", search=False)
        with pytest.raises(UsageError):
            lab.add("bad..name", "TXT", '"x"')


def test_two_instances_give_each_caller_its_own_answers():
    with labkit.dns.LabDNS(zones=ZONE) as one, labkit.dns.LabDNS(zones=ZONE_OTHER) as two:
        errors: list[str] = []

        def worker(lab, expected):
            res = labkit.dns.as_resolver(lab)
            for _ in range(200):
                txt = res.resolve("t.example", "TXT", search=False).rrset[0].strings[0].decode()
                if expected not in txt:
                    errors.append(txt)

        threads = [threading.Thread(target=worker, args=(one, "192.0.2.1")),
                   threading.Thread(target=worker, args=(two, "198.51.100.1"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []


def test_thousand_queries_from_twenty_threads(server):
    names = [("www.t.example", "A", "192.0.2.80"), ("own.wild.t.example", "A", "192.0.2.81"),
             ("a.b.deep.t.example", "A", "192.0.2.82")]
    results: list[bool] = []
    lock = threading.Lock()

    def worker(k):
        res = server.resolver(timeout=5)
        for i in range(50):
            name, rdtype, want = names[(k + i) % len(names)]
            got = res.resolve(name, rdtype, search=False).rrset[0].address
            with lock:
                results.append(got == want)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 1000 and all(results)


def test_malformed_packets_never_stop_the_server(server):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1)
        # a header claiming one question, then garbage: FORMERR with the same id
        s.sendto(struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\xff\xff\xff", (server.host, server.port))
        data, _ = s.recvfrom(512)
        reply = dns.message.from_wire(data, question_only=True)
        assert reply.id == 0x1234 and reply.rcode() == dns.rcode.FORMERR
        s.sendto(b"\x01", (server.host, server.port))  # shorter than a header: dropped
        s.sendto(b"\x00" * 3000, (server.host, server.port))
    # a TCP client that sends half a message and hangs up
    with socket.create_connection((server.host, server.port), timeout=1) as c:
        c.sendall(b"\x00\x40abc")
    assert ask(server, "www.t.example").rcode() == dns.rcode.NOERROR


def test_zone_syntax_error_names_file_and_line(tmp_path: Path):
    bad = tmp_path / "bad.zone"
    bad.write_text("$ORIGIN x.example.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nwww IN BOGUS 1\n")
    with pytest.raises(ZoneError) as err:
        labkit.dns.LabDNS(zones=bad)
    assert str(bad) in str(err.value) and ":4" in str(err.value)


def test_start_twice_and_restart_on_same_port():
    lab = labkit.dns.LabDNS(zones=ZONE)
    lab.start()
    port = lab.port
    assert lab.start() is lab and lab.port == port  # harmless
    lab.stop()
    lab.stop()  # harmless too
    again = labkit.dns.LabDNS(zones=ZONE, port=port).start()  # the port was freed
    try:
        assert ask(again, "www.t.example").rcode() == dns.rcode.NOERROR
        with pytest.raises(ServiceError, match="Choose another port"):
            labkit.dns.LabDNS(zones=ZONE, port=port).start()
    finally:
        again.stop()


def test_works_inside_a_running_event_loop():
    async def inside():
        with labkit.dns.LabDNS(zones=ZONE) as lab:
            return lab.resolver().resolve("www.t.example", "A", search=False).rrset[0].address

    assert asyncio.run(inside()) == "192.0.2.80"


# -- the command line ------------------------------------------------------------------

@pytest.fixture()
def served(tmp_path):
    zone = tmp_path / "t.zone"
    zone.write_text(ZONE)
    proc = subprocess.Popen(
        [sys.executable, "-m", "labkit.cli", "dns", "serve", "--zones", str(zone),
         "--fault", "t.example/MX=servfail"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline()
    assert "port" in line, proc.stderr.read()
    port = int(line.split(" port ")[1].split()[0])
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.parametrize("transport", ["+notcp", "+tcp"])
def test_dig_against_labkit_dns_serve(served, transport):
    dig = require_tool("dig")
    out = subprocess.run([dig, "@127.0.0.1", "-p", str(served), transport, "+short", "www.t.example", "A"],
                         capture_output=True, text=True, timeout=20)
    assert out.stdout.strip() == "192.0.2.80"
    long = subprocess.run([dig, "@127.0.0.1", "-p", str(served), transport, "+short", "long.t.example", "TXT"],
                          capture_output=True, text=True, timeout=20)
    joined = "".join(part.strip('"') for part in long.stdout.split('" "')).replace('"', "").strip()
    assert joined == LONG
    fail = subprocess.run([dig, "@127.0.0.1", "-p", str(served), transport, "t.example", "MX"],
                          capture_output=True, text=True, timeout=20)
    assert "status: SERVFAIL" in fail.stdout


def test_serve_rejects_bad_fault_with_exit_2():
    out = subprocess.run([sys.executable, "-m", "labkit.cli", "dns", "serve", "--fault", "x.example=boom"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "timeout, servfail, refused" in out.stderr


def test_serve_port_in_use_is_a_clear_message(served):
    out = subprocess.run([sys.executable, "-m", "labkit.cli", "dns", "serve", "--port", str(served)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert f"port {served}" in out.stderr
