"""GET /v1/alerts and POST /v1/alerts/{id}/ack over HTTP: roles, acknowledgement kept and logged."""

from __future__ import annotations

import datetime as dt

from ems.alerts.engine import reconcile
from ems.alerts.rules import Finding
from tests.api.conftest import Api

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def test_list_and_acknowledge_alerts(api: Api) -> None:
    reconcile(api.store, [Finding("device_stale", "PV1", "warning", "device PV1: never reported")], T0)
    reconcile(
        api.store,
        [Finding("gateway_silent", "gw-tiny", "critical", "gateway gw-tiny: never pushed")],
        T0 + dt.timedelta(minutes=5),
    )  # PV1's alert clears, the gateway's is raised

    with api.client("gateway") as c:
        assert c.get("/v1/alerts").status_code == 403
    with api.client("auditor") as c:
        rows = c.get("/v1/alerts").json()
        assert [(r["rule"], r["cleared_at"] is None) for r in rows] == [
            ("gateway_silent", True),
            ("device_stale", False),
        ]
        assert [r["rule"] for r in c.get("/v1/alerts", params={"open": "true"}).json()] == ["gateway_silent"]
        alert_id = rows[0]["id"]
        assert c.post(f"/v1/alerts/{alert_id}/ack", json={"note": "x"}).status_code == 403  # read-only role
    with api.client("operator") as c:
        assert c.post("/v1/alerts/999/ack", json={}).status_code == 404
        r = c.post(f"/v1/alerts/{alert_id}/ack", json={"note": "gateway power cycled"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["acked_by"] == "test operator" and body["ack_note"] == "gateway power cycled"
        assert [(e["event"], e["actor"]) for e in body["log"]] == [
            ("raised", "engine"),
            ("acknowledged", "test operator"),
        ]
        again = c.post(f"/v1/alerts/{alert_id}/ack", json={"note": "second"}).json()
        assert again["ack_note"] == "gateway power cycled"  # the first acknowledgement is kept ...
        assert [e["note"] for e in again["log"]][-1] == "second"  # ... every one is logged
        assert c.get("/v1/alerts", params={"since": "2026-03-02T09:00:00"}).status_code in (400, 422)
