"""Crafted messages and records that once stalled or bloated the receiver's authentication.

Each input gives a result, never an exception.  No test measures time: each input is
made large enough that the behaviour it guards against (quadratic, measured on the code
before the fix and quoted in each docstring) would run for minutes, far past the test's
own ``pytest.mark.timeout``, while the code now takes a second or less on it.  The
messages keep to what the lab's SMTP server lets through where they can (CRLF line
ends, lines under 1,000 octets, at most 10 MB), so a receiver meets them too.
"""

from __future__ import annotations

import base64
import hashlib
from types import SimpleNamespace as NS

import pytest

import labkit.mta
from labkit.auth import arc, dkim, dkim_fast, fromheader, results, spf_record, verdict
from labkit.filters import Fisher, SpamScorer

HEAD = (b"From: Brand News <news@brand.example>\r\nTo: alice@corp.example\r\n"
        b"Subject: hostile\r\nMessage-ID: <hostile@brand.example>\r\n")


def _bh(body: bytes) -> bytes:
    """The relaxed body hash: a signature whose body verifies is checked all the way."""
    return base64.b64encode(hashlib.sha256(dkim_fast.relaxed_body(body)).digest())


def _signature(*, extra: bytes = b"", h: bytes = b"from:subject", b: bytes = b"AAAA",
               body: bytes = b"hi\r\n") -> bytes:
    """A DKIM-Signature by brand.example (its key is in the lab DNS; b= is not a real
    signature).  ``extra`` tags such as ``z=1`` send it down dkimpy's path."""
    return (b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=brand.example;\r\n"
            b" s=s2026;" + extra + b"\r\n h=" + h + b"; bh=" + _bh(body) + b"; b=" + b + b"\r\n")


def _evaluate(raw: bytes, dns) -> verdict.Verdict:
    return verdict.evaluate(raw, ip="192.0.2.10", mail_from="news@brand.example",
                            helo="mail.brand.example", dns=dns)


@pytest.mark.timeout(60)
def test_header_line_without_a_colon_is_read_once(lab_dns):
    """A header line with no colon was scanned again from each of its characters by the
    field patterns of the message splitter and of the DKIM fast path: quadratic in the
    line's length (990-character lines: 10 ms each; this 200,000-character line: about
    400 s).  Now the patterns start only at a line's start."""
    raw = HEAD + b"x" * 200_000 + b"\r\n\r\nbody\r\n"
    msg = fromheader.split_message(raw)
    assert any("line 5 is not a header field" in p for p in msg.problems)
    assert fromheader.parse_from(msg).domain == "brand.example"
    assert dkim_fast.parse(raw) is None  # not a plain message: dkimpy reads it
    assert dkim.verify(raw, dns=lab_dns) == ()  # (no signature to check)
    assert _evaluate(raw, lab_dns).dmarc.header_from == "brand.example"


FOLDED = b"X-Long: a\r\n" + b" b\r\n" * 1_500_000  # one field over 1.5 million lines (6 MB)


@pytest.mark.timeout(60)
def test_field_folded_over_many_lines_in_arc_and_dkim(lab_dns):
    """dkimpy's message parser added each continuation line to the value, copying it
    each time: quadratic in the number of lines (640,000 lines: 39 s in ARC
    verification; these 1.5 million, about 200 s).  dkimpy parses every message with an
    ARC-Seal, and every signed message the fast path hands back."""
    raw = b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x.example; s=s; b=AAAA\r\n" + HEAD + FOLDED
    found = arc.verify(raw + b"\r\nbody\r\n", dns=lab_dns)
    assert found.result == "fail" and "Incomplete ARC set" in found.reason
    signed = _signature(extra=b" z=1;") + HEAD + FOLDED + b"\r\nhi\r\n"
    (sig,) = dkim.verify(signed, dns=lab_dns)
    assert sig.result == "fail" and sig.code == "signature-mismatch"


@pytest.mark.timeout(30)
def test_field_folded_over_many_lines_after_a_line_that_is_no_field():
    """A line that is no field sends the From reader to its forgiving splitter, which
    added each continuation line to the value as well: 1.5 million lines took 49 s,
    these 2.5 million (10 MB) about 140 s.  The lines of a field are now joined once."""
    raw = HEAD + b"junk line\r\nX-Long: a\r\n" + b" b\r\n" * 2_500_000 + b"\r\nbody\r\n"
    msg = fromheader.split_message(raw)
    assert any("line 5 is not a header field" in p for p in msg.problems)
    assert len(msg.get_all("X-Long")[0]) == 5_000_001
    assert fromheader.parse_from(msg).domain == "brand.example"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("extra", [b"", b" z=1;"], ids=["fast-path", "dkimpy-path"])
