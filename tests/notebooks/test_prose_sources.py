"""Claims in the labs' prose that now name their source.

A fact-check of the teaching text left three claims without a primary source: that
botnets send most spam (labs 00 and 07), that "many receivers" ignore DKIM ``l=``
signatures (lab 04), and what mail clients show for a ``Sender`` header (lab 03).  Each
sentence was reworded to what a dated, named source supports.  The tests below pin the
new wording (by cell id) and keep the unsourced phrasing out; where the sentence also
describes what the lab does, the real part shows it first.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

import labkit as lk

LABS = Path(__file__).resolve().parents[2] / "labs"


def _cell(lab: str, cell_id: str) -> str:
    """The source of the cell ``cell_id`` of the stored notebook of ``lab``, with runs of
    white space (line breaks inside a sentence) collapsed to one space."""
    nb = nbformat.read(str(LABS / lab / f"{lab}.ipynb"), as_version=4)
    matches = [c for c in nb.cells if c.get("id") == cell_id]
    assert len(matches) == 1, f"{lab}: {len(matches)} cells with id {cell_id!r}"
    return " ".join(matches[0].source.split())


def test_lab04_l_tag_signature_passes_and_the_text_names_what_verifiers_do(lab_dns):
    """The lab's verifier passes an ``l=`` signature with text appended and only warns;
    RFC 6376 leaves the response to the receiver.  The prose names documented verifier
    behaviour (OpenDKIM's Minimum option, Stalwart's dkimStrict, rspamd since 2024)
    instead of an unsourced "many receivers"."""
    message = lk.mta.make_message(from_="news@brand.example", to="alice@corp.example",
                                  subject="News", body="This month at Brand.")
    signed = lk.auth.dkim.sign(message, domain="brand.example", selector="s2026",
                               private_key=lk.auth.dkim.lab_key("brand.example", "s2026"),
                               body_length=True)
    check = lk.auth.dkim.verify(signed + b"\r\nURGENT: log in at https://brand-example.test/\r\n",
                                dns=lab_dns)[0]
    assert check.result == "pass", check
    assert any("not covered by the signature" in w for w in check.warnings), check.warnings

    text = _cell("04-dkim", "md-41")
    assert "many receivers" not in text, text
    assert "RFC 6376 (2011, sections 6.1.3 and 8.2)" in text, text
    assert "but requires neither" in text, text
    for documented in ("OpenDKIM fails partly signed mail only when its `Minimum` option is set",
                       "Stalwart ignores `l=` signatures unless `dkimStrict` is turned off",
                       "rspamd (since 2024) rejects signatures that cover too little of the body"):
        assert documented in text, (documented, text)
    assert "Never sign with `l=`." in text, text


def test_lab03_sender_display_is_attributed_to_rfc5322_and_microsoft(lab_dns):
    """With a ``Sender`` header the PRA is the attacker's address and Sender ID passes,
    while ``From`` still names brand.example.  What a reader then sees depends on the
    client: RFC 5322 3.6.2 defines Sender without prescribing its display; Microsoft
    documents Outlook's "on behalf of" for delegated mail and maps Sender/From to those
    roles (MS-OXCMAIL).  The old "many nothing" had no source."""
    phish = (b"From: Brand Security <security@brand.example>\r\nTo: alice@corp.example\r\n"
             b"Subject: Please verify your account\r\n\r\nClick here.\r\n")
    with_sender = b"Sender: bounce@attacker.test\r\n" + phish
    ip = lab_dns.resolver().resolve("mail.attacker.test", "A")[0].address
    result = lk.auth.senderid.check(with_sender, ip=ip, helo="mail.attacker.test", dns=lab_dns)
    assert result.pra.address == "bounce@attacker.test", result
    assert result.result == "pass", result

    text = _cell("03-spf", "md-58")
    assert "many nothing" not in text, text
    assert "RFC 5322 (section 3.6.2) defines `Sender`" in text, text
    assert "says nothing about how a client should show it" in text, text
    assert "Microsoft documents" in text and "\"on behalf of\"" in text, text
    assert "(MS-OXCMAIL)" in text, text



def test_lab00_botnet_share_is_symantecs_measurement_with_its_years():
    """Symantec's MessageLabs Intelligence 2010 Annual Security Report: 88.2 % of spam
    from botnets in 2010; Symantec Internet Security Threat Report vol. 17 (2012): 81 % in
    2011.  No source found says botnets send most spam *today*, so no sentence may say so
    in the present tense."""
    why = _cell("00-setup", "15")
    assert "most of it from botnets" not in why, why
    assert "88 % of the spam it saw in 2010" in why, why
    assert "81 % for 2011" in why, why
    assert "Symantec" in why, why

    terms = _cell("00-setup", "30")
    assert "the main source of spam" not in terms, terms
    assert "over 80 % of spam in 2010-2011 (Symantec)" in terms, terms

    summary = _cell("00-setup", "31")
    assert "botnets send most of it" not in summary, summary
    assert "in Symantec's figures for 2010 and 2011, botnets sent over 80 % of it" in summary, summary


def test_lab07_bots_sentence_names_symantec_and_the_years():
    text = _cell("07-submission", "cell-030")
    assert "Most spam is sent by **bots**:" not in text, text
    assert "Symantec found most spam sent by **bots** (88 % of the spam it filtered in 2010, 81 % in 2011)" in text, text

    terms = _cell("07-submission", "cell-064")
    assert "sending most spam" not in terms, terms
    assert "they sent over 80 % of spam in 2010-2011 (Symantec)" in terms, terms


def test_lab07_curl_pop3_sentence_starts_with_capa():
    """Lab 07, section 6: curl opens a POP3 session with CAPA (RFC 2449) and logs in
    with USER/PASS because the server lists USER (tests/mta/test_pop3_capa.py runs
    curl against the lab and reads that from its transcript); the text says so."""
    text = _cell("07-submission", "cell-tools-pop-md")
    assert "(RFC 1939: `USER`, `PASS`, then `LIST`)" not in text, text
    assert "first `CAPA` (RFC 2449)" in text, text
