"""Day-ahead planning from the stored history: forecast → dispatch (AC-checked) → versioned schedules.

The operator API's re-plan and ``ems plan`` share this path. Dispatch itself knows no SQL;
this module is where the store, the forecasters, the dispatcher and the grid model meet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dispatch.from_park import problem_from_park
from dispatch.rules import rule_based_schedule
from dispatch.schedule import Schedule
from dispatch.solver import Dispatcher, SolverOptions
from ems.forecast import forecast_park
from ems.forecast.history import history_from_store
from ems.park import Park
from ems.store import Store
from ems.store.schedules import save_forecast, save_schedule


@dataclass(frozen=True)
class PlanResult:
    schedule_id: int
    version: int
    forecast_run_id: int
    schedule: Schedule
    baseline: Schedule


def plan_from_store(
    store: Store,
    park: Park,
    start: dt.datetime,
    intervals: int = 96,
    *,
    ac_check: bool = True,
    history_days: int = 14,
    note: str = "day-ahead",
) -> PlanResult:
    """Plan ``intervals`` from ``start`` using the last ``history_days`` of telemetry; save all of it.

    Never raises for data reasons: a failed or infeasible solve comes back as the rule-based
    fallback schedule, with the reason in ``schedule.fallback_reason``.
    """
    hist = history_from_store(store, park, start - dt.timedelta(days=history_days), start)
    fc = forecast_park(park, hist, start, intervals)
    p = problem_from_park(park, fc)
    dispatcher = Dispatcher(SolverOptions())
    if ac_check:
        from dispatch.network_check import dispatch_with_ac_check
        from grid_models import build_network

        s, _ = dispatch_with_ac_check(dispatcher, p, build_network(park))
    else:
        s = dispatcher.solve(p)
    base = rule_based_schedule(p)
    with store.connection() as conn:
        run_id = save_forecast(conn, fc, note=note)
        sid, version = save_schedule(conn, s, "day_ahead", forecast_run_id=run_id)
        save_schedule(conn, base, "baseline", forecast_run_id=run_id)
    return PlanResult(sid, version, run_id, s, base)