def test_folded_blank_lines_after_b_tag(lab_dns, extra):
    """dkimpy's check of the b= value (and its removal of b= before hashing) tried
    every way of splitting a run of folded blank lines: quadratic in the run (20,000
    lines: 11 s; these 100,000 about 280 s).  The value is refused in linear time, with
    the same words; the reason that quotes it is cut short in Authentication-Results."""
    raw = _signature(extra=extra, b=b"AAAA\r\n" + b" \r\n" * 100_000 + b" !") + HEAD + b"\r\nhi\r\n"
    (sig,) = dkim.verify(raw, dns=lab_dns)
    assert sig.result == "neutral" and sig.code == "signature-syntax"
    assert sig.reason.startswith("signature rejected: b= value is not valid base64 (b'AAAA")
    header = _evaluate(raw, lab_dns).header
    assert "dkim=neutral" in header and len(header) < 2000


@pytest.mark.timeout(60)
def test_signed_header_list_of_thousands_of_names(lab_dns):
    """dkimpy looked each h= name up by walking the header fields backwards: h= with
    8,000 names absent from 8,000 fields took 4.6 s (both grow: quadratic); these
    30,000 about 65 s, for DKIM and again for an ARC-Message-Signature."""
    n = 30_000
    names = b":\r\n ".join(b"x%d" % i for i in range(n))
    fields = b"".join(b"y%d: v\r\n" % i for i in range(n))
    raw = _signature(extra=b" z=1;", h=b"from:" + names) + HEAD + fields + b"\r\nhi\r\n"
    (sig,) = dkim.verify(raw, dns=lab_dns)
    assert sig.result == "fail" and sig.code == "signature-mismatch"
    assert len(sig.signed_headers) == n + 1
    sealed = _arc_set(1, b"hi\r\n", h=b"from:" + names) + HEAD + fields + b"\r\nhi\r\n"
    found = arc.verify(sealed, dns=lab_dns)
    assert found.result == "fail" and found.instances[0].sealer == "lists.example.org"


def _arc_set(i: int, body: bytes, *, h: bytes = b"from", aar: bytes = b"dmarc=pass") -> bytes:
    """An ARC set by lists.example.org (key in the lab DNS) whose signatures do not verify."""
    return (b"ARC-Seal: i=%d; a=rsa-sha256; cv=%s; d=lists.example.org; s=list; b=AAAA\r\n"
            % (i, b"none" if i == 1 else b"pass")
            + b"ARC-Message-Signature: i=%d; a=rsa-sha256; c=relaxed/relaxed;\r\n" % i
            + b" d=lists.example.org; s=list; h=" + h + b"; bh=" + _bh(body) + b"; b=AAAA\r\n"
            + b"ARC-Authentication-Results: i=%d; mx.lists.example.org;\r\n " % i + aar + b"\r\n")


@pytest.mark.timeout(60)
def test_fifty_arc_sets_on_a_ten_megabyte_body(lab_dns):
    """dkimpy canonicalises the body again for each of the 50 ARC sets, and the
    explanation once more for each failed one: 100 passes over the body (7.6 MB:
    56 s; this 10 MB one, about 75 s).  The last body's canonical form is remembered.
    (Linear, not quadratic: the margin to the time limit is smaller than elsewhere.)"""
    body = (b"word " * 190 + b"\r\n") * 10_400
    raw = b"".join(_arc_set(i, body) for i in range(50, 0, -1)) + HEAD + b"\r\n" + body
    assert len(raw) < 10 * 1024 * 1024  # what the lab's SMTP server accepts
    found = arc.verify(raw, dns=lab_dns)
    assert found.result == "fail" and len(found.instances) == 50


