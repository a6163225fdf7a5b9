"""The lab's servers as mail admins test them: swaks and curl, not Python's smtplib/poplib.

Our other tests speak SMTP and POP3 through the stdlib, which shares assumptions with
our code.  Here two independent clients (``swaks`` and ``curl``, run as processes)
talk to a real Lab: the MX (``mx.corp.example``), the submission service
(``smtp.isp.example``, port 587 role: STARTTLS, SMTP-AUTH) and the POP3 servers (POP
before SMTP at ``mail.isp.example``).  Reply codes are checked against RFC 5321, 3207,
4954, 3463 and 1939; stored messages byte for byte (the lab's own header lines aside).
Each client binds the loopback alias of a lab address, so the server sees that host.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import uuid
from pathlib import Path

import pytest

from labkit import net
from labkit.mta.lab import ISP_MTA, ISP_SUBMISSION, MX
from tests.conftest import require_tool

BRAND = "192.0.2.10"  # mail.brand.example: SPF pass, DMARC pass for ceo@brand.example
CUSTOMER = "198.51.100.140"  # a PC in the ISP's dynamic pool


@pytest.fixture(scope="module")
def tools() -> dict[str, str]:
    return {"swaks": require_tool("swaks"), "curl": require_tool("curl")}


@pytest.fixture(scope="module")
def ca_file(lab, tmp_path_factory) -> Path:
    if lab.client_addressing != "alias":
        pytest.skip("swaks and curl bind loopback aliases here (Linux); this lab uses PROXY")
    path = tmp_path_factory.mktemp("independent") / "lab-ca.pem"
    path.write_bytes(lab.ca_pem)
    return path


def _port(lab, host: str, port: int) -> str:
    return str(lab.server(host, port).address[1])


def swaks(lab, tools, *args: str, client: str = BRAND, host: str = MX, port: int = 25,
          helo: str = "mail.brand.example") -> subprocess.CompletedProcess:
    """Run swaks against ``host``:``port`` as the lab address ``client``."""
    cmd = [tools["swaks"], "--server", "127.0.0.1", "--port", _port(lab, host, port),
           "--local-interface", net.to_loopback(client), "--helo", helo,
           "--timeout", "10", *args]
    return subprocess.run(cmd, capture_output=True, timeout=60, check=False)


def transcript(proc: subprocess.CompletedProcess) -> str:
    """What swaks or curl -v printed: the server's lines start with ``<``."""
    return (proc.stdout + proc.stderr).decode("utf-8", "replace")


def curl(tools, *args: str, client: str = CUSTOMER) -> subprocess.CompletedProcess:
    cmd = [tools["curl"], "-sS", "-v", "--max-time", "20",
           "--interface", net.to_loopback(client), *args]
    return subprocess.run(cmd, capture_output=True, timeout=60, check=False)


def stored(lab, address: str, marker: bytes) -> list[bytes]:
    """The messages in ``address``'s INBOX or Junk that contain ``marker``."""
    box = lab.mailbox(address)
    return [m for folder in ("INBOX", "Junk") for m in box.messages(folder) if marker in m]


def message(marker: str, body: bytes = b"hello\r\n", sender: str = "ceo@brand.example",
            to: str = "alice@corp.example") -> bytes:
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: independent client test\r\n"
            f"Message-ID: <{marker}@test.example>\r\n\r\n").encode() + body


def data_file(tmp_path: Path, msg: bytes) -> str:
    """A swaks ``--data`` file sent as is (``--no-data-fixup``): dot-stuffed, with the end
    dot (swaks adds the final CRLF)."""
    stuffed = b"".join((b"." + line if line.startswith(b".") else line)
                       for line in msg.splitlines(keepends=True))
    path = tmp_path / "data.eml"
    path.write_bytes(stuffed + b".")
    return f"@{path}"


