"""The console routes over real HTTP: /v1/console/view (park-time periods, measured vs planned vs
baseline) and /v1/stream (server-sent events).

Expected values do not come from the route: bucket means are recomputed with SQL on the raw
telemetry rows, period bounds are written out by hand (a day in Asia/Shanghai, UTC+8 without DST,
starts at 16:00 UTC the day before).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator

import httpx
import numpy as np
import psycopg
import pytest

from ems.park import Park
from ems.store import Store
from ems.store import alert_queries as AQ
from ems.synthetic import synthesize
from ems.telemetry import ReadingBatch

from .conftest import Api, make_api

DAY = dt.date(2026, 6, 21)
UTC = dt.UTC


@pytest.fixture(scope="module")
def console(tiny_park: Park, pg_url: str) -> Iterator[Api]:
    """Two metered park days (20 and 21 June), a plan and its baseline for the 21st; one server."""
    from services.planning import plan_from_store

    name = f"ems_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    store = Store.connect(psycopg.conninfo.make_conninfo(pg_url, dbname=name), tiny_park)
    first = dt.datetime(2026, 6, 19, 16, tzinfo=UTC)  # 20 June 00:00 in Shanghai
    syn = synthesize(tiny_park, first, hours=48, step_s=300, seed=5)
    assert store.ingest(syn.batch, now=first + dt.timedelta(days=3)).rejected == []
    plan_from_store(store, tiny_park, dt.datetime(2026, 6, 20, 16, tzinfo=UTC), 96, ac_check=False)
    api = make_api(store, tiny_park, stream_poll_s=0.2, stream_heartbeat_s=0.5, stream_max_age_s=20.0)
    api.db_url = psycopg.conninfo.make_conninfo(pg_url, dbname=name)  # type: ignore[attr-defined]
    yield api
    api.server.stop()
    store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _raw_means(api: Api, device: str, quantity: str, start: dt.datetime, minutes: int) -> dict[dt.datetime, float]:
    """Bucket means straight from the raw rows (not the store's rollup query)."""
    with psycopg.connect(api.db_url) as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            """
            SELECT t.time, t.value FROM telemetry t JOIN device d USING (device_key) JOIN quantity q USING (quantity_id)
            WHERE d.device_id = %s AND q.name = %s AND t.time >= %s AND t.time < %s
            """,
            (device, quantity, start, start + dt.timedelta(days=1)),
        ).fetchall()
    out: dict[dt.datetime, list[float]] = {}
    for t, v in rows:
        k = start + (t - start) // dt.timedelta(minutes=minutes) * dt.timedelta(minutes=minutes)
        out.setdefault(k, []).append(v)
    return {k: float(np.mean(v)) for k, v in out.items()}


def test_day_view_in_park_time_against_raw_rows(console: Api) -> None:
    with console.client("operator") as c:
        r = c.get("/v1/console/view", params={"date": "2026-06-21"})
    assert r.status_code == 200, r.text
    v = r.json()
    # by hand: 21 June in Asia/Shanghai (UTC+8) = [20 June 16:00 UTC, 21 June 16:00 UTC)
    assert v["start"].startswith("2026-06-20T16:00:00") and v["end"].startswith("2026-06-21T16:00:00")
    assert (v["previous"], v["next"], v["bucket_minutes"], v["timezone"]) == (
        "2026-06-20",
        "2026-06-22",
        15,
        "Asia/Shanghai",
    )
    assert len(v["time"]) == 96
    start = dt.datetime(2026, 6, 20, 16, tzinfo=UTC)
    grid = _raw_means(console, "M_GRID", "p_kw", start, 15)
    pv = _raw_means(console, "PV1", "p_kw", start, 15)
    load = _raw_means(console, "LOAD1", "p_kw", start, 15)
    soc = _raw_means(console, "BESS1", "soc_pct", start, 15)
    for j, t in enumerate(v["time"]):
        k = dt.datetime.fromisoformat(t)
        assert v["measured"]["grid_import_kw"][j] == pytest.approx(grid[k], abs=1e-3)
        assert v["measured"]["pv_kw"][j] == pytest.approx(pv[k], abs=1e-3)
        assert v["measured"]["load_kw"][j] == pytest.approx(-load[k], abs=1e-3)  # loads draw: stored < 0
        assert v["measured"]["soc_pct"][j] == pytest.approx(soc[k], abs=1e-3)
    # the plan and the rule-based baseline cover the day, each interval
    assert v["plan_kind"] == "day_ahead"
    for series in ("planned", "baseline"):
        for q in ("grid_import_kw", "pv_kw", "battery_kw", "load_kw", "soc_pct"):
            assert None not in v[series][q], (series, q)
        assert all(0 <= s <= 100 for s in v[series]["soc_pct"])
    # the day before: measured, no plan
    with console.client("operator") as c:
        prev = c.get("/v1/console/view", params={"date": v["previous"]}).json()
    assert prev["start"].startswith("2026-06-19T16:00:00") and prev["plan_kind"] is None
    assert None not in prev["measured"]["grid_import_kw"] and set(prev["planned"]["pv_kw"]) == {None}


