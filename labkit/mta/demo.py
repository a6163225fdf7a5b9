"""``labkit demo``: the whole story of the course in a few seconds, headless.

Starts a lab and plays one scenario per defence: a legitimate signed mail, a forged
From, the alignment-break phish, a forwarded mail, a mailing-list mail, a bot on a
dynamic address, an open-relay attempt, an unknown recipient, a customer submitting
on port 587, and a cloud mail service sending for its customer.  Each row shows
what the MX (``mx.corp.example``) decided, next to the outcome the story expects.

Not used in the labs: the ``labkit demo`` command tells the story lab 00 (set-up) shows.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable
from typing import Any

from .accounts import default_password
from .sender import SendResult, make_message


@dataclasses.dataclass(frozen=True, kw_only=True)
class Row:
    """One scenario's outcome as seen by the receiving MX."""

    scenario: str
    client: str
    spf: str
    dkim: str
    dmarc: str
    arc: str
    disposition: str
    expected: str
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DemoResult:
    """All rows; ``ok`` when every scenario got its expected outcome."""

    rows: tuple[Row, ...]
    addressing: str
    seconds: float

    @property
    def ok(self) -> bool:
        """True when every scenario ended as the story expects."""
        return all(r.ok for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """This object as plain data (dicts, lists, strings, numbers) for JSON."""
        return {"ok": self.ok, "addressing": self.addressing, "seconds": round(self.seconds, 2),
                "rows": [r.to_dict() for r in self.rows]}

    COLUMNS = ("scenario", "client", "spf", "dkim", "dmarc", "arc", "disposition")

    def table(self) -> str:
        """The plain-text table ``labkit demo`` prints."""
        heads = ("scenario", "client address", "SPF", "DKIM", "DMARC", "ARC", "disposition", "")
        rows = [
            (r.scenario, r.client, r.spf, r.dkim, r.dmarc, r.arc, r.disposition,
             "ok" if r.ok else f"EXPECTED {r.expected}")
            for r in self.rows
        ]
        widths = [max(len(str(x)) for x in col) for col in zip(heads, *rows, strict=True)]

        def line(cells: Any) -> str:
            return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        out = [line(heads), line(["-" * w for w in widths])]
        out += [line(r) for r in rows]
        verdict = "every scenario got its expected outcome" if self.ok else "SOME SCENARIOS FAILED"
        out.append("")
        out.append(f"{verdict} ({self.addressing} addressing, {self.seconds:.1f} s)")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{c}</th>" for c in self.COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(getattr(r, c)))}</td>" for c in self.COLUMNS)
            + f"<td>{'✔' if r.ok else '✘ expected ' + html.escape(r.expected)}</td></tr>"
            for r in self.rows
        )
        return f"<table><tr>{head}<th></th></tr>{body}</table>"


def _mx_row(lab: Any, name: str, res: SendResult, expected: str) -> Row:
    """A row from the MX's verdict for ``res.message_id`` (or from the SMTP reply)."""
    found = lab.verdicts(res.message_id) if res.message_id else []
    if found:
        v = found[-1]
        dkim = ",".join(d.split(":")[0] for d in v.get("dkim") or []) or "none"
        action = v["decision"]
        disposition = {"INBOX": "delivered (INBOX)", "Junk": "quarantined (Junk)",
                       "reject": "rejected 550 5.7.1"}.get(action, action)
        return Row(scenario=name, client=v["client"], spf=v.get("spf") or "-", dkim=dkim,
                   dmarc=v.get("dmarc") or "-", arc=v.get("arc") or "-",
                   disposition=disposition, expected=expected,
                   ok=disposition.startswith(expected), detail=v.get("reason", ""))
    if res.status == "blocked":
        disposition = "blocked (OP25B)"
    elif res.code is not None:
        disposition = f"{res.status} {res.code}"
        stage = next((s.split(" ")[0] for s in res.steps if s.split(" -> ")[-1][:3] == str(res.code)), "")
        if stage in ("RCPT", "MAIL", "DATA"):
            disposition += f" at {stage}"
    else:
        disposition = res.status
    return Row(scenario=name, client=res.client, spf="-", dkim="-", dmarc="-", arc="-",
               disposition=disposition, expected=expected,
               ok=disposition.startswith(expected), detail=res.reply)


def scenarios() -> list[tuple[str, str, Callable[[Any], SendResult]]]:
    """(name, expected disposition prefix, action) for each story step."""

    def msg(from_: str, to: str, subject: str, body: str = "Hello from the lab.") -> bytes:
        return make_message(from_=from_, to=to, subject=subject, body=body)

    return [
        ("legitimate signed mail", "delivered",
         lambda lab: lab.send(msg("news@brand.example", "alice@corp.example", "Your invoice"),
                              from_host="mail.brand.example", dkim=True)),
        ("forged From, foreign address", "rejected 550 5.7.1",
         lambda lab: lab.send(msg("ceo@brand.example", "alice@corp.example", "Urgent transfer"),
                              from_host="mail.nospf.example")),
        ("alignment-break phish", "rejected 550 5.7.1",
         lambda lab: lab.send(msg('"Brand Security" <security@brand.example>',
                                  "alice@corp.example", "Verify your account"),
                              from_host="mail.attacker.test", mail_from="bounce@attacker.test",
                              dkim=True)),
        ("forwarded mail", "delivered",
         lambda lab: lab.send(msg("news@brand.example", "alice@fwd.example.net", "Forward me"),
                              from_host="mail.brand.example", dkim=True)),
        ("mailing-list mail", "delivered",
         lambda lab: lab.send(msg("news@brand.example", "lab-list@lists.example.org",
                                  "To the list"),
                              from_host="mail.brand.example", dkim=True)),
        ("bot on a dynamic address", "blocked (OP25B)",
         lambda lab: lab.send(msg("bot@isp.example", "alice@corp.example", "cheap pills"),
                              from_host="198.51.100.150")),
        ("unauthenticated relay attempt", "rejected 554 at RCPT",
         lambda lab: lab.send(msg("spam@attacker.test", "someone@brand.example", "relay me"),
                              from_host="mail.attacker.test", to_host="mx.corp.example")),
        ("unknown recipient", "rejected 550 at RCPT",
         lambda lab: lab.send(msg("news@brand.example", "nobody@corp.example", "Hello?"),
                              from_host="mail.brand.example", dkim=True)),
        ("customer submits on 587 with AUTH", "delivered",
         lambda lab: lab.submit(msg("taro@isp.example", "bob@corp.example", "From home"),
                                user="taro@isp.example",
                                password=default_password("taro@isp.example"))),
        ("cloud service for its customer", "delivered",
         lambda lab: lab.esp.send(msg("orders@shop.example", "carol@corp.example",
                                      "Your order"))),
    ]


def run(*, client_addressing: str = "auto", lab: Any = None) -> DemoResult:
    """Play every scenario on ``lab`` (a fresh one by default) and collect the rows."""
    import time

    from .lab import Lab

    t0 = time.perf_counter()
    own = lab is None
    if own:
        lab = Lab(client_addressing=client_addressing)
        lab.start()
    try:
        rows = []
        for name, expected, action in scenarios():
            res = action(lab)
            rows.append(_mx_row(lab, name, res, expected))
        return DemoResult(rows=tuple(rows), addressing=lab.client_addressing,
                          seconds=time.perf_counter() - t0)
    finally:
        if own:
            lab.stop()


__all__ = ["run", "scenarios", "DemoResult", "Row"]
