"""SPF review 14: RFC 7208 limits, include/redirect, macros, exp= and record selection.

Each case publishes real records in a LabDNS and runs a real check. The expected result
is read from RFC 7208 (section named in each test), not from the code under test. pyspf
is the verdict; ``trace_result`` is labkit's own walker (spf_record.walk), and both are
held to the RFC.
"""

from __future__ import annotations

import pytest
import spf as pyspf

import labkit.dns
from labkit.auth import spf as lspf
from labkit.auth import spf_lint, spf_record

_HOSTS = "\n".join(f"h{n} A 192.0.2.{200 + n}" for n in range(11))
_MX = "\n".join(f"mx{k} MX {n} h{n}" for k in (10, 11) for n in range(k))
_PTR_NAMES = "\n".join(f"p{n} A 192.0.2.5" for n in range(11))

ZONE = f"""
$ORIGIN r14.test.
$TTL 60
@        SOA ns hostmaster 1 3600 600 86400 60
@        NS  ns
ns       A   192.0.2.53
void2    TXT "v=spf1 a:nx1.r14.test a:nx2.r14.test ?all"
void3    TXT "v=spf1 a:nx1.r14.test a:nx2.r14.test a:nx3.r14.test ?all"
voidmix  TXT "v=spf1 mx:noaddr.r14.test exists:nx1.r14.test exists:nx2.r14.test ?all"
noaddr   A   192.0.2.7
mx10     TXT "v=spf1 mx -all"
mx11     TXT "v=spf1 mx -all"
{_MX}
{_HOSTS}
{_PTR_NAMES}
ptr      TXT "v=spf1 ptr:r14.test -all"
incnone  TXT "v=spf1 include:norec.r14.test -all"
norec    TXT "some other text"
incnx    TXT "v=spf1 include:nothere.r14.test -all"
inctemp  TXT "v=spf1 include:slow.r14.test -all"
slow     TXT "v=spf1 -all"
redirnone TXT "v=spf1 redirect=norec.r14.test"
redirnx  TXT "v=spf1 redirect=nothere.r14.test"
why      TXT "%{{i}} may not send for %{{d}} (%{{s}}, %{{h}}, %{{c}}, %{{r}}, %{{l}}, %{{o}}, %{{v}})"
expfail  TXT "v=spf1 -all exp=why.r14.test"
expsoft  TXT "v=spf1 ~all exp=why.r14.test"
expnx    TXT "v=spf1 -all exp=nowhy.r14.test"
expslow  TXT "v=spf1 -all exp=slowwhy.r14.test"
slowwhy  TXT "slow"
exptwo   TXT "v=spf1 -all exp=twowhy.r14.test"
twowhy   TXT "one"
twowhy   TXT "two"
expbad   TXT "v=spf1 -all exp=badwhy.r14.test"
badwhy   TXT "bad %{{x}} macro"
expvoid  TXT "v=spf1 a:nx1.r14.test a:nx2.r14.test -all exp=nowhy.r14.test"
expinc   TXT "v=spf1 include:expinner.r14.test -all"
expinner TXT "v=spf1 -all exp=why.r14.test"
expredir TXT "v=spf1 redirect=expfail2.r14.test exp=other.r14.test"
expfail2 TXT "v=spf1 -all exp=why.r14.test"
other    TXT "the first record's exp"
expr     TXT "v=spf1 -all exp=%{{r}}.r14.test"
existsc  TXT "v=spf1 exists:%{{c}}.r14.test -all"
existst  TXT "v=spf1 -exists:%{{t}}.r14.test +all"
zero     TXT "v=spf1 -exists:%{{d0}}.r14.test +all"
two      TXT "v=spf1 +all"
two      TXT "v=spf1 -all"
ten      TXT "v=spf10 +all"
ten      TXT "v=spf1 -all"
upper    TXT "V=SPF1 -all"
only10   TXT "v=spf10 +all"
tab      TXT "v=spf1\\009+all"
$ORIGIN 2.0.192.in-addr.arpa.
@        SOA ns.r14.test. hostmaster.r14.test. 1 3600 600 86400 60
@        NS  ns.r14.test.
""" + "\n".join(f"5 PTR p{n}.r14.test." for n in range(11)) + "\n"

FAULTS = {"slow.r14.test/TXT": "servfail", "slowwhy.r14.test/TXT": "servfail"}


@pytest.fixture(scope="module")
def lab():
    with labkit.dns.LabDNS(zones=ZONE, faults=FAULTS) as dns:
        yield dns


def check(lab, name: str, ip: str = "192.0.2.1", local: str = "jo.doe") -> lspf.SPFResult:
    return lspf.check(ip, f"{local}@{name}.r14.test", "helo.example", dns=lab)


# --- 1. void look-ups (RFC 7208 4.6.4) -------------------------------------------


