"""Lab 04, "A 7-bit hop breaks it too": run the section's own cells in a kernel and check
what its prose says they show.

- our MX with 8BITMIME switched off: brand.example's server re-encodes the 8-bit body
  (one step names it), and the signature made over the 8-bit octets fails;
- signed after ``lk.mta.downgrade.to_7bit``: nothing is re-encoded on the way and it passes;
- the section leaves the MX offering 8BITMIME again (later sections and re-runs rely on it).
"""

from __future__ import annotations

import pytest

from tests.notebooks.test_prose_facts_walk1 import _run
from tests.notebooks.test_prose_sources import _cell

pytestmark = [pytest.mark.slow, pytest.mark.notebook]


def test_lab04_a_7_bit_hop_breaks_the_signature_and_signing_7_bit_survives_it():
    out = _run("04-dkim", ["code-03", "code-30", "code-39a", "code-39b"], extra=(
        "print(mx.eightbitmime, 'Content-Transfer-Encoding: quoted-printable' in seven.decode())\n"
        "lab.stop(); lab_dns.stop()"))
    first = out["code-39a"]
    assert "re-encoded to 7 bits (RFC 6152 section 3)" in first and "['fail:brand.example']" in first, first
    assert out["code-39b"].strip() == "(1, [], ['pass:brand.example'])", out["code-39b"]
    assert out["extra"].strip() == "True True", out["extra"]
    before = _cell("04-dkim", "md-39a")
    after = _cell("04-dkim", "md-39b")
    assert "**8BITMIME** extension (RFC 6152)" in before, before
    assert "`ü` travelled as `=C3=BC`" in after and "the signature fails" in after, after
    assert "RFC 6376 (section 5.3): convert 8-bit mail to a 7-bit encoding **before** signing" in after, after
    assert "`5.6.3`" in _cell("04-dkim", "md-39c")
