"""Authentication-Results (RFC 8601) written by us and read back by authres; the
RFC 8601 appendix examples parsed; Received-SPF (RFC 7208 9.1) round trip."""

from __future__ import annotations

from types import SimpleNamespace

import authres

from labkit.auth import results


def _spf(result="pass", identity="mailfrom", **kw):
    base = dict(result=result, identity=identity, ip="192.0.2.10", domain="brand.example",
                mail_from="news@brand.example", helo="mail.brand.example",
                receiver="mx.corp.example", mechanism="ip4:192.0.2.10", reason="")
    base.update(kw)
    return SimpleNamespace(**base)


def test_written_header_is_read_back_by_authres():
    dkim = [SimpleNamespace(result="pass", domain="brand.example", selector="s2026",
                            algorithm="rsa-sha256", reason="")]
    dmarc = SimpleNamespace(result="fail", reason="no aligned pass", header_from="brand.example",
                            policy="reject")
    text = results.authentication_results("mx.corp.example", spf=_spf(), dkim=dkim, dmarc=dmarc)
    assert text.startswith("Authentication-Results: mx.corp.example; ")
    parsed = authres.all_features().parse(text)
    assert parsed.authserv_id == "mx.corp.example"
    by = {r.method: r for r in parsed.results}
    assert by["spf"].result == "pass" and by["spf"].smtp_mailfrom == "news@brand.example"
    assert by["dkim"].header_d == "brand.example" and by["dkim"].header_s == "s2026"
    assert by["dmarc"].result == "fail" and by["dmarc"].header_from == "brand.example"
    assert by["dmarc"].policy == "reject"


def test_hostile_values_are_made_safe():
    spf = _spf(result="permerror", mail_from="a b;c=\"d\"@x\r\n.example", reason="bad\r\nrecord; x=y")
    text = results.authentication_results("mx.corp.example", spf=spf)
    assert "\r" not in text and "\n" not in text
    assert results.results_by_method(text) == {"spf": ["permerror"]}


def test_none_when_nothing_to_say():
    text = results.authentication_results("mx.corp.example")
    assert text == "Authentication-Results: mx.corp.example; none"


def test_rfc8601_appendix_examples_parse():
    # RFC 8601 B.4 and B.5 style fields
    text = ("Authentication-Results: example.com; spf=pass smtp.mailfrom=example.net; "
            "dkim=pass (good signature) header.d=example.com")
    assert results.results_by_method(text) == {"spf": ["pass"], "dkim": ["pass"]}
    folded = "Authentication-Results: example.com;\r\n  auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n  spf=pass smtp.mailfrom=example.net"
    assert results.results_by_method(folded) == {"auth": ["pass"], "spf": ["pass"]}
    assert results.parse_authentication_results("not ; a = header ===") is None


def test_received_spf_round_trip_for_every_result():
    for res in ("pass", "fail", "softfail", "neutral", "none", "permerror", "temperror"):
        header = results.received_spf(_spf(result=res, reason="why" if "error" in res else ""))
        back = results.parse_received_spf(header)
        assert back.result == res
        assert back.pairs["client-ip"] == "192.0.2.10"
        assert back.pairs["receiver"] == "mx.corp.example"


def test_received_spf_quoted_values_keep_their_spaces():
    # a quoted-string may hold spaces (RFC 5322 3.2.4): the reason read "Too?many?DNS?lookups"
    header = results.received_spf(_spf(result="permerror", reason="Too many DNS lookups"))
    assert 'problem="Too many DNS lookups"' in header
    assert results.parse_received_spf(header).pairs["problem"] == "Too many DNS lookups"
    hostile = results.received_spf(_spf(result="temperror", reason="a\r\nX-Evil: 1 \u00e9"))
    assert "\n" not in hostile and "\u00e9" not in hostile and 'problem="a??X-Evil: 1 ?"' in hostile


def test_received_spf_helo_identity_has_no_envelope_from():
    header = results.received_spf(_spf(identity="helo", mail_from="", mechanism=None))
    back = results.parse_received_spf(header)
    assert back.pairs["identity"] == "helo"
    assert "envelope-from" not in back.pairs


def test_names_longer_than_any_domain_are_left_out_so_lines_stay_short(lab_dns):
    """A DKIM-Signature's d= and s= come from the message: one of 70,000 characters made a
    70,000-octet Authentication-Results line (RFC 5322 2.1.1 allows 998)."""
    from labkit.auth import dkim

    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 53]) + ".example"  # 253 octets
    assert len(longest) == results.MAX_NAME
    for d, s, kept in ((longest, "sel", True), ("x" * 70_000 + ".example", "s" * 5_000, False)):
        msg = (f"DKIM-Signature: v=1; a=rsa-sha256; d={d}; s={s}; c=relaxed/relaxed; h=from;"
               " bh=AAAA; b=AAAAAAAAAAAA\r\nFrom: x@brand.example\r\nSubject: hi\r\n\r\nbody\r\n")
        (sig,) = dkim.verify(msg.encode(), dns=lab_dns)
        assert sig.result == "permerror" and sig.domain == d
        field = results.fold(results.authentication_results("mx.corp.example", dkim=[sig]))
        assert max(map(len, field.split("\r\n"))) <= 998
        (parsed,) = authres.AuthenticationResultsHeader.parse(field).results
        assert parsed.result == "permerror"
        assert parsed.header_d == (d if kept else None)
        assert (parsed.header_s == s) is kept
