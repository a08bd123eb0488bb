"""Inverter reactive power: fixed pf and Q(U) within the P–Q capability, confirmed by plain pandapower."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandapower as pp
import pytest

from ems.park import Park, parse_park
from grid_models import ParkNetwork, build_network, timeseries
from grid_models.network import INJECTION_SIGN, PF_OPTIONS


def _with_reactive(demo_park: Park, reactive: dict) -> ParkNetwork:
    data = demo_park.model_dump(mode="json")
    data["network"]["reactive"] = reactive
    return build_network(parse_park(data))


def _pandapower(pn: ParkNetwork, op: dict[str, float], q: dict[str, float]) -> pp.pandapowerNet:
    net = copy.deepcopy(pn.net)
    for d, p in op.items():
        table, idx = pn.element(d)
        net[table].at[idx, "p_mw"] = p / 1000 * INJECTION_SIGN[table]
        net[table].at[idx, "q_mvar"] = q.get(d, p * pn.q_ratio[d]) / 1000 * INJECTION_SIGN[table]
    pp.runpp(net, **PF_OPTIONS)
    return net


def test_fixed_pf_and_capability(demo_park: Park, demo_op: dict[str, float]) -> None:
    pn = _with_reactive(
        demo_park, {"PV_TEX": {"mode": "fixed_pf", "power_factor": 0.95, "absorbing": True, "s_rated_kva": 6000}}
    )
    ids = list(demo_op)
    j = ids.index("PV_TEX")
    p = np.array([list(demo_op.values())] * 2)
    p[1, j] = 5900.0
    res = timeseries(pn, ids, p)
    # hand check: 5000 kW at cos φ 0.95 absorbing: Q = -5000 · tan(acos 0.95) = -1643.4 kvar
    # (inside sqrt(6000² - 5000²) = 3317 and 0.436 · 6000 = 2616); at 5900 kW the inverter has
    # only sqrt(6000² - 5900²) = 1090.9 kvar left: Q clipped to -1090.9
    q0, q1 = -5000 * math.tan(math.acos(0.95)), -math.sqrt(6000**2 - 5900**2)
    assert q0 == pytest.approx(-1643.4, abs=0.1) and q1 == pytest.approx(-1090.9, abs=0.1)
    for t, q_pv in ((0, q0), (1, q1)):
        op = dict(zip(ids, p[t].tolist(), strict=True))
        net = _pandapower(pn, op, {"PV_TEX": q_pv})
        assert res.vm_pu[t] == pytest.approx(net.res_bus.vm_pu.to_numpy(), abs=1e-8)
        assert res.grid_exchange_kvar[t] == pytest.approx(net.res_ext_grid.q_mvar.sum() * 1000, abs=1e-3)


def test_q_of_u_reaches_its_fixed_point(demo_park: Park, demo_op: dict[str, float]) -> None:
    # a steep curve centred inside the band so the wind bus (≈ 10.4 kV = 1.04 pu of 10 kV) absorbs
    curve = [[1.0, 0.3], [1.02, 0.0], [1.05, -0.3]]
    pn = _with_reactive(demo_park, {"WIND": {"mode": "q_of_u", "s_rated_kva": 22000, "curve": curve}})
    ids = list(demo_op)
    res = timeseries(pn, ids, np.array([list(demo_op.values())]))
    b = pn.bus_ids.index("F2_WIND")
    u_nom = res.vm_pu[0, b] * 10.5 / 10.0  # the curve's U is in pu of the 10 kV nominal
    q_wind = float(np.interp(u_nom, [1.0, 1.02, 1.05], [6600, 0, -6600]))
    assert 1.02 < u_nom < 1.05 and q_wind < -100  # on the absorbing slope, inside the capability
    # plain pandapower with that Q gives the same voltages: the Q(U) point is self-consistent
    net = _pandapower(pn, demo_op, {"WIND": q_wind})
    assert res.vm_pu[0] == pytest.approx(net.res_bus.vm_pu.to_numpy(), abs=1e-6)
    plain = timeseries(build_network(demo_park), ids, np.array([list(demo_op.values())]))
    assert res.vm_pu[0, b] < plain.vm_pu[0, b]  # absorbing lowers the voltage


def test_reactive_control_for_a_load_is_refused(demo_park: Park) -> None:
    data = demo_park.model_dump(mode="json")
    data["network"]["reactive"] = {"LOAD_TEX": {"mode": "fixed_pf", "s_rated_kva": 100}}
    with pytest.raises(ValueError, match=r"network\.reactive\.LOAD_TEX: unknown PV, wind, battery or direct"):
        parse_park(data)
