"""Labs 01-05: statements checked against the standards and corrected (review h3-labs-a).

Each case names a notebook cell, the wrong or misleading statement it used to make, the
corrected statement it must now make, and the section of the standard behind the
correction. Where the lab's own parts can show the fact, a test shows it with them (the
lab DNS on loopback, the lab's DMARC and reverse-DNS checks), so the text and the
behaviour cannot drift apart.
"""

from __future__ import annotations

import re

import nbformat
import pytest

import labkit as lk
import labkit.filters.rdns
import labkit.grading

LABS = labkit.grading.repo_root() / "labs"

# (notebook, cell id, wrong statement, corrected statement, source)
CASES = [
    ("01-anatomy", "6",
     "Those three form the **envelope**",
     "MAIL FROM and RCPT TO form the **envelope** (RFC 5321 §2.3.1)",
     "RFC 5321 §2.3.1: the envelope is the originator address, the recipient addresses and extension"
     " material; HELO/EHLO opens the session and is not part of it"),
    ("01-anatomy", "0",
     "tell the SMTP *envelope* (HELO, MAIL FROM, RCPT TO) from",
     "tell the SMTP *envelope* (MAIL FROM, RCPT TO) and the HELO greeting before it from",
     "RFC 5321 §2.3.1 (as for cell 6)"),
    ("01-anatomy", "27",
     "The envelope (HELO, MAIL FROM, RCPT TO) and the headers",
     "The SMTP dialogue (HELO, then the envelope: MAIL FROM and RCPT TO) and the headers",
     "RFC 5321 §2.3.1 (as for cell 6)"),
    ("01-anatomy", "26",
     '"HELO, MAIL FROM, RCPT TO: given in the SMTP dialogue"',
     '"MAIL FROM and RCPT TO: sender and recipients given in the SMTP dialogue, apart from the message"',
     "RFC 5321 §2.3.1 (as for cell 6)"),
    ("01-anatomy", "8",
     "and removes any Return-Path the sender put in the message",
     "and may remove (ours does) any Return-Path the sender put in the message",
     "RFC 5321 §4.4: SMTP servers making final delivery MAY remove Return-path header fields before"
     " adding their own"),
    ("01-anatomy", "14",
     "Its reverse lookup (the name in parentheses) came from DNS, not from the sender.",
     "Its reverse lookup (the name in parentheses) came from DNS, not from the SMTP dialogue, but the PTR"
     " record is written by whoever holds that address",
     "RFC 1035 §3.5: the PTR is data in the in-addr.arpa zone of the address block, run by its holder"),
    ("01-anatomy", "27",
     "and its reverse lookup, are what the sender could not forge",
     "is what the sender could not forge",
     "RFC 1035 §3.5 (as for cell 14)"),
    ("03-spf", "md-21",
     "has a PTR name within the domain (slow, discouraged)",
     "has a PTR name in the domain that resolves back to the client (slow; RFC 7208 §5.5: do not publish it)",
     "RFC 7208 §5.5: only validated names (whose A/AAAA lookup gives the client IP) count, and the mechanism"
     " SHOULD NOT be published"),
    ("05-dmarc", "md-18",
     "attackers like invented subdomains because nobody thought of publishing a policy for them",
     "without `np=` an invented name would get `sp=`",
     "RFC 7489 §6.6.3 / RFC 9989: a subdomain without its own record takes the organisational domain's"
     " sp= (default p=); np= only lets the owner ask more for names that do not exist"),
]


def _cell_text(notebook: str, cell_id: str) -> str:
    nb = nbformat.read(str(LABS / notebook / f"{notebook}.ipynb"), as_version=4)
    found = [c for c in nb.cells if c.get("id") == cell_id]
    assert len(found) == 1, f"{notebook}: expected one cell with id {cell_id!r}, found {len(found)}"
    return re.sub(r"\s+", " ", found[0].source)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize(("notebook", "cell_id", "wrong", "right", "source"), CASES,
                         ids=[f"{c[0]}:{c[1]}:{n}" for n, c in enumerate(CASES)])
def test_corrected_statement(notebook, cell_id, wrong, right, source):
    text = _cell_text(notebook, cell_id)
    assert _norm(wrong) not in text, f"{notebook} cell {cell_id} still says {wrong!r} ({source})"
    assert _norm(right) in text, f"{notebook} cell {cell_id} lost the corrected statement {right!r} ({source})"


_REVERSE_ZONE = """
$ORIGIN 113.0.203.in-addr.arpa.
$TTL 60
@   SOA ns1.labdns.example. h.attacker.test. 1 3600 600 86400 60
@   NS  ns1.labdns.example.
66  PTR mail.isp.example.
"""


def test_a_ptr_name_is_chosen_by_the_address_holder_and_only_fcrdns_exposes_it():
    """Lab 01 (cells 14, 27): the attacker who holds 203.0.113.66 writes its reverse zone and
    names the address mail.isp.example; the reverse lookup then says mail.isp.example, and
    only the forward look-up (FCrDNS, lab 08) shows that the name does not point back."""
    with lk.dns.LabDNS([_REVERSE_ZONE, str(lk.dns.zones_dir() / "isp.example.zone")]) as dns:
        ptr = dns.resolver().resolve_address("203.0.113.66")[0].target.to_text().rstrip(".")
        assert ptr == "mail.isp.example"
        assert lk.filters.rdns.check("203.0.113.66", dns=dns).result != "pass"
    assert "forward" in _cell_text("01-anatomy", "14") and "lab 08" in _cell_text("01-anatomy", "14")


_DMARC_ZONE = """
$ORIGIN np.example.
$TTL 60
@       SOA ns1.labdns.example. h.np.example. 1 3600 600 86400 60
@       NS  ns1.labdns.example.
@       A   192.0.2.80
real    A   192.0.2.81
_dmarc  TXT "v=DMARC1; p=reject; sp=none"
"""


def test_an_invented_subdomain_without_np_gets_the_sp_policy():
    """Lab 05 (md-18): a name that does not exist is covered by the organisational domain's
    sp= when no np= is published; it is not left without a policy."""
    with lk.dns.LabDNS(_DMARC_ZONE) as dns:
        assert lk.auth.dmarc.check("no-such-host.np.example", dns=dns).policy == "none"
        assert lk.auth.dmarc.check("real.np.example", dns=dns).policy == "none"
        dns.add("_dmarc.np.example", "TXT", '"v=DMARC1; p=reject; sp=none; np=reject"')
        assert lk.auth.dmarc.check("no-such-host.np.example", dns=dns).policy == "reject"
        assert lk.auth.dmarc.check("real.np.example", dns=dns).policy == "none"
