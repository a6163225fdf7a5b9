"""Statements in the labs' prose that were checked against their sources and corrected.

One case per correction: the stored notebook's cell must no longer say the wrong thing
and must say the corrected one (whitespace is normalised, so re-wrapping a paragraph
does not break the test). The source each correction rests on is named in the case.
"""

from __future__ import annotations

import json
import re

import pytest

import labkit.grading

LABS = labkit.grading.repo_root() / "labs"

# (notebook, cell id, wrong statement, corrected statement, source)
CASES = [
    ("00-setup", "15",
     "Studies over the years have put spam at somewhere between roughly 70 % and 95 % of all mail sent",
     "Kaspersky, for one, measured spam at 85 % of the mail traffic it saw in 2009 and still at 46 % in 2021",
     "Kaspersky's spam reports: 85.2 % for 2009 (Spam evolution Q1 2010), 46 % for 2021 (Spam and phishing in 2021)"),
    ("00-setup", "15",
     "measured spam at 85 % of all mail sent in 2009",
     "measured spam at 85 % of the mail traffic it saw in 2009",
     "Kaspersky measured the mail its own systems handled, not all mail sent (review of this stop)"),
    ("07-submission", "cell-062",
     "has not authenticated (reply 530), unless",
     "has not authenticated (with the reply 530 that SMTP-AUTH, RFC 4954 section 6, defines for it), unless",
     "RFC 6409 §4.3 requires the refusal but names no code; RFC 4954 §6 defines 530 5.7.0 Authentication required"),
    ("08-lists", "cell-044",
     "A bounce is a `multipart/report` (RFC 3464):",
     "is a `multipart/report` (RFC 6522): a sentence for a person, a machine-readable `message/delivery-status` part (RFC 3464)",
     "RFC 6522 defines multipart/report; RFC 3464 defines the message/delivery-status part of a DSN"),
    ("00-setup", "20",
     "Here that starts at a spam share of 93 %, well inside the range the studies report.",
     "Here that starts as soon as spam passes 90 % of all mail",
     "the lab's own queue model: capacity 10, ham 1 a second, so a backlog needs more than 9 spam a second"),
    ("01-anatomy", "6",
     "a Bcc recipient appears in RCPT TO and in no header at all;",
     "a Bcc recipient appears in RCPT TO and usually in no header at all (RFC 5322 §3.6.3",
     "RFC 5322 §3.6.3: the copy sent to a Bcc recipient may carry a Bcc: line"),
    ("01-anatomy", "14",
     "the server that finally delivers a mail usually records it in a `Return-Path:` header",
     "the server that finally delivers a mail must record it in a `Return-Path:` header on top (RFC 5321 §4.4)",
     "RFC 5321 §4.4: the delivery SMTP server inserts a return-path line at final delivery; mail systems MUST support it"),
    ("01-anatomy", "8",
     "Our receiver added two lines on top.",
     "Our receiver added three fields on top. **Return-Path** holds the MAIL FROM address",
     "RFC 5321 §4.4; labkit's receiver writes Return-Path at final delivery since this stop"
     " (tests/mta/test_receiver.py)"),
    ("01-anatomy", "14",
     "but our lab receiver keeps it in its log instead",
     "as our receiver did; the inspector above puts it beside the envelope.",
     "the receiver now writes Return-Path (tests/mta/test_receiver.py)"),
    ("02-dns", "17",
     "`np=` for mail from domains that do not exist at all",
     "`np=` for mail from subdomains that do not exist at all (NXDOMAIN)",
     "RFC 9989: np applies to non-existent subdomains of the Organizational Domain; non-existent means NXDOMAIN"),
    ("02-dns", "26",
     "the receiver should answer with a temporary SMTP failure (4xx)",
     "the receiver may accept the mail or answer with a temporary SMTP failure (`451`, RFC 7208 §8.6; with the"
     " enhanced status code `4.7.24` of RFC 7372, as in lab 03)",
     "RFC 7208 §8.6: checking software can choose to accept or temporarily reject; if it rejects, 451;"
     " RFC 7372 §3.2 gives SPF temperror the code 4.7.24, which lab 03's exercise 3 uses"),
    ("03-spf", "md-06",
     "only matters to a record that names it with the `%{l}` macro, which few do",
     "only matters to a record that names it with the `%{l}` or `%{s}` macro (RFC 7208 §7), which few do",
     "RFC 7208 §7: %{s} expands to the whole sender, local part included, as %{l} expands to the local part"),
    ("04-dkim", "md-04",
     "Nobody's mail client or PC takes part",
     "Usually no mail client or PC takes part (RFC 6376 §2.2 lets a mail client verify too, but that is rare)",
     "RFC 6376 §2.2: Verifiers may be MTAs, MDAs, or MUAs"),
    ("05-dmarc", "md-10",
     "the part of the name an organisation registered, such as",
     "the topmost name still under the same administration (usually the name the organisation registered), such as",
     "RFC 9989: the Organizational Domain is the domain at the top of the namespace hierarchy with the same"
     " administrative authority; 'the registered domain' was RFC 7489's definition, and psd=n (section 4) breaks it"),
    ("05-dmarc", "md-14",
     "policy for **non-existent** subdomains (new in RFC 9989)",
     "policy for **non-existent** subdomains (not in RFC 7489; RFC 9989 takes it from RFC 9091)",
     "RFC 9989, changes from RFC 7489, tags added: 'np - Policy for non-existent domains (Imported from RFC 9091)'"),
    ("05-dmarc", "md-41",
     "From now on receivers refuse the phish during the SMTP dialogue",
     "From now on receivers that honour the policy, ours among them, refuse the phish during the SMTP dialogue"
     " (RFC 9989 leaves the final decision to each receiver)",
     "RFC 9989: final handling is local policy; receivers MAY accept mail that fails DMARC under p=reject"),
    ("05-dmarc", "code-51",
     "\"the registered part of a name, e.g. brand.example\"",
     "\"the top of a name's tree under one administration, usually the registered name, e.g. brand.example\"",
     "RFC 9989 definition of Organizational Domain (as for md-10)"),
]


def _cell_text(notebook: str, cell_id: str) -> str:
    path = LABS / notebook / f"{notebook}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = [c for c in cells if c.get("id") == cell_id]
    assert len(found) == 1, f"{notebook}: expected one cell with id {cell_id!r}, found {len(found)}"
    return re.sub(r"\s+", " ", "".join(found[0]["source"]))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize(("notebook", "cell_id", "wrong", "right", "source"), CASES,
                         ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_corrected_statement(notebook, cell_id, wrong, right, source):
    text = _cell_text(notebook, cell_id)
    assert _norm(wrong) not in text, f"{notebook} cell {cell_id} still says {wrong!r} ({source})"
    assert _norm(right) in text, f"{notebook} cell {cell_id} lost the corrected statement {right!r} ({source})"
