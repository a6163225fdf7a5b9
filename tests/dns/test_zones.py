"""The fictional Internet's zone files: they parse, keep their promises, match the keys.

The zone data is checked two ways: read straight from the files with dnspython, and
asked over real sockets from the lab DNS (the ``lab_dns`` fixture).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from pathlib import Path

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.reversename
import dns.tokenizer
import dns.zone
import dns.zonefile
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

import labkit.dns
import labkit.net
import labkit.paths
from labkit.errors import ZoneError

ZONES = labkit.paths.zones_dir()
KEYS = labkit.paths.data_dir() / "keys"
ZONE_FILES = sorted(ZONES.glob("*.zone"))
DNS_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")  # RFC 7208 4.6.4
KNOWN_TERMS = ("all", "ip4", "ip6", *DNS_TERMS, "exp")


def _rrsets(path: Path):
    """Every record in the file, whatever its owner (dnspython's rrset reader with $ORIGIN)."""
    origin = dns.name.from_text(path.name[: -len(".zone")])
    manager = dns.zonefile.RRSetsReaderManager(origin, False, dns.rdataclass.IN)
    with manager.writer(True) as txn:
        tokens = dns.tokenizer.Tokenizer(path.read_text(), str(path))
        dns.zonefile.Reader(tokens, dns.rdataclass.IN, txn, allow_directives=True).read()
    return manager.rrsets


@pytest.fixture(scope="module")
def records() -> dict[tuple[str, str], list]:
    """(owner, TYPE) -> list of rdata, over every zone file."""
    table: dict[tuple[str, str], list] = {}
    for path in ZONE_FILES:
        for rrset in _rrsets(path):
            key = (
                rrset.name.to_text(omit_final_dot=True).lower(),
                dns.rdatatype.to_text(rrset.rdtype),
            )
            table.setdefault(key, []).extend(rrset)
    return table


def _txt(records, name: str) -> list[str]:
    return [b"".join(rd.strings).decode() for rd in records.get((name, "TXT"), [])]


def _spf(records, name: str) -> list[str]:
    return [t for t in _txt(records, name) if t.lower().split(" ")[0] == "v=spf1"]


def _tags(record: str) -> dict[str, str]:
    pairs = (part.split("=", 1) for part in record.split(";") if "=" in part)
    return {k.strip(): re.sub(r"\s+", "", v) for k, v in pairs}


# --- the files -------------------------------------------------------------------------
def test_there_is_a_zone_file_for_every_part_of_the_cast():
    names = {p.name[: -len(".zone")] for p in ZONE_FILES}
    cast = {
        "corp.example", "brand.example", "isp.example", "attacker.test", "fwd.example.net",
        "lists.example.org", "esp.example.com", "shop.example", "nospf.example", "noptr.test",
        "mismatch.example", "bl.dnsbl.example", "spf.test", "dmarc.test",
        "2.0.192.in-addr.arpa", "100.51.198.in-addr.arpa", "113.0.203.in-addr.arpa",
    }  # fmt: skip
    assert cast <= names


@pytest.mark.parametrize("path", ZONE_FILES, ids=lambda p: p.name)
def test_zone_parses_with_dnspython_and_keeps_every_record(path):
    text = path.read_text()
    assert text.count("$ORIGIN") >= 1 and "$TTL" in text
    zone = dns.zone.from_text(text, origin=None, relativize=False, filename=str(path))
    origin = zone.origin.to_text(omit_final_dot=True)
    assert origin == path.name[: -len(".zone")], "file name must be <zone>.zone"
    assert zone.get_rdataset(zone.origin, "SOA") is not None
    assert zone.get_rdataset(zone.origin, "NS") is not None
    # dnspython's zone reader silently skips names outside the zone; the rrset reader
    # does not, so the two must agree record for record.
    everything = {(r.name, r.rdtype, rd) for r in _rrsets(path) for rd in r}
    in_zone = {(n, rds.rdtype, rd) for n, node in zone.nodes.items() for rds in node for rd in rds}
    assert everything == in_zone
    for name, _, _ in everything:
        assert name.is_subdomain(zone.origin)


def test_every_address_is_a_documentation_or_dnsbl_address(records):
    for (name, rtype), rdatas in records.items():
        if rtype not in ("A", "AAAA"):
            continue
        for rd in rdatas:
            addr = ipaddress.ip_address(rd.address)
            if name.endswith("bl.dnsbl.example") or "._allow." in name:
                assert addr in ipaddress.ip_network("127.0.0.0/8"), name
            else:
                assert labkit.net.is_lab_address(rd.address) and not addr.is_loopback, name


def test_cast_md_hosts_resolve_in_the_lab_dns_to_their_addresses(lab_dns):
    """CAST.md is the single source: every host/address pair in its tables is served."""
    res = lab_dns.resolver()
    pairs = []
    for line in (ZONES / "CAST.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and re.fullmatch(r"[a-z0-9.-]+\.[a-z]+", cells[2]):
            if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", cells[3]):
                # the mismatch host plays .77 on the wire, but its own A record is elsewhere
                moved = re.search(r"whose A is (\d+\.\d+\.\d+\.\d+)", cells[-1])
                pairs.append((cells[2], moved.group(1) if moved else cells[3]))
    assert len(pairs) >= 12
    for host, address in pairs:
        assert [rd.address for rd in res.resolve(host, "A")] == [address], host


# --- DKIM ------------------------------------------------------------------------------
KEY_FILES = sorted(KEYS.glob("*/*.pem"))


def test_keys_readme_says_lab_only():
    text = (KEYS / "README.md").read_text()
    assert "LAB-ONLY" in text and "NEVER USE THEM ANYWHERE REAL" in text


@pytest.mark.parametrize("pem", KEY_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_dkim_record_matches_its_private_key(pem, records):
    domain, selector = pem.parent.name, pem.stem
    key = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    texts = _txt(records, f"{selector}._domainkey.{domain}")
    assert len(texts) == 1, "exactly one key record per selector"
    tags = _tags(texts[0])
    if selector == "old":  # the revoked key: RFC 6376 3.6.1, an empty p=
        assert tags["p"] == ""
        return
    published = base64.b64decode(tags["p"], validate=True)
    public = key.public_key()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        assert tags["k"] == "ed25519"
        expected = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        assert isinstance(key, rsa.RSAPrivateKey) and tags.get("k", "rsa") == "rsa"
        expected = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert key.key_size == (1024 if selector == "weak" else 2048)
    assert published == expected


def test_every_published_dkim_key_has_its_private_key(records):
    published = {name for (name, rtype) in records if rtype == "TXT" and "._domainkey." in name}
    on_disk = {f"{p.stem}._domainkey.{p.parent.name}" for p in KEY_FILES}
    assert published == on_disk
    wanted = {
        ("brand.example", "s2026"), ("brand.example", "ed2026"), ("brand.example", "s2027"),
        ("brand.example", "old"), ("corp.example", "lab2026"), ("attacker.test", "evil"),
        ("attacker.test", "weak"), ("lists.example.org", "list"), ("esp.example.com", "esp"),
    }  # fmt: skip
    assert {f"{s}._domainkey.{d}" for d, s in wanted} <= on_disk


def test_long_dkim_keys_are_split_into_strings_of_at_most_255_bytes(records):
    rdatas = records[("s2026._domainkey.brand.example", "TXT")]
    strings = rdatas[0].strings
    assert len(strings) >= 2 and all(len(s) <= 255 for s in strings)


def test_lab_dns_serves_the_whole_dkim_key(lab_dns, records):
    name = "s2026._domainkey.brand.example"
    answer = lab_dns.resolver().resolve(name, "TXT")
    assert [b"".join(rd.strings).decode() for rd in answer] == _txt(records, name)


# --- SPF -------------------------------------------------------------------------------
def _lookups(records, domain: str, seen: int = 0) -> int:
    """Count DNS-querying terms along the evaluation path, the way RFC 7208 4.6.4 does."""
    spf = _spf(records, domain)
    if len(spf) != 1:
        return seen
    for term in spf[0].split()[1:]:
        mech = re.split(r"[:=/]", term.lstrip("+-~?"), maxsplit=1)[0].lower()
        if mech in DNS_TERMS:
            seen += 1
            if mech in ("include", "redirect"):
                seen = _lookups(records, term.split(":" if mech == "include" else "=", 1)[1], seen)
    return seen


def test_spf_showcase_has_every_mechanism_and_qualifier(records):
    spf = {name: _spf(records, name) for (name, rtype) in records if rtype == "TXT"}
    spf = {name: recs[0] for name, recs in spf.items() if len(recs) == 1}
    for mech in (
        "ip4:",
        "ip6:",
        " a ",
        " mx ",
        "include:",
        "exists:",
        "redirect=",
        " ptr ",
        "exp=",
    ):
        assert any(mech in f" {r} " for r in spf.values()), mech
    for q in ("-all", "~all", "?all", "+all"):
        assert any(r.endswith(q) for r in spf.values()), q
    assert spf["nomail.spf.test"] == "v=spf1 -all"
    assert not spf["noall.spf.test"].endswith("all")
    assert spf["brand.example"] == "v=spf1 ip4:192.0.2.10 -all"
    assert "include:_spf.esp.example.com" in spf["shop.example"]


def test_spf_error_cases(records):
    assert _lookups(records, "toomany.spf.test") > 10
    # at least three a: targets without addresses (RFC 7208 allows two void look-ups)
    targets = [
        t.split(":", 1)[1] for t in _spf(records, "voids.spf.test")[0].split() if t.startswith("a:")
    ]
    void = [t for t in targets if (t, "A") not in records and (t, "AAAA") not in records]
    assert len(void) >= 3
    assert len(_spf(records, "twospf.spf.test")) == 2
    mechs = {
        re.split(r"[:=/]", t.lstrip("+-~?"), maxsplit=1)[0]
        for t in _spf(records, "syntax.spf.test")[0].split()[1:]
    }
    assert mechs - set(KNOWN_TERMS), "syntax.spf.test should carry an unknown mechanism"
    assert "ip4:192.0.2.300" in _spf(records, "badip.spf.test")[0]


def test_domains_without_spf(records):
    assert _txt(records, "nospf.example") == []
    assert _txt(records, "none.spf.test") and _spf(records, "none.spf.test") == []


def test_long_spf_record_is_split_and_reassembled_by_the_lab_dns(lab_dns, records):
    rd = records[("long.spf.test", "TXT")][0]
    assert len(rd.strings) >= 2 and sum(len(s) for s in rd.strings) > 255
    answer = lab_dns.resolver().resolve("long.spf.test", "TXT")
    joined = b"".join(answer[0].strings).decode()
    assert joined.startswith("v=spf1 ") and joined.endswith(" -all")
    assert joined == b"".join(rd.strings).decode()


# --- DMARC -----------------------------------------------------------------------------
def test_dmarc_policies(records):
    dmarc = {n: _txt(records, n) for (n, t) in records if t == "TXT" and n.startswith("_dmarc.")}
    valid = {
        n: _tags(r[0]) for n, r in dmarc.items() if len(r) == 1 and r[0].startswith("v=DMARC1")
    }
    assert {t["p"] for t in valid.values()} >= {"none", "quarantine", "reject"}
    brand = valid["_dmarc.brand.example"]
    assert (brand["p"], brand["sp"], brand["np"]) == ("reject", "quarantine", "reject")
    strict = valid["_dmarc.strict.dmarc.test"]
    assert strict["aspf"] == "s" and strict["adkim"] == "s"
    assert valid["_dmarc.broken.dmarc.test"]["p"] not in ("none", "quarantine", "reject")
    assert not dmarc["_dmarc.misordered.dmarc.test"][0].startswith("v=DMARC1")
    assert len(dmarc["_dmarc.duplicate.dmarc.test"]) == 2
    assert valid["_dmarc.corp.example"]["p"] == "quarantine"
    assert valid["_dmarc.attacker.test"]["p"] == "none"


def test_external_report_addresses_are_authorised(lab_dns, records):
    """RFC 7489 7.1: a rua= outside the domain needs <domain>._report._dmarc.<rua domain>."""
    res = lab_dns.resolver()
    checked = 0
    for name, rtype in list(records):
        if rtype != "TXT" or not name.startswith("_dmarc."):
            continue
        for uri in re.findall(r"mailto:[^@,;\s]+@([^,;!\s]+)", " ".join(_txt(records, name))):
            domain = name[len("_dmarc.") :]
            if uri == domain:
                continue
            answer = res.resolve(f"{domain}._report._dmarc.{uri}", "TXT")
            assert any(b"".join(rd.strings).startswith(b"v=DMARC1") for rd in answer)
            checked += 1
    assert checked >= 5


# --- reverse DNS -----------------------------------------------------------------------
def test_dynamic_pool_has_generic_names_that_confirm_forward(records):
    for n in range(128, 255):
        ip = f"198.51.100.{n}"
        ptr = records[(dns.reversename.from_address(ip).to_text(omit_final_dot=True), "PTR")]
        target = ptr[0].target.to_text(omit_final_dot=True)
        assert target == f"dyn-198-51-100-{n}.pool.isp.example"
        assert [rd.address for rd in records[(target, "A")]] == [ip]


def test_reverse_dns_cases_over_the_wire(lab_dns):
    res = lab_dns.resolver()

    def ptr(ip):
        return [rd.target.to_text() for rd in res.resolve(dns.reversename.from_address(ip), "PTR")]

    def addresses(name):
        return [rd.address for rd in res.resolve(name, "A")]

    # a proper host: forward-confirmed reverse DNS
    assert ptr("203.0.113.25") == ["mx.corp.example."]
    assert addresses("mx.corp.example") == ["203.0.113.25"]
    # a host with an address but no PTR
    assert addresses("bot.noptr.test") == ["203.0.113.99"]
    with pytest.raises(dns.resolver.NXDOMAIN):
        res.resolve(dns.reversename.from_address("203.0.113.99"), "PTR")
    # a PTR whose forward look-up names another address
    (name,) = ptr("203.0.113.77")
    assert "203.0.113.77" not in addresses(name)
    # IPv6 reverse
    assert ptr("2001:db8:2::10") == ["mail.brand.example."]


# --- DNSBL -----------------------------------------------------------------------------
def _dnsbl_name(ip: str) -> str:
    """RFC 5782: reversed octets (IPv4) or nibbles (IPv6), then the list's zone."""
    addr = ipaddress.ip_address(ip)
    if addr.version == 4:
        labels = reversed(ip.split("."))
    else:
        labels = reversed(addr.exploded.replace(":", ""))
    return ".".join(labels) + ".bl.dnsbl.example"


def test_dnsbl_answers_like_rfc_5782(lab_dns):
    res = lab_dns.resolver()
    for ip in ("127.0.0.2", "::ffff:7f00:2"):  # the mandatory test entries
        assert [rd.address for rd in res.resolve(_dnsbl_name(ip), "A")] == ["127.0.0.2"]
    with pytest.raises(dns.resolver.NXDOMAIN):  # 127.0.0.1 must never be listed
        res.resolve(_dnsbl_name("127.0.0.1"), "A")
    assert [rd.address for rd in res.resolve(_dnsbl_name("198.51.100.150"), "A")] == ["127.0.0.2"]
    assert [rd.address for rd in res.resolve(_dnsbl_name("203.0.113.99"), "A")] == ["127.0.0.4"]
    reason = res.resolve(_dnsbl_name("198.51.100.150"), "TXT")
    assert b"198.51.100.150" in b"".join(reason[0].strings)
    with pytest.raises(dns.resolver.NXDOMAIN):  # the customer PC is not listed
        res.resolve(_dnsbl_name("198.51.100.140"), "A")


_HEAD = "$ORIGIN t.example.\n$TTL 60\n@ IN SOA ns hm 1 1 1 1 1\n@ IN NS ns\n"  # lines 1-4


@pytest.mark.parametrize("bad", [
    "bad IN A 999.1.1.1",          # failed after the newline was read: said line 6
    "bad IN MX 10",                # a missing field: said line 6
    "bad IN A 1.2.3.4 extra",      # an extra field: said line 6
    "$TTL x",                      # a directive: said line 6
    "bad IN MX x mail",            # failed mid-line: was right, must stay right
    "bad IN FOO 1.2.3.4",
])
@pytest.mark.parametrize("after", ["\nns IN A 192.0.2.1\n", "\n", "", "\r\nns IN A 192.0.2.1\r\n"])
def test_a_zone_error_names_the_line_in_error(bad, after):
    with pytest.raises(ZoneError, match=r"<zone text>:5: "):
        labkit.dns.LabDNS([_HEAD + bad + after])
