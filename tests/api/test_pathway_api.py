"""POST /v1/pathway as a background job for operators, over HTTP against a real server and database."""

from __future__ import annotations

import time
from decimal import Decimal

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
