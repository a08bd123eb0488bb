"""Operator routes over real HTTP: re-plan from stored history, current schedule, plan vs actual, grid status."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ems.synthetic import synthesize

from .conftest import Api


def _seed_day(api: Api, day_start: dt.datetime) -> dict[str, np.ndarray]:
    syn = synthesize(api.store.park, day_start, hours=24, step_s=60, seed=3)
    assert api.store.ingest(syn.batch, now=day_start + dt.timedelta(days=2)).rejected == []
    return syn.p_kw


def test_replan_current_schedule_and_plan_vs_actual(api: Api) -> None:
    park = api.store.park
    yesterday = dt.datetime(2026, 6, 20, tzinfo=park.tz)
    today = yesterday + dt.timedelta(days=1)
    measured = _seed_day(api, yesterday.astimezone(dt.UTC))
    with api.client("operator") as c:
        assert c.get("/v1/schedules/current").status_code == 404  # nothing planned yet
        r = c.post("/v1/schedules/replan", json={"start": today.isoformat(), "intervals": 96})
        assert r.status_code == 201, r.text
        sid = r.json()["schedule_id"]
        cur = c.get("/v1/schedules/current").json()
        assert cur["schedule_id"] == sid and cur["kind"] == "day_ahead" and len(cur["intervals"]["start"]) == 96
        iv = {k: np.array(v, dtype=float) for k, v in cur["intervals"].items() if k not in ("start", "period")}
        # power balance of every planned interval, recomputed here from the published series
        supply = (
            iv["pv_kw"]
            + iv["wind_kw"]
            + iv["direct_green_kw"]
            + iv["contract_kw"]
            + iv["grid_mix_kw"]
            + iv["battery_kw"]
            - iv["grid_export_kw"]
        )
        np.testing.assert_allclose(supply, iv["load_kw"], atol=1e-3)
        bess = park.device("BESS1")
        assert iv["soc"].min() >= bess.soc_min - 1e-6 and iv["soc"].max() <= bess.soc_max + 1e-6  # type: ignore[union-attr]
        assert (iv["grid_export_kw"] <= park.network.grid_connection.export_limit_kw + 1e-6).all()
        assert cur["baseline_kpis"] is not None and "cost_cny" in cur["kpis"]
        kinds = {h["kind"] for h in c.get("/v1/schedules").json()}
        assert kinds == {"day_ahead", "baseline"}
        assert c.get(f"/v1/schedules/{sid}").json()["schedule_id"] == sid
        assert c.get("/v1/schedules/999999").status_code == 404
        assert c.get("/v1/kpis").json()["schedule_id"] == sid

        # plan vs actual for the metered day: the actual grid import is the mean of yesterday's samples
        pva = c.get(
            "/v1/schedules/plan-vs-actual",
            params={"start": yesterday.isoformat(), "end": today.isoformat(), "kind": "day_ahead"},
        ).json()
        expected = measured["M_GRID"].reshape(96, 15).mean(axis=1)  # 60-s samples, 15 per interval
        np.testing.assert_allclose(np.array(pva["actual_grid_import_kw"], dtype=float), expected, rtol=1e-9)
        assert all(p is None for p in pva["planned_grid_import_kw"])  # nothing was planned for yesterday

        fc = c.get(
            "/v1/forecasts/plan-vs-actual",
            params={"start": today.isoformat(), "end": (today + dt.timedelta(days=1)).isoformat()},
        ).json()
        assert all(v is not None and v > 0 for v in fc["forecast_load_kw"])
        # today has not been metered, except that yesterday's last sample holds 2 minutes into it
        assert all(v is None for v in fc["actual_load_kw"][1:])
        last_load = -sum(v[-1] for d, v in measured.items() if d.startswith("LOAD"))
        assert fc["actual_load_kw"][0] == pytest.approx(last_load, rel=1e-12)


def test_grid_status_from_latest_telemetry(api: Api) -> None:
    park = api.store.park
    measured = _seed_day(api, dt.datetime(2026, 6, 20, tzinfo=park.tz).astimezone(dt.UTC))
    with api.client("operator") as c:
        st = c.get("/v1/grid/status").json()
    assert set(st["vm_pu"]) == {b.id for b in park.network.buses}
    injected = sum(v[-1] for d, v in measured.items() if d != "M_GRID")
    # exchange = −Σ injections + losses; losses of a 1.25 MVA transformer park are a few kW
    assert 0 <= st["grid_exchange_kw"] + injected <= 0.05 * abs(injected) + 5
    assert st["source"] == "latest telemetry"


def test_plan_vs_actual_compares_the_plan_at_the_grid_meter(demo_api: Api) -> None:
    """Green-contract deliveries arrive through the grid meter with the grid-mix import, so a plan executed
    exactly reads, at the meter, grid-mix import - export + contract deliveries: planned equals actual."""
    from ems.forecast import Forecast
    from ems.store.schedules import save_schedule
    from ems.telemetry import ReadingBatch, to_us
    from services.planning import plan

    park, store = demo_api.store.park, demo_api.store
    start = dt.datetime(2026, 6, 21, 10, 0, tzinfo=park.tz)
    fc = Forecast(start.astimezone(dt.UTC), 15)
    for d in park.devices_of("load"):
        fc.load_kw[d.id] = np.full(4, 1.0 * d.p_peak_kw)
    for d in park.devices_of("pv"):
        fc.pv_kw[d.id] = np.zeros(4)
    for d in park.devices_of("wind"):
        fc.wind_kw[d.id] = np.full(4, 0.5 * d.p_rated_kw * d.count)  # the contract's profile is the wind's
    s = plan(park, fc, ac_check=False).schedule
    (contract,) = s.contract_kw.values()
    at_meter = s.grid_import_kw - s.grid_export_kw + contract  # the meter: both flows come through it
    assert contract.min() > 1000  # the contract delivers in this hour (wind at half its rating)
    with store.connection() as conn:
        save_schedule(conn, s.to_record(), "day_ahead")
    meter = park.grid_meter
    assert meter is not None
    times = [start.astimezone(dt.UTC) + dt.timedelta(minutes=m) for m in range(60)]
    metered = {meter.id: at_meter} | {b: s.battery_discharge_kw[b] - s.battery_charge_kw[b] for b in s.soc}
    batch = ReadingBatch(
        np.array([to_us(t) for _ in metered for t in times], np.int64),
        np.repeat(np.array(list(metered), object), 60),
        np.full(60 * len(metered), "p_kw", object),
        np.concatenate([np.repeat(v, 15) for v in metered.values()]),
        np.zeros(60 * len(metered), np.int16),
    )
    assert store.ingest(batch, now=start + dt.timedelta(hours=2)).accepted == 60 * len(metered)
    end = start + dt.timedelta(hours=1)
    with demo_api.client("operator") as c:
        pva = c.get(
            "/v1/schedules/plan-vs-actual",
            params={"start": start.isoformat(), "end": end.isoformat(), "kind": "day_ahead"},
        ).json()
    np.testing.assert_allclose(np.array(pva["actual_grid_import_kw"], dtype=float), at_meter, rtol=1e-9)
    np.testing.assert_allclose(np.array(pva["planned_grid_import_kw"], dtype=float), at_meter, rtol=1e-9)


def test_a_since_without_time_zone_is_refused(api: Api) -> None:
    """A naive time would be read in the database session's zone, not the park's: refused, as for alerts."""
    with api.client("operator") as c:
        for path in ("/v1/forecasts/accuracy", "/v1/alerts"):
            r = c.get(path, params={"since": "2026-06-01T00:00"})
            assert r.status_code == 400 and "time zone" in r.text, (path, r.text)
            assert c.get(path, params={"since": "2026-06-01T00:00:00+08:00"}).status_code == 200
