"""KPIs of the operated period against the rule-based baseline, on the same measured inputs.

Both sides are scored by :func:`dispatch.schedule.compute_kpis` on one problem built from what
happened (:func:`actual_problem`): measured load consumption per interval, the simulator's true
available PV/wind (before any curtailment), the direct line's true availability, the tariff and
the battery's measured SOC at the start.

* **as operated** (:func:`operated_schedule`): the measured interval energies — battery charge and
  discharge, grid import and export at the grid meter, direct-line intake at its meter — with the
  green-contract take of each executed MPC step (a contract is delivered through the grid
  connection, so it is subtracted from the metered import to get the grid-mix import);
  curtailment = available − measured output in intervals where a limit below 100 % was written.
* **rule-based baseline**: :func:`dispatch.rules.rule_based_schedule` on the same problem, i.e. the
  self-consumption controller with perfect knowledge of the actual loads and generation.

The KPIs' demand charge is the monthly rate on the increase of the period's peak import over the
month's peak before the period (``peak_so_far_kw``, the value the MPC planned with), for both: what
the plan had to weigh. The cost lines (:mod:`services.cost_lines`: energy, demand charge prorated to
the period with the month-to-date peak, green premium, carbon cost) are what the period costs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from dispatch.from_park import problem_from_park
from dispatch.problem import DispatchProblem
from dispatch.rules import rule_based_schedule
from dispatch.schedule import Kpis, Schedule, compute_kpis
from ems.carbon.factors import FactorRegistry
from ems.carbon.service import load_registry
from ems.forecast.base import Forecast
from ems.park import Load, Park, PvPlant, WindTurbine
from ems.store import IntervalEnergy, Store
from services.cost_lines import CostLines, cost_lines


@dataclass
class Comparison:
    problem: DispatchProblem
    operated: Schedule
    baseline: Schedule
    operated_costs: CostLines
    baseline_costs: CostLines

    @property
    def operated_kpis(self) -> Kpis:
        return self.operated.kpis

    @property
    def baseline_kpis(self) -> Kpis:
        return self.baseline.kpis


def mean_power(ie: IntervalEnergy, device: str, h: float) -> tuple[np.ndarray, np.ndarray]:
    """(out, in) mean power [kW] per interval, over the covered part of each interval (0 without data)."""
    i = ie.devices.index(device)
    cov = np.maximum(ie.coverage[i], 1e-9)
    has = ie.coverage[i] > 0
    return (np.where(has, ie.e_out_kwh[i] / (h * cov), 0.0), np.where(has, ie.e_in_kwh[i] / (h * cov), 0.0))


def actual_problem(
    park: Park,
    ie: IntervalEnergy,
    available_kw: dict[str, np.ndarray],
    direct_avail_kw: dict[str, np.ndarray],
    soc0: dict[str, float],
    peak_so_far_kw: float = 0.0,
    registry: FactorRegistry | None = None,
) -> DispatchProblem:
    h = park.interval_minutes / 60.0
    start = dt.datetime.fromtimestamp(int(ie.starts[0].astype(np.int64)) / 1e6, tz=dt.UTC)
    fc = Forecast(start, park.interval_minutes, direct_avail_kw=dict(direct_avail_kw))
    for d in park.devices:
        if isinstance(d, Load):
            fc.load_kw[d.id] = mean_power(ie, d.id, h)[1]
        elif isinstance(d, PvPlant | WindTurbine):
            avail = available_kw.get(d.id, mean_power(ie, d.id, h)[0])
            (fc.pv_kw if isinstance(d, PvPlant) else fc.wind_kw)[d.id] = np.asarray(avail, dtype=float)
    return problem_from_park(park, fc, soc0=soc0, peak_import_so_far_kw=peak_so_far_kw, registry=registry)


def operated_schedule(
    park: Park,
    p: DispatchProblem,
    ie: IntervalEnergy,
    contract_kw: dict[str, np.ndarray],
    limited: dict[str, np.ndarray],
    soc_end: dict[str, np.ndarray],
) -> Schedule:
    """The period as measured, as a :class:`Schedule` (see module doc)."""
    h, T = p.dt_h, p.T
    base = rule_based_schedule(p)  # a template with every field; the decisions are replaced below
    gen_out = {g.id: mean_power(ie, g.id, h)[0] for g in p.generators}
    curtail = {
        g.id: np.where(limited.get(g.id, np.zeros(T, dtype=bool)), np.maximum(g.avail_kw - gen_out[g.id], 0.0), 0.0)
        for g in p.generators
    }
    charge = {b.id: mean_power(ie, b.id, h)[1] for b in p.batteries}
    discharge = {b.id: mean_power(ie, b.id, h)[0] for b in p.batteries}
    gm = park.grid_meter
    imp, exp = mean_power(ie, gm.id, h) if gm is not None else (np.zeros(T), np.zeros(T))
    contracts = {c.id: np.minimum(contract_kw.get(c.id, np.zeros(T)), imp) for c in p.contracts}
    mix = imp - sum(contracts.values(), np.zeros(T))
    direct = {}
    for c in park.green.direct_connections:
        if c.meter is not None and c.meter in ie.devices:
            direct[c.id] = mean_power(ie, c.meter, h)[0]
    s = Schedule(
        start=p.start,
        dt_h=h,
        times=p.times,
        method="mpc (as operated)",
        status="measured",
        objective_mode=base.objective_mode,
        solver_status="measured",
        fallback_reason=None,
        demand_kw=np.asarray(p.demand_kw, dtype=float),
        flex_kw={},
        battery_charge_kw=charge,
        battery_discharge_kw=discharge,
        soc0={b.id: b.soc0 for b in p.batteries},
        soc=soc_end,
        gen_avail_kw={g.id: np.asarray(g.avail_kw) for g in p.generators},
        curtail_kw=curtail,
        grid_import_kw=mix,
        grid_export_kw=exp,
        contract_kw=contracts,
        direct_kw={d.id: direct.get(d.id, np.zeros(T)) for d in p.direct},
        ef_kg_per_kwh=np.asarray(p.ef_kg_per_kwh),
        kpis=base.kpis,
    )
    s.kpis = compute_kpis(p, s)
    return s


def compare(
    park: Park,
    store: Store,
    start: dt.datetime,
    end: dt.datetime,
    available_kw: dict[str, np.ndarray],
    direct_avail_kw: dict[str, np.ndarray],
    soc0: dict[str, float],
    contract_kw: dict[str, np.ndarray],
    limited: dict[str, np.ndarray],
    peak_so_far_kw: float = 0.0,
) -> Comparison:
    """As operated vs the rule-based baseline for [start, end) (see module doc)."""
    ie = store.interval_energy(start, end)
    p = actual_problem(park, ie, available_kw, direct_avail_kw, soc0, peak_so_far_kw, load_registry(store))
    soc_end = {}
    for b in p.batteries:
        t_us, v = store.raw(b.id, "soc_pct", start, end)
        ends = p.times.astype("datetime64[us]").astype(np.int64) + int(p.dt_h * 3.6e9)
        k = np.searchsorted(t_us, ends, side="left") - 1
        soc_end[b.id] = np.where(k >= 0, v[np.maximum(k, 0)] / 100.0 if len(v) else b.soc0, b.soc0)
    operated, baseline = operated_schedule(park, p, ie, contract_kw, limited, soc_end), rule_based_schedule(p)
    return Comparison(
        p,
        operated,
        baseline,
        cost_lines(park, p, operated, peak_so_far_kw),
        cost_lines(park, p, baseline, peak_so_far_kw),
    )


def cost_rows(c: Comparison) -> list[tuple[str, str, str]]:
    """Summary rows (label, as operated, baseline) of the cost lines; the last is the total."""
    a, b = c.operated_costs, c.baseline_costs
    rows = [
        ("month-to-date peak import [kW]", f"{a.month_to_date_peak_kw:,.0f}", f"{b.month_to_date_peak_kw:,.0f}"),
        ("  energy [CNY]", f"{a.energy_cny:,.2f}", f"{b.energy_cny:,.2f}"),
        (
            f"  demand charge, {a.period_share_of_month:.1%} of month [CNY]",
            f"{a.demand_charge_cny:,.2f}",
            f"{b.demand_charge_cny:,.2f}",
        ),
        ("  green premium [CNY]", f"{a.green_premium_cny:,.2f}", f"{b.green_premium_cny:,.2f}"),
        ("  carbon cost [CNY]", f"{a.carbon_cost_cny:,.2f}", f"{b.carbon_cost_cny:,.2f}"),
        ("cost of the period [CNY]", f"{a.total_cny:,.2f}", f"{b.total_cny:,.2f}"),
    ]
    return rows
