"""The carbon-intensity endpoints over real HTTP (issue 22): integrator field names, UTC, missing not 0,
and the forecast from a stored dispatch plan. Expected values by hand from the published factors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from ems.park import Park
from ems.store import Store
from ems.store.schedules import ScheduleInterval, ScheduleRecord, save_schedule
from tests.api.conftest import Api, make_api
from tests.carbon.conftest import T0, ingest_constant_power

HOUR = dt.timedelta(hours=1)
TWO_HOURS = {"M_GRID": [800.0] * 8, "LOAD1": [-800.0] * 8, "PV1": [0.0] * 8, "WT1": [0.0] * 8, "BESS1": [0.0] * 8}


@pytest.fixture
def intensity_api(carbon_store: Store, carbon_park: Park) -> Iterator[Api]:
    a = make_api(carbon_store, carbon_park)
    yield a
    a.server.stop()


def test_measured_intensity_is_utc_typed_and_missing_past_the_data(intensity_api: Api) -> None:
    # samples every minute for two hours; the last one (T0 + 1:59) holds 120 s, one minute into hour 3
    ingest_constant_power(intensity_api.store, T0, 15, TWO_HOURS)
    params = {"start": T0.isoformat(), "end": (T0 + 3 * HOUR).isoformat(), "method": "location"}
    with intensity_api.client("operator") as c:
        r = c.get("/v1/carbon/intensity", params=params)
        factors = c.get("/v1/carbon/factors", params=params).json()["data"]
    # the factor series follows the same rule
    assert [(p["value_g_per_kwh"], p["missing"]) for p in factors] == [(597.8, False), (597.8, False), (None, True)]
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["zone"], body["emissionFactorType"], body["unit"]) == ("park:tiny-test-park", "direct", "gCO2/kWh")
    h = body["history"]
    assert [p["datetime"] for p in h] == ["2026-03-01T16:00:00Z", "2026-03-01T17:00:00Z", "2026-03-01T18:00:00Z"]
    # all consumption is grid import at Jiangsu 2022, 0.5978 kg/kWh (MEE/NBS) = 597.8 g/kWh
    assert [p["carbonIntensity"] for p in h[:2]] == [597.8, 597.8]
    assert not any(p["isEstimated"] or p["isMissing"] for p in h[:2])
    # hour 3 holds one minute of data in 60 (completeness 1/60): missing, not a number
    assert (h[2]["carbonIntensity"], h[2]["isMissing"]) == (None, True)
    assert h[2]["completeness"] == pytest.approx(1 / 60, abs=1e-6)
    assert all(p["zone"] == "park:tiny-test-park" and p["method"] == "location" for p in h)
    assert dt.datetime.fromisoformat(h[0]["updatedAt"]).utcoffset() == dt.timedelta(0)


def test_forecast_from_the_stored_plan(intensity_api: Api, carbon_park: Park) -> None:
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    start = now - dt.timedelta(minutes=now.minute % 15)
    times = [start + i * dt.timedelta(minutes=15) for i in range(3)]
    consumption = [800.0, 800.0, 0.0]
    intervals = [
        ScheduleInterval(t, 600.0, 0.0, 0.0, 200.0, 0.0, k, 0.0, 0.0, {"GPT-TEST": {"p_kw": 200.0}})
        for t, k in zip(times, consumption, strict=True)
    ]
    record = ScheduleRecord(start, 15, "milp", "optimal", "cost", "Optimal", None, 0.1, {}, {}, intervals)
    with intensity_api.store.connection() as conn:
        schedule_id, _ = save_schedule(conn, record, kind="mpc")
    with intensity_api.client("operator") as c:
        loc = c.get("/v1/carbon/intensity/forecast", params={"method": "location"}).json()
        mkt = c.get("/v1/carbon/intensity/forecast", params={"method": "market"}).json()
    assert loc["schedule_id"] == schedule_id and loc["updatedAt"] is not None
    # location: (600 grid mix + 200 contract) kW x 0.5978 / 800 kW = 0.5978 kg/kWh = 597.8 g/kWh
    # market: 600 x 0.6096 (national excl. market-traded non-fossil 2023) / 800 = 0.4572 kg/kWh = 457.2 g/kWh
    assert [p["carbonIntensity"] for p in loc["forecast"]] == [597.8, 597.8, None]
    assert [p["carbonIntensity"] for p in mkt["forecast"]] == [457.2, 457.2, None]
    assert [p["isMissing"] for p in mkt["forecast"]] == [False, False, True]
    assert mkt["forecast"][0]["isEstimated"] and mkt["forecast"][0]["estimationMethod"].startswith("dispatch-plan")
    assert mkt["forecast"][0]["datetime"] == start.isoformat().replace("+00:00", "Z")