def test_default_day_week_month_and_roles(console: Api) -> None:
    with console.client("operator") as c:
        # default: today has no data, so the park day of the newest reading (21 June)
        assert c.get("/v1/console/view").json()["date"] == "2026-06-21"
        week = c.get("/v1/console/view", params={"date": "2026-06-21", "span": "week"}).json()
        month = c.get("/v1/console/view", params={"date": "2026-06-21", "span": "month"}).json()
        bad = c.get("/v1/console/view", params={"date": "1999-01-01"})
        unknown = c.get("/v1/console/view", params={"span": "year"})
    # 21 June 2026 is a Sunday: its ISO week starts Monday 15 June 00:00 park time = 14 June 16:00 UTC
    assert (week["date"], week["bucket_minutes"], len(week["time"])) == ("2026-06-15", 60, 168)
    assert week["start"].startswith("2026-06-14T16:00:00") and week["next"] == "2026-06-22"
    assert (month["date"], month["previous"], month["next"], len(month["time"])) == (
        "2026-06-01",
        "2026-05-01",
        "2026-07-01",
        30 * 24,
    )
    assert month["start"].startswith("2026-05-31T16:00:00")
    # the hourly week means are the 15-minute means averaged (4 full buckets of 3 samples each)
    with console.client("operator") as c:
        day = c.get("/v1/console/view", params={"date": "2026-06-21"}).json()
    j0 = week["time"].index("2026-06-20T16:00:00Z")
    assert week["measured"]["pv_kw"][j0 + 10] == pytest.approx(np.mean(day["measured"]["pv_kw"][40:44]), abs=1e-3)
    assert bad.status_code == 400 and unknown.status_code == 422
    for role, code in (("auditor", 403), ("gateway", 403), ("admin", 200)):
        with console.client(role) as c:
            assert c.get("/v1/console/view").status_code == code, role
    assert httpx.get(f"{console.url}/v1/console/view").status_code == 401


def _events(r: httpx.Response) -> Iterator[tuple[str, dict | None]]:
    name = None
    for line in r.iter_lines():
        if line.startswith(":"):
            yield ("comment", None)
        elif line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield (name or "message", json.loads(line[6:]))


def test_stream_sends_a_new_reading_and_heartbeats(console: Api) -> None:
    assert httpx.get(f"{console.url}/v1/stream").status_code == 401
    with console.client("auditor") as c:
        assert c.get("/v1/stream").status_code == 403
    value = 123.456
    with console.client("operator") as c, c.stream("GET", "/v1/stream") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = _events(r)
        assert next(events)[0] == "hello"  # from here on, changes are sent
        at = dt.datetime.now(UTC).replace(microsecond=0)
        batch = ReadingBatch.from_rows([(at, "PV1", "p_kw", value, 0)])
        assert console.store.ingest(batch).rejected == []
        seen, deadline = [], time.monotonic() + 10
        for name, data in events:
            seen.append(name)
            if name == "reading" and data and data["device"] == "PV1" and data["quantity"] == "p_kw":
                assert data["value"] == value and dt.datetime.fromisoformat(data["time"]) == at
                break
            assert time.monotonic() < deadline, seen
        # an alert raised is announced
        with console.store.connection() as conn:
            alert_id = AQ.raise_alert(conn, "data_gap", "WT1", "warning", "gap", {}, dt.datetime.now(UTC))
        for name, data in events:
            if name == "alerts" and data:
                assert alert_id in data["new"] and alert_id in data["open"]
                break
            assert time.monotonic() < deadline + 10, seen
        # silence brings heartbeats (0.5 s here)
        for name, _ in events:
            if name == "comment":
                break
    # the stream was closed by the client: the feed forgot it
    deadline = time.monotonic() + 5
    while console.app.state.live_feed.clients and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)
    assert not console.app.state.live_feed.clients  # type: ignore[attr-defined]


