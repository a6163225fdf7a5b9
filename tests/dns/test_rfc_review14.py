"""LabDNS against the RFCs, review 14: items the review-13 pass left open, each shown on
the wire (dnspython queries and ``dig`` against a running LabDNS).

- CD bit (RFC 4035 section 3.2.2): a security-aware name server copies the query's
  CD bit into its response; RFC 6840 section 5.9 has validating resolvers set CD on
  every upstream query, so a forwarder in front of LabDNS sends it all the time.
- Names outside every zone (RFC 2308 section 3, RFC 8020): the lab DNS plays the whole
  fictional Internet, so it answers them NXDOMAIN with AA (a documented choice, kept).
  An authoritative NXDOMAIN carries the SOA of the zone that says so: here the root
  zone the lab stands in for, which also makes the names above its zones (``example.``,
  ``arpa.``, the root) exist, as RFC 8020 requires of names with something below.
- CNAME rules across zone texts (RFC 1034 section 3.6.2, RFC 2181 section 10.1): a
  list of texts merged at one name was not checked, and two CNAME lines in one text
  kept the last silently.
- ``labkit dns dig --live`` without live DNS said TIMEOUT instead of why and what to do.
"""

from __future__ import annotations

import socket
import struct
import subprocess

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest

import labkit.dns
import labkit.dns.live
import labkit.net
from labkit.cli import main
from labkit.errors import UsageError, ZoneError
from tests.conftest import require_tool

ZONE = """
$ORIGIN r14.example.
$TTL 300
@      IN SOA ns.r14.example. hostmaster.r14.example. 1 3600 600 86400 300
@      IN NS  ns
ns     IN A   192.0.2.53
www    IN A   192.0.2.80
alias  IN CNAME www
"""


@pytest.fixture()
def lab():
    with labkit.dns.LabDNS(zones=ZONE) as server:
        yield server


def ask(lab, name, rdtype="A", tcp=False, **make):
    q = dns.message.make_query(name, rdtype, **make)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(q, lab.host, port=lab.port, timeout=2)


def dig(lab, *args):
    tool = require_tool("dig")
    return subprocess.run([tool, "@" + lab.host, "-p", str(lab.port), "+norec", *args],
                          capture_output=True, text=True, timeout=20).stdout


# -- CD bit (RFC 4035 section 3.2.2) -----------------------------------------------------

@pytest.mark.parametrize("tcp", [False, True])
@pytest.mark.parametrize("name,rdtype,rcode", [
    ("www.r14.example", "A", dns.rcode.NOERROR),
    ("missing.r14.example", "A", dns.rcode.NXDOMAIN),
    ("www.r14.example", "AXFR", dns.rcode.REFUSED),
    ("www.r14.example", "MAILA", dns.rcode.NOTIMP),
])
def test_cd_bit_is_copied_into_every_response(lab, tcp, name, rdtype, rcode):
    r = ask(lab, name, rdtype, tcp=tcp, flags=dns.flags.CD)
    assert r.rcode() == rcode and r.flags & dns.flags.CD, dns.flags.to_text(r.flags)
    r = ask(lab, name, rdtype, tcp=tcp)
    assert r.rcode() == rcode and not r.flags & dns.flags.CD  # and not invented


