"""8-bit mail and a server without 8BITMIME (RFC 6152 section 3): the client converts the
body to 7 bits, or does not send and says why (5.6.3), in real SMTP sessions over loopback.

Each lab test here failed on the code before the change (the 8-bit octets went out as
they were, and the switched-off server still offered 8BITMIME).
"""

from __future__ import annotations

import email
import email.policy
import uuid

import pytest

from labkit.mta.downgrade import CannotConvert, to_7bit

from .conftest import Dialogue, raw_connect

MX = "mx.corp.example"
BRAND = "192.0.2.10"  # mail.brand.example
BOB = "bob@corp.example"


def _leaves(raw: bytes) -> list[bytes | None]:
    """The decoded content of every leaf part, line ends made CRLF (as SMTP carries them)."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        data = part.get_payload(decode=True)
        out.append(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") if data else data)
    return out


def _eight_bit_fields(raw: bytes) -> set[str]:
    """Names of the top-level header fields whose text (continuation lines included)
    holds 8-bit octets."""
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    fields: list[list[bytes]] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        else:
            fields.append([line])
    return {f[0].split(b":", 1)[0].decode("latin-1") for f in fields
            if not b"".join(f).isascii()}


def _eight_bit(subject: str, to: str = "carol@corp.example") -> bytes:
    return (f"From: news@brand.example\r\nTo: {to}\r\nSubject: {subject}\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
            "Gr\u00fc\u00dfe aus dem Labor = 100 %\r\ntrailing blanks   \r\n").encode()


# -- to_7bit on hand-made messages --------------------------------------------------------

def test_a_text_part_becomes_quoted_printable_with_the_same_text_and_headers():
    raw = _eight_bit("hello")
    out, parts = to_7bit(raw)
    assert parts == 1 and out.isascii()
    head, _, body = out.partition(b"\r\n\r\n")
    old_head = raw.partition(b"\r\n\r\n")[0]
    assert head == old_head.replace(b"Content-Transfer-Encoding: 8bit",
                                    b"Content-Transfer-Encoding: quoted-printable")
    assert b"Gr=C3=BC=C3=9Fe" in body and b"=3D" in body and b"=20" in body
    assert _leaves(out) == _leaves(raw)


def test_a_binary_attachment_becomes_base64_and_the_multipart_label_7bit():
    raw = (b"From: a@brand.example\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=XX\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           b"--XX\r\nContent-Type: text/plain\r\n\r\nascii only\r\n"
           b"--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
           b"\r\n\x00\xff\xfe\x80abc\r\n--XX--\r\n")
    out, parts = to_7bit(raw)
    assert parts == 1 and out.isascii()
    assert b"Content-Transfer-Encoding: 7bit" in out.split(b"\r\n\r\n")[0]
    assert b"Content-Transfer-Encoding: base64\r\n\r\nAP/+gGFiYw==\r\n--XX" in out
    assert b"\r\n--XX\r\nContent-Type: text/plain\r\n\r\nascii only\r\n" in out  # untouched
    assert _leaves(out) == _leaves(raw)


def test_seven_bit_mail_is_returned_as_it_is():
    raw = b"From: a@brand.example\r\nSubject: x\r\n\r\nplain\r\n"
    assert to_7bit(raw) == (raw, 0)


@pytest.mark.parametrize("raw, named", [
    ("From: a@brand.example\r\nSubject: Gr\u00fc\u00dfe\r\n\r\nhi\r\n".encode(), "Subject header"),
    (b"From: a@brand.example\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: base64\r\n\r\n"
     b"aGVsbG8\xe9\r\n", "declared base64"),
    (b"From: a@brand.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n"
     b"\r\npr\xe9amble\r\n--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--\r\n", "preamble"),
])
def test_what_cannot_be_converted_is_refused_with_the_reason(raw, named):
    with pytest.raises(CannotConvert, match=named):
        to_7bit(raw)


def test_text_is_refused_with_a_type_error():
    with pytest.raises(TypeError, match="raw must be the message as bytes, not str"):
        to_7bit("From: a@brand.example\r\n\r\nhi\r\n")


def test_every_8_bit_corpus_message_converts_to_the_same_content_or_names_its_8_bit_header(
        corpus_dir):
    from labkit.filters import corpus

    converted = refused = 0
    for m in corpus.load(corpus_dir):
        raw = m.raw.split(b"\n", 1)[1] if m.raw.startswith(b"From ") else m.raw
        if raw.isascii():
            continue
        try:
            out, parts = to_7bit(raw)
        except CannotConvert as exc:
            name = str(exc).split(" header")[0].rsplit(" ", 1)[-1]
            assert name in _eight_bit_fields(raw), (m.name, str(exc))
            refused += 1
            continue
        assert out.isascii() and parts >= 1, m.name
        assert _leaves(out) == _leaves(raw), m.name
        converted += 1
    assert converted > 400 and refused > 0  # the corpus holds both kinds (467 and 47 today)


def test_damaged_corpus_messages_convert_to_ascii_or_are_refused_never_crash(corpus_dir):
    import random

    from labkit.filters import corpus

    rng = random.Random(7)
    messages = [m.raw for m in corpus.load(corpus_dir)]
    pieces = [b"\r\n", b"\n\n", b"--", b"=?", b"\xff\xfe", b"Content-Transfer-Encoding: base64\n",
              b"Content-Type: multipart/mixed; boundary=x\n", b"Content-Type: message/rfc822\n\n"]
    outcomes = {"converted": 0, "refused": 0}
    for _ in range(1000):
        raw = bytearray(rng.choice(messages))
        for _ in range(rng.randint(1, 20)):  # insert a byte, cut a run, or insert a MIME piece
            op, at = rng.random(), rng.randrange(len(raw) + 1)
            if op < 0.4:
                raw[at:at] = bytes([rng.randrange(256)])
            elif op < 0.7:
                del raw[at:at + rng.randint(1, 50)]
            else:
                raw[at:at] = rng.choice(pieces)
        try:
            out, _ = to_7bit(bytes(raw))
        except CannotConvert:
            outcomes["refused"] += 1
            continue
        assert out.isascii()
        outcomes["converted"] += 1
    assert min(outcomes.values()) > 100, outcomes  # both paths were exercised


# -- in the lab: a server switched to 7 bits ----------------------------------------------

@pytest.fixture
def seven_bit_mx(lab):
    server = lab.server(MX)
    server.eightbitmime = False
    yield server
    server.eightbitmime = True


def _tag() -> str:
    return uuid.uuid4().hex[:12]


def test_the_switched_off_server_offers_no_8bitmime_and_refuses_body_8bitmime(lab, seven_bit_mx):
    d = Dialogue(raw_connect(lab, BRAND, MX))
    try:
        d.reply()
        ehlo = d.cmd("EHLO mail.brand.example")
        assert "250-ENHANCEDSTATUSCODES" in ehlo and "8BITMIME" not in ehlo, ehlo
        reply = d.cmd("MAIL FROM:<news@brand.example> BODY=8BITMIME")
        assert reply.startswith("555 5.5.4 ") and "BODY=8BITMIME" in reply, reply
        assert d.cmd("MAIL FROM:<news@brand.example> BODY=7BIT").startswith("250 ")
    finally:
        d.close()
    seven_bit_mx.eightbitmime = True
    d = Dialogue(raw_connect(lab, BRAND, MX))
    try:
        d.reply()
        assert "250-8BITMIME" in d.cmd("EHLO mail.brand.example")  # back on: offered again
    finally:
        d.close()


def test_8_bit_mail_to_a_7_bit_server_arrives_converted_and_its_dkim_signature_breaks(
        lab, seven_bit_mx):
    subject = f"8bit to 7bit {_tag()}"
    raw = _eight_bit(subject)
    res = lab.send(raw, from_host="mail.brand.example", dkim=True)
    assert res.status == "sent", res.steps
    assert any("no 8BITMIME at mx.corp.example: 1 8-bit body part(s) re-encoded" in s
               for s in res.steps), res.steps
    assert not any("BODY=8BITMIME" in s for s in res.steps), res.steps
    box = lab.mailbox("carol@corp.example")
    (stored,) = [m for f in ("INBOX", "Junk") for m in box.messages(f) if subject.encode() in m]
    assert stored.isascii() and b"Content-Transfer-Encoding: quoted-printable" in stored
    assert _leaves(stored)[-1] == _leaves(raw)[-1]  # the same text, decoded
    results = email.message_from_bytes(stored, policy=email.policy.default)
    ours = [v for v in results.get_all("Authentication-Results") if v.startswith(MX)]
    assert ours and "dkim=fail" in ours[0], ours  # the body hash covers the 8-bit body


def test_8_bit_headers_are_not_sent_to_a_7_bit_server(lab, seven_bit_mx):
    subject = f"Gr\u00fc\u00dfe {_tag()}"
    before = len(lab.events.entries(host=MX, event="verdict"))
    res = lab.send(_eight_bit(subject), from_host="mail.brand.example")
    assert res.status == "rejected" and res.code is None, res
    assert res.reply.startswith("5.6.3 Conversion required but not supported: 8-bit octets in "
                                "the Subject header"), res.reply
    assert not any(s.startswith("MAIL FROM") for s in res.steps), res.steps
    assert len(lab.events.entries(host=MX, event="verdict")) == before  # nothing arrived


def test_a_relay_that_cannot_convert_bounces_with_5_6_3_and_the_bounce_is_converted(
        lab, seven_bit_mx):
    # bob -> alice@fwd.example.net (8BITMIME offered) -> alice@corp.example (7 bits only):
    # the forwarder cannot send the 8-bit Subject on, so bob gets a DSN, itself 8-bit (it
    # quotes the headers) and so converted on its way to the same 7-bit MX
    tag = _tag()
    raw = _eight_bit(f"Gr\u00fc\u00dfe {tag}", to="alice@fwd.example.net")
    res = lab.send(raw, from_host=MX, mail_from=BOB)
    assert res.status == "sent" and res.server == "mx.fwd.example.net", res
    relay = [e for e in lab.events.entries(host="mx.fwd.example.net", event="forward")
             if e["mail_from"] == BOB][-1]
    assert relay["decision"] == "rejected", relay
    assert relay["reason"].startswith("5.6.3 Conversion required but not supported"), relay
    box = lab.mailbox(BOB)
    (dsn,) = [m for f in ("INBOX", "Junk") for m in box.messages(f)
              if b"multipart/report" in m and tag.encode() in m]
    assert dsn.isascii()
    report = email.message_from_bytes(dsn, policy=email.policy.default)
    (status,) = [p for p in report.walk() if p.get_content_type() == "message/delivery-status"]
    assert status.get_payload()[1]["Status"] == "5.6.3"
    (quoted,) = [p for p in report.walk() if p.get_content_type() == "text/rfc822-headers"]
    assert f"Subject: Gr\u00fc\u00dfe {tag}".encode() in quoted.get_payload(decode=True)


def test_the_switch_takes_true_or_false_only(lab):
    server = lab.server(MX)
    with pytest.raises(TypeError, match="eightbitmime must be True or False, not 'no'"):
        server.eightbitmime = "no"  # would otherwise keep 8BITMIME offered without a word
    assert server.eightbitmime is True