# -- the MX ---------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    "eight-bit",
    "one-megabyte",
])
def test_swaks_message_is_stored_byte_for_byte(lab, tools, ca_file, tmp_path, body):
    marker = uuid.uuid4().hex
    if body == "eight-bit":
        text = ("caf\u00e9 \u65e5\u672c\u8a9e\r\n.a line that starts with a dot\r\n"
                "..two dots\r\n").encode() + b"\xff not UTF-8 at all\r\n"
    else:
        text = b"".join(b"%07d %s\r\n" % (i, b"x" * 80) for i in range(12_000))
    msg = message(marker, text)
    proc = swaks(lab, tools, "--from", "ceo@brand.example", "--to", "alice@corp.example",
                 "--data", data_file(tmp_path, msg), "--no-data-fixup", "--hide-send")
    assert proc.returncode == 0, transcript(proc)
    assert "<-  250 2.0.0 Ok: queued as" in transcript(proc)
    [copy] = stored(lab, "alice@corp.example", marker.encode())
    assert copy.endswith(msg)  # only the lab's own lines (Received, results) in front
    assert copy.startswith(b"Return-Path: <ceo@brand.example>\r\nReceived: from mail.brand.example")


@pytest.mark.parametrize("options", [["--pipeline"], ["--protocol", "SMTP"]])
def test_swaks_pipeline_and_helo(lab, tools, ca_file, options):
    marker = uuid.uuid4().hex
    proc = swaks(lab, tools, "--from", "ceo@brand.example", "--to", "bob@corp.example",
                 "--header", f"Message-ID: <{marker}@test.example>", *options)
    out = transcript(proc)
    assert proc.returncode == 0, out
    [copy] = stored(lab, "bob@corp.example", marker.encode())
    if "SMTP" in options:  # HELO: a plain 250 with our name, and "with SMTP" (RFC 3848)
        assert "-> HELO mail.brand.example" in out and "<-  250 mx.corp.example" in out
        assert b"with SMTP id" in copy
    else:
        assert b"with ESMTP id" in copy


def test_swaks_bare_lf_is_refused(lab, tools, ca_file, tmp_path):
    marker = uuid.uuid4().hex
    msg = message(marker, b"line one\nline two\r\n")
    proc = swaks(lab, tools, "--from", "ceo@brand.example", "--to", "alice@corp.example",
                 "--data", data_file(tmp_path, msg), "--no-data-fixup")
    assert "<** 550 5.5.2 " in transcript(proc), transcript(proc)
    assert stored(lab, "alice@corp.example", marker.encode()) == []


def test_swaks_one_of_three_recipients_unknown(lab, tools, ca_file):
    marker = uuid.uuid4().hex
    proc = swaks(lab, tools, "--from", "ceo@brand.example",
                 "--to", "alice@corp.example,nobody@corp.example,carol@corp.example",
                 "--header", f"Message-ID: <{marker}@test.example>")
    out = transcript(proc)
    assert "<** 550 5.1.1 <nobody@corp.example>: Recipient address rejected" in out, out
    assert "<-  250 2.0.0 Ok: queued as" in out
    for rcpt in ("alice@corp.example", "carol@corp.example"):
        assert len(stored(lab, rcpt, marker.encode())) == 1


def test_swaks_relay_attempt_is_refused(lab, tools, ca_file):
    proc = swaks(lab, tools, "--from", "ceo@brand.example", "--to", "someone@shop.example")
    out = transcript(proc)
    # 5.7.1 "delivery not authorized" (RFC 3463); 554 as Postfix's relay_domains_reject_code
    assert "<** 554 5.7.1 <someone@shop.example>: Relay access denied" in out, out
    assert proc.returncode == 24  # swaks: no recipient was accepted
    assert "-> DATA" not in out


def test_swaks_bare_postmaster_is_accepted(lab, tools, ca_file):
    """RFC 5321 section 4.5.1: ``RCPT TO:<Postmaster>`` (no domain) MUST be accepted."""
    marker = uuid.uuid4().hex
    proc = swaks(lab, tools, "--from", "ceo@brand.example", "--to", "Postmaster",
                 "--header", f"Message-ID: <{marker}@test.example>")
    out = transcript(proc)
    assert "-> RCPT TO:<Postmaster>" in out and proc.returncode == 0, out
    assert len(stored(lab, "postmaster@corp.example", marker.encode())) == 1


