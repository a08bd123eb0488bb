"""Issue 15 (uncertainty, optional part): scenario-based MPC hedges the first decision across scenarios."""

from __future__ import annotations

import numpy as np
import pytest

from dispatch.scenario_mpc import ScenarioDispatcher, solve_scenarios
from dispatch.solver import SolverOptions, solve
from tests.dispatch.helpers import battery, problem

WEIGHTED = SolverOptions(objective="weighted")


def _case(late_demand: float):  # type: ignore[no-untyped-def]
    # empty 100 kWh battery, 90 % each way, no value on stored energy (explicit terminal target 0)
    return problem(
        [50.0, late_demand],
        [0.5, 0.5],
        batteries=[battery()],
        demand_charge_cny_per_kw_month=10.0,
        peak_import_so_far_kw=100.0,
    )


def test_the_shared_first_decision_hedges_against_the_high_scenario() -> None:
    """Demand 50 kW now, 60 or 140 kW in the next hour (probability 1/2 each), month's peak 100 kW at
    10 CNY/kW, energy 0.5 CNY/kWh. Only the import now is shared. To hold 100 kW if 140 comes, 40 kW must
    come from storage, i.e. 40/0.81 = 49.38 kWh charged now: import 50 + 49.38 = 99.38 kW. Each extra kWh
    stored gains 0.5·(10·0.81) CNY of expected demand charge and loses at most 0.5·0.19 CNY of energy, so the
    stochastic plan stores all of it. Planned on the mean (120 kW) instead, only 20 kW is needed:
    import 50 + 20/0.81 = 74.69 kW."""
    s = solve_scenarios([_case(60.0), _case(140.0)], [0.5, 0.5], shared=1, options=WEIGHTED)
    assert s.status == "optimal", s.fallback_reason
    assert s.grid_import_kw[0] == pytest.approx(50 + 40 / 0.81, abs=1e-6)
    mean = solve(_case(120.0), WEIGHTED)
    assert mean.grid_import_kw[0] == pytest.approx(50 + 20 / 0.81, abs=1e-6)
    # one scenario is the deterministic plan
    one = solve_scenarios([_case(120.0)], [1.0], shared=1, options=WEIGHTED)
    np.testing.assert_allclose(one.grid_import_kw, mean.grid_import_kw, atol=1e-6)


def test_bad_scenarios_fall_back_with_the_reason() -> None:
    s = solve_scenarios([_case(60.0), _case(140.0)], [0.5, 0.6], shared=1)
    assert s.status == "fallback" and "must sum to 1" in (s.fallback_reason or "")
    s = solve_scenarios([_case(60.0), _case(-1.0)], [0.5, 0.5], shared=1)
    assert s.status == "fallback" and "scenario 1" in (s.fallback_reason or "")


def test_kept_model_gives_the_fresh_solution() -> None:
    """A second plan through the kept model (parameters reloaded, no rebuild) equals a fresh one."""
    d = ScenarioDispatcher(WEIGHTED)
    assert d.solve([_case(60.0), _case(140.0)], [0.5, 0.5], shared=1).status == "optimal"
    again = d.solve([_case(80.0), _case(130.0)], [0.25, 0.75], shared=1)
    fresh = solve_scenarios([_case(80.0), _case(130.0)], [0.25, 0.75], shared=1, options=WEIGHTED)
    assert d.rebuilds == 1 and again.status == "optimal"
    np.testing.assert_allclose(again.grid_import_kw, fresh.grid_import_kw, atol=1e-6)
    np.testing.assert_allclose(again.battery_charge_kw["B1"], fresh.battery_charge_kw["B1"], atol=1e-6)
