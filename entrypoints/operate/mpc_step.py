"""One MPC planning step against the store.

``plan(start, now)``: the measured history of the last ``history_days`` → forecasts of the
horizon (:func:`ems.forecast.park.forecast_park`) → the dispatch problem with the measured
battery SOC and the month's peak import so far → solved with the AC check of
:func:`services.network_check.dispatch_with_ac_check` (or the plain warm-started
:class:`~dispatch.mpc.RollingHorizon` step when the check is off) → forecast and schedule
(kind ``"mpc"``) saved. :meth:`Planner.score_forecasts`, called once an interval is metered,
stores the accuracy of the forecasts that covered it. :meth:`Planner.grid_status` gives the power
flow of the first planned interval as plain data for ``GET /v1/grid/status``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from dispatch.from_park import grid_factor, problem_from_park
from dispatch.mpc import RollingHorizon
from dispatch.prices import PriceSeries
from dispatch.problem import DispatchProblem
from dispatch.re_origin import MeteredFlows, re_content_kwh
from dispatch.rules import rule_based_schedule
from dispatch.schedule import Schedule
from ems.carbon.service import load_registry
from ems.forecast.accuracy import Accuracy
from ems.forecast.history import history_from_store
from ems.forecast.park import forecast_park
from ems.forecast.runs import evaluate_metered, save_forecast
from ems.forecast.stored_margin import stored_margin_kw
from ems.park import Park
from ems.store import Store
from ems.store.schedules import save_schedule
from entrypoints.operate.summary import mean_power
from grid_models import ParkNetwork, build_network, timeseries, violations
from services.month_to_date import so_far
from services.network_check import AcCheckReport, dispatch_with_ac_check, schedule_injections

SOC_LOOKBACK = dt.timedelta(hours=1)  # an older SOC reading is not "measured" any more


@dataclass
class PlanStep:
    """One re-plan: the schedule and where it was stored."""

    start: dt.datetime
    schedule: Schedule
    problem: DispatchProblem
    soc0: dict[str, float]
    peak_so_far_kw: float
    schedule_id: int
    forecast_run_id: int
    ac: AcCheckReport | None
    seconds: float


class Planner:
    """Re-plans ``park`` from ``store`` (see module doc)."""

    def __init__(
        self,
        park: Park,
        store: Store,
        *,
        horizon: int | None = None,
        history_days: int = 7,
        ac_check: bool = True,
        prices: PriceSeries | None = None,
        peak_margin_quantile: float | None = None,
    ) -> None:
        """``prices``: import/export price series replacing (or adding to) the tariff, as in ``ems plan``.
        ``peak_margin_quantile`` (default: the park file's ``dispatch.peak_margin_quantile``): plan a peak-import
        safety margin, this quantile of the net-load errors of the forecasts of the last ``history_days``
        (:mod:`ems.forecast.stored_margin`); the import guard lets the batteries absorb errors, so their
        headroom covers it (``peak_margin_from_batteries``)."""
        self.park = park
        self.store = store
        self.horizon = horizon or park.intervals_per_day  # default: one day
        self.history_days = history_days
        self.prices = prices
        self.peak_margin_quantile = peak_margin_quantile or park.dispatch.peak_margin_quantile
        self.rh = RollingHorizon(park, prices=prices, margin_from_batteries=self.peak_margin_quantile is not None)
        self.network: ParkNetwork | None = build_network(park) if ac_check else None
        self.scored_until: dt.datetime | None = None
        self.last_problem: DispatchProblem | None = None  # the previous plan's problem: its start SOC and RE content

    def score_forecasts(self, until: dt.datetime) -> dict[int, dict[str, Accuracy]]:
        """Store the accuracy of every forecast run with an interval metered since the last call (on the
        first call: within the history window), up to the interval start ``until``."""
        since = self.scored_until or until - dt.timedelta(days=self.history_days)
        if until <= since:
            return {}
        self.scored_until = until
        return evaluate_metered(self.store, self.park, since, until)

    def measured_soc(self, now: dt.datetime) -> dict[str, float]:
        """Latest ``soc_pct`` reading (within :data:`SOC_LOOKBACK`) of every battery, as 0..1.

        A battery without a recent reading is left out: the planner then assumes its park-file
        ``soc_initial`` (and the schedule notes say which SOC was used).
        """
        out = {}
        for b in self.park.devices_of("battery"):
            _, v = self.store.raw(b.id, "soc_pct", now - SOC_LOOKBACK, now + dt.timedelta(seconds=1))
            if len(v):
                out[b.id] = float(v[-1]) / 100.0
        return out

    def re_content_kwh(self, start: dt.datetime) -> dict[str, float]:
        """RE content of each battery at ``start`` [kWh]: the previous plan's start content carried through the
        intervals metered since (:func:`dispatch.re_origin.re_content_kwh` on the battery, generator, grid and
        direct-line meters; generation as metered, i.e. nothing curtailed, which does not change what was
        stored). Unknown (the first plan, or the previous one older than the history window): 0, all grid."""
        last = self.last_problem
        if last is None or not (dt.timedelta(0) < start - last.start <= dt.timedelta(days=self.history_days)):
            return {}
        ie = self.store.interval_energy(last.start, start)
        h = self.park.interval_minutes / 60.0
        T = len(ie.starts)
        ends = ie.starts.astype("datetime64[us]").astype(np.int64) + int(h * 3.6e9)
        soc = {}
        for b in last.batteries:
            t_us, v = self.store.raw(b.id, "soc_pct", last.start, start)
            k = np.searchsorted(t_us, ends, side="left") - 1
            soc[b.id] = np.where(k >= 0, v[np.maximum(k, 0)] / 100.0 if len(v) else b.soc0, b.soc0)
        gm = self.park.grid_meter
        imp, exp = mean_power(ie, gm.id, h) if gm is not None else (np.zeros(T), np.zeros(T))
        direct = [c.meter for c in self.park.green.direct_connections if c.meter is not None and c.meter in ie.devices]
        flows = MeteredFlows(
            {b.id: mean_power(ie, b.id, h)[1] for b in last.batteries},
            {b.id: mean_power(ie, b.id, h)[0] for b in last.batteries},
            soc,
            {g.id: mean_power(ie, g.id, h)[0] for g in last.generators},
            {g.id: np.zeros(T) for g in last.generators},
            imp,
            exp,
            sum((mean_power(ie, d, h)[0] for d in direct), np.zeros(T)),
        )
        return re_content_kwh(last, flows)

    def plan(self, start: dt.datetime, now: dt.datetime) -> PlanStep:
        """Plan the horizon from interval ``start`` with what is measured up to ``now``; save it."""
        t0 = time.perf_counter()
        hist = history_from_store(self.store, self.park, start - dt.timedelta(days=self.history_days), start)
        fc = forecast_park(self.park, hist, start, self.horizon)
        fc.ef_kg_per_kwh, fc.ef_source = grid_factor(self.park, fc.times, load_registry(self.store))
        soc = self.measured_soc(now)
        before = so_far(self.store, self.park, start, self.history_days)
        content = self.re_content_kwh(start)
        margin = self.peak_margin_kw(start)
        ac: AcCheckReport | None = None
        if self.network is not None:
            p = problem_from_park(
                self.park,
                fc,
                soc0=soc,
                peak_import_so_far_kw=before.peak_import_kw,
                prices=self.prices,
                contract_delivered_kwh=before.contract_delivered_kwh,
                flex_delivered_kwh=before.flex_delivered_kwh,
                re_content_kwh=content,
            )
            p.peak_margin_kw, p.peak_margin_from_batteries = margin, self.rh.margin_from_batteries
            s, ac = dispatch_with_ac_check(
                self.rh.dispatcher,
                p,
                self.network,
                grid_model=self.park.dispatch.grid_model,
                n_1=self.park.dispatch.n_1,
            )
        else:
            s = self.rh.step(
                fc,
                soc,
                peak_import_so_far_kw=before.peak_import_kw,
                contract_delivered_kwh=before.contract_delivered_kwh,
                flex_delivered_kwh=before.flex_delivered_kwh,
                peak_margin_kw=margin,
                re_content_kwh=content,
            )
            assert self.rh.last_problem is not None
            p = self.rh.last_problem
        self.last_problem = p
        missing = [b.id for b in self.park.devices_of("battery") if b.id not in soc]
        if missing:
            s.notes.append(f"no recent SOC reading for {', '.join(missing)}: park-file soc_initial assumed")
        with self.store.connection() as conn:
            run_id = save_forecast(conn, fc, note="mpc")
            sid, _ = save_schedule(conn, s.to_record(), "mpc", run_id)
            # the rule-based controller on the same forecast: the console's and the KPI cards' baseline
            save_schedule(conn, rule_based_schedule(p).to_record(), "baseline", forecast_run_id=run_id)
        return PlanStep(start, s, p, soc, before.peak_import_kw, sid, run_id, ac, time.perf_counter() - t0)

    def peak_margin_kw(self, start: dt.datetime) -> np.ndarray | float:
        """Peak-import safety margin per lead time of the horizon from ``start`` (0 when not configured)."""
        if self.peak_margin_quantile is None:
            return 0.0
        return stored_margin_kw(
            self.store, self.park, start, self.history_days, self.horizon, self.peak_margin_quantile
        )

    def import_cap_kw(self, step: PlanStep) -> float:
        """Grid-meter import the first interval may reach without a new peak: max(peak so far, planned
        import incl. green-contract delivery, which arrives through the grid connection)."""
        s = step.schedule
        planned = float(s.grid_import_kw[0]) + sum(float(v[0]) for v in s.contract_kw.values())
        return max(step.peak_so_far_kw, planned)

    def grid_status(self, step: PlanStep) -> dict[str, Any] | None:
        """AC power flow of the first planned interval, as plain data (``services["grid_status"]``); None
        without a grid model (AC check off): the API then runs the power flow of the latest telemetry."""
        if self.network is None:
            return None
        ids, inj = schedule_injections(step.problem, step.schedule, self.network)
        res = timeseries(self.network, ids, inj[:1])
        one = res.at(0)
        found = violations(res, self.network.limits)
        return {
            "time": step.start.astimezone(dt.UTC).isoformat(),
            "source": f"AC power flow of the first interval of mpc schedule {step.schedule_id}",
            "vm_pu": _finite(one.bus_vm_pu),
            "line_loading_percent": _finite(one.line_loading_percent),
            "trafo_loading_percent": _finite(one.trafo_loading_percent),
            "grid_exchange_kw": round(one.grid_exchange_kw, 1),
            "losses_kw": round(one.losses_kw, 1),
            "converged": one.converged,
            "violations": [{"kind": v.kind, "element": v.element, "value": v.value, "limit": v.limit} for v in found],
        }


def _finite(d: dict[str, float]) -> dict[str, float]:
    """Without the NaN of de-energised elements (the API's schema has plain numbers)."""
    return {k: round(v, 4) for k, v in d.items() if np.isfinite(v)}
