"""Operators: the current schedule, its history, plan vs actual, re-plan, KPIs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import MetricsDep, ParkDep, PeriodDep, SettingsDep, StoreDep
from api.security import AUTH_RESPONSES, Operator, Problem
from ems.i18n import Msg
from ems.park import Park
from ems.store.schedules import (
    StoredSchedule,
    baseline_for,
    latest_schedule,
    list_schedules,
    planned_intervals,
    planned_metered_kw,
    schedule_by_id,
)

router = APIRouter(prefix="/v1/schedules", tags=["operators"], responses=AUTH_RESPONSES)


class Intervals(BaseModel):
    start: list[dt.datetime]
    load_kw: list[float] = Field(description="park consumption incl. shifted flexible load")
    pv_kw: list[float]
    wind_kw: list[float]
    direct_green_kw: list[float]
    contract_kw: list[float]
    grid_mix_kw: list[float] = Field(description="grid-mix import (excluding green-contract deliveries)")
    grid_export_kw: list[float]
    battery_kw: list[float] = Field(description="net battery power, > 0 discharging")
    soc: list[float] = Field(description="energy-weighted state of charge of the batteries at interval end (0..1)")
    curtailment_kw: list[float]
    price_cny_per_kwh: list[float]
    period: list[str]
    ef_kg_per_kwh: list[float] = Field(
        description="the plan's emissions per kWh consumed as dispatch prices them: grid-mix import at the grid "
        "factor, green contracts and direct lines zero-emission (the accounting's location- and market-based "
        "forecasts: GET /v1/carbon/intensity/forecast)"
    )


class SchedulePublic(BaseModel):
    schedule_id: int
    kind: str
    version: int
    created_at: dt.datetime | None
    start: dt.datetime
    end: dt.datetime
    status: str
    method: str
    objective: str
    solver_status: str
    fallback_reason: str | None
    forecast_run_id: int | None
    intervals: Intervals
    kpis: dict[str, Any]
    baseline_kpis: dict[str, Any] | None


class ScheduleSummary(BaseModel):
    """A stored schedule's header (the planning history)."""

    schedule_id: int
    kind: str
    start: dt.datetime
    version: int
    created_at: dt.datetime | None
    n_intervals: int
    interval_minutes: int
    method: str
    status: str
    objective_mode: str
    fallback_reason: str | None
    solve_time_s: float | None
    forecast_run_id: int | None
    kpis: dict[str, Any]


class KpisPublic(BaseModel):
    schedule_id: int
    kpis: dict[str, Any]
    baseline_kpis: dict[str, Any] | None


class ReplanRequest(BaseModel):
    start: dt.datetime | None = Field(None, description="horizon start (default: the next interval boundary)")
    intervals: int | None = Field(None, ge=1, le=2880, description="horizon length; default: one day")
    ac_check: bool = True


class ReplanResult(BaseModel):
    schedule_id: int
    version: int
    status: str
    fallback_reason: str | None


class PlanVsActual(BaseModel):
    start: list[dt.datetime]
    planned_grid_import_kw: list[float | None] = Field(
        description="the plan at the grid meter: grid-mix import - export + green-contract deliveries [kW]"
    )
    actual_grid_import_kw: list[float | None] = Field(description="the grid meter, > 0 importing [kW]")
    planned_battery_kw: list[float | None]
    actual_battery_kw: list[float | None]
    coverage: list[float]


def _sum(s: StoredSchedule, ids: list[str], key: str) -> np.ndarray:
    total = np.zeros(len(s.times))
    for i in ids:
        total += s.device_series(i, key)
    return total