@pytest.mark.parametrize("name, result, voids", [
    ("void2", "neutral", 2),      # two void look-ups are allowed
    ("void3", "permerror", 3),    # the third is one too many
    ("voidmix", "permerror", 3),  # an empty MX answer counts as much as an NXDOMAIN
])
def test_void_lookups_counted_by_pyspf_and_the_walker(lab, name, result, voids):
    res = check(lab, name)
    assert (res.result, res.trace_result, res.void_lookups) == (result, result, voids), res.explain()


def test_trace_says_which_lookup_was_void(lab):
    """The learner sees each void look-up counted where it happens, not only at the stop."""
    res = check(lab, "void3")
    details = [s.detail for s in res.steps]
    assert any("void look-up 1 of 2" in d for d in details), res.explain()
    assert any("void look-up 2 of 2" in d for d in details), res.explain()
    assert "more than 2 void look-ups" in res.steps[-1].detail


# --- 2. more than 10 MX names / PTR names (RFC 7208 4.6.4, 5.4, 5.5) ----------------


def test_eleven_mx_names_are_a_permerror_ten_are_fine(lab):
    assert check(lab, "mx10", "192.0.2.209").result == "pass"
    res = check(lab, "mx11", "192.0.2.200")  # even though h0 would match
    assert (res.result, res.trace_result) == ("permerror", "permerror"), res.explain()
    assert not [x for x in res.lookups if x.rdtype == "A"]  # no MX host was looked up


def test_eleven_ptr_names_are_cut_to_ten_not_an_error(lab):
    """4.6.4: beyond the first 10 PTR names the rest MUST be ignored (no permerror, unlike
    mx). All 11 names validate and lie within r14.test, so the first 10 give a pass."""
    res = check(lab, "ptr", "192.0.2.5")
    assert (res.result, res.trace_result) == ("pass", "pass"), res.explain()
    validated = [x for x in res.lookups if x.rdtype == "A" and x.name.startswith("p")]
    assert 1 <= len(validated) <= 10


# --- 3. include / redirect targets (RFC 7208 5.2 table, 6.1) -------------------------


@pytest.mark.parametrize("name, result", [
    ("incnone", "permerror"),    # include: target has TXT but no SPF record
    ("incnx", "permerror"),      # include: target does not exist
    ("inctemp", "temperror"),    # include: target's look-up fails (SERVFAIL)
    ("redirnone", "permerror"),  # redirect= target without an SPF record
    ("redirnx", "permerror"),    # redirect= target does not exist
])
def test_include_and_redirect_targets(lab, name, result):
    res = check(lab, name)
    assert (res.result, res.trace_result) == (result, result), res.explain()


# --- 4. macros (RFC 7208 7) ---------------------------------------------------------


@pytest.mark.parametrize("name", ["expr", "existsc", "existst"])
def test_c_r_t_macros_outside_exp_text_are_a_permerror(lab, name):
    """7.3: c, r and t are allowed only in exp text (not in a domain-spec, exp='s included)."""
    res = check(lab, name)
    assert (res.result, res.trace_result) == ("permerror", "permerror"), res.explain()


def test_zero_label_transformer_is_a_permerror(lab):
    """7.1: a DIGIT transformer MUST be nonzero (pyspf 2.0.14 dropped the first label instead)."""
    res = check(lab, "zero")
    assert (res.result, res.trace_result) == ("permerror", "permerror"), res.explain()


MACRO_ZONE = r"""
$ORIGIN m14.test.
$TTL 60
@        SOA ns hostmaster 1 3600 600 86400 60
@        NS  ns
ns       A   192.0.2.53
s        TXT "v=spf1 exists:%{s}.s.m14.test -all"
jo.doe@s.m14.test.s A 127.0.0.2
l        TXT "v=spf1 exists:%{l}.l.m14.test -all"
jo.doe.l A 127.0.0.2
lr       TXT "v=spf1 exists:%{l1r.}.lr.m14.test -all"
jo.lr    A 127.0.0.2
o        TXT "v=spf1 include:%{o}.inc.m14.test -all"
o.m14.test.inc TXT "v=spf1 ip4:192.0.2.1 -all"
d        TXT "v=spf1 include:%{d2}.inc.m14.test -all"
m14.test.inc TXT "v=spf1 ip4:192.0.2.1 -all"
i        TXT "v=spf1 exists:%{ir}.%{v}.i.m14.test -all"
1.2.0.192.in-addr.i A 127.0.0.2
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.i A 127.0.0.2
i2       TXT "v=spf1 exists:%{i2r}.i2.m14.test -all"
0.192.i2 A 127.0.0.2
h        TXT "v=spf1 exists:%{h}.h.m14.test -all"
helo.example.h A 127.0.0.2
dash     TXT "v=spf1 exists:%{l2r-}.dash.m14.test -all"
doe.jo.dash A 127.0.0.2
esc      TXT "v=spf1 a:x%%y%_z%-w.m14.test -all"
upper    TXT "v=spf1 exists:%{L}.u.m14.test -all"
jo%2Bdoe.u A 127.0.0.2
bad      TXT "v=spf1 exists:%{x}.m14.test -all"
badpct   TXT "v=spf1 exists:100%.m14.test -all"
paren    TXT "v=spf1 exists:%(ir).m14.test -all"
"""


