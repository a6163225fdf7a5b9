"""A DMARC record shows as a table in a notebook, its warnings in full.

Lab 05 shows records three times (brand.example's, pct.dmarc.test's, a recorded real one);
each was a ~360-character dataclass repr, and the pct warning the prose points to sat at
its very end.
"""

from __future__ import annotations

import html

import labkit as lk
import labkit.grading


def test_a_record_renders_its_tags_and_its_warnings(lab_dns):
    rec = lk.auth.dmarc.discover("pct.dmarc.test", dns=lab_dns).record
    shown = rec._repr_html_()
    assert rec.text in shown
    assert "<td><code>p</code></td><td>reject</td>" in shown
    assert "<td><code>sp</code></td><td><i>not set</i></td>" in shown  # unset is not "none"
    assert rec.warnings and all(w in shown for w in rec.warnings), shown
    broken = lk.auth.dmarc.parse_record("v=DMARC1; p=rejekt; sp=<none>")
    shown = broken._repr_html_()
    assert broken.errors and all(html.escape(e) in shown for e in broken.errors), shown
    assert "<td><code>p</code></td><td><i>invalid</i> (<code>rejekt</code>)" in shown


def test_lab_05_shows_the_pct_warning_in_its_table(source_run):
    lab = next(x for x in labkit.grading.find_labs() if x.assignment_id == "05-dmarc")
    cell = next(c for c in source_run(lab.notebook).executed.cells if c.get("id") == "code-23")
    [html] = [o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]
    assert "pct" in html and "warning" in html and "RFC 9989" in html, html