@pytest.mark.parametrize("stop", ["connect", "banner", "first-helo", "helo", "mail", "rcpt"])
def test_swaks_quit_after(lab, tools, ca_file, stop):
    marker = uuid.uuid4().hex
    proc = swaks(lab, tools, "--from", "ceo@brand.example", "--to", "alice@corp.example",
                 "--header", f"Message-ID: <{marker}@test.example>", "--quit-after", stop)
    out = transcript(proc)
    assert proc.returncode == 0, out
    assert "<-  220 mx.corp.example" in out and "<-  221 " in out
    assert stored(lab, "alice@corp.example", marker.encode()) == []


def test_swaks_drop_after_data_then_server_still_serves(lab, tools, ca_file):
    marker = uuid.uuid4().hex
    swaks(lab, tools, "--from", "ceo@brand.example", "--to", "alice@corp.example",
          "--header", f"Message-ID: <{marker}@test.example>", "--drop-after", "data")
    assert stored(lab, "alice@corp.example", marker.encode()) == []  # no end of data: nothing
    proc = swaks(lab, tools, "--from", "ceo@brand.example", "--to", "alice@corp.example")
    assert proc.returncode == 0, transcript(proc)


def test_pipelined_rset_drops_the_first_transaction(lab, ca_file):
    """Commands in one write, as a pipelining client sends them; RSET forgets alice."""
    marker = uuid.uuid4().hex
    with socket.create_connection(lab.server(MX).address, timeout=10,
                                  source_address=(net.to_loopback(BRAND), 0)) as sock:
        f = sock.makefile("rb")
        sock.sendall(b"EHLO mail.brand.example\r\nMAIL FROM:<ceo@brand.example>\r\n"
                     b"RCPT TO:<alice@corp.example>\r\nRSET\r\nMAIL FROM:<ceo@brand.example>\r\n"
                     b"RCPT TO:<carol@corp.example>\r\nDATA\r\n")
        replies = [f.readline() for _ in range(12)]  # 220, 5 EHLO lines, 5 x 250, 354
        sock.sendall(message(marker, to="carol@corp.example") + b".\r\nQUIT\r\n")
        replies += [f.readline(), f.readline()]
    codes = [r[:4] for r in replies if r[3:4] == b" "]
    assert codes == [b"220 ", b"250 ", b"250 ", b"250 ", b"250 ", b"250 ", b"250 ", b"354 ",
                     b"250 ", b"221 "], replies
    assert len(stored(lab, "carol@corp.example", marker.encode())) == 1
    assert stored(lab, "alice@corp.example", marker.encode()) == []


# -- submission (port 587 role) ---------------------------------------------------------

def submit_args(ca_file: Path, *extra: str) -> list[str]:
    return ["--from", "taro@isp.example", "--to", "alice@corp.example", "--tls",
            "--tls-verify", "--tls-ca-path", str(ca_file), *extra]


def swaks_submit(lab, tools, ca_file, *extra: str) -> subprocess.CompletedProcess:
    return swaks(lab, tools, *submit_args(ca_file, *extra), client=CUSTOMER,
                 host=ISP_SUBMISSION, port=587, helo="pc.isp.example")


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_swaks_submission_auth(lab, tools, ca_file, mechanism):
    marker = uuid.uuid4().hex
    proc = swaks_submit(lab, tools, ca_file, "--auth", mechanism,
                        "--auth-user", "taro@isp.example", "--auth-password", "taro-pass",
                        "--header", f"Message-ID: <{marker}@test.example>")
    out = transcript(proc)
    assert proc.returncode == 0, out
    assert "<~  235 2.7.0 Authentication successful" in out  # RFC 4954 section 6
    assert "<-  250-AUTH" not in out  # AUTH offered only inside TLS
    assert "<~  250-AUTH LOGIN PLAIN" in out
    [copy] = stored(lab, "alice@corp.example", marker.encode())
    assert b"(Authenticated sender: taro@isp.example)" in copy


