"""Violations found where they must be on the demo park (110/10 kV, anti-backflow), and bad input refused."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandapower as pp
import pytest

from ems.park import Park, parse_park
from grid_models import NetworkModelError, ParkNetwork, build_network, snapshot, timeseries, violations


def test_demo_network_built_from_park(demo_pn: ParkNetwork) -> None:
    net = demo_pn.net
    assert demo_pn.bus_ids[:3] == ["HV110", "MV_A", "MV_B"]
    assert demo_pn.line_ids == ["L1", "L2", "L3", "L4", "L5"] and demo_pn.trafo_ids == ["T1", "T2"]
    assert net.ext_grid.vm_pu.tolist() == [1.02]
    assert demo_pn.element("BESS")[0] == "storage" and demo_pn.element("LOAD_EV")[0] == "load"
    assert demo_pn.element("DG-SALTFLAT-PV")[0] == "sgen"
    assert "M_GRID" not in demo_pn.elements  # meters are not network elements
    lim = demo_pn.limits
    assert (lim.v_min_pu, lim.v_max_pu, lim.import_limit_kw, lim.export_limit_kw) == (0.93, 1.07, 60000, 0)
    # loads at cos phi 0.95: q/p = tan(acos 0.95) = 0.3287
    assert demo_pn.q_ratio["LOAD_CELLS"] == pytest.approx(0.328684, abs=1e-6)


def test_export_under_anti_backflow_is_a_violation(demo_pn: ParkNetwork, demo_op: dict[str, float]) -> None:
    op = {**demo_op, "BESS": 20_000.0, "WIND": 20_000.0}
    r = snapshot(demo_pn, op)
    # PV 19.8 + wind 20 + battery 20 + direct PV 9 = 68.8 MW vs 46.2 MW load: 22.6 MW minus losses flows out
    assert -22_600 < r.grid_exchange_kw < -21_500
    (v,) = [v for v in r.violations if v.kind == "export_limit"]
    assert (v.element, v.limit) == ("grid_connection", 0.0)
    assert v.value == pytest.approx(-r.grid_exchange_kw) and v.margin == pytest.approx(r.grid_exchange_kw)


def test_import_limit_and_line_overload(demo_pn: ParkNetwork) -> None:
    # all generation off (61 MW of load), the EV hub drawing 14 MW through the single 0.6 kA cable L5
    loads = {"LOAD_CELLS": -22_000.0, "LOAD_CHEM": -22_000.0, "LOAD_TEX": -3_000.0, "LOAD_EV": -14_000.0}
    r = snapshot(demo_pn, loads)
    kinds = {(v.kind, v.element) for v in r.violations}
    assert ("import_limit", "grid_connection") in kinds  # 61 MW + losses > 60 MW
    assert ("line_loading", "L5") in kinds
    # L5 current ≈ 14 MW / 0.95 / (√3 · ~10.1 kV) ≈ 0.84 kA on a 0.6 kA rating: about 140 %
    assert 130 < r.line_loading_percent["L5"] < 150
    # L4 (two parallel cables) carries 17 MW: ≈ 1.03 kA of 1.2 kA, below its rating
    assert ("line_loading", "L4") not in kinds and 80 < r.line_loading_percent["L4"] < 90
    assert r.grid_exchange_kw > 61_000


def test_violations_are_ordered_and_carry_interval(demo_pn: ParkNetwork) -> None:
    ids = ["WIND", "LOAD_EV"]
    p = np.array([[0.0, -1000.0], [20_000.0, -1000.0], [0.0, -1000.0], [20_000.0, -500.0]])
    r = timeseries(demo_pn, ids, p)
    found = violations(r, demo_pn.limits)
    assert [(v.kind, v.interval) for v in found] == [("export_limit", 1), ("export_limit", 3)]
    assert found[1].value > found[0].value  # less load, more export


def test_bad_input_is_refused(demo_pn: ParkNetwork) -> None:
    with pytest.raises(NetworkModelError, match="unknown device 'NOPE'"):
        snapshot(demo_pn, {"NOPE": 1.0})
    with pytest.raises(NetworkModelError, match="shape"):
        timeseries(demo_pn, ["WIND", "BESS"], np.zeros((4, 3)))
    with pytest.raises(NetworkModelError, match="non-finite values, first at interval 2, device 1"):
        timeseries(demo_pn, ["WIND", "BESS"], np.array([[0, 0], [0, 0], [0, math.nan]]))
    with pytest.raises(NetworkModelError, match="duplicates"):
        timeseries(demo_pn, ["WIND", "WIND"], np.zeros((1, 2)))


def test_unsupported_elements_are_refused(demo_pn: ParkNetwork) -> None:
    net = copy.deepcopy(demo_pn.net)
    pp.create_gen(net, 3, p_mw=1.0, vm_pu=1.0)
    with pytest.raises(NetworkModelError, match=r"unsupported in-service elements: gen \(1\)"):
        ParkNetwork(net, demo_pn.elements, demo_pn.q_ratio, demo_pn.limits)


def test_tiny_park_with_std_type_line(tiny_park: Park) -> None:
    data = tiny_park.model_dump(mode="json")
    data["network"]["lines"][0] = {
        "id": "L1",
        "from_bus": "LV",
        "to_bus": "LV2",
        "length_km": 0.1,
        "std_type": "NAYY 4x150 SE",
    }
    pn = build_network(parse_park(data))
    line = pn.net.line.iloc[0]
    # pandapower's library values of NAYY 4x150 SE: 0.208 Ω/km, 0.08 Ω/km, 0.27 kA
    assert (line.r_ohm_per_km, line.x_ohm_per_km, line.max_i_ka) == (0.208, 0.08, 0.27)
    # 400 kW of PV at LV2, nothing else: export = 400 kW − losses, above the 200 kW export limit
    r = snapshot(pn, {"PV1": 400.0})
    ex = [v for v in r.violations if v.kind == "export_limit"]
    assert len(ex) == 1 and ex[0].value == pytest.approx(400.0 - r.losses_kw, abs=1e-6)
    # line losses 3·I²·R ≈ 3 · (0.56 kA)² · 0.0208 Ω ≈ 19.6 kW, plus about 1 kW in the transformer
    assert 18 < r.losses_kw < 23
    # I ≈ 400 kW / (√3 · ~0.41 kV) ≈ 0.56 kA on 0.27 kA: about 208 %
    assert 190 < r.line_loading_percent["L1"] < 220
