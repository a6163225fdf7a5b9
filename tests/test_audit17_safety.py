"""Safety audit 17: servers stay on loopback, LABKIT_OFFLINE keeps every look-up and
download on this machine, and passwords stay out of the logs.

The network tests run their scenario in a child Python whose audit hook
(``sys.addaudithook``) stops every ``connect``/``sendto`` to an address that is not
loopback before it happens and prints it. Nothing is mocked: the sockets, the HTTP
server, the resolvers and labkit are real; the hook only makes sure that old code,
which would have sent a packet to a documentation address, never lets it leave the
machine while the test watches it try.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import textwrap

import pytest

import labkit as lk
from labkit.errors import UsageError
from tests.conftest import ROOT

# The child's first lines: an audit hook that refuses (and reports) any attempt to send a
# packet anywhere but loopback, and a helper to print what the scenario saw.
_GUARD = '''
import ipaddress, json, sys
ATTEMPTS = []
def _on_this_machine(host):
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"
def _hook(event, args):
    if event in ("socket.connect", "socket.sendto") and isinstance(args[1], tuple):
        if not _on_this_machine(args[1][0]):
            ATTEMPTS.append(f"{event} {args[1][0]}:{args[1][1]}")
            raise OSError(f"audit guard: no traffic to {args[1][0]} in this test")
sys.addaudithook(_hook)
def done(**seen):
    print(json.dumps(dict(seen, attempts=ATTEMPTS)))
'''


def _run_guarded(code: str, **env: str) -> dict:
    """Run ``code`` after the guard in a child Python; return what it passed to ``done``."""
    child_env = {**os.environ, "PYTHONPATH": str(ROOT), "LABKIT_OFFLINE": "1", **env}
    out = subprocess.run([sys.executable, "-c", _GUARD + textwrap.dedent(code)], cwd=ROOT,
                         env=child_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- servers bind loopback ------------------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.2"])
def test_labdns_refuses_an_address_off_loopback(host):
    # LabDNS(host="0.0.0.0") used to serve the course zones on every interface (ss showed
    # 0.0.0.0:PORT for UDP and TCP), while `labkit dns serve --host 0.0.0.0` and
    # SMTPServer(bind="0.0.0.0") both refuse it.
    with pytest.raises(UsageError, match="loopback"):
        lk.dns.LabDNS(host=host)


def test_labdns_refuses_a_host_name_it_could_not_hand_to_its_resolver():
    # LabDNS(host="localhost") started, then .resolver() raised dnspython's ValueError
    # ("nameserver localhost is not a ... IP address"); a name could also resolve off loopback.
    with pytest.raises(UsageError, match="127.0.0.1"):
        lk.dns.LabDNS(host="localhost")


def test_labdns_still_serves_another_loopback_address():
    with lk.dns.LabDNS(host="127.0.0.53") as server:
        assert server.host == "127.0.0.53"
        answer = server.resolver().resolve("corp.example", "MX")
        assert answer.rrset is not None and len(answer.rrset) >= 1


def test_labdns_binds_elsewhere_only_when_asked_in_so_many_words():
    # the same way out as SMTPServer(allow_remote=True); nothing is started here
    server = lk.dns.LabDNS(host="0.0.0.0", allow_remote=True)
    assert server.host == "0.0.0.0"
    with pytest.raises(TypeError):  # "no" is not a yes (labkit._coerce.flag)
        lk.dns.LabDNS(host="0.0.0.0", allow_remote="no")


# -- LABKIT_OFFLINE: the corpus download stays on this machine ------------------------------

def _mirror(answer: str) -> str:
    """A child's script: a loopback HTTP mirror whose every GET gets ``answer`` (the
    lines after the status), then corpus.fetch from it; reports the error it raised."""
    return """
