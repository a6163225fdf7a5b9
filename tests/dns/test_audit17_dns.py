"""Bad DNS input the session-17 CLI audit found accepted without a word.

- an empty zone file was served as if it held zones: every answer NXDOMAIN or REFUSED,
  and nothing said the file was empty (empty zone *text* was already refused);
- a fault target with white space (``'a b=timeout'``) was accepted and shown as the
  name ``a\\032b.``, which no look-up asks for: the fault silently never fired.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import labkit.dns
from labkit.dns.server import parse_fault
from labkit.errors import UsageError, ZoneError


def test_an_empty_zone_file_is_refused_by_name(tmp_path):
    empty = tmp_path / "empty.zone"
    empty.write_text("")
    with pytest.raises(ZoneError, match="empty.zone.*empty"):
        labkit.dns.LabDNS(zones=empty).start()
    blank = tmp_path / "blank.zone"
    blank.write_text("\n  \n")
    with pytest.raises(ZoneError, match="blank.zone.*empty"):
        labkit.dns.LabDNS(zones=str(blank)).start()


def test_the_cli_refuses_an_empty_zone_file(tmp_path):
    empty = tmp_path / "empty.zone"
    empty.write_text("")
    run = subprocess.run([sys.executable, "-m", "labkit.cli", "dns", "dig", "brand.example", "TXT",
                          "--zones", str(empty)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert "empty" in run.stderr, run.stderr


@pytest.mark.parametrize("spec", ["a b=timeout", "brand .example/TXT=servfail", "a\tb=refused"])
def test_a_fault_name_with_white_space_is_refused(spec):
    with pytest.raises(UsageError, match="white space"):
        parse_fault(spec)
    name = spec.partition("=")[0]
    with pytest.raises(UsageError, match="white space"):
        labkit.dns.LabDNS(zones="$ORIGIN x.test.\n@ 60 SOA ns h 1 2 3 4 5\n", faults={name: "timeout"})


def test_a_fault_name_with_surrounding_space_still_works():
    # white space around the name (and the type, and the kind) is not inside the name
    assert parse_fault(" brand.example/txt = servfail ") == ("brand.example./TXT", "servfail")
    assert parse_fault(" brand.example = timeout") == ("brand.example.", "timeout")
