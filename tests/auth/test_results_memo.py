"""Authentication-Results text is what authres writes for the same clauses, remembered or not.

``results.authentication_results`` remembers the field per clause values; the reference
here builds each field with authres's objects directly, for a matrix of outcomes.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace as NS

import authres
import authres.arc
import authres.dmarc

from labkit.auth import results


def _authres_directly(authserv_id, spf, spf_helo, dkim, arc, dmarc) -> str:
    clauses = []
    checks = [(spf, spf.identity == "helo")]
    if spf_helo is not None and spf.identity != "helo":
        checks.append((spf_helo, True))
    for res, helo in checks:
        reason = res.reason if res.result in ("permerror", "temperror") and res.reason else None
        if helo:
            clauses.append(authres.SPFAuthenticationResult(result=res.result, smtp_helo=res.helo, reason=reason))
        else:
            clauses.append(authres.SPFAuthenticationResult(
                result=res.result, smtp_mailfrom=res.mail_from or f"postmaster@{res.helo}", reason=reason))
    for sig in dkim:
        clauses.append(authres.DKIMAuthenticationResult(
            result=sig.result, reason=sig.reason if sig.result != "pass" and sig.reason else None,
            header_d=sig.domain or None, header_s=sig.selector or None, header_a=sig.algorithm or None))
    if arc.result != "none":
        clauses.append(authres.arc.ARCAuthenticationResult(result=arc.result, reason=arc.reason or None))
    clauses.append(authres.dmarc.DMARCAuthenticationResult(
        result=dmarc.result, reason=dmarc.reason or None, header_from=dmarc.header_from or None,
        policy=dmarc.policy if dmarc.policy in ("none", "quarantine", "reject") else None))
    return str(authres.AuthenticationResultsHeader(authserv_id=authserv_id, results=clauses))


SPFS = [
    NS(identity="mailfrom", result="pass", reason="", helo="mail.brand.example", mail_from="news@brand.example"),
    NS(identity="mailfrom", result="permerror", reason="too many DNS lookups", helo="h.example",
       mail_from="x@toomany.spf.test"),
    NS(identity="helo", result="fail", reason="", helo="mail.attacker.example", mail_from=""),
    NS(identity="mailfrom", result="none", reason="", helo="mail.isp.example", mail_from=""),
]
HELOS = [None, NS(identity="helo", result="none", reason="", helo="mail.brand.example", mail_from=""),
         NS(identity="helo", result="temperror", reason="DNS time-out", helo="slow.example", mail_from="")]
DKIMS = [
    (),
    (NS(result="pass", reason="good signature", domain="brand.example", selector="s2026", algorithm="rsa-sha256"),),
    (NS(result="fail", reason="body hash mismatch", domain="brand.example", selector="s2026", algorithm="rsa-sha256"),
     NS(result="permerror", reason="no key published", domain="lists.example.org", selector="",
        algorithm="ed25519-sha256")),
]
ARCS = [NS(result="none", reason=""), NS(result="pass", reason=""), NS(result="fail", reason="cv=fail at i=2")]
DMARCS = [NS(result="pass", reason="aligned", header_from="brand.example", policy="reject"),
          NS(result="fail", reason="no aligned identifier", header_from="brand.example", policy="quarantine"),
          NS(result="none", reason="", header_from="", policy=None),
          NS(result="permerror", reason="bad record", header_from="odd.example", policy="bogus")]


def test_same_text_as_authres_for_every_combination_twice():
    seen = set()
    for spf, helo, dkim, arc, dmarc in itertools.product(SPFS, HELOS, DKIMS, ARCS, DMARCS):
        expected = _authres_directly("mx.corp.example", spf, helo, dkim, arc, dmarc)
        for _ in range(2):  # the second call is answered from memory
            text = results.authentication_results("mx.corp.example", spf=spf, spf_helo=helo, dkim=dkim,
                                                  arc=arc, dmarc=dmarc)
            assert text == expected
        seen.add(text)
    assert len(seen) > 300  # different outcomes never share a remembered field


def test_authserv_id_is_part_of_what_is_remembered():
    args = {"spf": SPFS[0], "dkim": DKIMS[1], "dmarc": DMARCS[0]}
    one = results.authentication_results("mx.corp.example", **args)
    other = results.authentication_results("mx2.corp.example", **args)
    assert one.startswith("Authentication-Results: mx.corp.example;")
    assert other.startswith("Authentication-Results: mx2.corp.example;")
    assert one.split(";", 1)[1] == other.split(";", 1)[1]
