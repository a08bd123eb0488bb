"""POST /v1/pathway as a background job for operators, over HTTP against a real server and database."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from .conftest import Api


def test_operator_plans_a_pathway_in_the_background(demo_api: Api) -> None:
    with demo_api.client("operator") as c:
        r = c.post("/v1/pathway", json={"start_year": 2026, "target_year": 2027, "hours": 24})
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["status"] in ("queued", "running")
        busy = c.post("/v1/pathway", json={"hours": 24})  # one job at a time
        assert busy.status_code == 429 and busy.headers["Retry-After"] == "10"
        deadline = time.monotonic() + 120
        while job["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            job = c.get(f"/v1/pathway/{job['job_id']}").json()
        assert job["status"] == "done", job
        years = job["report"]["years"]
        assert [y["year"] for y in years] == [2026, 2027]
        assert years[-1]["indicators"]["intensity_ok"] is True
        assert Decimal(years[-1]["costs_cny"]["total"]) > 0
        assert c.get("/v1/pathway/nope").status_code == 404


def test_pathway_rejects_bad_requests_and_other_roles(demo_api: Api) -> None:
    with demo_api.client("operator") as c:
        assert c.post("/v1/pathway", json={"start_year": 2030, "target_year": 2026}).status_code == 400
        assert c.post("/v1/pathway", json={"hours": 5}).status_code == 422
        too_big = c.post("/v1/pathway", json={"start_year": 2026, "target_year": 2030, "hours": 8760})
        assert too_big.status_code == 400 and "ems pathway plan" in too_big.text
    with demo_api.client("auditor") as c:
        assert c.post("/v1/pathway", json={"hours": 24}).status_code == 403
    with demo_api.client() as c:
        assert c.post("/v1/pathway", json={"hours": 24}).status_code == 401


def test_pathway_from_metered_history_over_http(demo_api: Api) -> None:
    """Two days of one-minute telemetry in the store; the plan's consumption is their load energy
    (each hour's energy = the mean of its sixty readings, computed here from what was sent)."""
    import datetime as dt

    import numpy as np

    from ems.synthetic import synthesize

    park = demo_api.store.park
    start = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)  # 2 March 00:00 park time
    day = synthesize(park, start, hours=48, step_s=60.0, seed=2)
    assert not demo_api.store.ingest(day.batch, now=start + dt.timedelta(days=3)).rejected
    loads = [d.id for d in park.devices if d.type == "load"]
    expected_mwh = sum(float(np.mean(-day.p_kw[d]) * 48) for d in loads) / 1000
    with demo_api.client("operator") as c:
        body = {"start_year": 2026, "target_year": 2026, "hours": 48, "history_start": "2026-03-02"}
        r = c.post("/v1/pathway", json=body)
        assert r.status_code == 202, r.text
        job = r.json()
        deadline = time.monotonic() + 120
        while job["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            job = c.get(f"/v1/pathway/{job['job_id']}").json()
        assert job["status"] == "done", job
        consumption = float(job["report"]["years"][0]["supply_mwh"]["consumption"])
        # M_DIRECT has no readings (< 90 % of device-hours would be refused; 10 of 11 meters are there)
        assert consumption == pytest.approx(expected_mwh, abs=0.002)
        thin = c.post("/v1/pathway", json={**body, "history_start": "2025-06-01"})
        assert thin.status_code == 400 and "covers 0.0% of the device-hours" in thin.text


def test_history_start_out_of_range_is_a_422_not_a_500(demo_api: Api) -> None:
    """Found by schemathesis: year 1 overflowed the time-zone conversion (500)."""
    with demo_api.client("operator") as c:
        r = c.post("/v1/pathway", json={"hours": 24, "history_start": "0001-01-01"})
        assert r.status_code == 422, r.text
