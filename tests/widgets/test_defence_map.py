"""DefenceMap: choosing a hop shows the defences that act there."""

from __future__ import annotations

import labkit as lk


def test_choosing_a_hop_shows_its_defences():
    m = lk.widgets.DefenceMap()
    m.hop.value = "ISP network"
    assert [d.name for d in m.defences] == ["OP25B"]
    assert "OP25B" in m.detail.value and "587" in m.detail.value
    assert "<b style='background:#ffd'>[ISP network]</b>" in m.diagram.value
    m.hop.value = "receiving server"
    assert {"SPF / Sender ID", "DKIM / DomainKeys", "DMARC"} == {d.name for d in m.defences}
    assert "OP25B" not in m.detail.value
    assert "[receiving server]" in m.diagram.value and "[ISP network]" not in m.diagram.value


def test_sender_pc_has_no_defence_and_every_other_hop_has_one():
    m = lk.widgets.DefenceMap()
    assert m.hop.value == "sender's PC" and m.defences == ()
    assert "no defence acts here" in m.detail.value
    for name in list(m.hops)[1:]:
        m.hop.value = name
        assert m.defences, name
        assert all(f"lab {d.lab}" in m.detail.value for d in m.defences)