def test_swaks_submission_refusals(lab, tools, ca_file):
    wrong = swaks_submit(lab, tools, ca_file, "--auth", "PLAIN",
                         "--auth-user", "taro@isp.example", "--auth-password", "nope")
    assert "<~* 535 5.7.8 Authentication credentials invalid" in transcript(wrong)
    cram = swaks_submit(lab, tools, ca_file, "--auth", "CRAM-MD5",
                        "--auth-user", "taro@isp.example", "--auth-password", "taro-pass")
    assert "requested type not available" in transcript(cram)  # not offered, not tried
    anonymous = swaks_submit(lab, tools, ca_file)
    assert "<~* 530 5.7.0 Authentication required" in transcript(anonymous)  # RFC 4954
    plain = swaks(lab, tools, "--from", "taro@isp.example", "--to", "alice@corp.example",
                  client=CUSTOMER, host=ISP_SUBMISSION, port=587, helo="pc.isp.example")
    assert "<** 530 5.7.0 Must issue a STARTTLS command first" in transcript(plain)  # RFC 3207


def curl_submit(lab, tools, ca_file, tmp_path, *extra: str, marker: str = "") -> \
        subprocess.CompletedProcess:
    msg = tmp_path / "curl.eml"
    msg.write_bytes(message(marker or uuid.uuid4().hex, b"from curl\r\n.dot line\r\n",
                            sender="taro@isp.example"))
    return curl(tools, f"smtp://127.0.0.1:{_port(lab, ISP_SUBMISSION, 587)}", "--ssl-reqd",
                "--cacert", str(ca_file), "--mail-rcpt", "alice@corp.example",
                "--upload-file", str(msg), *extra)


@pytest.mark.parametrize("login", ["AUTH=PLAIN", "AUTH=LOGIN"])
def test_curl_submission(lab, tools, ca_file, tmp_path, login):
    marker = uuid.uuid4().hex
    proc = curl_submit(lab, tools, ca_file, tmp_path, "--mail-from", "taro@isp.example",
                       "--user", "taro@isp.example:taro-pass", "--login-options", login,
                       "--sasl-ir", marker=marker)
    out = transcript(proc)
    assert proc.returncode == 0, out
    assert "< 235 2.7.0" in out
    [copy] = stored(lab, "alice@corp.example", marker.encode())
    assert copy.endswith(message(marker, b"from curl\r\n.dot line\r\n", sender="taro@isp.example"))


def test_curl_submission_mail_auth_parameter(lab, tools, ca_file, tmp_path):
    """``MAIL FROM:<...> AUTH=<...>`` (RFC 4954 section 5) is accepted where AUTH is offered
    (aiosmtpd answered 555, so curl --mail-auth, or a relaying Postfix, could not send)."""
    for value in ("taro@isp.example", ""):
        proc = curl_submit(lab, tools, ca_file, tmp_path, "--mail-from", "taro@isp.example",
                           "--user", "taro@isp.example:taro-pass", "--mail-auth", value)
        out = transcript(proc)
        assert f"> MAIL FROM:<taro@isp.example> AUTH=<{value}>" in out, out
        assert proc.returncode == 0, out


def test_curl_submission_refusals(lab, tools, ca_file, tmp_path):
    wrong = curl_submit(lab, tools, ca_file, tmp_path, "--mail-from", "taro@isp.example",
                        "--user", "taro@isp.example:nope")
    assert wrong.returncode == 67 and "< 535 5.7.8" in transcript(wrong)  # curl: login denied
    anonymous = curl_submit(lab, tools, ca_file, tmp_path, "--mail-from", "taro@isp.example")
    assert anonymous.returncode == 55 and "< 530 5.7.0" in transcript(anonymous)
    other = curl_submit(lab, tools, ca_file, tmp_path, "--mail-from", "ceo@brand.example",
                        "--user", "taro@isp.example:taro-pass")
    assert other.returncode == 55 and "< 553 5.7.1 <ceo@brand.example>" in transcript(other)


