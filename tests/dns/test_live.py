"""dig in its four modes, the recordings and their provenance, re-recording.

No test here talks to real DNS.  "Live" DNS is played by resolvers on loopback: a
closed port (no network), the lab DNS (a sandbox resolver that knows nothing of the
Internet: no NS records for the root) and a LabDNS that also serves a root zone (a tiny
Internet that answers).
"""

from __future__ import annotations

import datetime
import json

import dns.resolver
import dns.zone
import pytest

import labkit.dns
import labkit.dns.live
import labkit.dns.snapshots
import labkit.net
import labkit.paths
from labkit.errors import LabkitError, UsageError

live = labkit.dns.live
snapshots = labkit.dns.snapshots

ROOT_ZONE = """$ORIGIN .
$TTL 300
@   SOA a.root.test. hostmaster.root.test. ( 1 3600 600 86400 300 )
@   NS  a.root.test.
"""


@pytest.fixture(scope="module")
def internet():
    """A LabDNS that answers like the Internet: the course zones plus a root zone."""
    with labkit.dns.LabDNS(zones=[str(labkit.paths.zones_dir()), ROOT_ZONE]) as server:
        yield server


@pytest.fixture
def offline() -> dns.resolver.Resolver:
    """A resolver pointed at a loopback port where nothing listens: no network."""
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = ["127.0.0.1"]
    res.port = labkit.net.free_port(udp_too=True)
    res.timeout = res.lifetime = 0.3
    return res


def _zone_txt(zone: str, name: str) -> list[str]:
    z = dns.zone.from_file(
        str(labkit.paths.zones_dir() / f"{zone}.zone"), origin=None, relativize=False
    )
    rds = z.get_rdataset(name + ".", "TXT")
    return [b"".join(rd.strings).decode() for rd in rds]


# --- recordings ------------------------------------------------------------------------
def test_every_recording_loads_with_a_named_source():
    recorded = snapshots.load_all()
    assert len(recorded) >= 8
    for snap in recorded:
        prov = snap.provenance
        assert prov.kind in ("quoted", "captured")
        assert prov.source.strip() and prov.date.strip()
        assert snap.answers


def test_the_course_maps_real_world_facts_are_recorded():
    """COURSE_MAP.md's last paragraph, fact by fact."""

    def txt(name):
        snap = snapshots.load(name, "TXT")
        assert snap is not None, f"no recording of {name} TXT"
        return snap.answers

    assert txt("google.co.jp") == ("v=spf1 -all",)
    (google,) = txt("google.com")
    assert "include:_spf.google.com" in google.split() and google.endswith("~all")
    assert txt("_spf.google.com")[0].startswith("v=spf1 include:")
    (ipa,) = txt("ipa.go.jp")
    assert ipa.split()[1].startswith("ip4:") and ipa.endswith("-all")
    (softbank,) = txt("softbank.jp")
    assert softbank.split()[:3] == ["v=spf1", "a", "mx"] and softbank.endswith("~all")
    (dmarc,) = txt("_dmarc.google.com")
    assert dmarc.startswith("v=DMARC1") and "p=reject" in dmarc and "rua=mailto:" in dmarc
    gmail_keys = [s for s in snapshots.load_all() if s.name.endswith("._domainkey.gmail.com")]
    assert gmail_keys and "p=" in gmail_keys[0].answers[0]
    assert any(s.type == "MX" for s in snapshots.load_all())


def test_elided_recordings_say_so():
    for name in ("ipa.go.jp", "softbank.jp"):
        snap = snapshots.load(name, "TXT")
        assert "…" in snap.answers[0] and "ELIDED" in snap.provenance.note


def test_snapshot_files_round_trip(tmp_path):
    for snap in snapshots.load_all():
        path = snapshots.save(snap, tmp_path)
        assert path.name == f"{snap.name}_{snap.type}.json"
        assert snapshots.read(path) == snap