def schedule_public(park: Park, s: StoredSchedule, base: StoredSchedule | None) -> SchedulePublic:
    batteries = park.devices_of("battery")
    soc = np.zeros(len(s.times))
    e_total = sum(b.e_rated_kwh for b in batteries)
    for b in batteries:
        soc += s.device_series(b.id, "soc") * b.e_rated_kwh / e_total
    tz = park.tz
    periods = [park.tariff.period_at(t.astimezone(tz)) for t in s.times]
    step = dt.timedelta(minutes=s.interval_minutes)
    iv = Intervals(
        start=s.times,
        load_kw=list(s.consumption_kw if s.consumption_kw is not None else np.zeros(len(s.times))),
        pv_kw=list(_sum(s, [d.id for d in park.devices_of("pv")], "p_kw")),
        wind_kw=list(_sum(s, [d.id for d in park.devices_of("wind")], "p_kw")),
        direct_green_kw=list(_sum(s, [d.id for d in park.green.direct_connections], "p_kw")),
        contract_kw=list(_sum(s, [c.id for c in park.green.contracts], "p_kw")),
        grid_mix_kw=list(s.grid_import_kw),
        grid_export_kw=list(s.grid_export_kw if s.grid_export_kw is not None else np.zeros(len(s.times))),
        battery_kw=list(_sum(s, [b.id for b in batteries], "p_kw")),
        soc=list(soc),
        curtailment_kw=list(s.curtail_kw),
        price_cny_per_kwh=[float(p.price_cny_per_kwh) for p in periods],
        period=[p.name for p in periods],
        ef_kg_per_kwh=list(s.park_ef_kg_per_kwh if s.park_ef_kg_per_kwh is not None else np.zeros(len(s.times))),
    )
    end = s.times[-1] + step if s.times else s.start
    return SchedulePublic(
        schedule_id=s.schedule_id,
        kind=s.kind,
        version=s.version,
        created_at=s.created_at,
        start=s.start,
        end=end,
        status=s.status,
        method=s.method,
        objective=s.objective_mode,
        solver_status=s.solver_status,
        fallback_reason=s.fallback_reason,
        forecast_run_id=s.forecast_run_id,
        intervals=iv,
        kpis=s.kpis,
        baseline_kpis=base.kpis if base else None,
    )


_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "no such schedule"}}


@router.get(
    "/current",
    response_model=SchedulePublic,
    responses=_NOT_FOUND,
    summary="the schedule in force (latest MPC plan, else the latest day-ahead plan)",
)
def current(_: Operator, store: StoreDep, park: ParkDep) -> SchedulePublic:
    with store.connection() as conn:
        s = latest_schedule(conn)
        if s is None:
            raise HTTPException(404, Msg("no schedule has been planned yet (POST /v1/schedules/replan)"))
        base = baseline_for(conn, s)
    return schedule_public(park, s, base)


