"""Operators: the console's view of one park day, week or month: measured vs planned vs rule-based baseline.

Periods are calendar periods in the park's time zone (a day in Asia/Shanghai runs 16:00 to 16:00 UTC);
the browser's zone plays no part. Measured values are bucket means from the store's rollup query
(:meth:`ems.store.Store.series`, the continuous aggregates on TimescaleDB); plans are the newest stored
plan for each interval (``mpc``, else ``day_ahead``) and the ``baseline`` (rule-based) plan.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import HealthProviderDep, ParkDep, StoreDep
from api.security import AUTH_RESPONSES, Operator, Problem
from ems.alerts.rules import Thresholds
from ems.i18n import Msg
from ems.park import Park
from ems.store import Store
from ems.store.schedules import planned_intervals, planned_metered_kw
from ems.store.series_queries import ORIGIN  # the store's bucket grid

router = APIRouter(prefix="/v1/console", tags=["operators"], responses=AUTH_RESPONSES)
Span = Literal["day", "week", "month"]
QUANTITIES = ("grid_import_kw", "pv_kw", "wind_kw", "battery_kw", "load_kw", "soc_pct")


class Series(BaseModel):
    grid_import_kw: list[float | None] = Field(
        description="grid meter, > 0 importing (plans: grid-mix import - export + green-contract deliveries)"
    )
    pv_kw: list[float | None]
    wind_kw: list[float | None]
    battery_kw: list[float | None] = Field(description="all batteries, > 0 discharging")
    load_kw: list[float | None] = Field(description="park consumption, positive")
    soc_pct: list[float | None] = Field(description="energy-weighted state of charge of all batteries")


class ConsoleView(BaseModel):
    timezone: str
    span: Span
    date: dt.date = Field(description="first park-time day of the period")
    start: dt.datetime
    end: dt.datetime
    previous: dt.date
    next: dt.date
    today: dt.date = Field(description="today in park time")
    bucket_minutes: int
    time: list[dt.datetime] = Field(description="bucket starts (UTC)")
    measured: Series
    planned: Series
    plan_kind: str | None = Field(description="mpc or day_ahead: where the planned series come from")
    baseline: Series
    samples: int = Field(description="measured readings in the period")


def period_bounds(day: dt.date, span: Span) -> tuple[dt.date, dt.date, dt.date]:
    """First day, first day after and first day of the previous period, in park-time calendar dates."""
    if span == "day":
        return day, day + dt.timedelta(days=1), day - dt.timedelta(days=1)
    if span == "week":  # ISO weeks: Monday first
        first = day - dt.timedelta(days=day.weekday())
        return first, first + dt.timedelta(days=7), first - dt.timedelta(days=7)
    first = day.replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    return first, after, (first - dt.timedelta(days=1)).replace(day=1)


def park_midnight(park: Park, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), park.tz).astimezone(dt.UTC)


def _bucket(start: dt.datetime, end: dt.datetime, span: Span) -> dt.timedelta:
    """15 minutes for a day, an hour for longer periods where the park zone keeps whole hours."""
    hour = dt.timedelta(hours=1)
    if span != "day" and (start - ORIGIN) % hour == dt.timedelta(0) and (end - start) % hour == dt.timedelta(0):
        return hour
    return dt.timedelta(minutes=15)


def _opt(a: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), 3) for v in a]


def _total(avg: np.ndarray, rows: list[int], sign: float = 1.0) -> np.ndarray:
    """Sum over devices; NaN where none of them has samples."""
    if not rows:
        return np.full(avg.shape[1], np.nan)
    part = avg[rows]
    out = sign * np.nansum(part, axis=0)
    out[np.isnan(part).all(axis=0)] = np.nan
    return out


def measured(store: Store, park: Park, start: dt.datetime, end: dt.datetime, width: dt.timedelta) -> tuple[Series, int]:
    ids = [d.id for d in park.devices]
    minutes = int(width.total_seconds() // 60)
    p = store.series("p_kw", start, end, ids, minutes)
    row = {d: i for i, d in enumerate(ids)}

    def of(kind: str) -> list[int]:
        return [row[d.id] for d in park.devices_of(kind)]

    meter = park.grid_meter
    batteries = park.devices_of("battery")
    soc = store.series("soc_pct", start, end, [b.id for b in batteries], minutes) if batteries else None
    if soc is not None:
        w = np.array([b.e_rated_kwh for b in batteries], dtype=float)[:, None]
        have = np.isfinite(soc.avg)
        num = np.where(have, soc.avg * w, 0.0).sum(axis=0)
        den = np.where(have, w, 0.0).sum(axis=0)
        soc_pct = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    else:
        soc_pct = np.full(p.avg.shape[1], np.nan)
    series = Series(
        grid_import_kw=_opt(_total(p.avg, [row[meter.id]] if meter else [])),
        pv_kw=_opt(_total(p.avg, of("pv"))),
        wind_kw=_opt(_total(p.avg, of("wind"))),
        battery_kw=_opt(_total(p.avg, of("battery"))),
        load_kw=_opt(_total(p.avg, of("load"), -1.0)),  # loads draw: p_kw < 0
        soc_pct=_opt(soc_pct),
    )
    return series, int(p.samples.sum())


def planned(
    store: Store, park: Park, kind: str, start: dt.datetime, end: dt.datetime, times: list[dt.datetime]
) -> Series | None:
    """A stored plan's intervals averaged into the view's buckets; None if no plan of that kind covers the period."""
    with store.connection() as conn:
        rows = planned_intervals(conn, kind, start, end)
    if not rows:
        return None
    width = times[1] - times[0] if len(times) > 1 else end - start
    n = len(times)
    cols = {q: np.zeros(n) for q in QUANTITIES}
    count = np.zeros(n)
    batteries = park.devices_of("battery")
    e_total = sum(b.e_rated_kwh for b in batteries) or 1.0
    contracts = [c.id for c in park.green.contracts]

    def dev(devices: dict[str, dict[str, float]], kind_: str, key: str = "p_kw") -> float:
        return sum(float(devices.get(d.id, {}).get(key, 0.0)) for d in park.devices_of(kind_))

    step = dt.timedelta(minutes=park.interval_minutes)
    for t, grid_import, grid_export, consumption, devices in rows:
        values = {
            "grid_import_kw": planned_metered_kw(grid_import, grid_export, devices, contracts),
            "pv_kw": dev(devices, "pv"),
            "wind_kw": dev(devices, "wind"),
            "battery_kw": dev(devices, "battery"),
            "load_kw": np.nan if consumption is None else consumption,
            "soc_pct": 100
            * sum(float(devices.get(b.id, {}).get("soc", np.nan)) * b.e_rated_kwh for b in batteries)
            / e_total,
        }
        # every view bucket the plan interval covers (an hourly plan fills four 15-minute buckets of a day)
        first, last = int((t - start) // width), int((t + step - start - dt.timedelta(microseconds=1)) // width)
        for j in range(max(first, 0), min(last, n - 1) + 1):
            count[j] += 1
            for q, v in values.items():
                cols[q][j] += v
    with np.errstate(invalid="ignore", divide="ignore"):
        return Series(**{q: _opt(np.where(count > 0, v / count, np.nan)) for q, v in cols.items()})


def _empty(n: int) -> Series:
    return Series.model_validate({q: [None] * n for q in QUANTITIES})


def default_day(store: Store, park: Park) -> dt.date:
    """Today in park time if it has readings, else the park day of the newest power reading (the day a demo
    ran), else today."""
    today = dt.datetime.now(park.tz).date()
    times = [r.time for r in store.latest() if r.quantity == "p_kw"]
    if not times:
        return today
    newest = max(times).astimezone(park.tz).date()
    return today if newest >= today else newest


def build_view(store: Store, park: Park, day: dt.date | None, span: Span) -> ConsoleView:
    day = day or default_day(store, park)
    first, after, prev = period_bounds(day, span)
    start, end = park_midnight(park, first), park_midnight(park, after)
    width = _bucket(start, end, span)
    meas, samples = measured(store, park, start, end, width)
    times = [start + k * width for k in range((end - start) // width)]
    plan_kind, plan = None, None
    for kind in ("mpc", "day_ahead"):
        plan = planned(store, park, kind, start, end, times)
        if plan is not None:
            plan_kind = kind
            break
    base = planned(store, park, "baseline", start, end, times)
    return ConsoleView(
        timezone=park.timezone,
        span=span,
        date=first,
        start=start,
        end=end,
        previous=prev,
        next=after,
        today=dt.datetime.now(park.tz).date(),
        bucket_minutes=int(width.total_seconds() // 60),
        time=times,
        measured=meas,
        planned=plan or _empty(len(times)),
        plan_kind=plan_kind,
        baseline=base or _empty(len(times)),
        samples=samples,
    )


@router.get(
    "/view",
    response_model=ConsoleView,
    responses={400: {"model": Problem, "description": "date out of range"}},
    summary="measured vs planned vs baseline for a park-time day, week or month",
)
async def view(
    _: Operator,
    store: StoreDep,
    park: ParkDep,
    date: Annotated[
        dt.date | None,
        Query(description="a park-time date in the period (default: today, else the latest day with data)"),
    ] = None,
    span: Span = "day",
) -> ConsoleView:
    if date is not None and not dt.date(2000, 1, 1) <= date <= dt.date(2099, 12, 1):
        raise HTTPException(400, Msg("date must lie between 2000-01-01 and 2099-12-01"))
    return await run_in_threadpool(build_view, store, park, date, span)


class DeviceLiveness(BaseModel):
    id: str
    name: str
    type: str
    connection: str
    gateway: str | None
    state: str = Field(
        description="stale (no reading within stale_after_s) or never; with fresh readings the poller's "
        "ok/degraded/offline where it polls the device, else live"
    )
    last_seen: dt.datetime | None = Field(description="newest reading of any quantity")
    age_s: float | None
    p_kw: float | None = Field(description="newest active power reading")
    p_time: dt.datetime | None


class GatewayLiveness(BaseModel):
    id: str
    devices: list[str]
    state: str = Field(description="live, or silent when none of its devices has reported within stale_after_s")
    last_seen: dt.datetime | None
    age_s: float | None


class Liveness(BaseModel):
    now: dt.datetime
    stale_after_s: float = Field(description="the alert rules' device_stale_s / gateway_silent_s")
    devices: list[DeviceLiveness]
    gateways: list[GatewayLiveness]


def liveness(store: Store, park: Park, polled: dict[str, str], now: dt.datetime) -> Liveness:
    th = Thresholds()
    seen: dict[str, dt.datetime] = {}
    power: dict[str, tuple[float, dt.datetime]] = {}
    for r in store.latest():
        seen[r.device] = max(seen.get(r.device, r.time), r.time)
        if r.quantity == "p_kw":
            power[r.device] = (r.value, r.time)

    def age(t: dt.datetime | None) -> float | None:
        return None if t is None else round((now - t).total_seconds(), 1)

    devices: list[DeviceLiveness] = []
    by_gateway: dict[str, list[str]] = {}
    for d in park.devices:
        gw = getattr(d.connection, "gateway_id", None)
        if gw:
            by_gateway.setdefault(gw, []).append(d.id)
        a = age(seen.get(d.id))
        fresh = "never" if a is None else "live" if a <= th.device_stale_s else "stale"
        devices.append(
            DeviceLiveness(
                id=d.id,
                name=d.name,
                type=d.type,
                connection=d.connection.kind,
                gateway=gw,
                state=polled.get(d.id, fresh)
                if fresh == "live"
                else fresh,  # no new readings: the poll state is old news
                last_seen=seen.get(d.id),
                age_s=a,
                p_kw=power[d.id][0] if d.id in power else None,
                p_time=power[d.id][1] if d.id in power else None,
            )
        )
    gateways = []
    for gw, ids in sorted(by_gateway.items()):
        last = max((seen[i] for i in ids if i in seen), default=None)
        a = age(last)
        state = "live" if a is not None and a <= th.gateway_silent_s else "silent"
        gateways.append(GatewayLiveness(id=gw, devices=ids, state=state, last_seen=last, age_s=a))
    return Liveness(now=now, stale_after_s=th.device_stale_s, devices=devices, gateways=gateways)


@router.get("/devices", response_model=Liveness, summary="device and gateway liveness with last-seen times")
async def devices(_: Operator, store: StoreDep, park: ParkDep, provider: HealthProviderDep) -> Liveness:
    polled = {str(h["device"]): str(h["state"]) for h in provider()} if provider else {}
    return await run_in_threadpool(liveness, store, park, polled, dt.datetime.now(dt.UTC))