def test_malformed_snapshot_is_a_usage_error(tmp_path):
    (tmp_path / "x.example_TXT.json").write_text(json.dumps({"name": "x.example", "type": "TXT"}))
    with pytest.raises(UsageError, match="x.example_TXT.json"):
        snapshots.load("x.example", "TXT", tmp_path)


# --- dig: snapshot mode ----------------------------------------------------------------
def test_dig_snapshot_says_it_is_a_recording_and_whose():
    result = live.dig("google.com", "TXT", mode="snapshot")
    snap = snapshots.load("google.com", "TXT")
    assert result.source == "snapshot" and result.recorded
    assert result.answers == snap.answers and result.rcode == "NOERROR"
    assert result.provenance == snap.provenance
    text = result.to_text()
    assert text.startswith("; RECORDED ANSWER, NOT A LIVE LOOK-UP: quoted from ")
    assert '"v=spf1 include:_spf.google.com ~all"' in text
    data = json.loads(json.dumps(result.to_dict()))
    assert data["provenance"]["kind"] == "quoted" and data["recorded"] is True
    assert "RECORDED" in result._repr_html_()


def test_dig_snapshot_of_an_unrecorded_name():
    result = live.dig("nothing-recorded.example", "TXT", mode="snapshot")
    assert result.rcode == live.UNRECORDED and not result.ok and result.answers == ()
    assert "NO RECORDING" in result.to_text() and "NO RECORDING" in result._repr_html_()
    # the recordings were asked, but nothing recorded came back (--json used to say true)
    assert not result.recorded and result.to_dict()["recorded"] is False


def test_dig_names_and_types_are_normalised():
    a = live.dig("Google.COM.", "txt", mode="snapshot")
    assert (a.name, a.rdtype) == ("google.com", "TXT") and a.ok


@pytest.mark.parametrize(
    "kwargs",
    [{"name": "", "rdtype": "TXT"}, {"name": "a..b", "rdtype": "TXT"},
     {"name": "google.com", "rdtype": "BOGUS"}, {"name": "google.com", "mode": "internet"}],
)  # fmt: skip
def test_dig_bad_input_is_a_usage_error(kwargs):
    name = kwargs.pop("name")
    with pytest.raises(UsageError):
        live.dig(name, **kwargs)


# --- dig: lab mode ---------------------------------------------------------------------
def test_dig_lab_mode_asks_the_given_lab_dns(lab_dns):
    result = live.dig("brand.example", "TXT", mode="lab", lab=lab_dns)
    assert result.source == "lab" and not result.recorded and result.provenance is None
    assert list(result.answers) == _zone_txt("brand.example", "brand.example")
    assert str(lab_dns.port) in result.server
    assert any(q.name.rstrip(".").lower() == "brand.example" for q in lab_dns.queries)


def test_dig_lab_mode_answer_types_and_negative_answers(lab_dns):
    mx = live.dig("corp.example", "MX", mode="lab", lab=lab_dns)
    assert mx.answers == ("10 mx.corp.example.",) and mx.ttl == 300
    assert live.dig("nope.brand.example", "A", mode="lab", lab=lab_dns).rcode == "NXDOMAIN"
    nodata = live.dig("mail.brand.example", "MX", mode="lab", lab=lab_dns)
    assert (nodata.rcode, nodata.answers) == ("NOERROR", ())
    assert live.dig("google.com", "TXT", mode="lab", lab=lab_dns).rcode == "NXDOMAIN"


def test_dig_lab_mode_reports_servfail_and_timeouts():
    with labkit.dns.LabDNS(
        faults={"brand.example/TXT": "servfail", "corp.example": "timeout"}
    ) as lab:
        assert live.dig("brand.example", "TXT", mode="lab", lab=lab).rcode == "SERVFAIL"
        assert (
            live.dig("corp.example", "MX", mode="lab", lab=lab, timeout=0.3).rcode == live.TIMEOUT
        )


