"""On-load tap changers on the fast path vs pandapower's own DiscreteTapControl."""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pytest
import yaml
from pandapower.control import DiscreteTapControl, run_control

from ems.park import example_park_path, parse_park
from grid_models import build_network, park_profiles
from grid_models.network import INJECTION_SIGN, PF_OPTIONS
from grid_models.oltc import run_with_oltc
from grid_models.powerflow import prepare_injections

BAND = (0.985, 1.0)  # pu of 10.5 kV: 10.34..10.50 kV, narrower than two 1.25 % steps would need


def _discrete_tap_control(pn, ids, p_kw, q_kvar, shunt_steps=None):  # type: ignore[no-untyped-def]
    """pandapower's own answer for one interval: the injections set on a copy of the net (and shunt
    steps), both transformers under ``DiscreteTapControl`` with the test's band, ``run_control``."""
    net = copy.deepcopy(pn.net)
    for k, step in (shunt_steps or {}).items():
        net.shunt.at[k, "step"] = step
    for j, d in enumerate(ids):
        table, idx = pn.element(d)
        net[table].at[idx, "p_mw"] = p_kw[j] / 1000 * INJECTION_SIGN[table]
        net[table].at[idx, "q_mvar"] = q_kvar[j] / 1000 * INJECTION_SIGN[table]
    for t in (0, 1):
        DiscreteTapControl(net, t, vm_lower_pu=BAND[0], vm_upper_pu=BAND[1], side="lv")
    run_control(net, **PF_OPTIONS)
    return net


def test_oltc_holds_its_deadband_like_discrete_tap_control() -> None:
    data = yaml.safe_load(example_park_path("demo").read_text())
    for tr in data["network"]["transformers"]:
        tr["oltc"] = {"v_min_pu": BAND[0], "v_max_pu": BAND[1]}
        tr["tap_pos"] = -4  # start far off: the controller has to walk several steps
    park = parse_park(data)
    pn = build_network(park)
    assert pn.oltc is not None and pn.oltc.trafo.tolist() == [0, 1]
    prof = park_profiles(park, dt.datetime(2026, 6, 21, tzinfo=park.tz), 96, seed=1)
    rows = np.arange(0, 96, 12)  # every 3 hours: night import to midday export
    p, q = prepare_injections(pn, prof.device_ids, prof.p_kw[rows])
    res, taps = run_with_oltc(pn, pn.oltc, prof.device_ids, p, q)
    lv = [pn.bus_ids.index("MV_A"), pn.bus_ids.index("MV_B")]
    assert np.all((res.vm_pu[:, lv] > BAND[0]) & (res.vm_pu[:, lv] < BAND[1]))  # inside the deadband
    assert len(np.unique(taps, axis=0)) > 1  # the tap follows the load
    for i in range(len(rows)):
        net = _discrete_tap_control(pn, prof.device_ids, p[i], q[i])
        assert net.trafo.tap_pos.tolist() == taps[i].tolist()
        assert res.vm_pu[i] == pytest.approx(net.res_bus.vm_pu.to_numpy(), abs=1e-8)
        assert res.trafo_loading_percent[i] == pytest.approx(net.res_trafo.loading_percent.to_numpy(), abs=1e-6)


def test_tap_at_its_limit_stays_out_of_band() -> None:
    # a band no tap position reaches (the 110 kV side at 1.02 pu cannot bring 10.5 kV to 0.9 pu
    # within -8..+8 x 1.25 %): the controller stops at tap_max, like pandapower's
    data = yaml.safe_load(example_park_path("demo").read_text())
    for tr in data["network"]["transformers"]:
        tr["oltc"] = {"v_min_pu": 0.85, "v_max_pu": 0.9}
    park = parse_park(data)
    pn = build_network(park)
    ids = ["LOAD_CELLS"]
    p, q = prepare_injections(pn, ids, np.array([[-5000.0]]))
    res, taps = run_with_oltc(pn, pn.oltc, ids, p, q)  # type: ignore[arg-type]
    assert taps.tolist() == [[8.0, 8.0]] and res.vm_pu[0, 1] > 0.9
    net = copy.deepcopy(pn.net)
    net.load.at[pn.element("LOAD_CELLS")[1], "p_mw"] = 5.0
    net.load.at[pn.element("LOAD_CELLS")[1], "q_mvar"] = q[0, 0] / -1000
    for t in (0, 1):
        DiscreteTapControl(net, t, vm_lower_pu=0.85, vm_upper_pu=0.9, side="lv")
    run_control(net, **PF_OPTIONS)
    assert net.trafo.tap_pos.tolist() == [8, 8]
    assert res.vm_pu[0] == pytest.approx(net.res_bus.vm_pu.to_numpy(), abs=1e-8)


def test_switched_banks_with_tap_control_match_discrete_tap_control() -> None:
    """A 6 × 500 kvar bank on MV_A switching per interval while both OLTCs hold their band: each interval
    equals pandapower's DiscreteTapControl with ``shunt.step`` set (taps, voltages, loadings); the bank
    moves the taps (without it they end elsewhere in some interval)."""
    data = yaml.safe_load(example_park_path("demo").read_text())
    for tr in data["network"]["transformers"]:
        tr["oltc"] = {"v_min_pu": BAND[0], "v_max_pu": BAND[1]}
    data["network"]["compensation"] = [{"id": "C1", "bus": "MV_A", "q_kvar": 3000.0, "steps": 6, "switched": True}]
    park = parse_park(data)
    pn = build_network(park)
    assert pn.oltc is not None
    prof = park_profiles(park, dt.datetime(2026, 6, 21, tzinfo=park.tz), 96, seed=1)
    rows = np.arange(0, 96, 12)
    p, q = prepare_injections(pn, prof.device_ids, prof.p_kw[rows])
    steps = np.array([0, 6, 3, 6, 1, 6, 0, 5])
    res, taps = run_with_oltc(pn, pn.oltc, prof.device_ids, p, q, shunt_steps={"C1": steps})
    _, taps_without = run_with_oltc(pn, pn.oltc, prof.device_ids, p, q)
    assert not np.array_equal(taps, taps_without)
    shunt = int(pn.net.shunt.index[pn.net.shunt.name == "C1"][0])
    for i in range(len(rows)):
        net = _discrete_tap_control(pn, prof.device_ids, p[i], q[i], {shunt: int(steps[i])})
        assert net.trafo.tap_pos.tolist() == taps[i].tolist()
        assert res.vm_pu[i] == pytest.approx(net.res_bus.vm_pu.to_numpy(), abs=1e-8)
        assert res.trafo_loading_percent[i] == pytest.approx(net.res_trafo.loading_percent.to_numpy(), abs=1e-6)
        assert res.grid_exchange_kvar[i] == pytest.approx(net.res_ext_grid.q_mvar.sum() * 1e3, abs=1e-3)