@pytest.mark.parametrize("name, local, ip, expected", [
    ("s", "jo.doe", "192.0.2.1", "pass"),
    ("l", "jo.doe", "192.0.2.1", "pass"),
    ("lr", "jo.doe", "192.0.2.1", "pass"),         # reversed, one label: "jo"
    ("o", "jo.doe", "192.0.2.1", "pass"),
    ("d", "jo.doe", "192.0.2.1", "pass"),          # %{d2} = m14.test
    ("i", "jo.doe", "192.0.2.1", "pass"),
    ("i", "jo.doe", "2001:db8::1", "pass"),        # %{ir} of IPv6: 32 nibbles, %{v} = ip6
    ("i2", "jo.doe", "192.0.2.1", "pass"),         # %{i2r}: the two right-hand parts after reversal
    ("h", "jo.doe", "192.0.2.1", "pass"),
    ("dash", "jo-doe", "192.0.2.1", "pass"),       # split on "-", reversed, rejoined with "."
    ("esc", "jo.doe", "192.0.2.1", "fail"),        # %% %_ %- expand; the name has no address
    ("upper", "jo+doe", "192.0.2.1", "pass"),      # upper-case letter: URL-escaped
    ("bad", "jo.doe", "192.0.2.1", "permerror"),   # unknown macro letter
    ("badpct", "jo.doe", "192.0.2.1", "permerror"),  # "%" not followed by {, %, _ or -
    ("paren", "jo.doe", "192.0.2.1", "permerror"),
])
def test_macros_against_pyspf_and_the_walker(name, local, ip, expected):
    with labkit.dns.LabDNS(zones=MACRO_ZONE) as dns:
        res = lspf.check(ip, f"{local}@{name}.m14.test", "helo.example", dns=dns)
    assert (res.result, res.trace_result) == (expected, expected), res.explain()


def test_expansion_over_253_characters_drops_labels_until_it_fits():
    """7.3: the left side is cut label by label until the name has at most 253
    characters (pyspf 2.0.14 cut one label only, then asked for a too-long name)."""
    long_domain = ".".join(["a" * 40] * 4) + ".m14.test"  # 172 characters
    # %{d}.%{d}.m14.test has 354 characters: three 41-character labels go, 231 are left
    fits = "a" * 40 + f".m14.test.{long_domain}.m14.test"
    zone = (MACRO_ZONE + f"{long_domain}. TXT \"v=spf1 exists:%{{d}}.%{{d}}.m14.test -all\"\n"
            + f"{fits}. A 127.0.0.2\n")
    ctx = spf_record.MacroContext(sender=f"x@{long_domain}", ip="192.0.2.1", helo="h")
    assert spf_record.expand("%{d}.%{d}.m14.test", ctx, long_domain) == fits
    assert len(fits) == 231
    with labkit.dns.LabDNS(zones=zone) as dns:
        res = lspf.check("192.0.2.1", f"x@{long_domain}", "h.example", dns=dns)
    assert (res.result, res.trace_result) == ("pass", "pass"), res.explain()


# --- 5. exp= (RFC 7208 6.2) ---------------------------------------------------------


def test_exp_text_is_expanded_on_fail(lab):
    res = check(lab, "expfail")
    assert res.result == "fail"
    assert res.explanation == ("192.0.2.1 may not send for expfail.r14.test (jo.doe@expfail.r14.test, "
                               "helo.example, 192.0.2.1, mx.corp.example, jo.doe, expfail.r14.test, in-addr)")


def test_exp_text_is_only_for_fail(lab):
    """6.2: the explanation is computed when check_host() results in fail; a softfail
    does not carry the domain's text."""
    res = check(lab, "expsoft")
    assert res.result == "softfail"
    assert "may not send" not in res.explanation
    assert res.explanation == pyspf.EXPLANATIONS["softfail"]


@pytest.mark.parametrize("name", ["expnx", "expslow", "exptwo", "expbad", "expvoid", "expinc"])
def test_exp_that_cannot_be_used_is_ignored_not_an_error(lab, name):
    """6.2: no TXT, a DNS error, two TXT records or a bad macro in the text: proceed as if
    there were no exp=; exp= is no DNS-querying term and its void look-up is not counted
    (4.6.4); an include's exp= is never used (6.2 note)."""
    res = check(lab, name)
    assert (res.result, res.trace_result) == ("fail", "fail"), res.explain()
    assert res.explanation == pyspf.EXPLANATIONS["fail"]


