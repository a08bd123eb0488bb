"""Scheduled export: queue each completed park-local day's payload for the city platform.

The push period is a park-local day (24 hourly rows per park and tenant): the platform receives
the day once it is complete, and the outbox retries until it accepts it. A day is queued once
(its dedup key is ``city:<park>:<date>``, also sent as ``Idempotency-Key``); a day without any data
is not queued until data arrives.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from ems.exchange.payload import payload_for
from ems.outbox.delivery import RECEIVER
from ems.park import Park
from ems.store import Store
from ems.store import outbox_queries as OQ

CHANNEL = "city_platform"


def day_key(park: Park, day: dt.date) -> str:
    return f"city:{park.name}:{day.isoformat()}"


def queue_completed_days(store: Store, park: Park, now: dt.datetime, backfill_days: int = 7) -> list[dt.date]:
    """Queue the payloads of the last ``backfill_days`` completed days not queued before; returns those queued."""
    zone = park.tz
    today = now.astimezone(zone).date()
    days = [today - dt.timedelta(days=i) for i in range(backfill_days, 0, -1)]
    with store.connection() as conn:
        done = OQ.queued_keys(conn, CHANNEL, [day_key(park, d) for d in days])
    queued = []
    for day in days:
        key = day_key(park, day)
        if key in done:
            continue
        start = dt.datetime.combine(day, dt.time(), zone)
        payload = payload_for(store, park, start, start + dt.timedelta(days=1), generated_at=now)
        if Decimal(payload["completeness"]) == 0:
            continue  # no data yet (a gateway's spool may still bring it): zeros would read as "no consumption"
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        with store.connection() as conn, conn.transaction():
            if OQ.enqueue(conn, CHANNEL, RECEIVER, key, body) is not None:
                queued.append(day)
    return queued
