"""Every correct answer gets full marks, not only the worked one; plausible wrong ones do not.

For each exercise of every lab this file holds answers a learner might write: correct ones
in another style than the worked solution (other data structures, another order of the
checks, ``casefold`` instead of ``lower``, a closed formula instead of a loop, a labkit
helper the lab has shown instead of parsing by hand), and wrong ones built on the classic
misconception of the topic. They run exactly as in ``test_wrong_answers.py``: the lab in
one kernel, each answer in place of the solution cell followed by the exercise's graded
test cell with its hidden tests (what nbgrader's autograder runs), then the real solution
so that later cells work. One kernel per notebook keeps this to one lab run each.

A correct answer must leave the graded cell without any error. A wrong answer must make it
fail with an ``AssertionError`` whose message contains the phrase given for that mistake.
Cases marked "was too strict" lost marks before the notebook's test or task text was
fixed, cases marked "was a hole" passed every test.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import require_corpus_for
from tests.grading.test_wrong_answers import LABS, _with_answer

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

RIGHT = None  # the expected outcome of a correct answer: no error at all

# lab -> [(solution cell's grade_id, what the learner did, answer body, RIGHT or the phrase
# in the message, or a tuple of phrases that must all be there)]
CASES = {
    "00-setup": [
        ("who_is", "a list of the records, then str() of the first", """
            try:
                records = list(resolver.resolve(name, "A"))
            except dns.resolver.NXDOMAIN:
                return None
            except dns.resolver.NoAnswer:
                return None
            return str(records[0]) if records else None
            """, RIGHT),
        ("who_is", "raise_on_no_answer=False and the rrset", """
            try:
                answer = resolver.resolve(name, "A", raise_on_no_answer=False)
            except dns.resolver.NXDOMAIN:
                return None
            if answer.rrset is None:
                return None
            return answer.rrset[0].to_text()
            """, RIGHT),
        ("who_is", "every address instead of the first", """
            try:
                return [r.address for r in resolver.resolve(name, "A")]
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return None
            """, "expected the address as a string"),
        ("who_is", "NoAnswer not caught", """
            try:
                return resolver.resolve(name, "A")[0].address
            except dns.resolver.NXDOMAIN:
                return None
            """, "let dnspython's NoAnswer out"),
        ("worst_ham_delay", "closed formula (the rates never change)", """
            return max(0, spam_per_second + ham_per_second - capacity) * seconds / capacity
            """, RIGHT),
        ("worst_ham_delay", "exact fractions, the server takes min(queue, capacity)", """
            from fractions import Fraction
            queue = Fraction(0)
            t = 0
            while t < seconds:
                queue += Fraction(spam_per_second) + Fraction(ham_per_second)
                queue -= min(queue, capacity)
                t += 1
            return float(queue / capacity)
            """, RIGHT),
        ("worst_ham_delay", "floor division of the queue by the capacity", """
            backlog = 0.0
            for _ in range(seconds):
                backlog = max(0.0, backlog + spam_per_second + ham_per_second - capacity)
            return backlog // capacity
            """, "a wait need not be a whole number of seconds"),
        ("worst_ham_delay", "the queue allowed below zero", """
            backlog = 0.0
            for _ in range(seconds):
                backlog += spam_per_second + ham_per_second - capacity
            return backlog / capacity
            """, "nothing should wait"),
        ("where_it_acts", "if/elif on the lower-cased name", """
            d = defence.lower()
            if d in ("smtp-auth", "pop before smtp"):
                return "sending server"
            if d == "op25b":
                return "ISP"
            if d in ("dnsbl", "bayesian filter", "blocklist"):
                return "filter"
            return "receiving server"
            """, RIGHT),
        ("where_it_acts", "a table from place to defences, searched", """
            groups = {"sending server": ["SMTP-AUTH", "POP before SMTP"], "ISP": ["OP25B"],
                      "filter": ["DNSBL", "Bayesian filter", "blocklist"],
                      "receiving server": ["SPF", "Sender ID", "DKIM", "DomainKeys", "DMARC"]}
            for place, names in groups.items():
                if defence in names:
                    return place
            return None
            """, RIGHT),
        ("where_it_acts", "the DNSBL at the receiving server", """
            return {"SMTP-AUTH": "sending server", "POP before SMTP": "sending server", "OP25B": "ISP",
                    "Bayesian filter": "filter", "blocklist": "filter"}.get(defence, "receiving server")
            """, "DNSBL: you placed it at the 'receiving server'"),
    ],
    "01-anatomy": [
        ("trusted_client_ip", "indices: skip foreign lines, then walk down our own", """
            chain = lk.widgets.inspector.received_chain(raw)
            i = 0
            while i < len(chain) and chain[i].by not in our_servers:
                i += 1
            if i == len(chain):
                return None
            while i + 1 < len(chain) and chain[i + 1].by in our_servers:
                i += 1
            return chain[i].client_ip
            """, RIGHT),
        ("trusted_client_ip", "itertools dropwhile/takewhile, names compared case-insensitively", """
            import itertools
            ours = {s.lower() for s in our_servers}
            chain = lk.widgets.inspector.received_chain(raw)
            rest = itertools.dropwhile(lambda h: (h.by or "").lower() not in ours, chain)
            run = list(itertools.takewhile(lambda h: (h.by or "").lower() in ours, rest))
            return run[-1].client_ip if run else None
            """, RIGHT),
        ("trusted_client_ip", "the topmost of our lines, not the lowest", """
            for hop in lk.widgets.inspector.received_chain(raw):
                if hop.by in our_servers:
                    return hop.client_ip
            return None
            """, "expected the client our MX saw"),
        ("origin_report", "dns.reversename + PTR, email.policy.default for From", """
            import email.policy
            import dns.reversename
            ip = trusted_client_ip(raw, our_servers)
            hops = lk.widgets.inspector.received_chain(raw)
            helo = reverse = None
            if ip is not None:
                end = next(i for i, h in enumerate(hops) if h.by in our_servers)
                while end + 1 < len(hops) and hops[end + 1].by in our_servers:
                    end += 1
                helo = hops[end].helo
                try:
                    answer = resolver.resolve(dns.reversename.from_address(ip), "PTR")
                    reverse = str(answer[0].target).rstrip(".")
                except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                    pass
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            addresses = msg["From"].addresses if msg["From"] else ()
            domain = addresses[0].domain.lower() if addresses else None
            return dict(client_ip=ip, reverse_name=reverse, claimed_helo=helo, from_domain=domain)
            """, RIGHT),
        ("origin_report", "the reverse name copied from the Received line", """
            ip = trusted_client_ip(raw, our_servers)
            hop = next((h for h in lk.widgets.inspector.received_chain(raw) if h.client_ip == ip), None)
            domain = email.utils.parseaddr(email.message_from_bytes(raw).get("From", ""))[1]
            return {"client_ip": ip, "reverse_name": hop.rdns if hop else None,
                    "claimed_helo": hop.helo if hop else None,
                    "from_domain": domain.rpartition("@")[2].lower() or None}
            """, "reverse_name"),
    ],
    "02-dns": [
        ("spf_records", "a regular expression, case-insensitive", """
            import re
            try:
                answer = resolver.resolve(domain, "TXT")
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return []
            texts = ["".join(s.decode() for s in r.strings) for r in answer]
            return [t for t in texts if re.match(r"v=spf1( |$)", t, re.IGNORECASE)]
            """, RIGHT),
        ("spf_records", "the first word compared, every DNS error caught", """
            import dns.exception
            try:
                answer = resolver.resolve(domain, "TXT")
            except dns.exception.DNSException:
                return []
            found = []
            for r in answer:
                text = b"".join(r.strings).decode()
                if text.split(" ", 1)[0].lower() == "v=spf1":
                    found.append(text)
            return found
            """, RIGHT),
        ("spf_records", "the zone-file text with its quotes stripped", """
            try:
                answer = resolver.resolve(domain, "TXT")
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return []
            texts = [r.to_text().strip('"') for r in answer]
            return [t for t in texts if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")]
            """, "joined with nothing between them"),
        ("spf_records", "the version compared case-sensitively", """
            try:
                answer = resolver.resolve(domain, "TXT")
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return []
            texts = [b"".join(r.strings).decode() for r in answer]
            return [t for t in texts if t == "v=spf1" or t.startswith("v=spf1 ")]
            """, "not case-sensitive"),
        ("classify", "raise_on_no_answer=False and the two error classes named", """
            try:
                answer = resolver.resolve(name, rdtype, raise_on_no_answer=False)
            except dns.resolver.NXDOMAIN:
                return "nxdomain"
            except (dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout):
                return "error"
            return "answer" if answer.rrset is not None else "nodata"
            """, RIGHT),
        ("classify", "any exception, dispatched on its class name", """
            try:
                resolver.resolve(name, rdtype)
                return "answer"
            except Exception as exc:
                return {"NXDOMAIN": "nxdomain", "NoAnswer": "nodata"}.get(type(exc).__name__, "error")
            """, RIGHT),
        ("classify", "a time-out not caught", """
            try:
                resolver.resolve(name, rdtype)
            except dns.resolver.NXDOMAIN:
                return "nxdomain"
            except dns.resolver.NoAnswer:
                return "nodata"
            except dns.resolver.NoNameservers:
                return "error"
            return "answer"
            """, "the server never answered"),
    ],
    "03-spf": [
        ("ex1-spf-record", "the include first, the address as a /32", """
            return f"v=spf1 include:_spf.esp.example.com ip4:{hosts['mx.corp.example']}/32 -all"
            """, RIGHT),
        ("ex1-spf-record", "our server by name (a:)", """
            return "v=spf1 a:mx.corp.example include:_spf.esp.example.com -all"
            """, RIGHT),
        ("ex1-spf-record", "was too strict: an exp= modifier after -all", """
            return f"v=spf1 ip4:{hosts['mx.corp.example']} include:_spf.esp.example.com -all exp=why.corp.example"
            """, RIGHT),
        ("ex1-spf-record", "~all: others merely marked", """
            return f"v=spf1 ip4:{hosts['mx.corp.example']} include:_spf.esp.example.com ~all"
            """, "others must get a hard fail"),
        ("ex1-spf-record", "the ESP's own record included (it includes _spf: one look-up more)", """
            return f"v=spf1 ip4:{hosts['mx.corp.example']} include:esp.example.com -all"
            """, RIGHT),
        ("ex2-count-lookups", "a record-by-record walk that looks for 'all' first", """
            def cost(name):
                text = records.get(name)
                if text is None:
                    return 0
                terms = text.split()[1:]
                heads = [t.lstrip("+-~?").split(":", 1)[0].split("/", 1)[0].lower() for t in terms]
                spent, redirect = 0, None
                for term, head in zip(terms, heads):
                    if head.startswith("redirect="):
                        redirect = term.split("=", 1)[1]
                        continue
                    if head == "all":
                        break
                    if head == "include":
                        spent += 1 + cost(term.split(":", 1)[1])
                    elif head in ("a", "mx", "ptr", "exists"):
                        spent += 1
                if redirect is not None and "all" not in heads:
                    spent += 1 + cost(redirect)
                return spent
            return cost(domain)
            """, RIGHT),
        ("ex2-count-lookups", "a regular expression for each term's name", """
            import re
            name_of = re.compile(r"^[+\\-~?]?(?P<name>[A-Za-z0-9]+)(?P<eq>=)?")

            def walk(name):
                text = records.get(name)
                if text is None:
                    return 0
                terms = [(name_of.match(t), t) for t in text.split()[1:]]
                terms = [(m.group("name").lower(), bool(m.group("eq")), t) for m, t in terms]
                total = 0
                for n, modifier, t in terms:
                    if modifier:
                        continue
                    if n == "all":
                        break
                    if n == "include":
                        total += 1 + walk(t.split(":", 1)[1])
                    elif n in {"a", "mx", "ptr", "exists"}:
                        total += 1
                if not any(n == "all" and not modifier for n, modifier, _ in terms):
                    for n, modifier, t in terms:
                        if modifier and n == "redirect":
                            total += 1 + walk(t.split("=", 1)[1])
                            break
                return total
            return walk(domain)
            """, RIGHT),
        ("ex2-count-lookups", "terms after 'all' counted", """
            record = records.get(domain)
            if record is None:
                return 0
            total, redirect, has_all = 0, None, False
            for term in record.split()[1:]:
                name = term.lstrip("+-~?")
                if name.lower().startswith("redirect="):
                    redirect = name.split("=", 1)[1]
                    continue
                mech = name.split(":", 1)[0].split("/", 1)[0].lower()
                has_all = has_all or mech == "all"
                if mech == "include":
                    total += 1 + count_lookups(name.split(":", 1)[1], records)
                elif mech in ("a", "mx", "ptr", "exists"):
                    total += 1
            if redirect is not None and not has_all:
                total += 1 + count_lookups(redirect, records)
            return total
            """, "terms after 'all' are never evaluated"),
        ("ex3-spf-reply", "a table of the refusals, 550 5.7.24 for permerror", """
            replies = {"fail": "550 5.7.23 SPF validation failed",
                       "temperror": "451 4.7.24 SPF validation error, please try again later",
                       "permerror": "550 5.7.24 SPF validation error: the sender's record is broken"}
            return replies.get(result.lower(), "250 OK")
            """, RIGHT),
        ("ex3-spf-reply", "the bare codes, permerror refused with 5.5.2", """
            if result == "fail":
                return "550 5.7.23"
            if result == "temperror":
                return "451 4.7.24"
            if result == "permerror":
                return "550 5.5.2 broken SPF record"
            return "250 OK"
            """, RIGHT),
        ("ex3-spf-reply", "permerror deferred like temperror", """
            if result == "fail":
                return "550 5.7.23 SPF validation failed"
            if result in ("temperror", "permerror"):
                return "451 4.7.24 SPF validation error"
            return "250 OK"
            """, "permerror is permanent"),
        ("ex3-spf-reply", "softfail refused", """
            if result in ("fail", "softfail"):
                return "550 5.7.23 SPF validation failed"
            if result == "temperror":
                return "451 4.7.24 SPF validation error"
            return "250 OK"
            """, "softfail is no reason to refuse"),
        ("ex4-checked-domains", "email.policy.default and .addresses", """
            import email.policy
            spf = (mail_from.split("@")[-1] if mail_from else helo).lower()
            msg = email.message_from_bytes(message, policy=email.policy.default)
            for field in ("Resent-Sender", "Resent-From", "Sender", "From"):
                if field in msg and msg[field].addresses:
                    return {"spf": spf, "sender_id": msg[field].addresses[0].domain.lower()}
            return {"spf": spf, "sender_id": None}
            """, RIGHT),
        ("ex4-checked-domains", "a dict of the fields, getaddresses, rsplit", """
            msg = email.message_from_bytes(message)
            present = {k.lower(): v for k, v in reversed(msg.items())}
            value = next((present[f] for f in ("resent-sender", "resent-from", "sender", "from") if f in present), None)
            domain = None
            if value is not None:
                address = email.utils.getaddresses([value])[0][1]
                domain = address.rsplit("@", 1)[-1].lower() if "@" in address else None
            return {"spf": (mail_from or helo).rsplit("@", 1)[-1].lower(), "sender_id": domain}
            """, RIGHT),
        ("ex4-checked-domains", "was a hole: the first of the four fields in the message's order", """
            msg = email.message_from_bytes(message)
            domain = None
            for name, value in msg.items():
                if name.lower() in ("resent-sender", "resent-from", "sender", "from"):
                    domain = email.utils.parseaddr(value)[1].rpartition("@")[2].lower() or None
                    break
            return {"spf": (mail_from.rpartition("@")[2] if mail_from else helo).lower(), "sender_id": domain}
            """, "tried in the order Resent-Sender, Resent-From, Sender, From"),
    ],
    "04-dkim": [
        ("ex1-body-hash", "rstrip of CR and LF, then one CRLF", """
            body = message.split(b"\\r\\n\\r\\n", 1)[1] if b"\\r\\n\\r\\n" in message else b""
            return base64.b64encode(hashlib.sha256(body.rstrip(b"\\r\\n") + b"\\r\\n").digest()).decode()
            """, RIGHT),
        ("ex1-body-hash", "a regular expression for the trailing empty lines", """
            import re
            body = message.partition(b"\\r\\n\\r\\n")[2]
            end = re.search(rb"(?:\\r\\n)*\\Z", body).start()
            digest = hashlib.sha256(body[:end] + b"\\r\\n").digest()
            return base64.standard_b64encode(digest).decode("ascii")
            """, RIGHT),
        ("ex1-body-hash", "trailing white space stripped too", """
            body = message.partition(b"\\r\\n\\r\\n")[2]
            return base64.b64encode(hashlib.sha256(body.rstrip() + b"\\r\\n").digest()).decode()
            """, "check what simple canonicalisation does at the end of a body"),
        ("ex1-body-hash", "no CRLF added to a body without one", """
            body = message.partition(b"\\r\\n\\r\\n")[2]
            while body.endswith(b"\\r\\n\\r\\n"):
                body = body[:-2]
            return base64.b64encode(hashlib.sha256(body).digest()).decode()
            """, "check what simple canonicalisation does at the end of a body"),
        ("ex2-signature-kind", "two flags in one loop, casefold", """
            author = third = False
            for r in results:
                if r.result != "pass":
                    continue
                if r.domain.rstrip(".").casefold() == from_domain.rstrip(".").casefold():
                    author = True
                else:
                    third = True
            return "author" if author else "third-party" if third else "none"
            """, RIGHT),
        ("ex2-signature-kind", "a set of the passing domains", """
            good = {r.domain.lower() for r in results if r.result == "pass"}
            if not good:
                return "none"
            return "author" if from_domain.lower() in good else "third-party"
            """, RIGHT),
        ("ex2-signature-kind", "was a hole: a signature of a parent domain taken as the author's", """
            passing = [r.domain.lower() for r in results if r.result == "pass"]
            if any(from_domain.lower().endswith(d) for d in passing):
                return "author"
            return "third-party" if passing else "none"
            """, "d= must equal the From domain"),
        ("ex2-signature-kind", "failing signatures counted", """
            if any(r.domain.lower() == from_domain.lower() for r in results):
                return "author"
            return "third-party" if results else "none"
            """, "the body changed after signing"),
    ],
    "05-dmarc": [
        ("ex1-aligned", "casefold, org_domain() for every relaxed pair", """
            def norm(d):
                return (d or "").strip().rstrip(".").casefold()
            f, a = norm(from_domain), norm(auth_domain)
            if a == "":
                return False
            if mode.lower() == "s":
                return f == a
            return org_domain(f) == org_domain(a)
            """, RIGHT),
        ("ex1-aligned", "one boolean expression", """
            a = from_domain.lower().rstrip(".")
            b = (auth_domain or "").lower().rstrip(".")
            return bool(b) and (a == b if mode == "s" else org_domain(a) == org_domain(b))
            """, RIGHT),
        ("ex1-aligned", "relaxed mode by the end of the name", """
            a = from_domain.lower().rstrip(".")
            b = (auth_domain or "").lower().rstrip(".")
            if not b:
                return False
            if mode == "s":
                return a == b
            return a == b or a.endswith("." + b) or b.endswith("." + a)
            """, "should be True"),
        ("ex2-next-policy", "a list of the steps and its index", """
            steps = ["none", "quarantine", "reject"]
            for r in rows:
                if r["source_ip"] in known and r["dmarc"] == "fail" and r["count"]:
                    return current
            return steps[min(steps.index(current) + 1, len(steps) - 1)]
            """, RIGHT),
        ("ex2-next-policy", "failures summed per source with a Counter", """
            from collections import Counter
            fails = Counter()
            for r in rows:
                if r["dmarc"] == "fail":
                    fails[r["source_ip"]] += r["count"]
            if any(fails[ip] > 0 for ip in known):
                return current
            return {"none": "quarantine"}.get(current, "reject")
            """, RIGHT),
        ("ex2-next-policy", "every failing source holds the rollout back", """
            if any(r["dmarc"] == "fail" and r["count"] > 0 for r in rows):
                return current
            return {"none": "quarantine", "quarantine": "reject", "reject": "reject"}[current]
            """, "only an unknown source fails"),
    ],
    "06-verdict": [
        ("ex1-our-results", "was a hole: an authserv-id that only begins with ours is trusted", """
            for value in headers(raw, "Authentication-Results"):
                if value.lower().startswith(authserv_id.lower()):
                    return {m: r[0] for m, r in lk.auth.results.results_by_method(value).items()}
            return None
            """, "only begins with ours"),
        ("ex1-our-results", "the first word before ';' compared exactly (version number allowed)", """
            for value in headers(raw, "Authentication-Results"):
                if value.split(";", 1)[0].split()[0].lower() == authserv_id.lower():
                    return {m: r[0] for m, r in lk.auth.results.results_by_method(value).items()}
            return None
            """, RIGHT),
        ("ex1-our-results", "the lab's headers() helper, a loop that keeps the first clause", """
            for value in headers(raw, "Authentication-Results"):
                parsed = lk.auth.results.parse_authentication_results(value)
                if parsed is not None and parsed.authserv_id.casefold() == authserv_id.casefold():
                    found = {}
                    for clause in parsed.results:
                        if clause.method not in found:
                            found[clause.method] = clause.result
                    return found
            return None
            """, RIGHT),
        ("ex1-our-results", "parsed by hand with a regular expression", """
            import re
            msg = email.message_from_bytes(raw)
            for value in msg.get_all("Authentication-Results") or []:
                text = " ".join(str(value).split())
                head, _, rest = text.partition(";")
                if head.split()[0].lower() != authserv_id.lower():
                    continue
                out = {}
                for clause in rest.split(";"):
                    m = re.match(r"\\s*([A-Za-z0-9_.-]+)\\s*=\\s*([A-Za-z0-9_-]+)", clause)
                    if m:
                        out.setdefault(m.group(1).lower(), m.group(2).lower())
                return out
            return None
            """, RIGHT),
        ("ex1-our-results", "the lowest header instead of the topmost", """
            found = None
            for value in headers(raw, "Authentication-Results"):
                parsed = lk.auth.results.parse_authentication_results(value)
                if parsed is not None and parsed.authserv_id.lower() == authserv_id.lower():
                    found = {}
                    for clause in parsed.results:
                        found.setdefault(clause.method, clause.result)
            return found
            """, "expected the results of the topmost one"),
        ("ex1-our-results", "the authserv-id compared case-sensitively", """
            for value in headers(raw, "Authentication-Results"):
                parsed = lk.auth.results.parse_authentication_results(value)
                if parsed is not None and parsed.authserv_id == authserv_id:
                    out = {}
                    for clause in parsed.results:
                        out.setdefault(clause.method, clause.result)
                    return out
            return None
            """, "case does not matter"),
        ("ex2-arc-rescue", "the sealers of lk.auth.arc.verify", """
            chain = lk.auth.arc.verify(raw, dns=lab.dns)
            if chain.result != "pass" or not chain.sealers:
                return False
            if chain.sealers[-1].lower() not in {t.lower() for t in trusted}:
                return False
            for aar in headers(raw, "ARC-Authentication-Results"):
                i_tag, _, rest = aar.partition(";")
                if "".join(i_tag.split()) == f"i={len(chain.sealers)}":
                    return "pass" in lk.auth.results.results_by_method(rest).get("dmarc", [])
            return False
            """, RIGHT),
        ("ex2-arc-rescue", "tags split by hand, the newest set found by sorting", """
            if lk.auth.arc.verify(raw, dns=lab.dns).result != "pass":
                return False

            def tags(value):
                pairs = (part.split("=", 1) for part in value.split(";") if "=" in part)
                return {k.strip().lower(): "".join(v.split()) for k, v in pairs}

            seals = sorted((int(tags(s)["i"]), tags(s).get("d", "").lower()) for s in headers(raw, "ARC-Seal"))
            if not seals or seals[-1][1] not in [t.lower() for t in trusted]:
                return False
            for aar in headers(raw, "ARC-Authentication-Results"):
                head, _, rest = aar.partition(";")
                if tags(head).get("i") == str(seals[-1][0]):
                    clauses = [c.strip().lower() for c in rest.split(";")]
                    return any(c.split()[0] == "dmarc=pass" for c in clauses if c)
            return False
            """, RIGHT),
        ("ex2-arc-rescue", "any set's record of dmarc=pass", """
            if lk.auth.arc.verify(raw, dns=lab.dns).result != "pass":
                return False
            sealers = lk.auth.arc.verify(raw, dns=lab.dns).sealers
            if not sealers or sealers[-1].lower() not in {t.lower() for t in trusted}:
                return False
            return any("pass" in lk.auth.results.results_by_method(a.partition(";")[2]).get("dmarc", [])
                       for a in headers(raw, "ARC-Authentication-Results"))
            """, "then by the ESP (dmarc=fail), both trusted"),
    ],
    "07-submission": [
        ("ex1-relay-window", "a loop with early continue", """
            for e in logins:
                if e["client"] != client_ip or e["decision"] != "accept":
                    continue
                if e["t"] <= now < e["t"] + window:
                    return True
            return False
            """, RIGHT),
        ("ex1-relay-window", "the latest good login up to now", """
            good = [e["t"] for e in logins
                    if e.get("client") == client_ip and e.get("decision") == "accept" and e["t"] <= now]
            return bool(good) and now < max(good) + window
            """, RIGHT),
        ("ex1-relay-window", "the window's end included", """
            return any(e.get("client") == client_ip and e.get("decision") == "accept"
                       and e["t"] <= now <= e["t"] + window for e in logins)
            """, "exactly 600 s after a good login"),
        ("ex1-relay-window", "failed logins open the window too", """
            return any(e.get("client") == client_ip and e["t"] <= now < e["t"] + window for e in logins)
            """, "a failed login opens nothing"),
        ("ex2-auth-plain", "an f-string, encoded once", """
            return base64.b64encode(f"\\0{user}\\0{password}".encode()).decode()
            """, RIGHT),
        ("ex2-auth-plain", "join of three parts, binascii without its newline", """
            import binascii
            raw = "\\x00".join(["", user, password]).encode("utf-8")
            return binascii.b2a_base64(raw, newline=False).decode("ascii")
            """, RIGHT),
        ("ex2-auth-plain", "was a hole: base64.encodebytes (a newline at the end)", """
            return base64.encodebytes(b"\\0" + user.encode() + b"\\0" + password.encode()).decode()
            """, "no line break"),
        ("ex2-auth-plain", "no empty authorisation identity in front", """
            return base64.b64encode(f"{user}\\0{password}".encode()).decode()
            """, "your response decodes to"),
        ("ex3-op25b", "one negated expression, int(port)", """
            return not (ipaddress.ip_address(src) in POOL and int(port) == 25 and dst not in ISP_OWN)
            """, RIGHT),
        ("ex3-op25b", "addresses compared as ipaddress objects", """
            own = {ipaddress.ip_address(x) for x in ISP_OWN}
            if port == 25 and ipaddress.ip_address(src) in POOL:
                return ipaddress.ip_address(dst) in own
            return True
            """, RIGHT),
        ("ex3-op25b", "port 587 blocked too", """
            return not (ipaddress.ip_address(src) in POOL and port in (25, 587) and dst not in ISP_OWN)
            """, "submission port 587"),
        ("ex4-pool-share", "counters in one loop", """
            n = p = 0
            for e in events:
                if e.get("event") != "connect":
                    continue
                n += 1
                if ipaddress.ip_address(e["client"]) in pool:
                    p += 1
            return (n, p, p / n if n else 0.0)
            """, RIGHT),
        ("ex4-pool-share", "address objects, a sum of booleans", """
            conns = [ipaddress.ip_address(e["client"]) for e in events if e.get("event") == "connect"]
            inside = sum(a in pool for a in conns)
            return len(conns), inside, (inside / len(conns)) if conns else 0.0
            """, RIGHT),
        ("ex4-pool-share", "the share as a percentage", """
            clients = [e["client"] for e in events if e.get("event") == "connect"]
            p = sum(1 for c in clients if ipaddress.ip_address(c) in pool)
            return len(clients), p, (100 * p / len(clients) if clients else 0.0)
            """, "not a percentage"),
    ],
    "08-lists": [
        ("ex1-dnsbl-name", "ipaddress's reverse_pointer without its arpa suffix", """
            rp = ipaddress.ip_address(ip).reverse_pointer
            return rp.rsplit(".", 2)[0] + "." + zone.rstrip(".")
            """, RIGHT),
        ("ex1-dnsbl-name", "the integer value, written out as octets or 32 hex digits", """
            addr = ipaddress.ip_address(ip)
            if addr.version == 4:
                labels = [str(b) for b in reversed(addr.packed)]
            else:
                labels = list(reversed(f"{int(addr):032x}"))
            return ".".join(labels + [zone[:-1] if zone.endswith(".") else zone])
            """, RIGHT),
        ("ex1-dnsbl-name", "an IPv6 address with its zeros left out", """
            if ":" in ip:
                labels = list(ip.replace(":", ""))[::-1]
            else:
                labels = ip.split(".")[::-1]
            return ".".join(labels) + "." + zone.rstrip(".")
            """, "all 32 hexadecimal digits"),
        ("ex2-fcrdns", "resolve_address, any DNS error on the forward look-up skipped", """
            import dns.exception
            try:
                ptr = resolver.resolve_address(ip)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return "none"
            for rr in ptr:
                try:
                    if any(a.to_text() == ip for a in resolver.resolve(rr.target, "A")):
                        return "pass"
                except dns.exception.DNSException:
                    pass
            return "fail"
            """, RIGHT),
        ("ex2-fcrdns", "a set of every forward address", """
            try:
                names = {r.target for r in resolver.resolve(dns.reversename.from_address(ip), "PTR")}
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return "none"
            forward = set()
            for n in names:
                try:
                    forward |= {r.address for r in resolver.resolve(n, "A")}
                except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                    pass
            return "pass" if ip in forward else "fail"
            """, RIGHT),
        ("ex2-fcrdns", "'none' when the PTR name has no address", """
            try:
                names = [r.target for r in resolver.resolve(dns.reversename.from_address(ip), "PTR")]
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                return "none"
            for name in names:
                try:
                    if ip in [r.address for r in resolver.resolve(name, "A")]:
                        return "pass"
                except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                    return "none"
            return "fail"
            """, "so nothing confirms it"),
        ("ex3-rcpt-reply", "casefold, nested ifs, short texts", """
            domain = address.rpartition("@")[2]
            if domain.casefold() in (d.casefold() for d in local_domains):
                if address.casefold() in users:
                    return "250 OK"
                return "550 5.1.1 User unknown"
            return "554 5.7.1 Relaying denied"
            """, RIGHT),
        ("ex3-rcpt-reply", "users lower-cased too, %-formatting", """
            if address.split("@")[-1].lower() not in [d.lower() for d in local_domains]:
                return "554 5.7.1 <%s>: Relay access denied" % address
            if address.lower() not in {u.lower() for u in users}:
                return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
            return "250 OK"
            """, RIGHT),
        ("ex3-rcpt-reply", "subdomains taken as local", """
            domain = address.rpartition("@")[2].lower()
            if not any(domain == d or domain.endswith("." + d) for d in local_domains):
                return "554 5.7.1 Relay access denied"
            return "250 OK" if address.lower() in users else "550 5.1.1 User unknown"
            """, "a subdomain is not one of local_domains"),
    ],
    "09-bayes": [
        ("token_probability", "p rewritten with the counts cross-multiplied", """
            n = ham_count + spam_count
            if not n:
                return prior
            p = spam_count * n_ham / (ham_count * n_spam + spam_count * n_ham)
            return (strength * prior + n * p) / (strength + n)
            """, RIGHT),
        ("token_probability", "exact fractions, a float at the end", """
            from fractions import Fraction
            if ham_count == 0 and spam_count == 0:
                return prior
            spam_rate = Fraction(spam_count, n_spam)
            p = spam_rate / (Fraction(ham_count, n_ham) + spam_rate)
            n = ham_count + spam_count
            return float((Fraction(strength) * Fraction(prior) + n * p) / (Fraction(strength) + n))
            """, RIGHT),
        ("token_probability", "n taken as the number of messages trained", """
            n = ham_count + spam_count
            if n == 0:
                return prior
            p = (spam_count / n_spam) / (ham_count / n_ham + spam_count / n_spam)
            n = n_ham + n_spam
            return (strength * prior + n * p) / (strength + n)
            """, "expected about 0.6630"),
        ("pick_threshold", "ham lost counted against max_fpr * number of ham", """
            hams = [s for s, spam in zip(scores, labels) if not spam]
            for t in sorted(set(scores)):
                if sum(s >= t for s in hams) <= max_fpr * len(hams):
                    return t
            return math.inf
            """, RIGHT),
        ("pick_threshold", "bisect on the sorted ham scores, float('inf')", """
            import bisect
            hams = sorted(s for s, spam in zip(scores, labels) if not spam)
            for t in sorted(set(scores)) + [float("inf")]:
                lost = len(hams) - bisect.bisect_left(hams, t)
                if not hams or lost / len(hams) <= max_fpr:
                    return t
            """, RIGHT),
        ("pick_threshold", "the largest threshold within the budget", """
            hams = [s for s, spam in zip(scores, labels) if not spam]
            for t in sorted(set(scores), reverse=True):
                if hams and sum(s >= t for s in hams) / len(hams) > max_fpr:
                    continue
                return t
            return math.inf
            """, "expected the smallest candidate 0.1"),
    ],
    "10-capstone": [
        ("ex1-confusion", "a Counter started at zero, returned as a dict", """
            from collections import Counter
            c = Counter(fp=0, fn=0, tp=0, tn=0)
            for d, spam in zip(decisions, labels):
                c[("tp" if d != "INBOX" else "fn") if spam else ("fp" if d != "INBOX" else "tn")] += 1
            return dict(c)
            """, RIGHT),
        ("ex1-confusion", "four sums over the pairs", """
            pairs = list(zip(decisions, labels))
            return {"tp": sum(1 for d, s in pairs if s and d in ("Junk", "reject")),
                    "fn": sum(1 for d, s in pairs if s and d == "INBOX"),
                    "fp": sum(1 for d, s in pairs if not s and d in ("Junk", "reject")),
                    "tn": sum(1 for d, s in pairs if not s and d == "INBOX")}
            """, RIGHT),
        ("ex1-confusion", "only reject counted as caught", """
            out = {"fp": 0, "fn": 0, "tp": 0, "tn": 0}
            for d, spam in zip(decisions, labels):
                caught = d == "reject"
                out[("tp" if caught else "fn") if spam else ("fp" if caught else "tn")] += 1
            return out
            """, ("ham in INBOX, spam in Junk", "expected {'fp': 0, 'fn': 0, 'tp': 1, 'tn': 1}")),
        ("ex1-confusion", "a Counter without the counts that stayed 0", """
            from collections import Counter
            return Counter(("tp" if d != "INBOX" else "fn") if s else ("fp" if d != "INBOX" else "tn")
                           for d, s in zip(decisions, labels))
            """, "all four keys"),
        ("ex2-policy", "DMARC's verdict, then the content score alone", """
            if f["allowlisted"]:
                return "INBOX"
            if f["dnsbl"]:
                return "reject"
            if f["disposition"] in ("reject", "quarantine") or f["content"] >= 0.5:
                return "Junk"
            return "INBOX"
            """, RIGHT),
        ("ex2-policy", "a generic reverse name refused outright, a lower content bar", """
            if f["allowlisted"]:
                return "INBOX"
            if f["dnsbl"] or f["generic_rdns"] or f["disposition"] == "reject":
                return "reject"
            if f["disposition"] == "quarantine" or f["content"] > 0.3:
                return "Junk"
            return "INBOX"
            """, RIGHT),
        ("ex2-policy", "a content bar so high that spam from authenticated senders gets in", """
            if f["allowlisted"]:
                return "INBOX"
            if f["dnsbl"] or f["disposition"] == "reject":
                return "reject"
            if f["disposition"] == "quarantine" or f["content"] >= 0.9:
                return "Junk"
            return "INBOX"
            """, "too much spam in the inbox: 3 spam messages reached it, at most 2 are allowed"),
        ("ex2-policy", "no SPF pass, no entry", """
            if f["allowlisted"]:
                return "INBOX"
            if f["spf"] != "pass":
                return "reject"
            return "Junk" if f["content"] >= 0.5 else "INBOX"
            """, "real mail lost"),
    ],
}


def _run(lab: str) -> list[tuple[str, str, object]]:
    """Run ``lab`` with every case of it in one kernel; (exercise, case, outputs) per case."""
    notebook = LABS[lab]
    require_corpus_for(notebook)
    nb = nbformat.read(str(notebook), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    cases = CASES[lab]
    last = [e for e, _, _, _ in cases][-1]
    plan, tagged = [], []
    for i, cell in enumerate(code):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for exercise, name, body, _ in cases:
            if exercise == grade_id:
                test = code[i + 1]
                assert test.metadata["nbgrader"].get("grade"), f"{exercise}: no graded cell after it"
                answer = copy.deepcopy(cell)
                answer.source = _with_answer(cell.source, body)
                plan += [answer, copy.deepcopy(test)]
                tagged.append((exercise, name, len(plan) - 1))
        plan.append(copy.deepcopy(cell))
        if grade_id == last:
            plan.append(copy.deepcopy(code[i + 1]))
            break
    for n, cell in enumerate(plan):
        cell["id"] = f"run-{n}"
    nb.cells = plan
    NotebookClient(nb, kernel_name="python3", timeout=180, allow_errors=True,
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    graded = {n for _, _, n in tagged}
    unexpected = [f"{c.source[:60]!r}: {o.ename}: {o.evalue}" for n, c in enumerate(nb.cells)
                  if n not in graded for o in c.outputs if o.output_type == "error"]
    assert not unexpected, f"the lab itself failed: {unexpected}"
    return [(exercise, name, nb.cells[n].outputs) for exercise, name, n in tagged]


def _outcomes(lab: str) -> list[str]:
    """One line per case of ``lab`` that did not end as expected (empty when all did)."""
    ran = _run(lab)
    assert [(e, n) for e, n, _ in ran] == [(e, n) for e, n, _, _ in CASES[lab]]
    expected = {(e, n): want for e, n, _, want in CASES[lab]}
    wrong = []
    for exercise, name, outputs in ran:
        errors = [o for o in outputs if o.output_type == "error"]
        want = expected[exercise, name]
        if want is RIGHT:
            wrong += [f"{exercise} ({name}): a correct answer lost the marks: {e.ename}: {e.evalue}" for e in errors]
        elif not errors:
            wrong.append(f"{exercise} ({name}): a wrong answer passed every test")
        elif errors[0].ename != "AssertionError" or not all(
            w in errors[0].evalue for w in (want if isinstance(want, tuple) else (want,))
        ):
            wrong.append(f"{exercise} ({name}): the learner read {errors[0].ename}: {errors[0].evalue!r}")
    return wrong


@pytest.mark.parametrize("lab", sorted(CASES))
def test_correct_answers_get_full_marks_and_wrong_ones_are_told_why(lab):
    wrong = _outcomes(lab)
    assert not wrong, "\n".join(wrong)
