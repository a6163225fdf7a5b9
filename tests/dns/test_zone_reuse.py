"""Starting many LabDNS in one process: zone text is parsed once, data is never shared.

Each process keeps the zones it parsed (keyed by their text), so the second LabDNS
with the course zones parses nothing; every LabDNS still holds its own records, so
``add``/``remove`` on one are never seen by another, and a zone file edited on disk
(even to the same size and modification time) is read again.
"""

from __future__ import annotations

import os

import dns.name
import dns.rdatatype
import dns.resolver
import dns.zonefile
import pytest

import labkit.dns
from labkit.dns import zone as zone_mod
from labkit.errors import ZoneError


def ask(lab, name: str, rdtype: str = "A") -> list[str]:
    """The answer's records as text; [] for NXDOMAIN or no data (asked over UDP)."""
    try:
        return sorted(rd.to_text() for rd in lab.resolver().resolve(name, rdtype, search=False))
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []


def rcode(lab, name: str, rdtype: str = "A") -> str:
    try:
        lab.resolver().resolve(name, rdtype, search=False)
        return "NOERROR"
    except dns.resolver.NXDOMAIN:
        return "NXDOMAIN"
    except dns.resolver.NoAnswer:
        return "NOERROR"


@pytest.fixture()
def count_parses(monkeypatch):
    """How many zone texts dnspython's reader was asked to read."""
    counter = {"n": 0}
    real = dns.zonefile.Reader.read

    def read(self):
        counter["n"] += 1
        return real(self)

    monkeypatch.setattr(dns.zonefile.Reader, "read", read)
    return counter


def test_a_second_labdns_with_the_course_zones_parses_nothing(count_parses):
    files = len(list(labkit.dns.zones_dir().glob("*.zone")))
    with labkit.dns.LabDNS() as first:
        assert ask(first, "mx.corp.example")
    parsed_by_first = count_parses["n"]
    assert parsed_by_first <= files
    with labkit.dns.LabDNS() as second:
        assert ask(second, "mx.corp.example") == ask(second, "MX.Corp.Example")
        assert ask(second, "mx.corp.example")
    assert count_parses["n"] == parsed_by_first  # the second reused the first's parse


def test_add_and_remove_in_one_labdns_are_never_seen_by_another():
    with labkit.dns.LabDNS() as one, labkit.dns.LabDNS() as two:
        mx_before = ask(two, "corp.example", "MX")
        txt_before = ask(two, "corp.example", "TXT")
        a_before = ask(two, "mx.corp.example")
        assert mx_before and txt_before and a_before

        one.add("corp.example", "TXT", '"v=spf1 -all"')
        one.add("new.corp.example", "A", "192.0.2.250")
        one.remove("corp.example", "MX")
        one.remove("mx.corp.example")
        assert ask(one, "corp.example", "TXT") == ['"v=spf1 -all"']
        assert ask(one, "new.corp.example") == ["192.0.2.250"]
        assert ask(one, "corp.example", "MX") == []
        assert ask(one, "mx.corp.example") == []

        assert ask(two, "corp.example", "MX") == mx_before
        assert ask(two, "corp.example", "TXT") == txt_before
        assert ask(two, "mx.corp.example") == a_before
        assert rcode(two, "new.corp.example") == "NXDOMAIN"

    # and a LabDNS started afterwards sees the course zones as they are on disk
    with labkit.dns.LabDNS() as three:
        assert ask(three, "corp.example", "MX") == mx_before
        assert ask(three, "mx.corp.example") == a_before


def test_records_merged_at_start_do_not_leak_into_the_kept_zones():
    # the same owner and type in two texts: the LabDNS merges them into its own RRset
    # (changing it in place), which must not change what the next LabDNS gets
    extra = "$ORIGIN corp.example.\n$TTL 300\nmx IN A 192.0.2.251\n"
    with labkit.dns.LabDNS() as plain:
        a_plain = ask(plain, "mx.corp.example")
    with labkit.dns.LabDNS(zones=[labkit.dns.zones_dir(), extra]) as merged:
        assert ask(merged, "mx.corp.example") == sorted(a_plain + ["192.0.2.251"])
    with labkit.dns.LabDNS() as again:
        assert ask(again, "mx.corp.example") == a_plain