def test_redirect_uses_the_targets_exp_not_the_first_records(lab):
    res = check(lab, "expredir")
    assert res.result == "fail"
    assert res.explanation.startswith("192.0.2.1 may not send for expfail2.r14.test ")


def test_received_spf_on_fail_names_the_result_and_the_mechanism(lab):
    res = check(lab, "expfail")
    assert res.header.startswith("Received-SPF: fail (mx.corp.example: domain of jo.doe@expfail.r14.test "
                                 "does not designate 192.0.2.1 as permitted sender)")
    assert 'mechanism="-all"' in res.header


# --- 6. record selection (RFC 7208 4.5) ---------------------------------------------


@pytest.mark.parametrize("name, result", [
    ("two", "permerror"),   # two v=spf1 records
    ("ten", "fail"),        # "v=spf10" is no SPF record: the other one is used
    ("only10", "none"),     # ... and alone it means no record
    ("upper", "fail"),      # "V=SPF1": the version is matched without regard to case
    ("tab", "none"),        # v=spf1 must be followed by a space (SP) or the end
])
def test_record_selection(lab, name, result):
    res = check(lab, name)
    assert (res.result, res.trace_result) == (result, result), res.explain()


# --- 7. the linter names what the publisher could have avoided ----------------------


LINT_ZONE = r"""
$ORIGIN l14.test.
$TTL 60
@        SOA ns hostmaster 1 3600 600 86400 60
@        NS  ns
ns       A   192.0.2.53
exists3  TXT "v=spf1 exists:nx1.l14.test exists:nx2.l14.test exists:nx3.l14.test -all"
pmacro   TXT "v=spf1 exists:%{p}.ok.l14.test -all"
"""


def test_lint_counts_void_literal_exists_names():
    with labkit.dns.LabDNS(zones=LINT_ZONE) as dns:
        report = spf_lint.lint("exists3.l14.test", dns=dns)
        checked = lspf.check("192.0.2.1", "x@exists3.l14.test", "h.example", dns=dns)
    assert checked.result == "permerror"
    assert "void-lookups" in report.codes(), str(report)
    assert report.void_lookups == 3


def test_lint_warns_about_the_p_macro_like_ptr():
    with labkit.dns.LabDNS(zones=LINT_ZONE) as dns:
        report = spf_lint.lint("pmacro.l14.test", dns=dns)
    assert [f.code for f in report.findings] == ["ptr"], str(report)


def test_lint_names_more_than_ten_mx_names(lab):
    report = spf_lint.lint("mx11.r14.test", dns=lab)
    hits = [f for f in report.findings if f.code == "mx-limit"]
    assert hits and hits[0].severity == "error", str(report)
    assert "11 MX" in hits[0].message
    assert "mx-limit" not in spf_lint.lint("mx10.r14.test", dns=lab).codes()


# --- ptr and DNS errors (RFC 7208 5.5) ----------------------------------------------

PTR_ZONE = r"""
$ORIGIN p14.test.
$TTL 60
@        SOA ns hostmaster 1 3600 600 86400 60
@        NS  ns
ns       A   192.0.2.53
@        TXT "v=spf1 ptr:p14.test -all"
good     A   192.0.2.6
broken   A   192.0.2.6
$ORIGIN 2.0.192.in-addr.arpa.
@        SOA ns.p14.test. hostmaster.p14.test. 1 3600 600 86400 60
@        NS  ns.p14.test.
6        PTR broken.p14.test.
6        PTR good.p14.test.
7        PTR good.p14.test.
"""


def test_ptr_skips_a_name_whose_address_lookup_fails():
    """5.5: "If a DNS error occurs while doing an A RR lookup, then that domain name is
    skipped and the search continues": good.p14.test still validates."""
    with labkit.dns.LabDNS(zones=PTR_ZONE, faults={"broken.p14.test/A": "servfail"}) as dns:
        res = lspf.check("192.0.2.6", "x@p14.test", "h.example", dns=dns)
    assert (res.result, res.trace_result) == ("pass", "pass"), res.explain()


def test_ptr_lookup_error_is_no_match_not_temperror():
    """5.5: "If a DNS error occurs while doing the PTR RR lookup, then this mechanism
    fails to match": -all decides."""
    with labkit.dns.LabDNS(zones=PTR_ZONE, faults={"7.2.0.192.in-addr.arpa/PTR": "servfail"}) as dns:
        res = lspf.check("192.0.2.7", "x@p14.test", "h.example", dns=dns)
    assert (res.result, res.trace_result) == ("fail", "fail"), res.explain()