def test_devices_and_gateways_go_stale_by_last_seen(console: Api) -> None:
    with console.client("operator") as c:
        r = c.get("/v1/console/devices")
        assert (
            c.get("/v1/console/devices", headers={"Authorization": f"Bearer {console.tokens['gateway']}"}).status_code
            == 403
        )
    assert r.status_code == 200, r.text
    live = r.json()
    # the seeded readings end 22 June 00:00 Shanghai: days ago, so every device is stale (not "pushed")
    by_id = {d["id"]: d for d in live["devices"]}
    assert live["stale_after_s"] == 900
    for d in live["devices"]:
        if d["id"] == "PV1" and d["age_s"] is not None and d["age_s"] < 900:
            continue  # the stream test's fresh reading
        assert d["state"] == "stale", d
        assert d["age_s"] > 86400 and d["last_seen"].startswith("2026-06-21T15:5")
    assert by_id["M_GRID"]["p_kw"] is not None
    gw = live["gateways"]
    assert len(gw) == 1 and set(gw[0]["devices"]) == set(by_id)
    pv_fresh = by_id["PV1"]["age_s"] < 900  # the stream test pushed a reading: the gateway is alive
    assert gw[0]["state"] == ("live" if pv_fresh else "silent")


def test_feed_drops_a_client_that_falls_behind_and_caps_clients(console: Api) -> None:
    """A client whose queue is full is dropped (told so), never buffered without bound; the others keep theirs."""
    import asyncio

    from api.live_feed import DROPPED, LiveFeed, TooManyClients

    async def run() -> None:
        feed = LiveFeed(console.store, poll_s=0.05, queue_size=2, max_clients=2)
        slow, fast = await feed.subscribe(), await feed.subscribe()
        with pytest.raises(TooManyClients):
            await feed.subscribe()
        t0 = dt.datetime.now(UTC).replace(microsecond=0) + dt.timedelta(seconds=5)
        first = [(t0, "WT1", "p_kw", 1.0, 0), (t0, "BESS1", "p_kw", 0.0, 0)]
        assert console.store.ingest(ReadingBatch.from_rows(first)).rejected == []  # fills both queues
        got = [(await asyncio.wait_for(fast.queue.get(), 5))[0] for _ in range(2)]
        assert got == ["reading", "reading"]  # the fast client reads them; the slow one reads nothing
        assert console.store.ingest(ReadingBatch.from_rows([(t0, "M_GRID", "p_kw", 1.0, 0)])).rejected == []
        assert (await asyncio.wait_for(fast.queue.get(), 5))[0] == "reading"
        deadline = time.monotonic() + 5
        while not slow.dropped and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert slow.dropped and slow.queue.get_nowait() == DROPPED and slow not in feed.clients
        await feed.close()

    asyncio.run(run())


def test_an_hourly_plan_fills_every_bucket_of_the_day_view(store, tiny_park) -> None:  # type: ignore[no-untyped-def]
    """The day view has 15-minute buckets; a park planned hourly puts each plan hour into all four of them
    (it filled one, so three in four points of the planned line were empty)."""
    import datetime as dt

    from api.routers.console import park_midnight, planned
    from ems.store.schedules import ScheduleInterval, ScheduleRecord, save_schedule

    park = tiny_park.model_copy(update={"interval_minutes": 60})
    start = park_midnight(park, dt.date(2026, 6, 20))
    rows = [
        ScheduleInterval(start + dt.timedelta(hours=k), 100.0 + k, 0.0, 0.0, 0.0, 0.0, 100.0 + k, 0.0, 0.0, {})
        for k in range(24)
    ]
    record = ScheduleRecord(start, 60, "lp", "optimal", "lexicographic", "optimal", None, 0.0, {}, {}, rows)
    with store.connection() as conn:
        save_schedule(conn, record)
    times = [start + dt.timedelta(minutes=15 * j) for j in range(96)]
    s = planned(store, park, "day_ahead", start, start + dt.timedelta(days=1), times)
    assert s is not None
    assert s.grid_import_kw == [100.0 + j // 4 for j in range(96)]