def test_cd_bit_is_copied_into_formerr_and_badvers(lab):
    # a header that promises a question and carries none: the bare FORMERR path
    packet = struct.pack("!HHHHHH", 0x1234, 0x0100 | 0x0010, 1, 0, 0, 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(packet, (lab.host, lab.port))
        reply = s.recv(512)
    qid, flags = struct.unpack("!HH", reply[:4])
    assert qid == 0x1234 and flags & 0x000F == dns.rcode.FORMERR and flags & 0x0010
    r = ask(lab, "www.r14.example", use_edns=1, flags=dns.flags.CD)
    assert r.rcode() == dns.rcode.BADVERS and r.flags & dns.flags.CD


def test_dig_cdflag_sees_cd_in_the_reply(lab):
    out = dig(lab, "+cdflag", "www.r14.example", "A")
    flags = next(line for line in out.splitlines() if line.startswith(";; flags:"))
    assert "cd" in flags.split(";")[2].split(), out


# -- names outside every zone (RFC 2308 section 3, RFC 8020) -----------------------------

def _root_soa(r):
    (soa,) = r.authority
    assert soa.rdtype == dns.rdatatype.SOA and soa.name == dns.name.root, soa
    return soa


@pytest.mark.parametrize("name", ["gmail.com", "nothing.invalid", "other.example"])
def test_nxdomain_outside_every_zone_carries_the_root_soa(lab, name):
    r = ask(lab, name, "TXT")
    assert r.rcode() == dns.rcode.NXDOMAIN and r.flags & dns.flags.AA and not r.answer
    soa = _root_soa(r)
    assert soa.ttl == min(soa.ttl, soa[0].minimum)  # RFC 2308 section 3 cap


def test_dig_shows_the_root_soa_for_a_name_outside_the_zones(lab):
    out = dig(lab, "gmail.com", "TXT")
    assert "status: NXDOMAIN" in out and "AUTHORITY: 1" in out, out
    authority = out.split(";; AUTHORITY SECTION:")[1].strip().splitlines()[0]
    assert authority.split()[0] == "." and "SOA" in authority.split(), out


@pytest.mark.parametrize("name", ["example", "arpa", "."])
def test_names_above_the_zones_exist_rfc8020(lab_dns, name):
    # corp.example exists, so example. cannot be NXDOMAIN ("nothing below")
    r = ask(lab_dns, name, "TXT")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer, dns.rcode.to_text(r.rcode())
    _root_soa(r)


def test_every_ancestor_of_a_served_zone_exists(lab_dns):
    for apex in lab_dns.authority.apexes:
        name = apex.parent()
        while True:
            assert ask(lab_dns, name.to_text(), "A").rcode() == dns.rcode.NOERROR, name
            if name == dns.name.root:
                break
            name = name.parent()


def test_root_soa_is_the_answer_to_root_soa(lab):
    r = ask(lab, ".", "SOA")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    (soa,) = r.answer
    assert soa.name == dns.name.root and soa.rdtype == dns.rdatatype.SOA


def test_a_real_root_zone_in_the_data_is_used_as_it_is():
    root = """$ORIGIN .
$TTL 300
@   SOA a.root.test. hostmaster.root.test. ( 7 3600 600 86400 120 )
@   NS  a.root.test.
"""
    with labkit.dns.LabDNS(zones=[ZONE, root]) as lab:
        r = ask(lab, "gmail.com", "TXT")
        assert r.rcode() == dns.rcode.NXDOMAIN
        assert _root_soa(r)[0].serial == 7


def test_data_without_any_soa_still_says_which_zone_denies():
    with labkit.dns.LabDNS(zones="www.bare.example. 300 IN A 192.0.2.1\n") as lab:
        r = ask(lab, "nothing.bare.example", "A")
        assert r.rcode() == dns.rcode.NXDOMAIN
        _root_soa(r)


def test_a_resolver_does_not_mistake_the_lab_for_the_internet(lab_dns):
    """The probe of labkit.dns.live still fails: the root is there but has no NS."""
    reachable, why = labkit.dns.live.internet_reachable(lab_dns.resolver(timeout=1.0))
    assert not reachable and "does not answer like the Internet" in why


# -- CNAME rules across zone texts (RFC 1034 3.6.2, RFC 2181 10.1) -----------------------

MORE = "$ORIGIN r14.example.\n$TTL 300\n"


@pytest.mark.parametrize("first", [
    "alias IN A 192.0.2.81",  # other data beside a CNAME, in another text
    "www IN CNAME ns",        # a CNAME beside other data, in another text
    "alias IN CNAME ns",      # a second CNAME, in another text
])
def test_merged_zone_texts_keep_the_cname_rules(first):
    with pytest.raises(UsageError) as err:
        labkit.dns.LabDNS(zones=[ZONE, MORE + first + "\n"])
    name = first.split()[0] + ".r14.example"
    assert name in str(err.value) and "CNAME" in str(err.value), err.value
    assert isinstance(err.value, ZoneError)


def test_merged_zone_texts_name_both_sources(tmp_path):
    (tmp_path / "a.zone").write_text(ZONE)
    (tmp_path / "b.zone").write_text(MORE + "alias IN TXT \"x\"\n")
    with pytest.raises(ZoneError) as err:
        labkit.dns.LabDNS(zones=tmp_path)
    text = str(err.value)
    assert "alias.r14.example" in text and "a.zone" in text and "b.zone" in text, text


def test_merged_zone_texts_without_a_clash_still_merge():
    more = MORE + "www IN TXT \"web\"\nalias IN CNAME www\nnew IN A 192.0.2.9\n"
    with labkit.dns.LabDNS(zones=[ZONE, more, ZONE]) as lab:  # the same text twice is fine
        assert [rd.to_text() for rr in ask(lab, "www.r14.example", "TXT").answer
                for rd in rr] == ['"web"']
        r = ask(lab, "alias.r14.example", "A")
        assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.CNAME, dns.rdatatype.A]


def test_two_cname_lines_for_one_name_in_one_zone_text_are_refused():
    with pytest.raises(ZoneError) as err:
        labkit.dns.LabDNS(zones=ZONE + "alias IN CNAME ns\n")
    text = str(err.value)
    assert "alias.r14.example" in text and "one CNAME" in text, text
    assert ":9:" in text  # the line of the second CNAME


