"""Closed-loop annual simulation: forecast -> dispatch -> simulated plant -> measurement -> next re-plan.

The plant is the synthetic park of :func:`ems.synthetic.synthesize_truth` (seeded). At every
re-plan (hourly by default) the forecasters see only the measured past, the
:class:`~dispatch.mpc.RollingHorizon` plans ``horizon`` intervals from the measured SOC,
and the first intervals of the plan are executed until the next re-plan:

* batteries hold the planned grid exchange (absorbing the forecast error) within their
  power and *actual* SOC limits, except that a shortfall while the plan exports shrinks the export
  first: the battery discharges beyond its plan only to hold the planned import (the peak), not to sell
  stored energy the plan meant to keep;
* the RE content the executed intervals leave in each battery (:func:`dispatch.re_origin.re_content_kwh`)
  is where the next plan starts;
* contract delivery and flexible loads as planned; direct-line intake as planned but at most
  what the off-site plant actually produces;
* local PV/wind run at their actual output; when the export limit would be exceeded, the
  direct line is cut back first and local plants are curtailed only for the rest.

The baseline is the rule-based self-consumption controller run on the actual values
(day by day, SOC carried over). Both trajectories get the same KPIs; the demand charge
is settled per calendar month (local time) on each month's peak import.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Unpack

import numpy as np

from dispatch.from_park import problem_from_park, tou_prices
from dispatch.mpc import PlanState, RollingHorizon
from dispatch.prices import PriceSeries
from dispatch.problem import DispatchProblem
from dispatch.re_origin import MeteredFlows, re_content_kwh
from dispatch.rules import rule_based_schedule
from dispatch.scenario_mpc import ScenarioDispatcher
from dispatch.schedule import Kpis, Schedule, compute_kpis
from dispatch.solver import SolverOptions
from ems.forecast.base import Forecast
from ems.forecast.park import ParkHistory, forecast_park
from ems.forecast.peak_margin import DEFAULT_QUANTILE, NetLoadErrorWindow, net_load_kw
from ems.park import Battery, Park
from ems.parktime import local_datetimes
from ems.synthetic import ParkTruth, synthesize_truth
from services.cost_lines import CostLines, cost_lines


@dataclass(frozen=True)
class SimulationConfig:
    """What-if knobs of one annual run."""

    start: dt.datetime = dt.datetime(2025, 12, 31, 16, 0, tzinfo=dt.UTC)  # 2026-01-01 00:00 Beijing time
    days: int = 365
    replan_minutes: int = 60
    horizon: int = 0  # intervals each re-plan looks ahead; 0: one day of the park's intervals
    seed: int = 7
    history_days: int = 14
    battery_scale: float = 1.0
    contract_volume_scale: float = 1.0
    carbon_price_cny_per_t: float = 0.0
    options: SolverOptions = field(default_factory=SolverOptions)
    # import/export price series (a spot market; the park's dispatch.prices_file): replaces the TOU energy
    # price (or is added to it, park.dispatch.prices_add_to_tariff) and the export price, for the
    # optimised loop, the baseline and the KPIs alike; it must cover the days simulated plus one horizon
    prices: PriceSeries | None = None
    # peak-import safety margin: this quantile of the net-load forecast errors of the re-plans of the last
    # history_days (ems.forecast.peak_margin), per lead time; None = no margin
    peak_margin_quantile: float | None = None
    # the executed batteries hold the planned grid exchange (_execute), so their headroom may cover the margin
    # (dispatch.model.grid); False: the plan backs its import off by the whole margin
    peak_margin_from_batteries: bool = True
    # scenario-based MPC (dispatch.scenario_mpc) over this many equiprobable net-load scenarios from the same
    # error window (weighted objective, the first re-plan period shared); 1 = deterministic MPC
    scenarios: int = 1


@dataclass
class SimulationResult:
    optimised: Schedule
    baseline: Schedule
    kpis: Kpis
    baseline_kpis: Kpis
    replans: int
    fallbacks: Counter
    replan_seconds: list[float]
    wall_seconds: float
    import_limit_violations: int
    costs: CostLines  # what the period costs, line by line (services.cost_lines)
    baseline_costs: CostLines
    # executed intervals whose metered import exceeded the cap planned for them: the higher of the month's
    # metered peak before their re-plan and that plan's highest metered import (a peak set by forecast error)
    peak_exceedances: int = 0
    peak_margin_kw: list[float] = field(default_factory=list)  # the margin of the first interval, per re-plan

    def gains(self) -> dict[str, float]:
        """Optimised minus baseline for the headline KPIs."""
        a, b = self.kpis, self.baseline_kpis
        return {
            "local_re_consumption_ratio": a.local_re_consumption_ratio - b.local_re_consumption_ratio,
            "green_share": a.green_share - b.green_share,
            "cost_cny": a.cost_cny - b.cost_cny,
            "emissions_kg": a.emissions_kg - b.emissions_kg,
            "peak_import_kw": a.peak_import_kw - b.peak_import_kw,
        }

    def saving_by_line(self) -> dict[str, Decimal]:
        """Where the saving comes from: optimised minus baseline per cost line [CNY] (negative = saved)."""
        return {
            label: mine - theirs
            for (label, mine), (_, theirs) in zip(self.costs.rows(), self.baseline_costs.rows(), strict=True)
        }


def scaled_batteries(park: Park, scale: float) -> list[Battery]:
    """The park's batteries with energy and power multiplied by ``scale`` (what-if: more storage)."""
    return [
        b.model_copy(
            update={
                "e_rated_kwh": b.e_rated_kwh * scale,
                "p_charge_max_kw": b.p_charge_max_kw * scale,
                "p_discharge_max_kw": b.p_discharge_max_kw * scale,
            }
        )
        for b in park.devices_of("battery")
    ]


