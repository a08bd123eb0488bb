"""Bring your own network: a park file referencing a pandapower JSON (CIGRE MV) or a MATPOWER case."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandapower as pp
import pandapower.networks as ppn
import pytest
import yaml
from pandapower.converter.matpower.to_mpc import to_mpc

from ems.park import ParkFileError, example_park_path, load_park
from grid_models import NetworkModelError, build_network, snapshot

GW = {"kind": "gateway", "gateway_id": "gw"}


def _park(model: dict[str, Any], buses: list[dict[str, Any]], devices: list[dict[str, Any]], gc_bus: str) -> dict:
    return {
        "name": "own network",
        "province": "Jiangsu",
        "grid_region": "East China",
        "location": {"latitude": 32.0, "longitude": 118.8},
        "network": {
            "model": model,
            "buses": buses,
            "grid_connection": {"bus": gc_bus, "import_limit_kw": 1e6, "export_limit_kw": 1e6},
        },
        "devices": devices,
        "tariff": {
            "periods": [{"name": "flat", "price_cny_per_kwh": "0.6", "hours": ["00:00-24:00"]}],
            "demand_charge_cny_per_kw_month": "30",
            "export_price_cny_per_kwh": "0.3",
        },
        "carbon": {"grid_factor": "cn-jiangsu-2022", "annual_budget_tco2": "1"},
    }


CIGRE_DEVICES = [
    {"id": "PV3", "type": "pv", "bus": "Bus 3", "p_rated_kw": 20, "dc_kwp": 24, "connection": GW},
    {"id": "WIND7", "type": "wind", "bus": "Bus 7", "p_rated_kw": 1500, "connection": GW},
    {
        "id": "BAT1",
        "type": "battery",
        "bus": "Bus 5",
        "e_rated_kwh": 2400,
        "p_charge_max_kw": 600,
        "p_discharge_max_kw": 600,
        "connection": GW,
    },
    {"id": "LOAD_R1", "type": "load", "bus": "Bus 1", "p_peak_kw": 16000, "connection": GW},
]
CIGRE_BUSES = [{"id": f"Bus {i}", "vn_kv": 110 if i == 0 else 20} for i in (0, 1, 3, 5, 7)]
CIGRE_MAP = {
    "PV3": {"table": "sgen", "name": "PV 3"},
    "WIND7": {"table": "sgen", "name": "WKA 7"},
    "BAT1": {"table": "storage", "name": "Battery 1"},
    "LOAD_R1": {"table": "load", "name": "Load R1"},
}


def _write(tmp_path: Path, park: dict) -> Path:
    path = tmp_path / "park.yaml"
    path.write_text(yaml.safe_dump(park))
    return path


def test_cigre_mv_json_through_the_park_file(tmp_path: Path) -> None:
    pp.to_json(ppn.create_cigre_network_mv(with_der="all"), str(tmp_path / "cigre.json"))
    model = {"format": "pandapower_json", "path": "cigre.json", "elements": CIGRE_MAP}  # relative to the park file
    park = load_park(_write(tmp_path, _park(model, CIGRE_BUSES, CIGRE_DEVICES, "Bus 0")))
    pn = build_network(park)
    assert pn.elements["WIND7"] == ("sgen", 8) and pn.elements["LOAD_R1"] == ("load", 0)
    # the network's own load power factor (CIGRE R1: 14.994 MW, 3.0447 Mvar, cos φ 0.98), not 0.95
    assert pn.q_ratio["LOAD_R1"] == pytest.approx(3.044662 / 14.994, rel=1e-5)
    op = {"PV3": 18.0, "WIND7": 1200.0, "BAT1": -300.0, "LOAD_R1": -12000.0}
    r = snapshot(pn, op, fast=True)
    # independent: the benchmark net straight from pandapower with the same powers set by hand
    ref = ppn.create_cigre_network_mv(with_der="all")
    ref.sgen.loc[0, ["p_mw", "q_mvar"]] = [0.018, 0.0]
    ref.sgen.loc[8, ["p_mw", "q_mvar"]] = [1.2, 0.0]
    ref.storage.loc[0, ["p_mw", "q_mvar"]] = [0.3, 0.0]  # charging = consumption-positive
    ref.load.loc[0, ["p_mw", "q_mvar"]] = [12.0, 12.0 * 3.044662 / 14.994]
    pp.runpp(ref, numba=False, calculate_voltage_angles=True, trafo_model="t", tolerance_mva=1e-9)
    for i, name in enumerate(ref.bus.name):
        assert r.bus_vm_pu[name] == pytest.approx(ref.res_bus.vm_pu[i], abs=1e-8)
    assert r.grid_exchange_kw == pytest.approx(ref.res_ext_grid.p_mw.sum() * 1e3, abs=1e-3)


def test_mapping_problems_are_all_named(tmp_path: Path) -> None:
    pp.to_json(ppn.create_cigre_network_mv(with_der="all"), str(tmp_path / "cigre.json"))
    bad_map = copy.deepcopy(CIGRE_MAP)
    del bad_map["BAT1"]  # missing
    bad_map["PV3"] = {"table": "sgen", "name": "PV 4"}  # at Bus 4, not Bus 3
    bad_map["WIND7"] = {"table": "load", "name": "WKA 7"}  # wrong table for wind
    bad_map["GHOST"] = {"table": "sgen", "index": 0}  # no such park device
    buses = [*CIGRE_BUSES, {"id": "Bus 99", "vn_kv": 20}]
    model = {"format": "pandapower_json", "path": "cigre.json", "elements": bad_map}
    park = load_park(_write(tmp_path, _park(model, buses, CIGRE_DEVICES, "Bus 1")))
    with pytest.raises(NetworkModelError) as exc:
        build_network(park)
    msg = str(exc.value)
    for part in (
        "bus 'Bus 99' is not in the model",
        "'Bus 1' has no in-service external grid",
        "no element for BAT1",
        "sgen name 'PV 4' is at bus 'Bus 4', the park puts PV3 at 'Bus 3'",
        "a wind maps to table 'sgen', not 'load'",
        "GHOST: not a PV, wind, battery, load or direct connection",
    ):
        assert part in msg


def test_model_with_lines_is_refused_and_missing_file_named(tmp_path: Path) -> None:
    model = {"format": "pandapower_json", "path": "nope.json", "elements": {}}
    park = _park(model, CIGRE_BUSES, [], "Bus 0")
    park["network"]["lines"] = [
        {"id": "L", "from_bus": "Bus 0", "to_bus": "Bus 1", "length_km": 1, "std_type": "NA2XS2Y 1x95 RM/25 12/20 kV"}
    ]
    with pytest.raises(ParkFileError, match="lines and transformers come from the model"):
        load_park(_write(tmp_path, park))
    del park["network"]["lines"]
    with pytest.raises(NetworkModelError, match=r"nope\.json: no such file"):
        build_network(load_park(_write(tmp_path, park)))


def test_matpower_case_with_generators(tmp_path: Path) -> None:
    case = ppn.case9()
    to_mpc(case, str(tmp_path / "case9.mat"), init="flat")
    model = {"format": "matpower", "path": "case9.mat", "elements": {"L5": {"table": "load", "index": 0}}}
    devices = [{"id": "L5", "type": "load", "bus": "bus_4", "p_peak_kw": 100_000, "connection": GW}]
    park = load_park(
        _write(tmp_path, _park(model, [{"id": "bus_4", "vn_kv": 345}, {"id": "bus_0", "vn_kv": 345}], devices, "bus_0"))
    )
    pn = build_network(park)
    assert pn.q_ratio["L5"] == pytest.approx(30 / 90)  # the case's own 90 MW / 30 Mvar
    # generators became static generators at the solved point: at the case's own load the
    # voltages equal MATPOWER case9 solved with its PV buses (plain pandapower on the original)
    r = snapshot(pn, {"L5": -90_000.0}, fast=True)
    pp.runpp(case, numba=False, calculate_voltage_angles=True, trafo_model="t", tolerance_mva=1e-9)
    got = [r.bus_vm_pu[f"bus_{i}"] for i in range(9)]
    assert got == pytest.approx(case.res_bus.vm_pu.tolist(), abs=1e-8)


def test_shipped_cigre_example_loads() -> None:
    pn = build_network(load_park(example_park_path("cigre_mv")))
    assert set(pn.elements) == {"PV3", "WIND7", "BAT1", "LOAD_R1", "LOAD_CI12"}
    assert pn.q_ratio["LOAD_CI12"] == pytest.approx(1.648679 / 5.016, rel=1e-5)  # CIGRE's own cos φ
