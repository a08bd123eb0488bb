"""Issue 20: N-1 as dispatch constraints on a small meshed network, checked by pandapower outages.

A 10 kV ring (slack bus 0, lines 0-1, 1-2, 2-3, 3-0) with a 3 MW load and a 4 MW battery at bus 2.
The battery must charge from SOC 0.1 to 0.9 within 3 h and prices rise, so without N-1 limits it
charges at full power at once: 7 MW into bus 2, which the intact ring carries on two paths but a
single path after one line outage cannot (each line 0.3 kA ≈ 5.2 MVA). Expected values: pandapower
Newton-Raphson with each line out of service in turn, loading against 100 %.
"""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pandapower as pp
import pytest

from dispatch.problem import BatterySpec, DispatchProblem
from dispatch.schedule import Schedule
from dispatch.solver import Dispatcher
from grid_models import ParkNetwork
from grid_models.network import LOAD_Q_RATIO, default_limits
from grid_models.outage_factors import outage_factors
from services.network_check import dispatch_with_ac_check

T = 12
LOAD_KW = 3000.0


@pytest.fixture(scope="module")
def ring() -> ParkNetwork:
    net = pp.create_empty_network()
    buses = [pp.create_bus(net, vn_kv=10.0, name=f"B{i}") for i in range(4)]
    pp.create_ext_grid(net, buses[0], vm_pu=1.02)
    for a, b, km in ((0, 1, 1.0), (1, 2, 1.5), (2, 3, 1.2), (3, 0, 0.8)):
        pp.create_line_from_parameters(
            net,
            buses[a],
            buses[b],
            km,
            r_ohm_per_km=0.1,
            x_ohm_per_km=0.1,
            c_nf_per_km=200,
            max_i_ka=0.3,
            name=f"L{a}{b}",
        )
    load = pp.create_load(net, buses[2], p_mw=0.0, name="LOAD")
    bess = pp.create_storage(net, buses[2], p_mw=0.0, max_e_mwh=4.0, name="BESS")
    elements = {"LOAD": ("load", int(load)), "BESS": ("storage", int(bess))}
    return ParkNetwork(net, elements, {"LOAD": LOAD_Q_RATIO, "BESS": 0.0}, default_limits(net), "ring")


@pytest.fixture(scope="module")
def problem() -> DispatchProblem:
    return DispatchProblem(
        start=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        dt_h=0.25,
        demand_kw=np.full(T, LOAD_KW),
        import_price=0.3 + 0.05 * np.arange(T),  # rising: charge as early and as fast as allowed
        export_price=np.zeros(T),
        ef_kg_per_kwh=np.full(T, 0.5),
        import_limit_kw=20000.0,
        export_limit_kw=0.0,
        batteries=[BatterySpec("BESS", 4000.0, 4000.0, 4000.0, soc0=0.1, soc_terminal=0.9)],
        loads_kw={"LOAD": np.full(T, LOAD_KW)},
    )


def outage_loadings(pn: ParkNetwork, s: Schedule) -> dict[str, float]:
    """Highest line loading [%] over the plan with each line out, by plain pandapower.runpp."""
    out = {}
    for idx, name in zip(pn.net.line.index, pn.net.line.name, strict=True):
        net = copy.deepcopy(pn.net)
        net.line.at[idx, "in_service"] = False
        worst = 0.0
        for t in range(T):
            net.load.at[0, "p_mw"] = LOAD_KW / 1000
            net.load.at[0, "q_mvar"] = LOAD_KW * LOAD_Q_RATIO / 1000
            net.storage.at[0, "p_mw"] = -s.battery_p_kw["BESS"][t] / 1000  # storage: + charging
            pp.runpp(net)
            worst = max(worst, float(net.res_line.loading_percent.max()))
        out[name] = worst
    return out


def test_lodf_matches_a_dc_outage_by_hand(ring: ParkNetwork) -> None:
    """By hand: in a single ring every line left after an outage lies on the only remaining path, so it
    takes the outaged line's whole flow, ``|LODF[l, k]| = 1`` for every l ≠ k (sign by orientation)."""
    fac = outage_factors(ring)
    assert not fac.islanding.any()
    off = fac.lodf[~np.eye(len(fac.branch_ids), dtype=bool)]
    np.testing.assert_allclose(np.abs(off), 1.0, atol=1e-9)


def test_n_minus_1_rows_make_the_plan_survive_each_outage(ring: ParkNetwork, problem: DispatchProblem) -> None:
    plain, _ = dispatch_with_ac_check(Dispatcher(), problem, ring)
    secure, report = dispatch_with_ac_check(Dispatcher(), problem, ring, n_1=True)
    before = outage_loadings(ring, plain)
    after = outage_loadings(ring, secure)
    assert max(before.values()) > 110.0  # without the rows some outage overloads a line
    assert max(after.values()) <= 100.0, after
    assert report.islanding_outages == []
    # the secure plan still charges the battery, just more slowly
    assert secure.battery_charge_kw["BESS"].max() < plain.battery_charge_kw["BESS"].max() - 500
    assert secure.soc["BESS"][-1] == pytest.approx(0.9, abs=1e-6)
