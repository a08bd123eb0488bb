"""Rolling-horizon re-planning: measured SOC is the start, the persistent model equals a fresh build."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dispatch.from_park import Forecast, problem_from_park
from dispatch.mpc import RollingHorizon
from dispatch.solver import solve
from ems.park import Park
from ems.synthetic import synthesize_truth

START = dt.datetime(2026, 5, 4, 0, 0, tzinfo=dt.UTC)


def _forecast(park: Park, start: dt.datetime, n: int = 96) -> Forecast:
    truth = synthesize_truth(park, START, 200, seed=3)
    k = int((start - START) / dt.timedelta(minutes=15))
    cut = slice(k, k + n)
    return Forecast(
        start,
        15,
        {d: a[cut] for d, a in truth.pv_kw.items()},
        {d: a[cut] for d, a in truth.wind_kw.items()},
        {d: a[cut] for d, a in truth.load_kw.items()},
    )


def test_mpc_starts_from_measured_soc_and_reuses_the_model(tiny_park: Park) -> None:
    mpc = RollingHorizon(tiny_park)
    first = mpc.step(_forecast(tiny_park, START), {"BESS1": 0.5})
    assert first.status == "optimal"
    # the plant did not follow the plan: measured SOC 0.3 instead of the planned value
    later = START + dt.timedelta(minutes=15)
    fc = _forecast(tiny_park, later)
    second = mpc.step(fc, {"BESS1": 0.3})
    assert second.status == "optimal"
    assert mpc.dispatcher.rebuilds == 1  # parameters updated, model kept
    b = tiny_park.device("BESS1")
    e0 = 0.3 * b.e_rated_kwh
    keep = (1 - b.self_discharge_per_h) ** 0.25
    pc, pd = second.battery_charge_kw["BESS1"][0], second.battery_discharge_kw["BESS1"][0]
    # SOC dynamics from the *measured* start (docstring of dispatch.model.storage.add_soc_dynamics)
    expected = (keep * e0 + 0.25 * (b.eta_charge * pc - pd / b.eta_discharge)) / b.e_rated_kwh
    assert second.soc0["BESS1"] == 0.3
    assert second.soc["BESS1"][0] == pytest.approx(expected, abs=1e-9)
    # the persistent, warm-started solve gives the optimum of a freshly built model
    fresh = solve(problem_from_park(tiny_park, fc, soc0={"BESS1": 0.3}))
    assert second.kpis.cost_cny == pytest.approx(fresh.kpis.cost_cny, rel=1e-6, abs=1e-4)
    assert second.kpis.curtailed_kwh == pytest.approx(fresh.kpis.curtailed_kwh, abs=1e-3)


def test_mpc_day_ahead_demo_park_beats_baseline(demo_park: Park) -> None:
    from dispatch.rules import rule_based_schedule

    p = problem_from_park(demo_park, _forecast(demo_park, START))
    s = solve(p)
    base = rule_based_schedule(p)
    assert s.status == "optimal"
    assert s.kpis.cost_cny < base.kpis.cost_cny
    assert s.kpis.local_re_consumption_ratio >= base.kpis.local_re_consumption_ratio - 1e-9
    assert np.all(s.grid_export_kw == 0)  # demo park: anti-backflow
    assert s.grid_import_kw.max() <= demo_park.network.grid_connection.import_limit_kw + 1e-6


def test_in_place_update_equals_a_fresh_compile_and_solve(demo_park: Park) -> None:
    """Issue 15: an MPC re-solve updates the HiGHS LP in place (bounds, row sides, costs and the
    flexible-load block memberships that move with the horizon) instead of recompiling Pyomo. The
    updated LP equals a fresh compile of the same problem, and its optimum a fresh Dispatcher's."""
    import pyomo.environ as pyo

    from dispatch.solver import Dispatcher, _compile

    mpc = RollingHorizon(demo_park)
    for k, soc in enumerate((0.5, 0.45, 0.6)):
        s = mpc.step(
            _forecast(demo_park, START + k * dt.timedelta(minutes=15)), dict.fromkeys(_batteries(demo_park), soc)
        )
        assert s.status == "optimal"
    d = mpc.dispatcher
    assert d.rebuilds == 1 and d.in_place_updates == 2
    assert d._sens is not None
    updated = d._sens.base
    assert updated.coeffs[0].size > 0  # the flexible loads' day blocks moved: matrix entries changed
    fresh_model = Dispatcher()
    ref = fresh_model.solve(mpc.last_problem)
    assert fresh_model.model is not None
    fresh_model.model.re_bound.value = updated.col_upper[_compile(fresh_model.model).re_col]
    comp = _compile(fresh_model.model)
    np.testing.assert_allclose(updated.row_lower, comp.lp.row_lower_, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(updated.row_upper, comp.lp.row_upper_, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(updated.col_upper, comp.lp.col_upper_, rtol=1e-12, atol=1e-9)
    for name, c in comp.costs.items():
        np.testing.assert_allclose(updated.costs[name], c, rtol=1e-12, atol=1e-12, err_msg=name)
    # the optimum: cost and local RE lost of the in-place plan equal the fresh solve's
    assert pyo.value(d.model.obj_cost) == pytest.approx(pyo.value(fresh_model.model.obj_cost), rel=1e-6)
    assert pyo.value(d.model.re_lost) == pytest.approx(pyo.value(fresh_model.model.re_lost), abs=1e-6)
    assert s.kpis.cost_cny == pytest.approx(ref.kpis.cost_cny, rel=1e-6)


def _batteries(park: Park) -> list[str]:
    return [d.id for d in park.devices if d.type == "battery"]
