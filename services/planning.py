"""Day-ahead planning from the stored history: forecast → dispatch (AC-checked) → versioned schedules.

``ems plan`` and the operator API's re-plan share this path. Dispatch itself knows no SQL;
this module is where the store, the forecasters, the dispatcher and the grid model meet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from dispatch.from_park import grid_factor, problem_from_park, solver_options
from dispatch.prices import PriceSeries, read_price_csv
from dispatch.problem import DispatchProblem
from dispatch.rules import rule_based_schedule
from dispatch.schedule import Schedule
from dispatch.solver import Dispatcher
from ems.carbon.service import load_registry
from ems.forecast import Forecast, forecast_park
from ems.forecast.base import interval_times
from ems.forecast.history import history_from_store
from ems.forecast.runs import save_forecast
from ems.park import Park
from ems.store import Store
from ems.store.schedules import save_schedule
from services import month_to_date


@dataclass(frozen=True)
class PlanResult:
    schedule: Schedule
    baseline: Schedule
    problem: DispatchProblem
    schedule_id: int | None = None  # None when not saved
    version: int | None = None
    forecast_run_id: int | None = None


def park_prices(
    park: Park, park_file: Path | None, start: dt.datetime, intervals: int, path: Path | None = None
) -> PriceSeries | None:
    """The price file ``path``, else the park file's ``dispatch.prices_file`` (relative to the park file, or
    to the working directory for a park given otherwise), checked to cover the horizon; ``None`` without
    one. Raises :class:`dispatch.prices.PriceFileError` naming the file and the problem."""
    if path is None and park.dispatch.prices_file:
        path = (park_file.parent if park_file else Path.cwd()) / park.dispatch.prices_file
    if path is None:
        return None
    series = read_price_csv(path)
    series.interval_means(interval_times(start, intervals, park.interval_minutes), park.interval_minutes / 60)
    return series


def solve_checked(park: Park, p: DispatchProblem, dispatcher: Dispatcher, ac_check: bool) -> Schedule:
    """Solve ``p``; with ``ac_check``, verify by AC power flow and re-solve with tightened limits."""
    if not ac_check:
        return dispatcher.solve(p)
    from grid_models import build_network
    from services.network_check import dispatch_with_ac_check

    s, _ = dispatch_with_ac_check(
        dispatcher, p, build_network(park), grid_model=park.dispatch.grid_model, n_1=park.dispatch.n_1
    )
    return s


def plan(
    park: Park,
    fc: Forecast,
    *,
    ac_check: bool = True,
    objective: str | None = None,
    carbon_price_cny_per_t: float = 0.0,
    options: dict[str, object] | None = None,
    prices: PriceSeries | None = None,
    before: month_to_date.SoFar | None = None,
) -> PlanResult:
    """Optimised schedule and the rule-based baseline for the horizon of ``fc``.

    Solver settings come from the park file (``park.dispatch``); ``objective`` and ``options``
    (``SolverOptions`` fields) override them. ``prices``: per-interval import/export prices.
    ``before``: what the month, the contracts' periods and the day already hold before ``fc.start``
    (:func:`services.month_to_date.so_far`).
    Never raises for data reasons: a failed or infeasible solve comes back as the rule-based
    fallback schedule, with the reason in ``schedule.fallback_reason``.
    """
    before = before or month_to_date.SoFar()
    p = problem_from_park(
        park,
        fc,
        carbon_price_cny_per_t=carbon_price_cny_per_t,
        prices=prices,
        peak_import_so_far_kw=before.peak_import_kw,
        contract_delivered_kwh=before.contract_delivered_kwh,
        flex_delivered_kwh=before.flex_delivered_kwh,
    )
    opts = solver_options(park, objective=objective, **(options or {}))
    s = solve_checked(park, p, Dispatcher(opts), ac_check)
    return PlanResult(s, rule_based_schedule(p), p)


def plan_from_store(
    store: Store,
    park: Park,
    start: dt.datetime,
    intervals: int | None = None,
    *,
    ac_check: bool = True,
    history_days: int = 14,
    note: str = "day-ahead",
    objective: str | None = None,
    carbon_price_cny_per_t: float = 0.0,
    save: bool = True,
    options: dict[str, object] | None = None,
    prices: PriceSeries | None = None,
) -> PlanResult:
    """Plan ``intervals`` from ``start`` with the last ``history_days`` of telemetry; save forecast,
    schedule (next version) and baseline, linked to the forecast run.

    Starts, as ``ems mpc`` does, from the month's metered peak import so far and the contracts'
    deliveries so far (:mod:`services.month_to_date`), with the park's grid factor from the store's
    registry (user versions and time-varying series included)."""
    intervals = intervals or park.intervals_per_day
    hist = history_from_store(store, park, start - dt.timedelta(days=history_days), start)
    fc = forecast_park(park, hist, start, intervals)
    fc.ef_kg_per_kwh, fc.ef_source = grid_factor(park, fc.times, load_registry(store))
    res = plan(
        park,
        fc,
        ac_check=ac_check,
        objective=objective,
        carbon_price_cny_per_t=carbon_price_cny_per_t,
        options=options,
        prices=prices,
        before=month_to_date.so_far(store, park, start, history_days),
    )
    if not save:
        return res
    with store.connection() as conn:
        run_id = save_forecast(conn, fc, note=note)
        sid, version = save_schedule(conn, res.schedule.to_record(), "day_ahead", forecast_run_id=run_id)
        save_schedule(conn, res.baseline.to_record(), "baseline", forecast_run_id=run_id)
    return PlanResult(res.schedule, res.baseline, res.problem, sid, version, run_id)
