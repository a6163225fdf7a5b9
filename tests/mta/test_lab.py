"""The Lab: start, stop, ports, addressing, two labs side by side."""

from __future__ import annotations

import email
import json
import socket
import subprocess
import sys
import textwrap

import pytest

import labkit
import labkit.mta
from labkit.mta import make_message


def _msg(frm="news@brand.example", to="alice@corp.example", subject="hello"):
    return make_message(from_=frm, to=to, subject=subject, body="body text\n")


def _port_closed(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return True
    return False


def test_start_twice_is_harmless_and_stop_frees_every_port(lab_dns):
    lab = labkit.Lab(dns=lab_dns)
    lab.start()
    listeners = lab.listeners()
    lab.start()  # a re-run cell
    assert lab.listeners() == listeners
    assert {(d["host"], d["port"]) for d in listeners} >= {
        ("mx.corp.example", 25), ("mx.corp.example", 110), ("mail.isp.example", 25),
        ("smtp.isp.example", 587), ("mx.fwd.example.net", 25), ("mail.lists.example.org", 25),
    }
    root = lab.root
    lab.stop()
    lab.stop()
    for d in listeners:
        host, port = d["listen"].rsplit(":", 1)
        assert _port_closed(host, int(port)), d
    assert not root.exists()  # the temporary root is gone
    assert lab_dns.running  # a DNS the lab was given stays up
    with lab:  # and the same object starts again (a re-run notebook)
        assert lab.send(_msg(subject="again"), from_host="mail.brand.example").status == "sent"


def test_every_service_listens_on_loopback_only(lab):
    for d in lab.listeners():
        assert d["listen"].startswith("127.0.0.1:")


def test_receiver_sees_the_host_address_and_writes_it_into_received(lab):
    res = lab.send(_msg(subject="who am i"), from_host="mail.brand.example", dkim=True)
    assert res.status == "sent", res.steps
    stored = [m for m in lab.mailbox("alice@corp.example").messages() if b"who am i" in m][-1]
    top = email.message_from_bytes(stored)["Received"]
    brand_ip = lab.hosts["mail.brand.example"].address
    assert f"[{brand_ip}]" in top and "by mx.corp.example" in top
    assert lab.verdicts(res.message_id)[-1]["client"] == brand_ip


def test_proxy_addressing_gives_the_same_client_address(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, client_addressing="proxy", scorer=None) as lab:
        assert lab.client_addressing == "proxy"
        res = lab.send(_msg(subject="via proxy"), from_host="mail.attacker.test")
        assert lab.verdicts(res.message_id)[-1]["client"] == lab.hosts["mail.attacker.test"].address
        # a connection without a PROXY header is dropped, not trusted
        h, p = lab.endpoint(lab.hosts["mx.corp.example"].address, 25)
        with socket.create_connection((h, p), timeout=10) as s:
            s.sendall(b"EHLO liar.example\r\n")
            s.settimeout(10)
            assert s.recv(1024) == b""  # closed without a greeting


def test_proxy_header_with_a_non_lab_address_is_refused(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, client_addressing="proxy", scorer=None) as lab:
        h, p = lab.endpoint(lab.hosts["mx.corp.example"].address, 25)
        with socket.create_connection((h, p), timeout=10) as s:
            s.sendall(b"PROXY TCP4 8.8.8.8 203.0.113.25 1234 25\r\n")
            assert s.recv(1024) == b""


def test_sender_refuses_destinations_outside_the_lab(lab):
    res = lab.send(_msg(to="someone@gmail.com"), from_host="mail.brand.example")
    assert res.status == "refused"
    assert "not a lab destination" in res.reply
    res = lab.send(_msg(), from_host="mail.brand.example", to_host="192.168.1.1")
    assert res.status == "refused" and "not a lab address" in res.reply
    with pytest.raises(labkit.UsageError) as caught:  # a learner's typo, told as such
        lab.send(_msg(), from_host="smtp.gmail.com")
    assert isinstance(caught.value, KeyError)  # (what it raised before: code catching that still works)
    assert str(caught.value).startswith("smtp.gmail.com is not a lab host")
    assert "mail.brand.example" in str(caught.value)  # the cast is listed


def test_lab_clock_advances(lab):
    before = lab.clock.now()
    lab.advance(3600)
    assert lab.clock.now() - before >= 3600
    with pytest.raises(labkit.errors.UsageError, match="only moves forward"):
        lab.clock.advance(-1)


def test_non_loopback_bind_is_refused():
    from labkit.errors import ServiceError

    with pytest.raises(ServiceError):
        labkit.mta.SMTPServer(object(), hostname="x.example", bind="0.0.0.0")


_CHILD = textwrap.dedent(
    """
    import json, sys
    import labkit
    from labkit.mta import make_message
    with labkit.Lab(scorer=None) as lab:
        sys.stdout.write(json.dumps(lab.listeners()) + "\\n"); sys.stdout.flush()
        sys.stdin.readline()  # the parent's lab is running now
        res = lab.send(make_message(from_="news@brand.example", to="bob@corp.example",
                                    subject="child", body="x"), from_host="mail.brand.example")
        sys.stdout.write(json.dumps([res.status, len(lab.mailbox("bob@corp.example"))]) + "\\n")
    """
)


def test_two_labs_in_two_processes_never_clash(lab_dns):
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        theirs = {d["listen"] for d in json.loads(child.stdout.readline())}
        with labkit.Lab(dns=lab_dns, scorer=None) as mine:
            ours = {d["listen"] for d in mine.listeners()}
            assert not ours & theirs
            child.stdin.write("go\n")
            child.stdin.flush()
            res = mine.send(_msg(to="bob@corp.example", subject="parent"),
                            from_host="mail.brand.example")
            status, count = json.loads(child.stdout.readline())
            assert res.status == "sent" and status == "sent"
            # each lab stored exactly its own message
            assert count == 1 and len(mine.mailbox("bob@corp.example")) == 1
    finally:
        child.stdin.close()
        assert child.wait(30) == 0


def test_stop_leaves_no_lab_threads_behind(lab_dns):
    import threading

    before = {t.ident for t in threading.enumerate()}
    with labkit.Lab(dns=lab_dns, scorer=None) as lab:
        lab.send(_msg(subject="threads"), from_host="mail.brand.example")
        lab.pop3("alice@corp.example", labkit.mta.default_password("alice@corp.example"),
                 from_host="192.0.2.10", host="mx.corp.example").quit()
    after = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert not [t.name for t in after if t.name.startswith(("smtp ", "pop3 "))]


def test_pop3_over_proxy_addressing(lab_dns):
    with labkit.mta.Lab(dns=lab_dns, client_addressing="proxy", scorer=None) as lab:
        taro = "taro@isp.example"
        pop = lab.pop3(taro, labkit.mta.default_password(taro), from_host="198.51.100.140")
        assert pop.stat()[0] == 0
        pop.quit()
        # the login opened the POP-before-SMTP window for the address in the PROXY header
        assert lab.isp_window.is_open("198.51.100.140")
        auth = lab.events.entries(host="mail.isp.example", event="auth")[-1]
        assert auth["client"] == "198.51.100.140" and auth["decision"] == "accept"


def test_recipients_in_several_domains_get_one_transaction_each(lab):
    res = lab.send(_msg(to="carol@corp.example, taro@isp.example, x@gmail.com",
                        subject="three domains"), from_host="mail.brand.example")
    assert res.status == "partial"
    assert set(res.accepted) == {"carol@corp.example", "taro@isp.example"}
    assert list(res.refused) == ["x@gmail.com"] and "not a lab destination" in res.refused["x@gmail.com"]
    assert "mx.corp.example" in res.server and "mail.isp.example" in res.server
    for rcpt in ("carol@corp.example", "taro@isp.example"):
        assert [m for m in lab.mailbox(rcpt).messages() if b"three domains" in m]


def test_a_second_lab_in_one_process_warns_and_stop_all_stops_both():
    """Re-running a notebook's "lab = lk.Lab().start()" cell leaves the old lab running
    (its threads keep it alive): the new one says so, and Lab.stop_all() ends both.
    In a fresh process, so that the labs of other tests' fixtures are not counted."""
    script = textwrap.dedent("""
        import threading
        import labkit as lk
        before = threading.active_count()
        first = lk.Lab().start()
        second = lk.Lab().start()
        assert lk.Lab.all_running() == [first, second]
        assert first.running is True  # (the property every Service has, not shadowed)
        print("stopped", lk.Lab.stop_all(), "running", lk.Lab.all_running(),
              "threads left", threading.active_count() - before)
        assert first.running is False and second.running is False
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["stopped", "2", "running", "[]", "threads", "left", "0"]
    warned = [line for line in out.stderr.splitlines() if "still running" in line]
    assert len(warned) == 1 and warned[0].startswith("labkit: 1 other lab is still running"), out.stderr
    assert "lk.Lab.stop_all()" in warned[0]


def test_endpoint_takes_a_host_name_and_names_the_cast_on_a_typo(lab):
    by_address = lab.endpoint(lab.hosts["smtp.isp.example"].address, 587)
    assert by_address is not None
    assert lab.endpoint("smtp.isp.example", 587) == by_address
    assert lab.endpoint("smtp.isp.example", 2525) is None  # no service on that port
    with pytest.raises(labkit.UnknownHost, match="smtp.isp.example"):
        lab.endpoint("smtp.isp.exmaple", 587)
