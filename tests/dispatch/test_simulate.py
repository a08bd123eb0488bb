"""Closed-loop simulation: physically consistent trajectories and the what-if knobs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ems.park import Park
from services.annual import SimulationConfig, scaled_batteries, simulate_year

START = dt.datetime(2026, 4, 30, 16, 0, tzinfo=dt.UTC)  # 1 May 00:00 Beijing time


def _balance_residual(s) -> np.ndarray:  # type: ignore[no-untyped-def]
    supply = sum(s.gen_p_kw.values()) + sum(s.battery_p_kw.values()) + s.grid_import_kw - s.grid_export_kw
    supply = supply + s.green_kw
    return supply - s.consumption_kw


@pytest.fixture(scope="module")
def two_days(request: pytest.FixtureRequest) -> object:
    park: Park = request.getfixturevalue("tiny_park")
    return park, simulate_year(park, SimulationConfig(start=START, days=2, replan_minutes=60, seed=3))


def test_closed_loop_is_physically_consistent(two_days: tuple) -> None:
    park, r = two_days
    b = park.device("BESS1")
    assert r.replans == 48 and not r.fallbacks
    for s in (r.optimised, r.baseline):
        assert s.T == 192
        np.testing.assert_allclose(_balance_residual(s), 0.0, atol=1e-6)  # power balance every interval
        # limits hold, except that an idle battery at soc_min keeps self-discharging (bounded over 48 h)
        floor = b.soc_min * (1 - b.self_discharge_per_h) ** 48
        assert s.soc["BESS1"].min() >= floor - 1e-9 and s.soc["BESS1"].max() <= b.soc_max + 1e-9
        assert s.grid_export_kw.max() <= park.network.grid_connection.export_limit_kw + 1e-6
        # SOC follows the battery equation from the executed powers (ems/park.py parameters)
        keep = (1 - b.self_discharge_per_h) ** 0.25
        e = np.concatenate([[b.soc_initial * b.e_rated_kwh], s.soc["BESS1"] * b.e_rated_kwh])
        expected = keep * e[:-1] + 0.25 * (
            b.eta_charge * s.battery_charge_kw["BESS1"] - s.battery_discharge_kw["BESS1"] / b.eta_discharge
        )
        np.testing.assert_allclose(e[1:], expected, atol=1e-6)


def test_closed_loop_beats_rule_based_on_cost(two_days: tuple) -> None:
    _, r = two_days
    assert r.kpis.cost_cny < r.baseline_kpis.cost_cny
    assert r.kpis.local_re_consumption_ratio >= r.baseline_kpis.local_re_consumption_ratio - 1e-6
    assert r.gains()["cost_cny"] < 0


def test_more_storage_is_a_what_if(tiny_park: Park) -> None:
    cfg = SimulationConfig(start=START, days=1, replan_minutes=24 * 60, seed=3, battery_scale=3.0)
    (big,) = scaled_batteries(tiny_park, 3.0)
    assert (big.e_rated_kwh, big.p_charge_max_kw, big.p_discharge_max_kw) == (1200.0, 600.0, 600.0)
    r = simulate_year(tiny_park, cfg)
    assert r.replans == 1
    s = r.optimised
    # the executed SOC follows the battery equation of a 1,200 kWh battery, not the park file's 400 kWh
    keep = (1 - big.self_discharge_per_h) ** 0.25
    e = np.concatenate([[big.soc_initial * 1200.0], s.soc["BESS1"] * 1200.0])
    expected = keep * e[:-1] + 0.25 * (
        big.eta_charge * s.battery_charge_kw["BESS1"] - s.battery_discharge_kw["BESS1"] / big.eta_discharge
    )
    np.testing.assert_allclose(e[1:], expected, atol=1e-6)
    assert np.ptp(s.soc["BESS1"]) > 0.05  # and it was used
