"""LabDNS against the RFCs, review 13: the deviations found, each shown on the wire.

- CNAME rules (RFC 1034 section 3.6.2, RFC 2181 section 10.1): a name with a CNAME
  holds no other data, and a CNAME RRset holds one record.  The zone reader already
  refused CNAME-and-other-data; ``LabDNS.add`` took both, and the server then
  answered the same name as an alias for one type and as a plain name for another.
- EDNS flags (RFC 3225 section 3, RFC 6891 section 6.1.4): the DO bit of a query is
  copied into the reply; the other (unassigned) flag bits are not.
- NXNAME (RFC 9824 section 3.5): an explicit query for this meta-type is FORMERR;
  it was NOTIMP like the other meta-types.
"""

from __future__ import annotations

import subprocess

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import labkit.dns
from labkit.errors import UsageError
from tests.conftest import require_tool

ZONE = """
$ORIGIN r13.example.
$TTL 300
@      IN SOA ns.r13.example. hostmaster.r13.example. 1 3600 600 86400 300
@      IN NS  ns
ns     IN A   192.0.2.53
www    IN A   192.0.2.80
www    IN TXT "web"
alias  IN CNAME www
"""


@pytest.fixture()
def lab():
    with labkit.dns.LabDNS(zones=ZONE) as server:
        yield server


def ask(lab, name, rdtype="A", **make):
    q = dns.message.make_query(name, rdtype, **make)
    return dns.query.udp(q, lab.host, port=lab.port, timeout=2)


# -- CNAME and other data (RFC 1034 3.6.2, RFC 2181 10.1) ------------------------------

def test_add_refuses_a_cname_where_the_name_holds_other_data(lab):
    with pytest.raises(UsageError, match=r"www\.r13\.example.*A, TXT.*CNAME"):
        lab.add("www.r13.example", "CNAME", "ns.r13.example.")
    # nothing changed: www still answers its own address and text, not an alias
    r = ask(lab, "www.r13.example", "TXT")
    assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.TXT]
    r = ask(lab, "www.r13.example", "A")
    assert [rd.to_text() for rr in r.answer for rd in rr] == ["192.0.2.80"]


@pytest.mark.parametrize("rdtype, data", [("A", "192.0.2.99"), ("TXT", '"hello"'),
                                          ("MX", "10 www.r13.example.")])
def test_add_refuses_other_data_at_a_name_that_has_a_cname(lab, rdtype, data):
    with pytest.raises(UsageError, match=r"alias\.r13\.example.*CNAME"):
        lab.add("alias.r13.example", rdtype, data)
    r = ask(lab, "alias.r13.example", rdtype)
    assert r.answer and r.answer[0].rdtype == dns.rdatatype.CNAME  # still only an alias


