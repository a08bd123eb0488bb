"""N-1 with the bus coupler closed: one transformer alone overloads at the winter peak; radial feeders island."""

from __future__ import annotations

import copy
import datetime as dt

import pandapower as pp
import pytest

from ems.park import Park, parse_park
from grid_models import build_network, park_profiles
from grid_models.contingency import n_minus_1
from grid_models.network import INJECTION_SIGN, PF_OPTIONS


def test_n_minus_1_demo_with_coupler_closed(demo_park: Park) -> None:
    data = demo_park.model_dump(mode="json")
    data["network"]["switches"] = [{"id": "COUPLER", "bus": "MV_A", "other_bus": "MV_B", "closed": True}]
    park = parse_park(data)
    pn = build_network(park)
    prof = park_profiles(park, dt.datetime(2026, 1, 5, tzinfo=park.tz), 2 * 96, seed=0)
    found = {c.outage: c for c in n_minus_1(pn, prof)}
    assert list(found) == ["trafo T1", "trafo T2", "line L1", "line L2", "line L3", "line L4", "line L5"]
    (t2,) = [s for s in found["trafo T1"].summary if s.kind == "trafo_loading"]
    assert t2.element == "T2" and t2.worst_value > 100
    assert found["line L4"].unsupplied_buses == ["F4_TEX", "F5_EV"]
    assert found["trafo T1"].unsupplied_buses == []
    # independent re-run of the worst interval: plain pandapower with T1 out of service
    net = copy.deepcopy(pn.net)
    net.trafo.at[0, "in_service"] = False
    t = t2.worst_interval
    for j, d in enumerate(prof.device_ids):
        table, idx = pn.element(d)
        p = prof.p_kw[t, j] / 1000 * INJECTION_SIGN[table]
        net[table].at[idx, "p_mw"], net[table].at[idx, "q_mvar"] = p, p * pn.q_ratio[d]
    pp.runpp(net, **PF_OPTIONS)
    assert net.res_trafo.loading_percent[1] == pytest.approx(t2.worst_value, abs=1e-6)
    net.line.at[3, "in_service"] = False
    pp.runpp(net, **PF_OPTIONS)
    dark = net.res_bus.vm_pu.isna()
    assert sorted(net.bus.name[dark]) == ["F4_TEX", "F5_EV"]
