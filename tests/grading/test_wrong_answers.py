"""What a learner reads when an answer is wrong: the graded tests catch it and say why.

Each case is a plausible wrong answer to one exercise (an answer that only works on the
visible example, a string compared case-sensitively, a missing fallback, returning a
bool or ``{}`` where the exercise asks for a string or ``None``). The case's lab runs in
one kernel, as a learner runs it: the cells before each exercise, then the wrong answer in
place of the solution cell, then the exercise's graded test cell with its hidden tests
(as nbgrader's autograder runs it), then the real solution so that later cells work.

Every wrong answer must make the graded cell fail with an ``AssertionError`` whose message
contains the phrase the test cell gives for that mistake: a bare ``assert`` (a message of
nothing but a domain name or a tuple) would fail here, and so would a wrong answer that
slips through. Before these tests the cases marked "hole" passed every test of their
exercise, and the others failed with a bare or uninformative message.
"""

from __future__ import annotations

import copy
import re
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient

import labkit.grading
from tests.conftest import require_corpus_for

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

LABS = {lab.assignment_id: lab.notebook for lab in labkit.grading.find_labs()}

# lab -> [(solution cell's grade_id, what the learner did, answer body, phrase in the message)]
WRONG = {
    "00-setup": [
        ("who_is", "works only on the visible example",
         'return {"mx.corp.example": "203.0.113.25"}.get(name)',
         "a name just added to a lab DNS"),
        ("where_it_acts", "own wording for the places",
         'return {"OP25B": "ISP", "DNSBL": "filter", "Bayesian filter": "filter", "blocklist": "filter"}'
         '.get(defence, "receiver" if defence in ("SPF", "Sender ID", "DKIM", "DomainKeys", "DMARC")'
         ' else "sender")',
         "one of the four strings in PLACES"),
    ],
    "01-anatomy": [
        ("trusted_client_ip", "trusts a forged line lower down that names our MX", """
            found = None
            for hop in lk.widgets.inspector.received_chain(raw):
                if hop.by in our_servers:
                    found = hop.client_ip
            return found
            """, "anyone can write Received lines"),
        ("origin_report", "hole: HELO taken from the topmost Received line", """
            chain = lk.widgets.inspector.received_chain(raw)
            ip = trusted_client_ip(raw, our_servers)
            reverse = None
            if ip is not None:
                try:
                    reverse = resolver.resolve_address(ip)[0].target.to_text().rstrip(".")
                except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                    pass
            domain = email.utils.parseaddr(email.message_from_bytes(raw).get("From", ""))[1]
            return {"client_ip": ip, "reverse_name": reverse, "claimed_helo": chain[0].helo if chain else None,
                    "from_domain": domain.rpartition("@")[2].lower() or None}
            """, "claimed_helo is what the client at client_ip said"),
    ],
    "02-dns": [
        ("spf_records", "'v=spf1' prefix without the space", """
            try:
                answer = resolver.resolve(domain, "TXT")
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return []
            texts = [b"".join(r.strings).decode() for r in answer]
            return [t for t in texts if t.lower().startswith("v=spf1")]
            """, "the version must be followed by a space"),
        ("classify", "SERVFAIL not caught", """
            try:
                resolver.resolve(name, rdtype)
            except dns.resolver.NXDOMAIN:
                return "nxdomain"
            except dns.resolver.NoAnswer:
                return "nodata"
            return "answer"
            """, "let dnspython's NoNameservers out"),
    ],
    "03-spf": [
        ("ex2-count-lookups", "included records not followed", """
            total = 0
            for term in records.get(domain, "v=spf1").split()[1:]:
                mech = term.lstrip("+-~?").split(":", 1)[0].split("/", 1)[0].split("=", 1)[0].lower()
                total += mech in ("a", "mx", "ptr", "exists", "include", "redirect")
            return total
            """, "an included record's own look-ups count too"),
        ("ex3-spf-reply", "a bool instead of the reply line",
         'return result != "fail"', "as a string"),
        ("ex4-checked-domains", "no HELO fallback for an empty MAIL FROM", """
            msg = email.message_from_bytes(message)
            pra = None
            for field in ("Resent-Sender", "Resent-From", "Sender", "From"):
                if msg.get(field):
                    pra = email.utils.parseaddr(msg[field])[1].rpartition("@")[2].lower() or None
                    break
            return {"spf": mail_from.rpartition("@")[2].lower(), "sender_id": pra}
            """, "SPF asks about the HELO name"),
    ],
    "04-dkim": [
        ("ex2-signature-kind", "hole: only the first signature looked at", """
            if not results or results[0].result != "pass":
                return "none"
            return "author" if results[0].domain.lower() == from_domain.lower() else "third-party"
            """, "look at every signature"),
    ],
    "05-dmarc": [
        ("ex1-aligned", "hole: relaxed alignment by the last two labels", """
            a, b = from_domain.lower().rstrip("."), (auth_domain or "").lower().rstrip(".")
            if not a or not b:
                return False
            return a == b if mode == "s" else a.split(".")[-2:] == b.split(".")[-2:]
            """, "ask org_domain()"),
        ("ex2-next-policy", "rows with count 0 counted", """
            if any(r["source_ip"] in known and r["dmarc"] == "fail" for r in rows):
                return current
            return {"none": "quarantine", "quarantine": "reject", "reject": "reject"}[current]
            """, "a row with count 0 stands for no message"),
    ],
    "06-verdict": [
        ("ex1-our-results", "{} instead of None", """
            msg = email.message_from_bytes(raw, policy=email.policy.compat32)
            for value in msg.get_all("Authentication-Results", []):
                parsed = lk.auth.results.parse_authentication_results(str(value))
                if parsed is not None and str(parsed.authserv_id).lower() == authserv_id.lower():
                    out = {}
                    for clause in parsed.results:
                        out.setdefault(clause.method, clause.result)
                    return out
            return {}
            """, "expected None, got {}"),
        ("ex2-arc-rescue", "chain not verified", """
            seals = {}
            for s in headers(raw, "ARC-Seal"):
                tags = dict(p.strip().split("=", 1) for p in s.split(";") if "=" in p)
                seals[int(tags["i"])] = "".join(tags.get("d", "").split()).lower()
            return bool(seals) and seals[max(seals)] in {t.lower() for t in trusted}
            """, "edited after the list sealed it"),
    ],
    "07-submission": [
        ("ex1-relay-window", "hole: only the latest login looked at", """
            mine = [e for e in logins if e.get("client") == client_ip]
            return bool(mine) and mine[-1].get("decision") == "accept" and mine[-1]["t"] <= now < mine[-1]["t"] + window
            """, "the failure closes nothing"),
        ("ex3-op25b", "the whole /24 taken for the pool", """
            return not (src.startswith("198.51.100.") and port == 25 and dst not in ISP_OWN)
            """, "outside the pool"),
    ],
    "08-lists": [
        ("ex1-dnsbl-name", "hole: the zone's trailing dot kept", """
            addr = ipaddress.ip_address(ip)
            labels = str(addr).split(".")[::-1] if addr.version == 4 else list(addr.exploded.replace(":", ""))[::-1]
            return ".".join(labels) + "." + zone
            """, "the result has none"),
        ("ex2-fcrdns", "hole: a PTR name that does not exist crashes", """
            try:
                names = [r.target.to_text() for r in resolver.resolve(dns.reversename.from_address(ip), "PTR")]
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return "none"
            for name in names:
                if ip in [r.address for r in resolver.resolve(name, "A")]:
                    return "pass"
            return "fail"
            """, "let dnspython's NXDOMAIN out"),
        ("ex3-rcpt-reply", "hole: the user list asked before the domain", """
            if address.lower() in users:
                return "250 OK"
            if address.rpartition("@")[2].lower() in local_domains:
                return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
            return f"554 5.7.1 <{address}>: Relay access denied"
            """, "is not one of local_domains in this call"),
    ],
    "09-bayes": [
        ("token_probability", "compares the counts, not the rates", """
            n = ham_count + spam_count
            if n == 0:
                return prior
            p = spam_count / n
            return (strength * prior + n * p) / (strength + n)
            """, "step 1 compares the rates"),
        ("token_probability", "the strength and prior of the text, not the arguments", """
            n = ham_count + spam_count
            if n == 0:
                return 0.5
            p = (spam_count / n_spam) / (ham_count / n_ham + spam_count / n_spam)
            return (0.45 * 0.5 + n * p) / (0.45 + n)
            """, "use the strength and prior you are given"),
        ("pick_threshold", "a ham scoring exactly the threshold not counted as lost", """
            ham_scores = [s for s, spam in zip(scores, labels) if not spam]
            for t in sorted(set(scores)) + [math.inf]:
                lost = sum(1 for s in ham_scores if s > t)
                if not ham_scores or lost / len(ham_scores) <= max_fpr:
                    return t
            return math.inf
            """, "score >= threshold is spam"),
        ("pick_threshold", "the false-positive rate counted over all mail", """
            for t in sorted(set(scores)) + [math.inf]:
                lost = sum(1 for s, spam in zip(scores, labels) if s >= t and not spam)
                if lost / len(scores) <= max_fpr:
                    return t
            return math.inf
            """, "one ham of four (0.6) may be lost"),
        ("pick_threshold", "the top score instead of infinity when no threshold is safe", """
            ham_scores = [s for s, spam in zip(scores, labels) if not spam]
            for t in sorted(set(scores)):
                lost = sum(1 for s in ham_scores if s >= t)
                if not ham_scores or lost / len(ham_scores) <= max_fpr:
                    return t
            return max(scores)
            """, "only math.inf loses no ham"),
    ],
    "10-capstone": [
        ("ex1-confusion", "false positives and false negatives swapped", """
            out = {"fp": 0, "fn": 0, "tp": 0, "tn": 0}
            for decision, spam in zip(decisions, labels):
                caught = decision != "INBOX"
                out[("tp" if caught else "fp") if spam else ("fn" if caught else "tn")] += 1
            return out
            """, "one ham in Junk"),
        ("ex2-policy", "folder names in lower case", """
            if f["allowlisted"]:
                return "inbox"
            return "reject" if f["dnsbl"] or f["disposition"] == "reject" else "junk"
            """, "spelled so"),
    ],
}

_SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION\n?", re.S | re.M)


def _with_answer(source: str, body: str) -> str:
    """The solution cell's source with the learner's ``body`` between its markers."""
    m = _SOLUTION.search(source)
    assert m, "no solution markers"
    answer = textwrap.indent(textwrap.dedent(body).strip("\n") + "\n", m.group(1))
    return source[:m.start()] + answer + source[m.end():]


def _run(lab: str) -> list[tuple[str, str, object]]:
    """Run ``lab`` up to its last case in one kernel; (exercise, case, outputs) per case."""
    notebook = LABS[lab]
    require_corpus_for(notebook)
    nb = nbformat.read(str(notebook), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    cases = WRONG[lab]
    plan, tagged = [], []
    for i, cell in enumerate(code):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for exercise, name, body, _ in cases:
            if exercise == grade_id:
                test = code[i + 1]
                assert test.metadata["nbgrader"].get("grade"), f"{exercise}: no graded cell after it"
                wrong = copy.deepcopy(cell)
                wrong.source = _with_answer(cell.source, body)
                plan.append(wrong)
                plan.append(copy.deepcopy(test))
                tagged.append((exercise, name, len(plan) - 1))
        plan.append(copy.deepcopy(cell))
        if grade_id == cases[-1][0]:
            plan.append(copy.deepcopy(code[i + 1]))
            break
    for n, cell in enumerate(plan):
        cell["id"] = f"run-{n}"
    nb.cells = plan
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    unexpected = [f"{c.source[:60]!r}: {o.ename}: {o.evalue}" for n, c in enumerate(nb.cells)
                  if n not in {t[2] for t in tagged} for o in c.outputs if o.output_type == "error"]
    assert not unexpected, f"the lab itself failed: {unexpected}"
    return [(exercise, name, nb.cells[n].outputs) for exercise, name, n in tagged]


@pytest.mark.parametrize("lab", sorted(WRONG))
def test_wrong_answers_fail_with_a_message_that_says_why(lab):
    ran = _run(lab)
    assert [(e, n) for e, n, _ in ran] == [(e, n) for e, n, _, _ in WRONG[lab]]
    phrases = {(e, n): p for e, n, _, p in WRONG[lab]}
    for exercise, name, outputs in ran:
        errors = [o for o in outputs if o.output_type == "error"]
        assert errors, f"{exercise}: the wrong answer ({name}) passed every test"
        (error,) = errors
        assert error.ename == "AssertionError", f"{exercise} ({name}): {error.ename}: {error.evalue}"
        assert phrases[exercise, name] in error.evalue, f"{exercise} ({name}): the learner read {error.evalue!r}"