def test_a_repeated_identical_cname_line_is_one_record():
    # RFC 2181 section 5: duplicate records in an RRset are one record
    with labkit.dns.LabDNS(zones=ZONE + "alias IN CNAME www\n") as lab:
        (cname, _a) = ask(lab, "alias.r14.example", "A").answer
        assert len(cname) == 1


def test_cname_and_other_data_in_one_text_names_the_name():
    with pytest.raises(ZoneError) as err:
        labkit.dns.LabDNS(zones=ZONE + "alias IN TXT \"x\"\n")
    assert "alias.r14.example" in str(err.value), err.value


# -- labkit dns dig --live without live DNS ----------------------------------------------

def test_dig_live_offline_says_live_dns_is_off(monkeypatch, capsys):
    monkeypatch.setenv("LABKIT_OFFLINE", "1")
    assert main(["dns", "dig", "--live", "gmail.com", "TXT"]) == 1
    out, err = capsys.readouterr()
    assert "TIMEOUT" not in out + err and out == "", (out, err)
    assert "live DNS is off" in err and "LABKIT_OFFLINE" in err, err
    assert "--snapshot" in err  # what to do instead, offline
    # the JSON form fails the same way (nothing half-written on stdout)
    assert main(["dns", "dig", "--live", "--json", "gmail.com", "TXT"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "live DNS is off" in err


@pytest.fixture
def dead_resolver() -> dns.resolver.Resolver:
    """A resolver pointed at a loopback port where nothing listens: no network."""
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = labkit.net.free_port(udp_too=True)
    return res


def test_dig_live_unreachable_says_so(monkeypatch, capsys, dead_resolver):
    # The machine's own resolver cannot be pointed at a dead port from a test, so the
    # one lookup that picks it is swapped for a real resolver at a closed loopback port.
    monkeypatch.delenv("LABKIT_OFFLINE", raising=False)
    monkeypatch.setattr(labkit.dns.live, "live_resolver",
                        lambda timeout=2.0: _with_timeout(dead_resolver, 0.3))
    assert main(["dns", "dig", "--live", "gmail.com", "TXT"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "live DNS is unreachable" in err and "127.0.0.1" in err, (out, err)
    assert "--snapshot" in err


def test_dig_live_with_a_sandbox_resolver_says_it_is_no_internet(monkeypatch, capsys, lab_dns):
    # a resolver that says NXDOMAIN for everything (the lab DNS plays one): its NXDOMAIN
    # for gmail.com is no answer about the Internet
    monkeypatch.delenv("LABKIT_OFFLINE", raising=False)
    monkeypatch.setattr(labkit.dns.live, "live_resolver",
                        lambda timeout=2.0: lab_dns.resolver(timeout=1.0))
    assert main(["dns", "dig", "--live", "gmail.com", "TXT"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "live DNS is unreachable" in err, (out, err)
    assert "does not answer like the Internet" in err


def test_dig_live_that_answers_prints_the_answer(monkeypatch, capsys):
    root = "$ORIGIN .\n$TTL 300\n@ SOA a.root.test. h.root.test. 1 3600 600 86400 300\n@ NS a.root.test.\n"
    monkeypatch.delenv("LABKIT_OFFLINE", raising=False)
    with labkit.dns.LabDNS(zones=[ZONE, root]) as internet:
        monkeypatch.setattr(labkit.dns.live, "live_resolver",
                            lambda timeout=2.0: internet.resolver(timeout=1.0))
        assert main(["dns", "dig", "--live", "www.r14.example", "A"]) == 0
        out, _ = capsys.readouterr()
        assert "status: NOERROR, source: live" in out and "192.0.2.80" in out, out
        # a name that does not exist, asked of a resolver that works: NXDOMAIN, shown
        assert main(["dns", "dig", "--live", "nothing.r14.example", "A"]) == 1
        out, err = capsys.readouterr()
        assert "status: NXDOMAIN, source: live" in out and err == "", (out, err)


def _with_timeout(res: dns.resolver.Resolver, seconds: float) -> dns.resolver.Resolver:
    res.timeout = res.lifetime = seconds
    return res


def test_two_soa_lines_in_one_zone_text_are_refused():
    # RFC 1035 5.2 / RFC 2181 6.1: one SOA per zone; dnspython kept the last line silently
    second = "@      IN SOA ns.r14.example. hostmaster.r14.example. 2 3600 600 86400 300\n"
    with pytest.raises(ZoneError) as err:
        labkit.dns.LabDNS(zones=ZONE + second)
    text = str(err.value)
    assert "r14.example" in text and "SOA" in text and ":9:" in text, text
    first = ZONE.strip().splitlines()[2] + "\n"  # the same SOA line again: one record
    assert first.split()[2] == "SOA"
    with labkit.dns.LabDNS(zones=ZONE + first):
        pass
