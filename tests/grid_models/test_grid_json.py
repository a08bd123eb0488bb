"""A pandapower JSON network with a device mapping behaves like the network it was saved from."""

from __future__ import annotations

from pathlib import Path

import pandapower as pp
import pytest

from grid_models import NetworkLimits, NetworkModelError, ParkNetwork, snapshot


def test_json_network_with_mapping(demo_pn: ParkNetwork, demo_op: dict[str, float], tmp_path: Path) -> None:
    path = tmp_path / "park.json"
    pp.to_json(demo_pn.net, str(path))
    mapping = {d: list(t) for d, t in demo_pn.elements.items()}  # as it would come from a JSON/YAML file
    pn = ParkNetwork.from_pandapower_json(path, mapping, limits=demo_pn.limits)
    assert pn.elements == demo_pn.elements
    assert pn.q_ratio == pytest.approx(demo_pn.q_ratio)  # same defaults: loads 0.95, the rest unity
    a, b = snapshot(pn, demo_op, fast=True), snapshot(demo_pn, demo_op)
    assert a.bus_vm_pu == pytest.approx(b.bus_vm_pu, abs=1e-9)
    assert a.grid_exchange_kw == pytest.approx(b.grid_exchange_kw, abs=1e-3)


def test_json_defaults_limits_from_the_net(tmp_path: Path) -> None:
    net = pp.create_empty_network()
    b0, b1 = pp.create_bus(net, 20.0), pp.create_bus(net, 20.0)
    pp.create_ext_grid(net, b0)
    pp.create_line(net, b0, b1, 2.0, "NA2XS2Y 1x95 RM/25 12/20 kV", max_loading_percent=80.0)
    pp.create_sgen(net, b1, p_mw=0.0, name="pv")
    path = tmp_path / "n.json"
    pp.to_json(net, str(path))
    pn = ParkNetwork.from_pandapower_json(path, {"PV1": ("sgen", 0)})
    assert pn.limits == NetworkLimits(line_max_loading_percent=(80.0,), trafo_max_loading_percent=())
    # the std type's 0.252 kA at 20 kV ≈ 8.7 MVA: 8 MW of PV loads it to about 91 %, above 80 %
    r = snapshot(pn, {"PV1": 8000.0})
    assert [v.kind for v in r.violations] == ["line_loading"]
    assert 88 < r.line_loading_percent["line_0"] < 94


def test_json_errors_are_clear(demo_pn: ParkNetwork, tmp_path: Path) -> None:
    path = tmp_path / "park.json"
    pp.to_json(demo_pn.net, str(path))
    with pytest.raises(NetworkModelError, match="no sgen with index 99"):
        ParkNetwork.from_pandapower_json(path, {"PV": ("sgen", 99)})
    with pytest.raises(NetworkModelError, match="table 'gen' is not one of"):
        ParkNetwork.from_pandapower_json(path, {"G": ("gen", 0)})
    with pytest.raises(NetworkModelError, match=r"must be \(table, index\)"):
        ParkNetwork.from_pandapower_json(path, {"PV": "sgen"})  # type: ignore[arg-type]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(NetworkModelError, match="not a readable pandapower JSON network"):
        ParkNetwork.from_pandapower_json(broken, {})
    with pytest.raises(NetworkModelError, match="not a readable"):
        ParkNetwork.from_pandapower_json(tmp_path / "missing.json", {})


def test_json_keeps_the_networks_own_load_power_factor(tmp_path: Path) -> None:
    net = pp.create_empty_network()
    b0, b1 = pp.create_bus(net, 20.0), pp.create_bus(net, 20.0)
    pp.create_ext_grid(net, b0)
    pp.create_line(net, b0, b1, 2.0, "NA2XS2Y 1x95 RM/25 12/20 kV")
    pp.create_load(net, b1, p_mw=2.0, q_mvar=0.4)  # cos φ 0.98, not the 0.95 default
    pp.create_load(net, b1, p_mw=0.0)  # no stored power: default 0.95
    path = tmp_path / "n.json"
    pp.to_json(net, str(path))
    pn = ParkNetwork.from_pandapower_json(path, {"A": ("load", 0), "B": ("load", 1)})
    assert pn.q_ratio["A"] == pytest.approx(0.2)
    assert pn.q_ratio["B"] == pytest.approx(0.328684, abs=1e-6)
