"""Japanese key terms in the exam's own wording, one entry per idea, and the course map's
topics all named in some lab's key terms; plus two quiz prompts that left out a premise.

test_exam_terms.py checks that the exam's words appear somewhere in a term's Japanese.
This file checks which form comes *first* where two are common (a learner who memorises
one word should memorise the one printed in the exam paper), and a few forms an audit
against Japanese sources found unnatural:

- allowlist: IPA's papers word the spam-detection choice as 許可リスト (SC 午前II,
  several sittings since 2012, and DB 令和6年秋), so 許可リスト comes first and
  ホワイトリスト is the gloss; blocklist: the papers write ブラックリスト (e.g. SC 平成22年秋
  on OP25B), so ブラックリスト stays first and 拒否リスト is the gloss;
- RFC 5737/2606 addresses and names are 例示用 in Japanese usage (JPRS: 例示用ドメイン名);
- synonyms are glossed in brackets, not joined with ' / ', which the glossary keeps for
  pairs of different things (秘密鍵 / 公開鍵);
- one idea is one glossary entry: 'botnet' (lab 00) and 'bot / botnet' (lab 07) were two,
  'PTR record / reverse lookup' (lab 02) and 'reverse lookup' (labs 00, 01, 08) too.
"""

from __future__ import annotations

import re
import unicodedata

import labkit.auth
from labkit.auth import dkim
from tests.widgets.test_exam_terms import BRAND, brand_signed, question
from tests.widgets.test_key_terms_content import course_terms, term_key


def _first_form(japanese: str) -> str:
    """The form a term's Japanese gives first: the text before ' (' or ' / '."""
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", japanese)).strip()
    return re.split(r" / |\s*\(", text, maxsplit=1)[0].strip()


def _terms_by_key() -> dict[str, dict[str, str]]:
    """English term key -> {lab: Japanese} over the whole course."""
    found: dict[str, dict[str, str]] = {}
    for lab, terms in course_terms().items():
        for en, ja, _meaning in terms:
            found.setdefault(term_key(en), {})[lab] = ja
    return found


# term key -> (form the exam prints, first; other common forms that must be mentioned)
EXAM_FIRST: dict[str, tuple[str, tuple[str, ...]]] = {
    "allowlist": ("許可リスト", ("ホワイトリスト",)),
    "blocklist": ("ブラックリスト", ("拒否リスト",)),
    "open relay": ("第三者中継", ("オープンリレー", "不正中継")),
    "spam": ("迷惑メール", ("スパムメール",)),
    "stepping stone": ("踏み台", ()),
    "sender domain authentication": ("送信ドメイン認証", ()),
    "smtp-auth": ("SMTP認証", ("SMTP-AUTH",)),
    "submission port 587": ("サブミッションポート", ("587番ポート",)),
    "op25b": ("OP25B", ("25番ポートブロック",)),
    "reverse lookup": ("逆引き", ()),
    "false positive": ("誤検知", ("フォールスポジティブ", "偽陽性")),
    "false negative": ("検知漏れ", ("見逃し", "フォールスネガティブ", "偽陰性")),
    "documentation address": ("例示用アドレス", ("ドキュメント用アドレス",)),
    "bayesian filter": ("ベイジアンフィルタ", ()),
    "third-party signature": ("第三者署名", ()),
    "author signature": ("作成者署名", ()),
}


def test_the_exam_wording_comes_first_and_the_other_forms_are_mentioned():
    terms = _terms_by_key()
    wrong = []
    for key, (first, others) in EXAM_FIRST.items():
        assert key in terms, f"no lab lists {key!r}"
        for lab, ja in terms[key].items():
            if _first_form(ja) != first:
                wrong.append(f"{lab}: {key!r} is {ja!r}; the exam's form {first!r} should come first")
            if missing := [o for o in others if o not in ja]:
                wrong.append(f"{lab}: {key!r} is {ja!r}, without {missing}")
    assert wrong == []


def test_synonyms_are_glossed_not_paired_with_a_slash():
    # ' / ' joins two different things (秘密鍵 / 公開鍵); these were two names for one thing
    terms = _terms_by_key()
    for key in ("false negative", "full-service resolver"):
        for lab, ja in terms[key].items():
            assert " / " not in ja, f"{lab}: {key!r} is {ja!r}"


# A slash-joined English term whose part is also listed on its own, with the reason.
ALLOWED_PARTS = {
    "quarantine": "lab 05's 'policy none / quarantine / reject' names the three policy values; "
                  "lab 10 explains what quarantine means in practice (the Junk folder)",
}


def test_one_idea_is_one_glossary_entry():
    keys = set(_terms_by_key())
    split = sorted(f"{key!r} and {part!r}" for key in keys if " / " in key
                   for part in key.split(" / ") if part in keys and part not in ALLOWED_PARTS)
    assert split == []


# --- course map: every topic's central terms are key terms of some lab --------------------