@router.get("", response_model=list[ScheduleSummary], summary="planning history (newest first)")
def history(
    _: Operator, store: StoreDep, kind: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[ScheduleSummary]:
    with store.connection() as conn:
        return [ScheduleSummary.model_validate(r) for r in list_schedules(conn, kind, limit)]


@router.get(
    "/plan-vs-actual",
    response_model=PlanVsActual,
    summary="what was planned vs what was metered",
    responses={400: {"model": Problem, "description": "bad period"}},
)
def plan_vs_actual(_: Operator, period: PeriodDep, store: StoreDep, park: ParkDep, kind: str = "mpc") -> PlanVsActual:
    start, end = period.start, period.end
    if end - start > dt.timedelta(days=31):
        raise HTTPException(400, Msg("plan vs actual is served for at most 31 days at a time"))
    meter = park.grid_meter
    batteries = [b.id for b in park.devices_of("battery")]
    devices = ([meter.id] if meter else []) + batteries
    ie = store.interval_energy(start, end, devices)
    h = park.interval_minutes / 60
    contracts = [c.id for c in park.green.contracts]
    with store.connection() as conn:
        plan = {
            t: (planned_metered_kw(g, x, d, contracts), d)
            for t, g, x, _, d in planned_intervals(conn, kind, start, end)
        }
    times = ie.start_datetimes()
    cov = ie.coverage.min(axis=0) if devices else np.zeros(len(times))
    # average power over the metered part of each interval
    hours = h * np.where(cov > 0, cov, 1.0)
    act_grid = (ie.e_out_kwh[0] - ie.e_in_kwh[0]) / hours if meter else np.full(len(times), np.nan)
    act_bat = sum(((ie.e_out_kwh[ie.row(b)] - ie.e_in_kwh[ie.row(b)]) / hours for b in batteries), np.zeros(len(times)))

    def opt(x: float) -> float | None:
        return None if not np.isfinite(x) else float(x)

    return PlanVsActual(
        start=times,
        planned_grid_import_kw=[opt(plan[t][0]) if t in plan else None for t in times],
        actual_grid_import_kw=[opt(v) if c > 0 else None for v, c in zip(act_grid, cov, strict=True)],
        planned_battery_kw=[
            sum(plan[t][1].get(b, {}).get("p_kw", 0.0) for b in batteries) if t in plan else None for t in times
        ],
        actual_battery_kw=[opt(v) if c > 0 else None for v, c in zip(act_bat, cov, strict=True)],
        coverage=[float(c) for c in cov],
    )


@router.get("/{schedule_id}", response_model=SchedulePublic, responses=_NOT_FOUND, summary="one stored schedule")
def get_schedule(schedule_id: int, _: Operator, store: StoreDep, park: ParkDep) -> SchedulePublic:
    with store.connection() as conn:
        s = schedule_by_id(conn, schedule_id)
        if s is None:
            raise HTTPException(404, Msg("no schedule {schedule_id}", schedule_id=schedule_id))
        base = baseline_for(conn, s) if s.kind != "baseline" else None
    return schedule_public(park, s, base)


@router.post(
    "/replan",
    response_model=ReplanResult,
    status_code=201,
    responses={400: {"model": Problem, "description": "bad horizon, or a price file that cannot be used for it"}},
    summary="plan now from the stored history (day-ahead style, AC-checked, the park's price file), store it versioned",
)
async def replan(
    _: Operator,
    store: StoreDep,
    park: ParkDep,
    metrics: MetricsDep,
    settings: SettingsDep,
    body: ReplanRequest | None = None,
) -> ReplanResult:
    from dispatch.prices import PriceFileError
    from services.planning import park_prices, plan_from_store

    body = body or ReplanRequest.model_validate({})
    if body.start is not None and body.start.tzinfo is None:
        raise HTTPException(400, Msg("start needs a time zone"))
    step = dt.timedelta(minutes=park.interval_minutes)
    now = dt.datetime.now(dt.UTC)
    start = body.start or (now - (now - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) % step + step)
    if (start - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) % step:
        raise HTTPException(400, Msg("start must be on a {minutes}-minute boundary", minutes=park.interval_minutes))
    intervals = body.intervals or park.intervals_per_day
    try:  # the park file's spot/dynamic prices, as `ems plan` uses them
        prices = park_prices(park, settings.park_file, start, intervals)
    except PriceFileError as exc:
        raise HTTPException(400, str(exc)) from None
    res = await run_in_threadpool(
        plan_from_store, store, park, start, intervals, ac_check=body.ac_check, note="api replan", prices=prices
    )
    metrics.solve_seconds.observe(res.schedule.solve_time_s)
    assert res.schedule_id is not None and res.version is not None  # saved
    return ReplanResult(
        schedule_id=res.schedule_id,
        version=res.version,
        status=res.schedule.status,
        fallback_reason=res.schedule.fallback_reason,
    )


kpis_router = APIRouter(prefix="/v1", tags=["operators"], responses=AUTH_RESPONSES)


@kpis_router.get(
    "/kpis",
    response_model=KpisPublic,
    responses=_NOT_FOUND,
    summary="KPIs of the schedule in force and of its rule-based baseline",
)
def kpis(_: Operator, store: StoreDep) -> KpisPublic:
    with store.connection() as conn:
        s = latest_schedule(conn)
        if s is None:
            raise HTTPException(404, Msg("no schedule has been planned yet"))
        base = baseline_for(conn, s)
    return KpisPublic(schedule_id=s.schedule_id, kpis=s.kpis, baseline_kpis=base.kpis if base else None)
