"""What the current settlement periods already hold before a plan starts, from the store: the month's
peak metered import (the demand charge) and each green contract's delivered energy. Every planner that
plans from the store (``ems mpc``, ``ems plan``, ``POST /v1/schedules/replan``) starts from these, so a
day-ahead plan and an MPC plan of the same day price the same month."""

from __future__ import annotations

import datetime as dt

import psycopg

from ems.park import Park
from ems.store import Store
from ems.store.carbon_queries import active_deliveries
from ems.store.schedules import planned_series


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


def unsettled_planned_kwh(
    conn: psycopg.Connection, park: Park, contract_id: str, start: dt.datetime, end: dt.datetime
) -> float:
    """Contract energy planned for [start, end) by the plan executed in each interval [kWh]: the newest MPC
    plan made before it, else (a park run on day-ahead plans) the newest day-ahead plan; intervals no plan
    covered count as not delivered."""
    h = park.interval_minutes / 60.0
    executed = {t: devices for t, _, devices in planned_series(conn, "day_ahead", start, end)}
    executed |= {t: devices for t, _, devices in planned_series(conn, "mpc", start, end)}
    return sum(devices.get(contract_id, {}).get("p_kw", 0.0) * h for devices in executed.values())
