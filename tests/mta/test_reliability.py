"""2,000 messages from 50 concurrent clients: every accepted message stored exactly once."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import labkit.mta
from labkit.mta.smtpserver import Limits

_SPEC = importlib.util.spec_from_file_location(
    "smtp_load", Path(__file__).resolve().parents[2] / "benchmarks" / "smtp_load.py"
)
smtp_load = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(smtp_load)


@pytest.mark.slow
def test_2000_messages_from_50_clients_stored_exactly_once(lab_dns):
    # a short DNS cache keeps this under half a minute; storage is what is under test
    with labkit.mta.Lab(dns=lab_dns, limits=Limits(connections_per_client=60),
                        dns_cache=30) as lab:
        report = smtp_load.reliability(lab, messages=2000, clients=50)
        assert report["failed"] == 0
        assert report["accepted"] == 2000
        assert report["missing"] == 0 and report["doubled"] == 0 and report["stray"] == 0
        assert report["stored"] == 2000
        # and the receiver logged exactly one verdict per message
        assert len(lab.verdicts()) == 2000