@pytest.mark.timeout(60)
def test_authentication_results_with_thousands_of_results(lab_dns):
    """authres's parser is quadratic in the number of results (32,000 in an
    ARC-Authentication-Results: 34 s; these 50,000, about 80 s each).  Only the results
    within the first 8,192 characters are read now."""
    many = b";\r\n ".join(b"dkim=pass header.d=d%d.example" % i for i in range(50_000))
    raw = _arc_set(1, b"hi\r\n", aar=many) + HEAD + b"\r\nhi\r\n"
    (inst,) = arc.verify(raw, dns=lab_dns).instances
    assert inst.authserv_id == "mx.lists.example.org"
    assert 100 < len(inst.results) < 1000 and inst.results[0].get("header.d") == "d0.example"
    parsed = results.parse_authentication_results("mx.corp.example; " + many.decode())
    assert parsed is not None and 100 < len(parsed.results) < 1000
    assert results.results_by_method("mx.corp.example; " + many.decode())["dkim"][0] == "pass"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("spec", ["." + "a" * 300_000 + "!", "%{" * 300_000 + "x"], ids=["label", "macros"])
def test_spf_domain_spec_is_checked_from_its_end(spec):
    """The domain-end pattern was searched for at every position and backtracked over
    a long label (8,000 characters: 0.74 s, quadratic; these 300,000: about 1,000 s) or
    a run of "%{" (about 400 s).  Only the end of the term is read now."""
    parsed = spf_record.parse_record("v=spf1 include:" + spec + " include:ok.example -all")
    assert len(parsed.errors) == 1 and "invalid domain" in parsed.errors[0]
    assert [t.value for t in parsed.mechanisms] == ["ok.example", None]