def truth_forecast(park: Park, truth: ParkTruth, start: int, n: int, prices: np.ndarray | None = None) -> Forecast:
    """Perfect-foresight forecast: the truth sliced to ``[start, start + n)`` (``prices``: TOU prices of the
    whole truth, to avoid re-deriving them per slice)."""
    cut = slice(start, start + n)
    fc = Forecast(
        _dt(truth.times[start]),
        park.interval_minutes,
        {k: v[cut] for k, v in truth.pv_kw.items()},
        {k: v[cut] for k, v in truth.wind_kw.items()},
        {k: v[cut] for k, v in truth.load_kw.items()},
        {k: v[cut] for k, v in truth.direct_kw.items()},
    )
    if prices is not None:
        fc.import_price = prices[cut]
    return fc


def _history(park: Park, truth: ParkTruth, t: int, days: int) -> ParkHistory:
    k0 = max(0, t - days * park.intervals_per_day)
    cut = slice(k0, t)
    h = ParkHistory(truth.times[cut], park.interval_minutes)
    for group in (truth.pv_kw, truth.wind_kw, truth.load_kw):
        for dev, vals in group.items():
            h.power_kw[dev] = vals[cut]
    for w in park.devices_of("wind"):
        h.wind_speed_m_s[w.id] = truth.wind_speed_m_s[cut]
    return h


