"""Issue 15: the battery's local RE content carried between plans (``BatterySpec.e_re0_kwh``), in the model
(:mod:`dispatch.model.origin`), the KPI (:mod:`dispatch.re_origin`) and the rolling hand-over
(:func:`dispatch.re_origin.re_content_kwh`). Expected values are hand calculations in the comments; the
model's ``re_lost`` and the KPI's attribution LP are two formulations checked against each other."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dispatch.problem import DispatchProblem
from dispatch.re_origin import MeteredFlows, re_content_kwh, re_lost_kwh
from dispatch.solver import Dispatcher, SolverOptions
from tests.dispatch.helpers import battery, problem

# 100 kWh battery, 90 % each way, holding 90 kWh; one hour, no load, no PV, export up to 100 kW at 1 CNY/kWh.
FULL = battery(soc0=0.9)  # soc_terminal 0: stored energy has no terminal value


def _sell(e_re0_kwh: float) -> DispatchProblem:
    return problem(
        [0.0],
        [1.0],
        pv=[0.0],
        batteries=[dataclasses.replace(FULL, e_re0_kwh=e_re0_kwh)],
        export_limit=100.0,
        export_price=1.0,
    )


def _solve(p: DispatchProblem, options: SolverOptions) -> tuple[float, float, float]:
    """(export [kWh], the model's re_lost [kWh], the KPI's RE lost on the plan [kWh])."""
    d = Dispatcher(options)
    s = d.solve(p)
    assert s.status == "optimal", s.fallback_reason
    assert d.model is not None
    return float(s.grid_export_kw.sum()), float(d.model.re_lost.value), re_lost_kwh(p, s)


@pytest.mark.parametrize("options", [SolverOptions(), SolverOptions(objective="weighted", re_weight_cny_per_kwh=0.0)])
def test_selling_stored_grid_energy_loses_no_renewable_energy(options: SolverOptions) -> None:
    # Content of grid origin (e_re0 = 0): selling it is no RE loss, so both modes take the cost optimum:
    # discharge all 90 kWh stored, 90·η_d = 81 kWh exported at 1 CNY (terminal value below the price).
    exported, lost, kpi_lost = _solve(_sell(0.0), options)
    assert exported == pytest.approx(81.0, abs=1e-4)
    assert lost == pytest.approx(0.0, abs=1e-4)
    assert kpi_lost == pytest.approx(0.0, abs=1e-4)


def test_selling_stored_pv_energy_is_a_renewable_loss_of_eta_d_times_the_content() -> None:
    # The same 90 kWh stored, all of it PV (e_re0 = 90). Exporting it loses η_d·90 = 81 kWh of RE (what it
    # would have delivered to a load), so the weighted plan at w = 0 (cost only: it sells) loses 81 by both
    # counts, and the lexicographic plan keeps it: loss 0 < 81, nothing exported.
    exported, lost, kpi_lost = _solve(_sell(90.0), SolverOptions(objective="weighted", re_weight_cny_per_kwh=0.0))
    assert exported == pytest.approx(81.0, abs=1e-4)
    assert lost == pytest.approx(81.0, abs=1e-4)
    assert kpi_lost == pytest.approx(81.0, abs=1e-4)
    exported, lost, kpi_lost = _solve(_sell(90.0), SolverOptions())
    assert exported == pytest.approx(0.0, abs=1e-4)
    assert lost == pytest.approx(0.0, abs=1e-4)
    assert kpi_lost == pytest.approx(0.0, abs=1e-4)


def test_kpi_denominator_counts_the_stored_renewable_energy() -> None:
    # Selling all 90 kWh of stored PV: available = generation 0 + η_d·90 = 81 kWh, lost 81: ratio 0.
    # Half PV (e_re0 = 45): the most favourable attribution sells the 45 kWh of grid energy first
    # (40.5 kWh exported, no loss), then 45 kWh of PV (40.5 kWh lost) of 40.5 available: ratio 0 again;
    # selling only 40.5 kWh (the grid part) would be ratio 1.
    for e_re0, sold_kwh, ratio in ((90.0, 81.0, 0.0), (45.0, 81.0, 0.0), (45.0, 40.5, 1.0)):
        p = _sell(e_re0)
        s = Dispatcher(SolverOptions(objective="weighted", re_weight_cny_per_kwh=0.0)).solve(p)
        flows = _flows(p, discharge=sold_kwh, export=sold_kwh)
        assert re_lost_kwh(p, flows) == pytest.approx((1 - ratio) * 0.9 * e_re0, abs=1e-4)
        assert s.kpis.local_re_available_kwh == pytest.approx(0.9 * e_re0, abs=1e-6)


def _flows(p: DispatchProblem, *, discharge: float, export: float) -> MeteredFlows:
    (b,) = p.batteries
    e_end = b.soc0 * b.e_kwh - discharge / b.eta_discharge
    return MeteredFlows(
        {b.id: np.zeros(1)},
        {b.id: np.array([discharge])},
        {b.id: np.array([e_end / b.e_kwh])},
        {"PV1": np.zeros(1)},
        {"PV1": np.zeros(1)},
        np.zeros(1),
        np.array([export]),
        np.zeros(1),
    )


def test_two_rolling_plans_carry_the_hand_computed_content() -> None:
    # 200 kWh battery, 90 % each way, holding 100 kWh of grid energy (content 0). Hour 0: PV 100, no load;
    # hour 1: no PV, load 45; anti-backflow, flat price. Plan 1 stores the PV: after its first hour,
    # executed, the battery holds 100 + 0.9·100 = 190 kWh of which 90 PV. Plan 2 starts there (e_re0 = 90)
    # and serves the 45 kW load from the battery: 45/0.9 = 50 kWh leave it; the least RE content consistent
    # with no loss counts that as PV (RE first), leaving 90 − 50 = 40 kWh of PV in 140 kWh.
    b = battery(e_kwh=200.0, soc0=0.5)
    p1 = problem([0.0, 45.0], [1.0, 1.0], pv=[100.0, 0.0], batteries=[b])
    s1 = Dispatcher().solve(p1)
    assert s1.battery_charge_kw["B1"][0] == pytest.approx(100.0, abs=1e-4)
    carried = re_content_kwh(p1, _first(s1))
    assert carried["B1"] == pytest.approx(90.0, abs=1e-3)

    b2 = dataclasses.replace(b, soc0=float(s1.soc["B1"][0]), e_re0_kwh=carried["B1"])
    p2 = problem([45.0], [1.0], pv=[0.0], batteries=[b2])
    s2 = Dispatcher().solve(p2)
    assert s2.battery_discharge_kw["B1"][0] == pytest.approx(45.0, abs=1e-4)
    assert re_content_kwh(p2, s2)["B1"] == pytest.approx(40.0, abs=1e-3)
    # nothing lost in either plan but plan 1's round trip charged on entry: 100·(1 − 0.81) = 19 kWh
    assert re_lost_kwh(p2, s2) == pytest.approx(0.0, abs=1e-4)
    assert re_lost_kwh(p1, _first(s1)) == pytest.approx(19.0, abs=1e-3)


def _first(s: object) -> MeteredFlows:
    """The first interval of plan ``s``, as executed."""
    one = slice(0, 1)
    return MeteredFlows(
        {k: v[one] for k, v in s.battery_charge_kw.items()},  # type: ignore[attr-defined]
        {k: v[one] for k, v in s.battery_discharge_kw.items()},  # type: ignore[attr-defined]
        {k: v[one] for k, v in s.soc.items()},  # type: ignore[attr-defined]
        {k: v[one] for k, v in s.gen_avail_kw.items()},  # type: ignore[attr-defined]
        {k: v[one] for k, v in s.curtail_kw.items()},  # type: ignore[attr-defined]
        s.grid_import_kw[one],  # type: ignore[attr-defined]
        s.grid_export_kw[one],  # type: ignore[attr-defined]
        s.green_kw[one],  # type: ignore[attr-defined]
    )


def test_carried_content_updates_the_kept_lp_in_place() -> None:
    # An MPC re-plan that changes only the carried content must stay an in-place update of the kept LP
    # (e_re0 is a mutable parameter on a row side) and give the plan of a fresh model.
    def p(e_re0: float) -> DispatchProblem:
        return problem(
            [0.0, 20.0, 0.0],
            [1.0, 1.0, 1.0],
            pv=[0.0, 0.0, 0.0],
            batteries=[dataclasses.replace(FULL, e_re0_kwh=e_re0)],
            export_limit=100.0,
            export_price=1.0,
        )

    d = Dispatcher(update_in_place=True)
    d.solve(p(0.0))
    kept = d.solve(p(90.0))
    assert d.in_place_updates == 1
    fresh = Dispatcher().solve(p(90.0))
    assert kept.kpis.cost_cny == pytest.approx(fresh.kpis.cost_cny, abs=1e-6)
    assert float(kept.grid_export_kw.sum()) == pytest.approx(float(fresh.grid_export_kw.sum()), abs=1e-6)


def test_live_planner_carries_the_content_through_the_metered_intervals(demo_store, demo_park) -> None:  # type: ignore[no-untyped-def]
    # ems mpc: the previous plan started at START with BESS (40 MWh, η 0.95 each way) at SOC 0.5 holding
    # 1000 kWh of RE. Metered since, one reading a minute: interval 0, PV_CELLS 4000 kW all charging the
    # battery (−4000 kW at its terminals), grid 0: 1000 kWh in, 950 stored, content 1950; interval 1, the
    # battery delivers 2000 kW (500 kWh to the loads, 500/0.95 = 526.316 kWh out of it), grid 0: counted as
    # RE first (least content), 1950 − 526.316 = 1423.684 kWh at the start of the next plan; less the
    # self-discharge of 0.01 %/h, keep = 0.9999^0.25 per interval on the content: 1423.610 kWh.
    import datetime as dt

    from dispatch.from_park import problem_from_park
    from ems.forecast import Forecast
    from ems.telemetry import ReadingBatch
    from entrypoints.operate.mpc_step import Planner

    start = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)
    minutes = np.arange(30)
    t_us = int(start.timestamp() * 1e6) + minutes * 60_000_000
    pv = np.where(minutes < 15, 4000.0, 0.0)
    bess = np.where(minutes < 15, -4000.0, 2000.0)
    soc_end = [52.375, (20950.0 - 500 / 0.95) / 400.0]  # SOC % at each interval's end
    rows = [(t_us, "PV_CELLS", "p_kw", pv), (t_us, "BESS", "p_kw", bess), (t_us, "M_GRID", "p_kw", 0 * pv)]
    rows.append((t_us[[14, 29]], "BESS", "soc_pct", np.array(soc_end)))
    batch = ReadingBatch(
        np.concatenate([r[0] for r in rows]),
        np.concatenate([np.full(len(r[0]), r[1], dtype=object) for r in rows]),
        np.concatenate([np.full(len(r[0]), r[2], dtype=object) for r in rows]),
        np.concatenate([r[3] for r in rows]),
        np.zeros(sum(len(r[0]) for r in rows), dtype=np.int16),
    )
    assert not demo_store.ingest(batch, now=start + dt.timedelta(hours=1)).rejected
    planner = Planner(demo_park, demo_store, ac_check=False)
    assert planner.re_content_kwh(start + dt.timedelta(minutes=30)) == {}  # nothing known yet: all grid
    fc = Forecast(start, 15, {"PV_CELLS": np.zeros(4)})
    planner.last_problem = problem_from_park(demo_park, fc, soc0={"BESS": 0.5}, re_content_kwh={"BESS": 1000.0})
    carried = planner.re_content_kwh(start + dt.timedelta(minutes=30))
    keep = 0.9999**0.25
    assert carried["BESS"] == pytest.approx(keep * (keep * 1000.0 + 950.0) - 500 / 0.95, abs=1e-3)