import http.server, tempfile, threading
class Mirror(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
""" + textwrap.indent(textwrap.dedent(answer), " " * 8) + """
        self.end_headers()
    def log_message(self, *args):
        pass
mirror = http.server.HTTPServer(("127.0.0.1", 0), Mirror)
threading.Thread(target=mirror.serve_forever, daemon=True).start()
import labkit.filters.corpus as corpus
try:
    corpus.fetch(tempfile.mkdtemp(), folders=["easy_ham"], progress=False, timeout=5,
                 base_url=f"http://127.0.0.1:{mirror.server_port}/")
    error = ""
except Exception as exc:
    error = f"{type(exc).__name__}: {exc}"
done(error=error)
"""


_REDIRECTING_MIRROR = _mirror("""
    self.send_response(302)
    self.send_header("Location", "http://203.0.113.9:8080" + self.path)
""")


def test_offline_corpus_fetch_follows_no_redirect_off_the_machine():
    # A loopback mirror answering 302 to http://203.0.113.9:8080/... made fetch() connect
    # there although LABKIT_OFFLINE was set (the guard saw socket.connect 203.0.113.9:8080).
    seen = _run_guarded(_REDIRECTING_MIRROR)
    assert seen["attempts"] == []
    assert seen["error"].startswith("UsageError")
    assert "203.0.113.9" in seen["error"] and "LABKIT_OFFLINE" in seen["error"]


_MIRROR_404 = _mirror("""
    self.send_response(404)
""")


def test_offline_corpus_fetch_from_loopback_does_not_go_through_a_proxy():
    # With http_proxy set (usual on institutional hubs and CI runners), urllib sent the
    # request for http://127.0.0.1:PORT/... to the proxy at 203.0.113.5:3128.
    seen = _run_guarded(_MIRROR_404, http_proxy="http://203.0.113.5:3128",
                        HTTP_PROXY="http://203.0.113.5:3128", no_proxy="", NO_PROXY="")
    assert seen["attempts"] == []
    assert "404" in seen["error"]  # the loopback mirror itself answered


# -- LABKIT_OFFLINE: no DNS question leaves the machine, whoever built the resolver ---------

_OFF_MACHINE_RESOLVER = '''
import dns.resolver
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = ["203.0.113.53"]
resolver.lifetime = 2
'''


def test_offline_live_dig_with_a_resolver_of_ones_own_asks_nothing():
    # dig(mode="live", resolver=...) and the default mode asked 203.0.113.53 with
    # LABKIT_OFFLINE=1 (only the machine's own resolver was held back).
    seen = _run_guarded(_OFF_MACHINE_RESOLVER + '''
import labkit.dns.live as live
results = [live.dig("brand.example", "TXT", mode=m, resolver=resolver) for m in ("live", "auto")]
reachable = live.internet_reachable(resolver)
done(rcodes=[r.rcode for r in results], steps=[r.steps[0] for r in results],
     reachable=list(reachable))
''')
    assert seen["attempts"] == []
    assert seen["rcodes"] == ["TIMEOUT", "UNRECORDED"]
    assert all("LABKIT_OFFLINE" in s for s in seen["steps"])
    assert seen["reachable"][0] is False and "LABKIT_OFFLINE" in seen["reachable"][1]


def test_offline_record_snapshots_asks_nothing_and_says_why(tmp_path):
    seen = _run_guarded(_OFF_MACHINE_RESOLVER + f'''
import labkit.dns.live as live
errors = []
for given in (resolver, None):
    try:
        live.record_snapshots(["brand.example/TXT"], {str(tmp_path)!r}, resolver=given)
        errors.append("")
    except Exception as exc:
        errors.append(f"{{type(exc).__name__}}: {{exc}}")
done(errors=errors)
''')
    assert seen["attempts"] == []
    # without a resolver it said "no DNS resolver is configured on this machine"
    assert all(e.startswith("LabkitError") and "LABKIT_OFFLINE" in e for e in seen["errors"])
    assert not list(tmp_path.iterdir())


def test_offline_checks_refuse_a_resolver_off_the_machine():
    # spf.check(dns=dns.resolver.Resolver()) and dnsbl.lookup asked the machine's resolver
    # (here 203.0.113.53) with LABKIT_OFFLINE=1 and answered temperror.
    seen = _run_guarded(_OFF_MACHINE_RESOLVER + '''
import labkit as lk
calls = {
    "spf": lambda: lk.auth.spf.check("192.0.2.1", "a@brand.example", "x.brand.example",
                                     dns=resolver),
    "dnsbl": lambda: lk.filters.dnsbl.lookup("192.0.2.99", dns=resolver),
}
errors = {}
for name, call in calls.items():
    try:
        errors[name] = f"no error: {call()}"
    except Exception as exc:
        errors[name] = f"{type(exc).__name__}: {exc}"
done(errors=errors)
''')
    assert seen["attempts"] == []
    for name, error in seen["errors"].items():
        assert error.startswith("UsageError") and "LABKIT_OFFLINE" in error, (name, error)


def test_offline_checks_still_take_a_resolver_on_loopback(lab_dns):
    res = lab_dns.resolver()
    assert lk.auth.spf.check("203.0.113.66", "x@attacker.test", "mail.attacker.test",
                             dns=res).result == "pass"


# -- secrets stay out of the logs -----------------------------------------------------------

PASSWORD = "Zebra-S3cret-42"
USER = "taro@isp.example"


def test_a_password_sent_without_base64_is_not_in_the_debug_log(caplog):
    # A learner typing AUTH by hand (openssl s_client) who answers the 334 prompt with the
    # bare password got 501 "Can't decode base64", and aiosmtpd's mail.log wrote at DEBUG:
    # "('127.51.100.140', 38589) can't decode base64: b'Zebra-S3cret-42'".
    from labkit.mta import sender

    caplog.set_level(logging.DEBUG)
    with lk.Lab() as lab:
        lab.accounts.add(USER, PASSWORD)
        isp = lab.hosts.resolve("smtp.isp.example").address
        for dialogue in (["AUTH PLAIN", PASSWORD],
                         ["AUTH LOGIN", base64.b64encode(USER.encode()).decode(), PASSWORD]):
            smtp = sender.connect(lab, "198.51.100.140", isp, lab.endpoint(isp, 587), port=587)
            smtp.ehlo("pc.isp.example")
            smtp.starttls(context=lab.client_tls_context)
            smtp.ehlo("pc.isp.example")
            replies = [smtp.docmd(line) for line in dialogue]
            smtp.close()
            assert replies[-1][0] == 501  # still refused, as before
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "can't decode base64" in text  # the event is still logged ...
    assert PASSWORD not in text  # ... without what was typed


# -- files stay where the user said ---------------------------------------------------------

def test_a_snapshot_is_written_inside_the_folder_named_whatever_its_name():
    # record_snapshots([("/tmp/sa/escaped.example", "TXT")], "/tmp/sa/snapdir", resolver=R)
    # wrote /tmp/sa/escaped.example_TXT.json: a name beginning with "/" made the file
    # name an absolute path, outside the folder given (a "/" inside one made a subfolder).
    import shutil
    import tempfile
    from pathlib import Path

    from labkit.dns import snapshots

    top = Path(tempfile.mkdtemp(prefix="s", dir="/tmp"))  # a short path: DNS labels are <= 63
    try:
        folder = top / "snaps"
        names = [str(top / "outside.example"), "0/25.2.0.192.in-addr.arpa"]  # RFC 2317's "/"
        for name in names:
            snap = snapshots.Snapshot(
                name=name, type="TXT", answers=("x",),
                provenance=snapshots.Provenance(kind="captured", source="test", date="2026-11-29"))
            path = snapshots.save(snap, folder)
            assert path.parent == folder
            assert snapshots.load(name, "TXT", folder).answers == ("x",)
        assert sorted(p.name for p in top.iterdir()) == ["snaps"]
        assert len(list(folder.iterdir())) == len(names)
    finally:
        shutil.rmtree(top)


# -- the public SMTP dialler dials the lab's endpoints only -----------------------------------


def test_sender_connect_refuses_an_endpoint_off_loopback():
    """``labkit.mta.sender.connect`` dialled whatever ``endpoint`` it was given; every lab
    server listens on loopback (``lab.endpoint``), so anything else is refused unopened."""
    seen = _run_guarded('''
        import labkit as lk
        from labkit.errors import UsageError
        from labkit.mta import sender
        with lk.Lab() as lab:
            refused = []
            for endpoint in (("192.0.2.2", 25), ("8.8.8.8", 25), ("0.0.0.0", 25)):
                try:
                    sender.connect(lab, "192.0.2.10", "203.0.113.25", endpoint, 2.0)
                except UsageError as exc:
                    refused.append("loopback" in str(exc))
            smtp = sender.connect(lab, "192.0.2.10", "203.0.113.25", lab.endpoint("mx.corp.example", 25), 5.0)
            code = smtp.noop()[0]
            smtp.quit()
        done(refused=refused, code=code)
    ''')
    assert seen["attempts"] == [], seen
    assert seen["refused"] == [True, True, True], seen
    assert seen["code"] == 250, seen


def test_labdns_says_it_serves_ipv4_loopback_only():
    """``host="::1"`` passed the loopback check, then failed in bind() with "Address
    family for hostname not supported"; the lab DNS listens on IPv4 only."""
    with pytest.raises(UsageError, match="IPv4"):
        lk.dns.LabDNS(host="::1")
