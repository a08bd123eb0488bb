"""What the current settlement periods already hold before a plan starts, from the store: the month's
peak metered import (the demand charge), each green contract's delivered energy and each flexible
load's shifted energy of the day. Every planner that
plans from the store (``ems mpc``, ``ems plan``, ``POST /v1/schedules/replan``) starts from these, so a
day-ahead plan and an MPC plan of the same day price the same month."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from ems.park import Park
from ems.store import Store
from ems.store.carbon_queries import active_deliveries
from ems.store.schedules import planned_series


@dataclass(frozen=True)
class SoFar:
    """What a plan starting at some interval inherits (None: unknown, the plan pro-rates)."""

    peak_import_kw: float = 0.0
    contract_delivered_kwh: dict[str, float] | None = None
    flex_delivered_kwh: dict[str, float] | None = None


def so_far(store: Store, park: Park, start: dt.datetime, history_days: int) -> SoFar:
    """The month's peak, the contracts' and the flexible loads' energy before ``start``, from the store."""
    return SoFar(
        peak_import_so_far_kw(store, park, start, history_days),
        contract_delivered_kwh(store, park, start),
        flex_delivered_kwh(store, park, start),
    )


def peak_import_so_far_kw(store: Store, park: Park, start: dt.datetime, history_days: int) -> float:
    """Highest interval-mean metered import [kW] of the local month before ``start`` (within the last
    ``history_days``). The grid meter carries green-contract deliveries with the grid-mix import, as the
    demand charge bills them."""
    gm = park.grid_meter
    if gm is None:
        return 0.0
    local = start.astimezone(park.tz)
    month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    since = max(month, start - dt.timedelta(days=history_days))
    if start - since < dt.timedelta(minutes=park.interval_minutes):
        return 0.0
    ie = store.interval_energy(since, start, [gm.id])
    return float(ie.e_out_kwh[0].max() * 60 / park.interval_minutes) if ie.e_out_kwh.size else 0.0


def contract_delivered_kwh(store: Store, park: Park, start: dt.datetime) -> dict[str, float]:
    """Energy each green contract delivered in its current settlement period (local day or month) before
    ``start`` [kWh]: the contract ledger (the trading centre's settlement import) up to the end of its
    latest settled period, then, for the intervals not settled yet, the delivery the executed plans
    planned (:func:`unsettled_planned_kwh`: MPC plans, else day-ahead ones).

    A ledger row straddling ``start`` (a monthly settlement) counts pro rata by time. Planned rather than
    metered: a contract's energy arrives through the grid meter with the grid-mix import, so no meter
    tells them apart until the settlement does; counted as not delivered (before issue 15), the plan
    asked for their energy a second time.
    """
    out: dict[str, float] = {}
    local = start.astimezone(park.tz)
    with store.connection() as conn:
        for c in park.green.contracts:
            since = local.replace(hour=0, minute=0, second=0, microsecond=0)
            if c.period == "month":
                since = since.replace(day=1)
            got = 0.0
            settled_until = since
            for r in active_deliveries(conn, since, start):
                if r.contract_id != c.id:
                    continue
                span = (r.period_end - r.period_start).total_seconds()
                inside = (min(r.period_end, start) - max(r.period_start, since)).total_seconds()
                got += float(r.kwh) * inside / span if span > 0 else 0.0
                settled_until = max(settled_until, min(r.period_end, start))
            if settled_until < start:
                got += unsettled_planned_kwh(conn, park, c.id, settled_until, start)
            out[c.id] = got
    return out


def flex_delivered_kwh(store: Store, park: Park, start: dt.datetime) -> dict[str, float]:
    """Shiftable energy each flexible load took today (local day) before ``start`` [kWh]: what the plans
    executed since midnight gave it (:func:`executed_plans`). Its meter cannot tell, since it also
    measures the load's fixed part. A re-plan during the day then schedules what is left of the day's
    energy, not a pro-rated share of it. Empty (the pro-rated share) unless executed plans cover every
    interval since midnight: after an outage nobody knows what the load took."""
    midnight = start.astimezone(park.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    flexible = [ld.id for ld in park.devices_of("load") if ld.flexibility is not None]
    if not flexible:
        return {}
    with store.connection() as conn:
        executed = executed_plans(conn, midnight, start)
    if len(executed) < (start - midnight) // dt.timedelta(minutes=park.interval_minutes):
        return {}
    h = park.interval_minutes / 60.0
    return {f: sum(d.get(f, {}).get("p_kw", 0.0) * h for d in executed.values()) for f in flexible}


def executed_plans(
    conn: psycopg.Connection, start: dt.datetime, end: dt.datetime
) -> dict[dt.datetime, dict[str, dict[str, float]]]:
    """The plan executed in each interval of [start, end) that a plan covered, by interval start: the newest
    MPC plan made before it, else (a park run on day-ahead plans) the newest day-ahead plan."""
    executed = {t: devices for t, _, devices in planned_series(conn, "day_ahead", start, end)}
    executed |= {t: devices for t, _, devices in planned_series(conn, "mpc", start, end)}
    return executed


def unsettled_planned_kwh(
    conn: psycopg.Connection, park: Park, contract_id: str, start: dt.datetime, end: dt.datetime
) -> float:
    """Contract energy the executed plans (:func:`executed_plans`) planned for [start, end) [kWh]; intervals
    no plan covered count as not delivered."""
    h = park.interval_minutes / 60.0
    return sum(d.get(contract_id, {}).get("p_kw", 0.0) * h for d in executed_plans(conn, start, end).values())
