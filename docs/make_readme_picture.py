"""Render the README picture: the table ``labkit demo`` prints, as docs/img/labkit-demo.png.

Runs the real demo (the lab's DNS and mail hosts on loopback, ten mails sent and
judged by the receiving MX) through the ``labkit demo --json`` command and draws its
rows as a coloured table. Re-run after changing the demo::

    python docs/make_readme_picture.py
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OUT = Path(__file__).resolve().parent / "img" / "labkit-demo.png"
COLUMNS = (("scenario", "scenario"), ("client", "client address"), ("spf", "SPF"),
           ("dkim", "DKIM"), ("dmarc", "DMARC"), ("arc", "ARC"), ("disposition", "disposition"))
#: the columns whose values do not depend on the machine (the client address does: aliases or
#: the PROXY fallback); the PNG keeps them as text for tests/delivery/test_first_impression.py
CHECKED = ("scenario", "spf", "dkim", "dmarc", "arc", "disposition")
GOOD, BAD, PLAIN, HEAD = "#d9f2d9", "#f8d4d4", "#ffffff", "#e8e8f0"


def demo_rows() -> dict:
    """The JSON that ``labkit demo --json`` prints."""
    from labkit.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["demo", "--json"])
    if code != 0:
        raise SystemExit(f"labkit demo failed (exit {code}):\n{buf.getvalue()}")
    return json.loads(buf.getvalue())


def colour(key: str, value: str) -> str:
    """Green for a pass or a delivery, red for a fail or a refusal, white otherwise."""
    value = value.lower()
    if key in ("spf", "dkim", "dmarc", "arc"):
        return GOOD if value == "pass" else BAD if value in ("fail", "permerror") else PLAIN
    if key == "disposition":
        return GOOD if value.startswith("delivered") else BAD
    return PLAIN


def render(result: dict, out: Path = OUT) -> Path:
    """Draw the demo's rows as a table image at ``out``."""
    rows = result["rows"]
    cells = [[str(r[k]) for k, _ in COLUMNS] for r in rows]
    colours = [[colour(k, str(r[k])) for k, _ in COLUMNS] for r in rows]
    heads = [h for _, h in COLUMNS]
    chars = [max(len(h), *(len(row[i]) for row in cells)) + 2 for i, h in enumerate(heads)]
    fig, ax = plt.subplots(figsize=(0.095 * sum(chars), 0.3 * (len(rows) + 1)), dpi=150)
    ax.axis("off")
    table = ax.table(cellText=cells, cellColours=colours, colLabels=heads,
                     colColours=[HEAD] * len(COLUMNS), colWidths=[c / sum(chars) for c in chars],
                     cellLoc="left", bbox=[0, 0, 1, 1])
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    for (_, col), cell in table.get_celld().items():
        cell.PAD = 0.8 / chars[col]  # matplotlib's padding is a fraction of the cell's width
    ax.set_title(f"labkit demo: {len(rows)} mails across the lab Internet, "
                 "as the receiving MX judged them", fontsize=10, loc="left")
    out.parent.mkdir(parents=True, exist_ok=True)
    # what the picture shows, as text in the PNG, so a test can tell when the demo has moved on
    shown = [[str(r[k]) for k in CHECKED] for r in rows]
    fig.savefig(out, bbox_inches="tight",
                metadata={"Software": None, "Description": json.dumps(shown, ensure_ascii=False)})
    plt.close(fig)
    return out


def main() -> int:
    result = demo_rows()
    if not result["ok"]:
        print("warning: some demo scenarios did not get their expected outcome", file=sys.stderr)
    print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