def tls_dialogue(lab, ca_file, commands: list[str]) -> list[str]:
    """The final reply line to each of ``commands``, sent one by one after STARTTLS."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with socket.create_connection(lab.server(ISP_SUBMISSION, 587).address, timeout=10,
                                  source_address=(net.to_loopback(CUSTOMER), 0)) as raw:
        f = raw.makefile("rb")
        raw.sendall(b"EHLO pc.isp.example\r\nSTARTTLS\r\n")
        while not f.readline().startswith(b"220 2.0.0 Ready"):
            pass
        with context.wrap_socket(raw, server_hostname=ISP_SUBMISSION) as tls:
            f = tls.makefile("rb")
            replies = []
            for command in commands:
                tls.sendall(command.encode() + b"\r\n")
                line = f.readline()
                while line[3:4] == b"-":
                    line = f.readline()
                replies.append(line.decode().rstrip())
    return replies


AUTH_PLAIN = "AUTH PLAIN AHRhcm9AaXNwLmV4YW1wbGUAdGFyby1wYXNz"  # taro@isp.example


def test_auth_before_ehlo_after_starttls(lab, ca_file):
    """STARTTLS resets the session (RFC 3207): AUTH before the new EHLO is a bad sequence."""
    [reply] = tls_dialogue(lab, ca_file, [AUTH_PLAIN])
    assert reply.startswith("503 "), reply


def test_malformed_mail_auth_parameter(lab, ca_file):
    """AUTH= takes ``<>`` or an xtext (RFC 4954 section 5, RFC 3461): else 501, once."""
    replies = tls_dialogue(lab, ca_file, [
        "EHLO pc.isp.example", AUTH_PLAIN,
        "MAIL FROM:<taro@isp.example> AUTH=taro+zz",  # '+' must start a hex pair
        "MAIL FROM:<taro@isp.example> AUTH=<> AUTH=<>",
        "MAIL FROM:<taro@isp.example> AUTH=taro+40isp.example BODY=8BITMIME"])
    assert [r[:10] for r in replies] == ["250 HELP", "235 2.7.0 ", "501 5.5.4 ", "501 5.5.4 ",
                                         "250 2.1.0 "], replies


# -- POP3 and POP before SMTP -----------------------------------------------------------

def test_curl_pop3_list_and_retrieve(lab, tools, ca_file, tmp_path):
    marker = uuid.uuid4().hex
    msg = message(marker, b"line\r\n.starts with a dot\r\n", to="dmarc@corp.example")
    proc = swaks(lab, tools, "--from", "ceo@brand.example", "--to", "dmarc@corp.example",
                 "--data", data_file(tmp_path, msg), "--no-data-fixup")
    assert proc.returncode == 0, transcript(proc)
    box = lab.mailbox("dmarc@corp.example")
    [key] = [k for k in box.keys() if marker.encode() in box.get(k)]
    index = box.keys().index(key) + 1
    url = f"pop3://127.0.0.1:{_port(lab, MX, 110)}/"
    login = ["--user", "dmarc@corp.example:dmarc-pass"]
    listing = curl(tools, url, *login)
    assert listing.returncode == 0, transcript(listing)
    assert f"{index} {len(box.get(key))}\r\n".encode() in listing.stdout  # RFC 1939 octets
    retr = curl(tools, f"{url}{index}", *login)
    assert retr.returncode == 0 and retr.stdout == box.get(key)  # dot-unstuffed by curl
    assert retr.stdout.endswith(msg)
    wrong = curl(tools, url, "--user", "dmarc@corp.example:nope")
    assert wrong.returncode == 67 and "< -ERR" in transcript(wrong)


def test_curl_pop_login_opens_relay_window(lab, tools, ca_file):
    client = "198.51.100.141"  # a pool address of its own: no window open yet
    relay = ["--from", "taro@isp.example", "--to", "someone@shop.example", "--quit-after", "rcpt"]
    before = swaks(lab, tools, *relay, client=client, host=ISP_MTA, helo="pc.isp.example")
    assert "<** 554 5.7.1 <someone@shop.example>: Relay access denied" in transcript(before)
    pop = curl(tools, f"pop3://127.0.0.1:{_port(lab, ISP_MTA, 110)}/",
               "--user", "taro@isp.example:taro-pass", client=client)
    assert pop.returncode == 0, transcript(pop)
    after = swaks(lab, tools, *relay, client=client, host=ISP_MTA, helo="pc.isp.example")
    out = transcript(after)
    assert "-> RCPT TO:<someone@shop.example>\n<-  250 " in out.replace("\r\n", "\n"), out
