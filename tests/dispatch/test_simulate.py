"""Closed-loop simulation: physically consistent trajectories and the what-if knobs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from dispatch.prices import read_price_csv
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


def test_simulation_runs_on_spot_prices(tiny_park: Park, tmp_path: Path) -> None:
    """Issue 15: the annual simulation (and its baseline and KPIs) price energy from a price file.

    One day, one daily re-plan, prices per 15 minutes: flat 0.60 CNY/kWh import and 0.39 export, except
    −1.00 import for 10:00-10:30 local. The energy cost of both runs recomputed here from the file's own
    numbers and the executed import, export and battery discharge (throughput cost 0.02 CNY/kWh from the
    park file) equals the reported one; and in the negative window the optimised loop plans to charge at
    the 200 kW converter limit (each kWh bought earns 1 CNY, no demand charge on this tariff copy)."""
    park = tiny_park.model_copy(
        update={"tariff": tiny_park.tariff.model_copy(update={"demand_charge_cny_per_kw_month": 0})}
    )
    imp = np.full(192, 0.6)
    imp[40:42] = -1.0
    rows = ["start,import_cny_per_kwh,export_cny_per_kwh"]
    rows += [f"{(START + dt.timedelta(minutes=15 * k)).isoformat()},{imp[k]},0.39" for k in range(192)]
    (tmp_path / "spot.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    cfg = SimulationConfig(
        start=START, days=1, replan_minutes=24 * 60, seed=3, prices=read_price_csv(tmp_path / "spot.csv")
    )
    r = simulate_year(park, cfg)
    b = park.device("BESS1")
    for s in (r.optimised, r.baseline):
        wear = b.throughput_cost_cny_per_kwh * s.battery_discharge_kw["BESS1"].sum() * 0.25  # type: ignore[union-attr]
        hand = float(np.sum(imp[:96] * s.grid_import_kw - 0.39 * s.grid_export_kw) * 0.25) + wear
        assert s.kpis.energy_cost_cny == pytest.approx(hand, rel=1e-9, abs=1e-6)
    # the battery holds the planned grid exchange and absorbs the forecast error, so the executed charge
    # is the plan's 200 kW only up to that error; the TOU run (10:00 is a 1.00 CNY/kWh peak) does not charge
    tou = simulate_year(park, dataclasses.replace(cfg, prices=None))
    spot_charge = r.optimised.battery_charge_kw["BESS1"][40:42]
    assert spot_charge.min() > 100.0 and tou.optimised.battery_charge_kw["BESS1"][40:42].max() < 1.0