def test_add_refuses_two_cname_records_at_one_name(lab):
    with pytest.raises(UsageError, match="one CNAME"):
        lab.add("other.r13.example", "CNAME", "www.r13.example.", "ns.r13.example.")
    r = ask(lab, "other.r13.example", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN


def test_a_cname_may_still_replace_a_cname_and_follow_a_removal(lab):
    lab.add("alias.r13.example", "CNAME", "ns.r13.example.")
    r = ask(lab, "alias.r13.example", "A")
    assert [rd.to_text() for rr in r.answer for rd in rr] == ["ns.r13.example.", "192.0.2.53"]
    lab.remove("www.r13.example")
    lab.add("www.r13.example", "CNAME", "ns.r13.example.")  # the name is free now
    assert ask(lab, "www.r13.example", "A").answer[0].rdtype == dns.rdatatype.CNAME
    lab.add("new.r13.example", "A", "192.0.2.7")  # a plain name takes several types
    lab.add("new.r13.example", "TXT", '"plain"')


# -- EDNS flags (RFC 3225 section 3, RFC 6891 section 6.1.4) ----------------------------

def test_the_do_bit_of_a_query_is_copied_into_the_reply(lab):
    for name, rdtype in (("www.r13.example", "A"), ("nothing.r13.example", "A"),
                         ("www.r13.example", "MX")):
        r = ask(lab, name, rdtype, want_dnssec=True)
        assert r.edns == 0 and r.ednsflags & dns.flags.DO, (name, rdtype)
        r = ask(lab, name, rdtype, use_edns=0)
        assert r.edns == 0 and not r.ednsflags & dns.flags.DO, (name, rdtype)


def test_unassigned_edns_flag_bits_are_not_echoed(lab):
    r = ask(lab, "www.r13.example", "A", use_edns=0, ednsflags=dns.flags.DO | 0x4001)
    assert r.ednsflags & 0xFFFF == dns.flags.DO


def test_dig_dnssec_sees_do_in_the_reply(lab):
    dig = require_tool("dig")
    out = subprocess.run([dig, "@" + lab.host, "-p", str(lab.port), "+norec", "+dnssec",
                          "www.r13.example", "A"], capture_output=True, text=True, timeout=20)
    edns = next(line for line in out.stdout.splitlines() if line.startswith("; EDNS:"))
    assert "flags: do;" in edns, out.stdout


# -- NXNAME (RFC 9824 section 3.5) -------------------------------------------------------

@pytest.mark.parametrize("name", ["www.r13.example", "nothing.r13.example"])
def test_an_explicit_nxname_query_is_formerr_rfc9824(lab, name):
    r = ask(lab, name, 128)  # NXNAME: a number, as dnspython before 2.9 has no name for it
    assert r.rcode() == dns.rcode.FORMERR
    assert not r.answer and not r.flags & dns.flags.AA
    assert ask(lab, name, "MAILA").rcode() == dns.rcode.NOTIMP  # other meta-types as before


def test_dig_type128_gets_formerr(lab):
    dig = require_tool("dig")
    out = subprocess.run([dig, "@" + lab.host, "-p", str(lab.port), "+norec",
                          "www.r13.example", "TYPE128"], capture_output=True, text=True, timeout=20)
    assert "status: FORMERR" in out.stdout, out.stdout


# -- zone cuts (RFC 1034 sections 4.2.1 and 4.3.2 step 3b) -------------------------------

DELEGATING = """
$ORIGIN p13.example.
$TTL 300
@          IN SOA ns.p13.example. hostmaster.p13.example. 1 3600 600 86400 60
@          IN NS  ns
ns         IN A   192.0.2.53
child      IN NS  ns.child
child      IN NS  ns.elsewhere.test.
ns.child   IN A   192.0.2.54
ns.child   IN AAAA 2001:db8::54
go         IN CNAME www.child
"""


@pytest.fixture()
def parent():
    with labkit.dns.LabDNS(zones=DELEGATING) as server:
        yield server


def _texts(section):
    return sorted(f"{rr.name} {dns.rdatatype.to_text(rr.rdtype)} {rd}" for rr in section for rd in rr)


@pytest.mark.parametrize("name, rdtype", [("www.child.p13.example", "A"),
                                          ("deep.www.child.p13.example", "TXT"),
                                          ("child.p13.example", "NS"),
                                          ("child.p13.example", "A"),
                                          ("www.child.p13.example", "ANY")])
def test_a_name_at_or_below_a_delegation_gets_a_referral(parent, name, rdtype):
    r = ask(parent, name, rdtype)
    assert r.rcode() == dns.rcode.NOERROR  # not an authoritative NXDOMAIN from the parent
    assert not r.flags & dns.flags.AA  # the child's data is not the parent's to vouch for
    assert r.answer == []
    assert _texts(r.authority) == ["child.p13.example. NS ns.child.p13.example.",
                                   "child.p13.example. NS ns.elsewhere.test."]
    assert _texts(r.additional) == ["ns.child.p13.example. A 192.0.2.54",
                                    "ns.child.p13.example. AAAA 2001:db8::54"]  # glue


def test_a_cname_into_a_delegation_keeps_its_authority_and_refers_the_rest(parent):
    r = ask(parent, "go.p13.example", "A")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA  # the CNAME is ours
    assert _texts(r.answer) == ["go.p13.example. CNAME www.child.p13.example."]
    assert _texts(r.authority)[0] == "child.p13.example. NS ns.child.p13.example."


def test_the_parent_still_answers_ds_at_the_cut_and_its_own_names(parent):
    r = ask(parent, "child.p13.example", "DS")  # RFC 4035 section 3.1.4.1: the parent side
    assert r.flags & dns.flags.AA and r.answer == []
    assert _texts(r.authority) == ["p13.example. SOA ns.p13.example. hostmaster.p13.example. "
                                   "1 3600 600 86400 60"]
    r = ask(parent, "ns.p13.example", "A")
    assert r.flags & dns.flags.AA and _texts(r.answer) == ["ns.p13.example. A 192.0.2.53"]
    r = ask(parent, "nothing.p13.example", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN and r.flags & dns.flags.AA


def test_a_served_child_zone_is_answered_with_authority_not_referred():
    child = "$ORIGIN child.p13.example.\n$TTL 300\n@ IN SOA ns h 1 3600 600 86400 60\n" \
            "@ IN NS ns\nns IN A 192.0.2.54\nwww IN A 192.0.2.80\n"
    with labkit.dns.LabDNS(zones=[DELEGATING, child]) as lab:
        r = ask(lab, "www.child.p13.example", "A")
        assert r.flags & dns.flags.AA and _texts(r.answer) == ["www.child.p13.example. A 192.0.2.80"]


def test_a_delegation_added_while_running_refers(lab):
    lab.add("sub.r13.example", "NS", "ns.sub.r13.example.")
    r = ask(lab, "www.sub.r13.example", "A")
    assert not r.flags & dns.flags.AA and r.rcode() == dns.rcode.NOERROR
    assert _texts(r.authority) == ["sub.r13.example. NS ns.sub.r13.example."]


def test_dig_sees_the_referral(parent):
    dig = require_tool("dig")
    out = subprocess.run([dig, "@" + parent.host, "-p", str(parent.port), "+norec",
                          "www.child.p13.example", "A"], capture_output=True, text=True, timeout=20)
    flags = next(line for line in out.stdout.splitlines() if line.startswith(";; flags:"))
    assert "status: NOERROR" in out.stdout and " aa" not in flags.split(";")[1]
    assert "AUTHORITY: 2" in flags and "ns.child.p13.example." in out.stdout