def _ghi_lookup(truth: ParkTruth) -> Callable[[np.ndarray], np.ndarray]:
    t0 = truth.times[0]
    step = truth.times[1] - truth.times[0]

    def lookup(times: np.ndarray) -> np.ndarray:
        k = np.clip((np.asarray(times, dtype="datetime64[us]") - t0) // step, 0, len(truth.times) - 1)
        return truth.ghi_clear_w_m2[np.asarray(k, dtype=np.int64)]

    return lookup


class _Recorder:
    """Executed values of the closed loop, interval by interval."""

    def __init__(self, p: DispatchProblem) -> None:
        T = p.T
        self.charge = {b.id: np.zeros(T) for b in p.batteries}
        self.discharge = {b.id: np.zeros(T) for b in p.batteries}
        self.soc = {b.id: np.zeros(T) for b in p.batteries}
        self.curtail = {g.id: np.zeros(T) for g in p.generators}
        self.imp, self.exp, self.demand = np.zeros(T), np.zeros(T), np.zeros(T)
        self.contract = {c.id: np.zeros(T) for c in p.contracts}
        self.direct = {d.id: np.zeros(T) for d in p.direct}
        self.flex = {f.id: np.zeros(T) for f in p.flex}

    def window(self, p: DispatchProblem, t0: int, t1: int) -> MeteredFlows:
        """The executed intervals ``[t0, t1)`` (``p``: the whole period's problem, for the available RE)."""
        cut = slice(t0, t1)
        green = sum((x[cut] for x in (*self.contract.values(), *self.direct.values())), np.zeros(t1 - t0))
        return MeteredFlows(
            {b: x[cut] for b, x in self.charge.items()},
            {b: x[cut] for b, x in self.discharge.items()},
            {b: x[cut] for b, x in self.soc.items()},
            {g.id: np.asarray(g.avail_kw)[cut] for g in p.generators},
            {g: x[cut] for g, x in self.curtail.items()},
            self.imp[cut],
            self.exp[cut],
            green,
        )

    def schedule(self, park: Park, p: DispatchProblem, soc0: dict[str, float], method: str) -> Schedule:
        s = Schedule(
            start=p.start,
            dt_h=p.dt_h,
            times=p.times,
            method=method,
            status="simulated",
            objective_mode=method,
            solver_status="closed loop",
            fallback_reason=None,
            demand_kw=self.demand,
            flex_kw=self.flex,
            battery_charge_kw=self.charge,
            battery_discharge_kw=self.discharge,
            soc0=soc0,
            soc=self.soc,
            gen_avail_kw={g.id: g.avail_kw for g in p.generators},
            curtail_kw=self.curtail,
            grid_import_kw=self.imp,
            grid_export_kw=self.exp,
            contract_kw=self.contract,
            direct_kw=self.direct,
            ef_kg_per_kwh=p.ef_kg_per_kwh,
            kpis=Kpis(*([0.0] * 16)),
        )
        s.kpis = annual_kpis(park, p, s)
        return s


def annual_kpis(park: Park, p: DispatchProblem, s: Schedule) -> Kpis:
    """:func:`compute_kpis` with the demand charge settled per local calendar month of ``park``, on each
    month's peak metered import (grid mix plus green-contract deliveries, as the plans price it)."""
    k = compute_kpis(dataclasses.replace(p, demand_charge_cny_per_kw_month=0.0), s)
    months = np.array([lt.year * 12 + lt.month for lt in local_datetimes(p.times, park.tz)])
    metered = metered_import_kw(s)
    charge = sum(p.demand_charge_cny_per_kw_month * float(metered[months == m].max()) for m in np.unique(months))
    k.demand_charge_cny = charge
    k.cost_cny += charge
    return k


def simulation_truth(park: Park, cfg: SimulationConfig) -> tuple[ParkTruth, int]:
    """The synthetic plant the simulation runs: ``cfg.history_days`` of history (forecast training)
    before ``cfg.start``, the simulated days and one horizon after; and the index of ``cfg.start``.
    The pathway planner sizes on exactly these series, so a plan checked by operation sees its weather."""
    per_day = park.intervals_per_day
    truth = synthesize_truth(
        park,
        cfg.start - dt.timedelta(days=cfg.history_days),
        (cfg.days + cfg.history_days) * per_day + (cfg.horizon or per_day),
        seed=cfg.seed,
    )
    return truth, cfg.history_days * per_day


def simulate_year(
    park: Park, cfg: SimulationConfig | None = None, progress: Callable[[int], None] | None = None
) -> SimulationResult:
    """Run the closed loop and the baseline over ``cfg.days`` days; ``progress(n)`` is called per re-plan."""
    cfg = cfg or SimulationConfig()
    if cfg.horizon <= 0:
        cfg = dataclasses.replace(cfg, horizon=park.intervals_per_day)
    wall0 = time.perf_counter()
    n = cfg.days * park.intervals_per_day
    truth, off = simulation_truth(park, cfg)
    bats = scaled_batteries(park, cfg.battery_scale)
    prices = tou_prices(park, truth.times)
    year = problem_from_park(
        park,
        truth_forecast(park, truth, off, n, prices),
        batteries=bats,
        contract_volume_scale=cfg.contract_volume_scale,
        carbon_price_cny_per_t=cfg.carbon_price_cny_per_t,
        ghi_clear_w_m2=truth.ghi_clear_w_m2[off : off + n],
        prices=cfg.prices,
    )
    ghi_fn = _ghi_lookup(truth)
    mpc = RollingHorizon(
        park,
        cfg.options,
        carbon_price_cny_per_t=cfg.carbon_price_cny_per_t,
        batteries=bats,
        contract_volume_scale=cfg.contract_volume_scale,
        prices=cfg.prices,
        margin_from_batteries=cfg.peak_margin_from_batteries and cfg.peak_margin_quantile is not None,
    )
    rec = _Recorder(year)
    e = {b.id: b.soc_initial * b.e_rated_kwh for b in bats}
    soc0 = {b.id: b.soc_initial for b in bats}
    content = {b.id: 0.0 for b in bats}  # RE part of e [kWh]: the start energy counts as grid energy
    h = park.interval_minutes / 60.0
    step = max(1, cfg.replan_minutes // park.interval_minutes)
    month_of = np.array([lt.year * 12 + lt.month for lt in local_datetimes(year.times, park.tz)])
    month_start = np.searchsorted(month_of, month_of)  # first interval of each interval's month
    day_of = np.array([lt.toordinal() for lt in local_datetimes(year.times, park.tz)])
    day_start = np.searchsorted(day_of, day_of)
    fallbacks: Counter = Counter()
    replan_s: list[float] = []
    violations = 0
    replans = 0
    exceedances = 0
    margins: list[float] = []
    window = (
        NetLoadErrorWindow(
            cfg.horizon, cfg.history_days * park.intervals_per_day // step, cfg.peak_margin_quantile or DEFAULT_QUANTILE
        )
        if cfg.peak_margin_quantile is not None or cfg.scenarios > 1
        else None
    )
    net_actual = _net_load(truth)
    scenario_planner = ScenarioDispatcher(dataclasses.replace(cfg.options, objective="weighted"))
    for t0 in range(0, n, step):
        fc = forecast_park(
            park,
            _history(park, truth, off + t0, cfg.history_days),
            _dt(truth.times[off + t0]),
            cfg.horizon,
            clear_sky_ghi_fn=ghi_fn,
        )
        fc.import_price = prices[off + t0 : off + t0 + cfg.horizon]
        peak = float(_metered(rec, month_start[t0], t0).max(initial=0.0))  # the metered peak the plan prices
        margin: float | np.ndarray = 0.0
        offsets = np.zeros((1, cfg.horizon))
        if window is not None:
            if cfg.peak_margin_quantile is not None:
                margin = window.margin_kw(net_actual, off + t0)
                margins.append(float(margin[0]))
            if cfg.scenarios > 1:
                offsets = window.scenario_offsets_kw(net_actual, off + t0, cfg.scenarios)
            window.record(off + t0, net_load_kw(fc))
        r0 = time.perf_counter()
        plan = (mpc.step if cfg.scenarios <= 1 else _scenario_step(mpc, scenario_planner, offsets, step))(
            fc,
            {b.id: e[b.id] / b.e_rated_kwh for b in bats},
            peak_import_so_far_kw=peak,
            ghi_clear_w_m2=truth.ghi_clear_w_m2[off + t0 : off + t0 + cfg.horizon],
            flex_delivered_kwh={f: float(x[day_start[t0] : t0].sum() * h) for f, x in rec.flex.items()},
            contract_delivered_kwh={
                c.id: float(rec.contract[c.id][(day_start if c.period == "day" else month_start)[t0] : t0].sum() * h)
                for c in park.green.contracts
            },
            peak_margin_kw=margin,
            re_content_kwh=content,
        )
        replan_s.append(time.perf_counter() - r0)
        replans += 1
        if plan.status == "fallback":
            fallbacks[(plan.fallback_reason or "").split(":")[0]] += 1
        assert mpc.last_problem is not None
        baseline_flex = {f.id: f.baseline_kw for f in mpc.last_problem.flex}
        start = mpc.last_problem.batteries  # the measured SOC and the carried content at t0
        t1 = min(t0 + step, n)
        same_month = month_of[t0 : t0 + cfg.horizon] == month_of[t0]  # a plan's peak next month is not this cap
        planned = metered_import_kw(plan)[: len(same_month)][same_month]
        cap = max(peak, float(planned.max(initial=0.0)))
        for t in range(t0, t1):
            violations += _execute(park, bats, truth, off + t, t, t - t0, plan, baseline_flex, rec, e, h)
        exceedances += int(np.sum(_metered(rec, t0, t1) > cap + 1e-6))
        # the RE content the executed intervals leave is where the next plan starts (docs/dispatch.md)
        content = re_content_kwh(dataclasses.replace(year, batteries=start), rec.window(year, t0, t1))
        if progress is not None:
            progress(1)
    optimised = rec.schedule(park, year, soc0, "mpc")
    baseline = _baseline(park, bats, truth, off, n, cfg, year, soc0, prices)
    return SimulationResult(
        optimised,
        baseline,
        optimised.kpis,
        baseline.kpis,
        replans,
        fallbacks,
        replan_s,
        time.perf_counter() - wall0,
        violations,
        cost_lines(park, year, optimised),
        cost_lines(park, year, baseline),
        exceedances,
        margins,
    )


def _scenario_step(
    mpc: RollingHorizon, planner: ScenarioDispatcher, offsets: np.ndarray, shared: int
) -> Callable[..., Schedule]:
    """A stand-in for ``mpc.step`` that plans over the scenarios ``forecast + offsets[k]`` (net load, put on
    the demand) with the first ``shared`` intervals common (:mod:`dispatch.scenario_mpc`)."""

    def step(fc: Forecast, soc_measured: dict[str, float], **state: Unpack[PlanState]) -> Schedule:
        p = mpc.problem(fc, soc_measured, **state)
        cases = [dataclasses.replace(p, demand_kw=np.maximum(p.demand_kw + o[: p.T], 0.0)) for o in offsets]
        weights = [1.0 / len(cases)] * len(cases)
        return planner.solve(cases, weights, shared)

    return step


def _net_load(truth: ParkTruth) -> np.ndarray:
    """Actual net load of the synthetic plant: loads minus local PV and wind [kW]."""
    out = sum(truth.load_kw.values(), np.zeros(len(truth.times)))
    return out - sum((*truth.pv_kw.values(), *truth.wind_kw.values()), np.zeros(len(truth.times)))


def _metered(rec: _Recorder, a: int, b: int) -> np.ndarray:
    """Metered import (grid mix + green contracts) of executed intervals ``[a, b)`` [kW]."""
    return rec.imp[a:b] + sum((c[a:b] for c in rec.contract.values()), np.zeros(b - a))


def metered_import_kw(s: Schedule) -> np.ndarray:
    """Metered import of a schedule: grid mix plus green-contract deliveries, which arrive through the same
    connection point and meter and so count for the demand charge [kW]."""
    return s.grid_import_kw + sum(s.contract_kw.values(), np.zeros(s.T))


def _dt(t: np.datetime64) -> dt.datetime:
    us = int(np.asarray(t).astype("datetime64[us]").astype(np.int64))
    return dt.datetime.fromtimestamp(us / 1e6, dt.UTC)


def _execute(
    park: Park,
    bats: list[Battery],
    truth: ParkTruth,
    i: int,
    t: int,
    k: int,
    plan: Schedule,
    baseline_flex: dict[str, np.ndarray],
    rec: _Recorder,
    e: dict[str, float],
    h: float,
) -> int:
    """Run interval ``t`` (truth index ``i``) with plan interval ``k``; 1 on an import-limit violation."""
    demand = sum(v[i] for v in truth.load_kw.values())
    for f_id, x in plan.flex_kw.items():
        demand += x[k] - baseline_flex[f_id][k]
        rec.flex[f_id][t] = x[k]
    rec.demand[t] = demand - sum(x[k] for x in plan.flex_kw.values())
    green = 0.0
    for c_id, g in plan.contract_kw.items():
        rec.contract[c_id][t] = g[k]
        green += g[k]
    for d_id, g in plan.direct_kw.items():
        rec.direct[d_id][t] = min(g[k], truth.direct_kw[d_id][i])
        green += rec.direct[d_id][t]
    avail = {g: v[i] for g, v in {**truth.pv_kw, **truth.wind_kw}.items()}
    # the batteries hold the planned grid exchange and absorb the forecast error, within their limits
    need = demand - sum(avail.values()) - green - float(plan.grid_import_kw[k] - plan.grid_export_kw[k])
    planned = {b.id: plan.battery_discharge_kw[b.id][k] - plan.battery_charge_kw[b.id][k] for b in bats}
    total_planned = sum(planned.values())
    if need > total_planned:  # a shortfall: while the plan exports, the export shrinks first (module doc)
        need = max(total_planned, need - float(plan.grid_export_kw[k]))
    pb_total = 0.0
    for b in bats:
        keep = (1.0 - b.self_discharge_per_h) ** h
        pb = need * planned[b.id] / total_planned if abs(total_planned) > 1e-9 else need / len(bats)
        if pb >= 0:
            pd = min(
                pb,
                b.p_discharge_max_kw,
                max(0.0, keep * e[b.id] - b.soc_min * b.e_rated_kwh) * b.eta_discharge / h,
            )
            pc = 0.0
        else:
            pc = min(
                -pb,
                b.p_charge_max_kw,
                max(0.0, b.soc_max * b.e_rated_kwh - keep * e[b.id]) / (b.eta_charge * h),
            )
            pd = 0.0
        e[b.id] = keep * e[b.id] + h * (b.eta_charge * pc - pd / b.eta_discharge)
        rec.charge[b.id][t], rec.discharge[b.id][t], rec.soc[b.id][t] = pc, pd, e[b.id] / b.e_rated_kwh
        pb_total += pd - pc
    grid = demand - sum(avail.values()) - pb_total - green
    excess = max(0.0, -grid - park.network.grid_connection.export_limit_kw)  # real-time anti-backflow
    # local PV/wind first: cut the off-site direct line before curtailing local plants
    for d_id in rec.direct:
        cut = min(excess, rec.direct[d_id][t])
        rec.direct[d_id][t] -= cut
        grid += cut
        excess -= cut
    total = sum(avail.values())
    for gen, a in avail.items():
        rec.curtail[gen][t] = excess * a / total if total > 0 else 0.0
    grid += excess
    rec.imp[t], rec.exp[t] = max(grid, 0.0), max(-grid, 0.0)
    return int(grid > park.network.grid_connection.import_limit_kw + 1e-6)


def _baseline(
    park: Park,
    bats: list[Battery],
    truth: ParkTruth,
    off: int,
    n: int,
    cfg: SimulationConfig,
    year: DispatchProblem,
    soc0: dict[str, float],
    prices: np.ndarray,
) -> Schedule:
    """Rule-based controller on the actual values, one day at a time, SOC carried over."""
    rec = _Recorder(year)
    soc = dict(soc0)
    per_day = park.intervals_per_day
    for d0 in range(0, n, per_day):
        m = min(per_day, n - d0)
        p = problem_from_park(
            park,
            truth_forecast(park, truth, off + d0, m, prices),
            soc0=soc,
            batteries=bats,
            contract_volume_scale=cfg.contract_volume_scale,
            ghi_clear_w_m2=truth.ghi_clear_w_m2[off + d0 : off + d0 + m],
            prices=cfg.prices,
        )
        s = rule_based_schedule(p)
        cut = slice(d0, d0 + m)
        for b in bats:
            rec.charge[b.id][cut] = s.battery_charge_kw[b.id]
            rec.discharge[b.id][cut] = s.battery_discharge_kw[b.id]
            rec.soc[b.id][cut] = s.soc[b.id]
            soc[b.id] = float(s.soc[b.id][-1])
        for group, src in (
            (rec.curtail, s.curtail_kw),
            (rec.contract, s.contract_kw),
            (rec.direct, s.direct_kw),
            (rec.flex, s.flex_kw),
        ):
            for key, vals in src.items():
                group[key][cut] = vals
        rec.imp[cut], rec.exp[cut], rec.demand[cut] = s.grid_import_kw, s.grid_export_kw, s.demand_kw
    return rec.schedule(park, year, soc0, "rule_based")