def _dkimpy_as_published():
    """A fresh copy of the dkim module, without the replacements labkit installs."""
    import importlib.util

    import dkim as installed

    spec = importlib.util.spec_from_file_location("_dkimpy_original", installed.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _outcome(f, *args):
    try:
        return "ok", f(*args)
    except Exception as exc:  # noqa: BLE001 - the same error, word for word
        return "raised", type(exc).__name__, str(exc)


def test_replacements_in_dkimpy_give_what_dkimpy_gives():
    """The linear parser, h= selection, b= removal and b= check that labkit installs
    in dkimpy give dkimpy's own results (and errors) on random input."""
    import random

    import dkim as patched

    original = _dkimpy_as_published()
    assert original.rfc822_parse is not patched.rfc822_parse
    rnd = random.Random(2026)

    def text(alphabet, most=24):
        return b"".join(rnd.choice(alphabet) for _ in range(rnd.randrange(most)))

    lines = [b"a", b"B", b":", b" ", b"\t", b"\r\n", b"\n", b"\r", b"From ", b"x:", b"\xff", b";"]
    btag = [b";", b"b", b"=", b" ", b"\t", b"\r\n", b"\n", b"\r", b"A", b"+", b"/", b"!", b"\x0b"]
    for _ in range(20_000):
        message = text(lines)
        assert _outcome(original.rfc822_parse, message) == _outcome(patched.rfc822_parse, message)
        value = text(btag)
        assert original.RE_BTAG.sub(b"\\1", value) == patched.RE_BTAG.sub(b"\\1", value)
        names = [rnd.choice((b"a", b"B", b"from", b"From")) for _ in range(rnd.randrange(8))]
        fields = [(n, b"%d" % i) for i, n in enumerate(names)]
        wanted = [rnd.choice((b"a", b"b", b"from")) for _ in range(rnd.randrange(8))]
        assert original.select_headers(fields, wanted) == patched.select_headers(fields, wanted)
        sig = {k: rnd.choice(v) for k, v in {
            b"v": [b"1"], b"a": [b"rsa-sha256", b"x"], b"bh": [b"AAAA", b"A!"], b"d": [b"x.example", b"a;b"],
            b"h": [b"from"], b"s": [b"s"], b"i": [b"@x.example", b"@y.example"], b"cv": [b"none", b"x"],
        }.items() if rnd.random() < 0.85}
        if rnd.random() < 0.9:
            sig[b"b"] = text([b"A", b"=", b" ", b"\r\n", b"\n", b"!", b"+", b"\t"], 12)
        for args in ((), ([b"i", b"a", b"b", b"cv", b"d", b"s"], True)):
            assert (_outcome(original.validate_signature_fields, sig, *args)
                    == _outcome(patched.validate_signature_fields, sig, *args))


def test_linear_patterns_read_what_the_old_ones_read():
    """The anchored field patterns and the domain-end check give the old patterns'
    answers on random input (the old ones are written out here)."""
    import random
    import re

    old_field = re.compile(rb"([!-9;-~]+):([^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*)")
    old_plain = re.compile(rb"([\x21-\x39\x3b-\x7e]+)([ \t]*):([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)\r\n")
    old_end = re.compile(r"(?:\.(?:[0-9a-z]*[a-z][0-9a-z]*|[0-9a-z]+-[0-9a-z\-]*[0-9a-z])\.?|%\{[^}]*\})$", re.I)
    rnd = random.Random(7)
    parts = [b"a", b"X-1", b":", b" ", b"\t", b"\r\n", b"\n", b"\r", b"v", b"\r\n\r\n"]
    for _ in range(20_000):
        raw = b"".join(rnd.choice(parts) for _ in range(rnd.randrange(16))) + b"\r\n\r\nbody"
        plain = dkim_fast.parse(raw)
        end = raw.find(b"\r\n\r\n")
        head = raw[: end + 2]
        found = old_field.findall(head)
        tiled = sum(len(n) + len(v) for n, v in found) + len(found) == len(head)
        breaks = head.count(b"\n")
        simple = head.count(b"\r") == breaks == head.count(b"\r\n") and not any(c in head for c in b"\x0b\x0c")
        assert (plain is not None) == (tiled and simple)
        if plain is not None:
            assert plain.headers == found
        found = old_plain.findall(head)
        tiled = sum(len(n) + len(s) + len(v) + 3 for n, s, v in found) == len(head)
        split = fromheader._plain_split(raw)
        assert (split is not None) == (tiled and head.count(b"\r") == breaks == head.count(b"\r\n"))
        if split is not None:
            assert [name for name, _ in split[0]] == [name for name, _, _ in found]
        spec = "".join(rnd.choice([".", "a", "1", "-", "%{", "}", "\n", "A", "!", "\u212a"]) for _ in range(12))
        assert spf_record._valid_domain_spec(spec) == (bool(spec) and old_end.search(spec) is not None)


def test_large_values_are_not_kept_in_the_memos():
    """Results are remembered per value (1,024 of them); a value of megabytes from a
    message (a 1 MB invalid b= quoted in a DKIM reason, a 10 MB From field) was kept
    too: a few hundred such messages filled the memory of the receiver's process."""
    big = NS(result="permerror", reason="key-not-found", domain="d" * 100_000, selector="s",
             algorithm="rsa-sha256", header_b="")
    dmarc = NS(result="none", reason="", header_from="brand.example", policy=None)
    # a d= longer than any domain name is not written at all (results.MAX_NAME), so
    # neither the field nor the memo's key holds it
    header = results.authentication_results("mx.corp.example", dkim=[big], dmarc=dmarc)
    assert "header.d=" not in header and len(header) < 2000
    # a long authserv-id still takes the path that is not remembered
    before = results._header_text.cache_info().currsize
    header = results.authentication_results("mx" * 3000 + ".example", dkim=[big], dmarc=dmarc)
    assert header.startswith("Authentication-Results: mxmx")
    assert results._header_text.cache_info().currsize == before
    quoted = NS(**{**vars(big), "domain": "brand.example", "reason": "b= value " + "x" * 1_000_000})
    header = results.authentication_results("mx.corp.example", dkim=[quoted], dmarc=dmarc)
    assert len(header) < 2000 and "b= value xxx" in header
    before = fromheader._parse_from_value.cache_info().currsize
    found = fromheader.parse_from_value("a" * 10_000_000 + " <a@brand.example>")
    assert found.kind == "unparsable" and "10000018 characters" in found.problem
    assert fromheader._parse_from_value.cache_info().currsize == before


HOSTILE = {
    "empty": b"",
    "binary garbage": bytes(range(256)) * 400,
    "NUL bytes": HEAD.replace(b"hostile", b"ho\x00stile") + b"\r\nbo\x00dy\r\n",
    "8-bit From": b"From: \xff\xfe <a@brand.\xe9xample>\r\n\r\nbody\r\n",
    "comments 10,000 deep": b"From: " + b"(" * 10_000 + b"x" + b")" * 10_000
    + b" <a@brand.example>\r\n\r\nbody\r\n",
    "no header": b"\r\n\r\njust a body\r\n",
    "deep multipart": b"".join(b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (i, i)
                               for i in range(3000)) + b"Content-Type: text/plain\r\n\r\ndeep\r\n",
    "nested message/rfc822": HEAD + b"Content-Type: message/rfc822\r\n\r\n" * 5000 + b"\r\ninner\r\n",
    "10 MB base64 body": HEAD + b"Content-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(bytes(range(256)) * 29_000).replace(b"\n", b"\r\n"),
    "100,000 header fields": HEAD + b"".join(b"X-%d: v\r\n" % i for i in range(100_000)) + b"\r\nx\r\n",
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_messages_get_a_verdict(lab_dns, name):
    """Each of these gives a verdict with a disposition and an Authentication-Results
    field, never an exception (they pass through SPF, DKIM, ARC when present, the From
    reader and DMARC)."""
    v = _evaluate(HOSTILE[name], lab_dns)
    assert v.disposition in ("accept", "quarantine", "reject")
    assert v.header.startswith("Authentication-Results: mx.corp.example;")


def test_text_with_lone_surrogates(lab_dns):
    """A message given as text with lone surrogates (not the U+DC80..U+DCFF that
    surrogateescape makes of bytes) raised UnicodeEncodeError from the message
    splitter and from ARC; it is read with "?" for them now."""
    text = "From: a@brand.example\r\nSubject: \ud800\udfff\r\nARC-Seal: i=1\r\n\r\n\udc80\ud800"
    assert fromheader.parse_from(text).domain == "brand.example"
    assert fromheader.split_message(text).get_all("Subject") == ["??"]
    assert arc.verify(text, dns=lab_dns).result == "fail"
    assert dkim.verify("DKIM-Signature: v=1\r\n" + text, dns=lab_dns)[0].code == "signature-syntax"
    # the whole verdict too (it raised UnicodeEncodeError from its own encode step)
    v = verdict.evaluate(text, ip="192.0.2.10", mail_from="a@brand.example",
                          helo="mail.brand.example", dns=lab_dns)
    assert v.disposition in ("accept", "quarantine", "reject")


# ---------------------------------------------------------------- a real receiver

def _trained_scorer() -> SpamScorer:
    bayes = Fisher()
    bayes.learn(b"Subject: cheap pills\r\n\r\nbuy cheap pills now, click here\r\n", spam=True)
    bayes.learn(b"Subject: minutes\r\n\r\nthe minutes of the meeting are attached\r\n", spam=False)
    return SpamScorer(filter=bayes)  # (an untrained scorer does not tokenise at all)


@pytest.fixture(scope="module")
def scored_lab(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, scorer=_trained_scorer()) as running:
        yield running


def _punycode_parts(n: int) -> bytes:
    data = base64.encodebytes(b"-" + b"99" * 100_000).replace(b"\n", b"\r\n")
    part = b"--p\r\nContent-Type: text/plain; charset=punycode\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    return (HEAD + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n"
            + (part + data) * n + b"--p--\r\n")


WORST = {
    # 4 MB of 990-character lines without a colon: about 100 s of authentication before
    "junk header lines": HEAD + b"".join(b"x" * 990 + b"\r\n" for _ in range(4000)) + b"\r\nbody\r\n",
    # 100,000 folded blank lines after b=: about 280 s in the DKIM check before
    "blank lines after b=": _signature(b=b"AAAA\r\n" + b" \r\n" * 100_000 + b" !") + HEAD + b"\r\nhi\r\n",
    # 8 parts of 200 kB in charset=punycode: the tokenizer took about 6 s for each before
    "punycode parts": _punycode_parts(8),
}


@pytest.mark.timeout(300)
def test_receiver_answers_the_worst_messages_and_stays_up(scored_lab):
    """The worst messages found, sent to the lab's MX (real SMTP, the receiver's own
    authentication and a trained spam scorer): each is answered within the sender's
    30 s time-out (before the fixes, each kept the receiver busy for minutes and the
    sender gave up), and ordinary mail is delivered afterwards."""
    for name, raw in WORST.items():
        res = scored_lab.send(raw, from_host="mail.brand.example", mail_from="news@brand.example",
                              rcpt_to="alice@corp.example")
        assert res.code == 250, (name, res.status, res.reply)
    verdicts = [e for e in scored_lab.events.entries(host="mx.corp.example", event="verdict")
                if e.get("message_id") == "<hostile@brand.example>"]
    assert len(verdicts) == len(WORST)
    assert all(e["spam_status"] in ("ham", "unsure", "spam") for e in verdicts)
    after = labkit.mta.make_message(from_="news@brand.example", to="alice@corp.example",
                                    subject="still up", body="ordinary mail\n")
    assert scored_lab.send(after, from_host="mail.brand.example", dkim=True).code == 250
    assert any(b"still up" in m for m in scored_lab.mailbox("alice@corp.example").messages())
