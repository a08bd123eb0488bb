"""Bad inputs and failures fall back to the rule-based schedule, never raise."""

from __future__ import annotations

import numpy as np
import pytest

from dispatch.rules import rule_based_schedule
from dispatch.solver import Dispatcher, SolverOptions, solve
from tests.dispatch.helpers import battery, problem


def test_soc_below_band_at_start_recovers_instead_of_falling_back() -> None:
    # Issue 23: a measured SOC outside the band must not send the horizon to the fallback. SOC 0.0
    # with soc_min 0.5 and only 10 kW charging at 90 %: the band cannot hold in either hour, so the
    # plan charges at the converter limit in both (e = 9, then 18 kWh; import 30 kW each hour), even
    # in the dearer hour, and says so.
    b = battery(soc0=0.0, soc_min=0.5, p_charge_max_kw=10.0)
    s = solve(problem([20, 20], [0.3, 1.0], batteries=[b]))
    assert s.status == "optimal" and s.method == "lp"
    assert s.battery_charge_kw["B1"] == pytest.approx([10, 10], abs=1e-6)
    assert s.soc["B1"] == pytest.approx([0.09, 0.18], abs=1e-9)
    assert s.grid_import_kw == pytest.approx([30, 30], abs=1e-6)
    assert "battery B1: SOC outside [0.5, 1] in 2 intervals (recovering)" in s.notes


def test_nan_forecast_falls_back_with_reason() -> None:
    p = problem([20, float("nan")], [0.3, 1.0], batteries=[battery()])
    s = solve(p)
    assert s.status == "fallback"
    assert "demand_kw: 1 non-finite values" in (s.fallback_reason or "")
    assert "demand_kw: non-finite values replaced by 0" in s.notes
    assert np.all(np.isfinite(s.grid_import_kw))


def test_wrong_length_array_falls_back() -> None:
    p = problem([20, 20, 20], [0.3, 1.0, 1.0])
    p.import_price = np.array([0.3, 1.0])
    s = solve(p)
    assert s.status == "fallback" and "import_price: shape (2,), expected (3,)" in (s.fallback_reason or "")
    assert s.T == 3


def test_time_limit_without_solution_falls_back() -> None:
    # A time limit of ~0 leaves HiGHS no time to find anything: the dispatcher must fall back, not raise.
    b = battery(p_charge_max_kw=50.0, p_discharge_max_kw=50.0, soc0=0.95, soc_max=0.95)
    rng = np.random.default_rng(0)
    T = 96
    p = problem(
        list(rng.uniform(0, 100, T)),
        list(rng.uniform(-1, 1, T)),
        pv=list(rng.uniform(0, 200, T)),
        batteries=[b],
        dt_h=0.25,
    )
    s = Dispatcher(SolverOptions(time_limit_s=1e-9)).solve(p)
    assert s.status == "fallback"
    assert "no solution (Time limit reached)" in (s.fallback_reason or "")
    assert s.T == T and np.all(s.grid_export_kw == 0)


def test_baseline_self_consumption_rules() -> None:
    # PV 100 / demand 30 -> charge 50 kW (converter limit), 20 kW left, export forbidden -> curtail 20.
    # Hour 1: demand 60, no PV, price above mean -> discharge: 45 kWh stored · 0.9 = 40.5 kW;
    # import 19.5.
    b = battery(p_charge_max_kw=50.0, p_discharge_max_kw=100.0)
    s = rule_based_schedule(problem([30, 60], [0.5, 1.0], pv=[100, 0], batteries=[b]))
    assert s.status == "baseline"
    assert s.battery_charge_kw["B1"] == pytest.approx([50, 0])
    assert s.curtail_kw["PV1"] == pytest.approx([20, 0])
    assert s.battery_discharge_kw["B1"] == pytest.approx([0, 40.5])
    assert s.grid_import_kw == pytest.approx([0, 19.5])
    assert s.soc["B1"] == pytest.approx([0.45, 0.0])


def test_long_lived_dispatcher_keeps_solving_mips() -> None:
    # HiGHS checks a MIP's time limit against its instance's *cumulative* run time (seen in the annual
    # simulation: after 10 s of solving in total, every MIP failed at once with "time limit reached").
    # Twelve MIPs of ~0.1-0.2 s each under a 1 s limit: all must be solved, none may fall back.
    rng = np.random.default_rng(5)
    T = 96
    price = rng.uniform(0.2, 1.2, T)
    price[5] = -0.1  # one negative price: binaries in that interval
    b = battery(e_kwh=400.0, p_charge_max_kw=100.0, p_discharge_max_kw=100.0, soc0=0.5, soc_terminal=0.5)
    milp = problem(list(rng.uniform(50, 150, T)), list(price), batteries=[b], dt_h=0.25)
    d = Dispatcher(SolverOptions(time_limit_s=1.0))
    statuses = [d.solve(milp).status for _ in range(12)]
    assert d.rebuilds == 1
    assert statuses == ["optimal"] * 12