def test_load_gives_rrsets_the_caller_may_change():
    text = "$ORIGIN t.example.\n$TTL 60\n@ IN SOA ns hm 1 2 3 4 5\nwww IN A 192.0.2.1\n"
    first = zone_mod.load(text)
    www = next(r for r in first if r.name == dns.name.from_text("www.t.example."))
    www.clear()
    www.ttl = 1
    again = zone_mod.load(text)
    www2 = next(r for r in again if r.name == dns.name.from_text("www.t.example."))
    assert [rd.to_text() for rd in www2] == ["192.0.2.1"] and www2.ttl == 60


ZONE_TEXT = """$ORIGIN t.example.
$TTL 300
@    IN SOA ns hostmaster 1 3600 600 86400 300
@    IN NS  ns
ns   IN A   192.0.2.53
www  IN A   192.0.2.10
"""


def test_a_zone_folder_edited_on_disk_is_read_again(tmp_path):
    # the --zones case: a folder of the learner's own zone files
    path = tmp_path / "t.example.zone"
    path.write_text(ZONE_TEXT)
    with labkit.dns.LabDNS(zones=tmp_path) as lab:
        assert ask(lab, "www.t.example") == ["192.0.2.10"]
    stat = path.stat()
    # same size, same modification time: only the text tells the change
    path.write_text(ZONE_TEXT.replace("192.0.2.10", "192.0.2.11"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    with labkit.dns.LabDNS(zones=tmp_path) as lab:
        assert ask(lab, "www.t.example") == ["192.0.2.11"]
    # a file added to the folder is served by the next LabDNS, one removed is gone
    (tmp_path / "u.example.zone").write_text(ZONE_TEXT.replace("t.example.", "u.example."))
    with labkit.dns.LabDNS(zones=tmp_path) as lab:
        assert ask(lab, "www.u.example") == ["192.0.2.10"]
    path.unlink()
    with labkit.dns.LabDNS(zones=str(tmp_path)) as lab:
        assert rcode(lab, "www.t.example") == "NXDOMAIN"
        assert ask(lab, "www.u.example") == ["192.0.2.10"]


def test_a_broken_zone_fails_every_time_and_a_fixed_one_then_loads(tmp_path):
    path = tmp_path / "t.example.zone"
    path.write_text(ZONE_TEXT + "bad  IN A   not-an-address\n")
    for _ in range(2):  # a failure is never kept: the second try fails the same way
        with pytest.raises(ZoneError, match=r"t\.example\.zone:\d+: "):
            labkit.dns.LabDNS(zones=path)
    path.write_text(ZONE_TEXT)
    with labkit.dns.LabDNS(zones=path) as lab:
        assert ask(lab, "www.t.example") == ["192.0.2.10"]


def test_cname_and_other_data_at_one_name_is_still_refused():
    # dnspython's reader checks each new record against the records already at its
    # name (the node look-up the zone reader indexes by name)
    text = ZONE_TEXT + "alias IN CNAME www\nalias IN A 192.0.2.12\n"
    with pytest.raises(ZoneError, match="CNAME"):
        zone_mod.load(text)
    text = ZONE_TEXT + "alias IN A 192.0.2.12\nalias IN CNAME www\n"
    with pytest.raises(ZoneError, match="CNAME"):
        zone_mod.load(text)


def test_empty_non_terminals_and_wildcards_keep_their_answers_in_any_case():
    text = ZONE_TEXT + "a.b.deep IN A 192.0.2.20\n*.wild IN A 192.0.2.21\n"
    with labkit.dns.LabDNS(zones=text) as lab:
        for name in ("b.deep.t.example", "B.Deep.T.Example", "deep.t.example"):
            assert rcode(lab, name) == "NOERROR"  # empty non-terminal, not NXDOMAIN
            assert ask(lab, name) == []
        assert rcode(lab, "c.deep.t.example") == "NXDOMAIN"
        assert ask(lab, "X.Wild.t.example") == ["192.0.2.21"]
        assert ask(lab, "a.B.DEEP.t.example") == ["192.0.2.20"]
        lab.remove("a.b.deep.t.example")
        assert rcode(lab, "b.deep.t.example") == "NXDOMAIN"
        lab.add("x.y.t.example", "TXT", '"hi"')
        assert rcode(lab, "Y.t.example") == "NOERROR"
        assert ask(lab, "y.t.example", "TXT") == []