def test_dig_lab_mode_without_a_lab_starts_the_course_zones():
    result = live.dig("mx.corp.example", "A", mode="lab")
    assert result.answers == ("203.0.113.25",)


def test_long_txt_is_shown_as_strings_of_at_most_255_bytes(lab_dns):
    result = live.dig("long.spf.test", "TXT", mode="lab", lab=lab_dns)
    (record,) = result.answers
    line = next(x for x in result.to_text().splitlines() if x.startswith("long.spf.test."))
    chunks = line.split("\t")[-1].split('" "')
    assert len(chunks) >= 2 and all(len(c.strip('"')) <= 255 for c in chunks)
    assert "".join(c.strip('"') for c in chunks) == record


# --- dig: live and auto ----------------------------------------------------------------
def test_auto_without_network_falls_back_to_the_recording(offline):
    result = live.dig("google.com", "TXT", resolver=offline, timeout=0.3)
    assert result.source == "snapshot" and result.recorded
    assert result.provenance == snapshots.load("google.com", "TXT").provenance
    assert any("no live answer" in s for s in result.steps)
    assert result.to_text().startswith("; RECORDED")


def test_auto_with_a_sandbox_resolver_does_not_trust_its_nxdomain(lab_dns):
    result = live.dig("google.com", "TXT", resolver=lab_dns.resolver(timeout=1.0))
    assert result.source == "snapshot" and result.rcode == "NOERROR"
    assert "does not answer like the Internet" in result.steps[0]


def test_auto_uses_live_dns_when_it_answers(internet):
    result = live.dig("brand.example", "TXT", resolver=internet.resolver())
    assert result.source == "live" and not result.recorded
    assert list(result.answers) == _zone_txt("brand.example", "brand.example")
    assert live.internet_reachable(internet.resolver())[0]


def test_live_mode_without_network_is_a_timeout_result(offline):
    result = live.dig("google.com", "TXT", mode="live", resolver=offline, timeout=0.3)
    assert (result.source, result.rcode, result.answers) == ("live", live.TIMEOUT, ())


# --- record_snapshots ------------------------------------------------------------------
def test_record_snapshots_captures_live_answers(internet, tmp_path):
    paths = live.record_snapshots(
        ["brand.example", "corp.example/MX", ("nope.brand.example", "A")],
        tmp_path,
        resolver=internet.resolver(),
    )
    assert [p.name for p in paths] == [
        "brand.example_TXT.json", "corp.example_MX.json", "nope.brand.example_A.json",
    ]  # fmt: skip
    brand = snapshots.read(paths[0])
    assert brand.provenance.kind == "captured"
    assert brand.provenance.date == datetime.date.today().isoformat()
    assert list(brand.answers) == _zone_txt("brand.example", "brand.example")
    assert snapshots.read(paths[2]).rcode == "NXDOMAIN"
    # and dig shows the capture as a recording, captured by labkit
    shown = live.dig("brand.example", "TXT", mode="snapshot", snapshots=tmp_path)
    assert "captured live by labkit on" in shown.to_text().splitlines()[0]
    # None re-records everything already in the folder
    again = live.record_snapshots(None, tmp_path, resolver=internet.resolver())
    assert sorted(again) == sorted(paths)


def test_record_snapshots_offline_fails_clearly_and_changes_nothing(offline, tmp_path):
    before = snapshots.save(snapshots.load("google.com", "TXT"), tmp_path)
    content = before.read_text()
    with pytest.raises(LabkitError, match="cannot record snapshots"):
        live.record_snapshots(["google.com"], tmp_path, resolver=offline, timeout=0.3)
    assert before.read_text() == content and len(list(tmp_path.iterdir())) == 1


def test_record_snapshots_refuses_a_sandbox_resolver(lab_dns, tmp_path):
    with pytest.raises(LabkitError, match="does not answer like the Internet"):
        live.record_snapshots(["google.com"], tmp_path, resolver=lab_dns.resolver())
    assert list(tmp_path.iterdir()) == []