# topic -> English term keys (as term_key gives them) that name its central ideas
TOPIC_TERMS: dict[int, tuple[str, ...]] = {
    1: ("spam", "bot / botnet"),
    2: ("spoofing", "received header", "header from", "envelope sender", "helo / ehlo",
        "client ip address", "out-of-band verification"),
    3: ("sender domain authentication", "smtp-auth", "op25b", "defence in depth"),
    4: ("pop before smtp",),
    5: ("smtp-auth", "relay", "open relay"),
    6: ("op25b", "submission port 587", "dynamic ip address", "traceability"),
    7: ("allowlist", "blocklist", "dnsbl / rbl", "bayesian filter"),
    8: ("spf", "envelope sender", "txt record"),
    9: ("spf", "txt record"),
    10: ("mechanism", "qualifier", "dns look-up limit", "modifier"),
    11: ("forwarding", "srs"),
    12: ("mx record", "ptr record", "reverse lookup", "fcrdns"),
    13: ("sender id / pra",),
    14: ("dkim", "digital signature", "private key / public key", "integrity"),
    15: ("selector", "dkim-signature header", "key rotation"),
    16: ("author signature", "third-party signature", "mailing list"),
    17: ("authentication-results header", "arc-authentication-results"),
    18: ("dmarc", "identifier alignment", "policy none / quarantine / reject", "phishing"),
    19: ("relaxed / strict", "aggregate report", "subdomain policy", "dns tree walk"),
    20: ("url filtering", "virus scanning", "backscatter", "bounce / dsn", "reject at rcpt"),
}

# topic -> terms still missing, with why they are not added here (lab 03 has another owner)
KNOWN_GAPS: dict[int, dict[str, str]] = {}


def test_every_course_map_topic_has_its_key_terms():
    keys = set(_terms_by_key())
    missing = {topic: sorted(set(wanted) - keys) for topic, wanted in TOPIC_TERMS.items()}
    missing = {topic: terms for topic, terms in missing.items() if terms}
    known = {topic: sorted(gaps) for topic, gaps in KNOWN_GAPS.items()}
    assert missing == known
    assert sorted(TOPIC_TERMS) == list(range(1, 21))


# --- quiz prompts that relied on a premise they did not state ------------------------------


def test_forwarding_verdict_question_states_the_dmarc_record_and_holds(lab_dns):
    """'DMARC passes through DKIM alignment' needs a DMARC record: without one the result
    is none (lab 10's quiz says so). The prompt now says the brand publishes one."""
    q, marked = question("06-verdict", "forwards the mail unchanged")
    assert "DMARC record" in q["prompt"] and "p=reject" in q["prompt"]
    assert marked.startswith("SPF fails, DKIM passes, and DMARC passes")
    v = labkit.auth.evaluate(brand_signed("s2026"), ip="198.51.100.40",  # mx.fwd.example.net
                             mail_from="news@brand.example", helo="mx.fwd.example.net", dns=lab_dns)
    assert (v.spf.result, [d.result for d in v.dkim], v.dmarc.result) == ("fail", ["pass"], "pass")


def test_attacker_alignment_question_states_brands_policy_and_holds(lab_dns):
    """The marked 'fail' presumes brand.example publishes DMARC (it does: p=reject);
    the prompt now says so, since without a record the answer would be none."""
    q, marked = question("05-dmarc", "Its envelope sender is bounce@attacker.test")
    assert "p=reject" in q["prompt"]
    assert marked.startswith("fail")
    phish = BRAND.replace(b"Brand News <news@brand.example>", b"Security <security@brand.example>")
    signed = dkim.sign(phish, domain="attacker.test", selector="evil",
                       private_key=dkim.lab_key("attacker.test", "evil"))
    v = labkit.auth.evaluate(signed, ip="203.0.113.66", mail_from="bounce@attacker.test",
                             helo="mail.attacker.test", dns=lab_dns)
    assert (v.spf.result, v.spf.domain) == ("pass", "attacker.test")
    assert [(d.result, d.domain) for d in v.dkim] == [("pass", "attacker.test")]
    assert (v.dmarc.result, v.disposition) == ("fail", "reject")


def test_the_defence_map_uses_the_key_terms_first_forms():
    # the map said DKIM (電子署名) and 許可リスト / 拒否リスト while the key terms lead with
    # デジタル署名 and ブラックリスト (the forms the exam papers print)
    from labkit.widgets.defence_map import HOPS

    ja = {d.name: d.ja for hop in HOPS for d in hop.defences}
    assert "デジタル署名" in ja["DKIM / DomainKeys"] and "電子署名" not in ja["DKIM / DomainKeys"]
    lists = ja["allowlist / blocklist"]
    assert lists.startswith("許可リスト") and "ブラックリスト" in lists
    assert lists.index("ブラックリスト") < lists.find("拒否リスト") or "拒否リスト" not in lists
