"""A technical-accuracy review of labs 06, 07, 09 and 10: sentences that the standards
(RFC 9989 np=, RFC 8601 clauses, RFC 8314, RFC 7489 quarantine) or the lab's own code
(labkit's AUC, lab 10's Fisher filter) contradict or oversimplify.

Each test first shows the fact on the real part where there is one (LabDNS with the
course zones, the Authentication-Results parser, the filters), then pins the corrected
wording by cell id and keeps the old wording out.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

import labkit as lk
import labkit.auth.verdict

LABS = Path(__file__).resolve().parents[2] / "labs"


def _cell(lab: str, cell_id: str) -> str:
    """The source of one cell of a stored lab notebook, white space collapsed."""
    nb = nbformat.read(str(LABS / lab / f"{lab}.ipynb"), as_version=4)
    matches = [c for c in nb.cells if c.get("id") == cell_id]
    assert len(matches) == 1, f"{lab}: {len(matches)} cells with id {cell_id!r}"
    return " ".join(matches[0].source.split())


def _policy_for(from_domain: str, lab_dns) -> str:
    """The policy.dmarc our MX writes for unauthenticated mail from ``from_domain``."""
    msg = lk.mta.make_message(from_=f"news@{from_domain}", to="alice@corp.example",
                              subject="News", body="Hello.")
    header = labkit.auth.verdict.evaluate(msg, ip="192.0.2.11", mail_from=f"news@{from_domain}",
                                          helo=from_domain, dns=lab_dns).header
    return header.rpartition("policy.dmarc=")[2].split(";")[0].split()[0]


def test_np_applies_only_to_subdomains_that_do_not_exist(lab_dns):
    """brand.example publishes p=reject; sp=quarantine; np=reject.  An existing subdomain
    gets sp= (quarantine), an invented one np= (reject): np= is not "the policy for a
    subdomain" (RFC 9989: policy for non-existent subdomains)."""
    assert _policy_for("brand.example", lab_dns) == "reject"
    assert _policy_for("news.brand.example", lab_dns) == "quarantine"
    assert _policy_for("no-such-name.brand.example", lab_dns) == "reject"
    for lab, cell in (("06-verdict", "cell-008"), ("10-capstone", "cell-005")):
        text = _cell(lab, cell)
        assert "`sp=`/`np=` for a subdomain" not in text, text
        assert "does not exist" in text and "sp=" in text and "np=" in text, text


def test_authentication_results_has_one_clause_per_check_not_per_method():
    """RFC 8601: one result per check; a message with two signatures gets two dkim=
    clauses (the webmail header of lab 06 has them)."""
    header = ("Authentication-Results: mx.webmail.example; dkim=pass header.d=brand.example;"
              " dkim=neutral header.d=tracker.example; spf=pass smtp.mailfrom=news@brand.example")
    methods = [r.method for r in lk.auth.results.parse_authentication_results(header).results]
    assert methods.count("dkim") == 2, methods
    text = _cell("06-verdict", "cell-052")
    assert "one clause per method" not in text, text
    assert "one clause per check" in text and "one `dkim=` per signature" in text, text


def test_lab07_names_pop3_without_tls_and_rfc8314_submission_on_465():
    """POP3 itself is not unencrypted (STLS, port 995); a login without TLS is.  RFC 8314
    3.3 asks submission servers to offer implicit TLS on 465 beside STARTTLS on 587."""
    text = _cell("07-submission", "cell-016")
    assert "usually travel unencrypted" not in text, text
    assert "a POP3 login without TLS sends `USER`/`PASS` in clear text" in text, text
    text = _cell("07-submission", "cell-019")
    assert "RFC 8314" in text and "implicit TLS on port 465" in text, text
    text = _cell("07-submission", "cell-tools-pop-md")
    assert "POP3's weakness from section 2" not in text, text
    assert "rfc8314" in _cell("07-submission", "cell-065")


def test_lab09_auc_counts_ties_half_and_names_trecs_roca():
    """labkit's AUC counts a tied ham-spam pair as half (0.5 for one tie), and TREC's spam
    track reports the same figure as (1-ROCA)%."""
    assert lk.filters.evaluate.auc([False, True], [0.5, 0.5]) == 0.5
    assert lk.filters.evaluate.auc([False, True], [0.2, 0.9]) == 1.0
    text = _cell("09-bayes", "12")
    assert "(a tie counts half)" in text and "(1-ROCA)%" in text, text


def test_lab10_names_the_combining_rule_of_its_filter_and_quarantine_is_a_request():
    """Lab 10 trains lk.filters.Fisher (Robinson's f(w), chi-square combining), not lab
    09's geometric-mean Robinson; and quarantine (RFC 7489 6.3) asks receivers to treat
    failing mail as suspicious, of which the Junk folder is the usual form."""
    assert lk.filters.Fisher().kind == "fisher" != lk.filters.Robinson().kind
    text = _cell("10-capstone", "cell-003")
    assert "Fisher's chi-square method" in text and "`lk.filters.Fisher`" in text, text
    terms = _cell("10-capstone", "cell-035")
    assert '"deliver to a Junk folder instead of the inbox"' not in terms, terms
    assert "treat as suspicious" in terms, terms
