"""KeyTerms widget: search and hide-Japanese, checked on the HTML it shows."""

from __future__ import annotations

import labkit as lk

TERMS = [
    ("sender domain authentication", "送信ドメイン認証", "SPF, DKIM, DMARC"),
    ("open relay", "第三者中継", "a server that relays anyone's mail"),
    ("reverse lookup", "逆引き"),
]


def test_all_terms_shown_at_start():
    kt = lk.widgets.KeyTerms(TERMS)
    for en, ja, *_ in TERMS:
        assert en in kt.table.value and ja in kt.table.value
    assert len(kt.visible) == 3


def test_search_in_japanese_filters_rows():
    kt = lk.widgets.KeyTerms(TERMS)
    kt.search.value = "中継"
    assert [t.en for t in kt.visible] == ["open relay"]
    assert "open relay" in kt.table.value
    assert "reverse lookup" not in kt.table.value


def test_search_matches_meaning_case_insensitively():
    kt = lk.widgets.KeyTerms(TERMS)
    kt.search.value = "dkim"
    assert [t.ja for t in kt.visible] == ["送信ドメイン認証"]


def test_no_match_says_so():
    kt = lk.widgets.KeyTerms(TERMS)
    kt.search.value = "zzz"
    assert "no term matches" in kt.table.value


def test_hide_japanese_blanks_the_column():
    kt = lk.widgets.KeyTerms(TERMS)
    kt.hide_japanese.value = True
    assert "逆引き" not in kt.table.value
    assert "reverse lookup" in kt.table.value
    kt.hide_japanese.value = False
    assert "逆引き" in kt.table.value
