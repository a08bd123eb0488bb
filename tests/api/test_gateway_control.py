"""Setpoints for gateway-connected devices over real HTTP: queued by an operator, clamped to the
ratings, pulled and acknowledged by the device's own gateway only; and the client example of
docs/gateway_api.md (Python and curl) run verbatim against the live server.

The park: tiny, with LOAD1 made an EV charging hub (p_peak_kw 500) and BESS1 (charge/discharge
200 kW) under control, PV1 not, and WT1 moved behind a second gateway.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from ems.park import Park
from ems.store import Store
from ems.store.keys import create_key

from .conftest import Api, make_api

DOC = Path(__file__).resolve().parents[2] / "docs" / "gateway_api.md"


def _park(tiny: Park) -> Park:
    raw = tiny.model_dump()
    for d in raw["devices"]:
        if d["id"] == "LOAD1":
            d.update(category="ev_charging", control={"enabled": True})
        elif d["id"] == "BESS1":
            d["control"] = {"enabled": True}
        elif d["id"] == "WT1":
            d.update(connection={"kind": "gateway", "gateway_id": "gw-other"}, control={"enabled": True})
    return Park.model_validate(raw)


@pytest.fixture(scope="module")
def ctl(tiny_park: Park, pg_url: str) -> Iterator[Api]:
    """One server and database for the module (the tests use distinct devices or read only their own ids)."""
    park = _park(tiny_park)
    name = f"ems_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    store = Store.connect(psycopg.conninfo.make_conninfo(pg_url, dbname=name), park)
    api = make_api(store, park)
    _, api.tokens["other_gateway"] = create_key(store, "other", "gateway", gateway_id="gw-other")
    yield api
    api.server.stop()
    store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _queue(api: Api, **body: object) -> httpx.Response:
    with api.client("operator") as c:
        return c.post("/v1/setpoints", json=body)


def test_queue_clamps_to_the_ratings_and_refuses_what_may_not_be_controlled(ctl: Api) -> None:
    # EV hub: p_peak_kw 500 -> range [-500, 0] (generator convention, charging < 0): -900 -> -500
    r = _queue(ctl, device="LOAD1", quantity="p_setpoint_kw", value=-900)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["requested"], body["value"], body["clamped"], body["status"]) == (-900, -500, True, "pending")
    # battery: discharge max 200 -> 150 stays; -250 -> -200 (charge max 200)
    assert _queue(ctl, device="BESS1", quantity="p_setpoint_kw", value=150).json()["value"] == 150
    assert _queue(ctl, device="BESS1", quantity="p_setpoint_kw", value=-250).json()["value"] == -200
    refused = {
        "PV1": _queue(ctl, device="PV1", quantity="p_limit_pct", value=50),  # control off
        "LOAD1": _queue(ctl, device="LOAD1", quantity="p_limit_pct", value=50),  # wrong quantity
        "M_GRID": _queue(ctl, device="M_GRID", quantity="p_setpoint_kw", value=1),  # control off
    }
    assert {k: r.status_code for k, r in refused.items()} == {"PV1": 409, "LOAD1": 409, "M_GRID": 409}
    assert "control is not enabled for PV1" in refused["PV1"].json()["detail"]
    assert "LOAD1 takes p_setpoint_kw" in refused["LOAD1"].json()["detail"]
    assert _queue(ctl, device="NOPE", quantity="p_setpoint_kw", value=1).status_code == 404
    with ctl.client("operator") as c:  # the bare token, as Python's json writes float("inf")
        inf = b'{"device": "BESS1", "quantity": "p_setpoint_kw", "value": Infinity}'
        r = c.post("/v1/setpoints", content=inf, headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and "finite" in r.text
    with ctl.client("gateway") as c:  # a gateway cannot queue
        assert (
            c.post("/v1/setpoints", json={"device": "LOAD1", "quantity": "p_setpoint_kw", "value": 0}).status_code
            == 403
        )


def test_pull_and_acknowledge_only_own_devices(ctl: Api) -> None:
    ev = _queue(ctl, device="LOAD1", quantity="p_setpoint_kw", value=-300).json()
    wt = _queue(ctl, device="WT1", quantity="p_limit_pct", value=140).json()
    assert wt["value"] == 100  # 0..100 %
    with ctl.client("gateway") as gw, ctl.client("other_gateway") as other:
        mine = gw.get("/v1/gateway/setpoints").json()
        theirs = other.get("/v1/gateway/setpoints").json()
        assert ev["id"] in [s["id"] for s in mine] and wt["id"] not in [s["id"] for s in mine]
        assert [s["id"] for s in theirs] == [wt["id"]]
        # the earlier LOAD1 setpoint of the test above was superseded by this one: one per device and quantity
        assert [s["device"] for s in mine].count("LOAD1") == 1
        assert other.post(f"/v1/gateway/setpoints/{ev['id']}/ack", json={"status": "applied"}).status_code == 404
        ack = gw.post(f"/v1/gateway/setpoints/{ev['id']}/ack", json={"status": "applied", "applied_value": -300})
        assert ack.status_code == 200 and ack.json()["status"] == "applied" and ack.json()["acked_at"]
        again = gw.post(f"/v1/gateway/setpoints/{ev['id']}/ack", json={"status": "failed"})
        assert again.status_code == 409 and "is applied, not pending" in again.json()["detail"]
        assert ev["id"] not in [s["id"] for s in gw.get("/v1/gateway/setpoints").json()]
        failed = other.post(
            f"/v1/gateway/setpoints/{wt['id']}/ack", json={"status": "failed", "detail": "turbine in maintenance"}
        )
        assert failed.json()["status"] == "failed"  # fmt: skip
    with ctl.client("operator") as c:
        history = {s["id"]: s for s in c.get("/v1/setpoints", params={"device": "LOAD1"}).json()}
    assert history[ev["id"]]["applied_value"] == -300
    assert {s["status"] for s in history.values()} == {"applied", "superseded"}
    with ctl.store.connection() as conn:  # the far end: the queue table
        row = conn.execute(
            "SELECT status, value, applied_value FROM gateway_setpoint WHERE setpoint_id = %s", (wt["id"],)
        ).fetchone()
    assert row == ("failed", 100.0, None)


def test_an_expired_setpoint_is_not_handed_out(ctl: Api) -> None:
    sp = _queue(ctl, device="BESS1", quantity="p_setpoint_kw", value=10, valid_s=0.3).json()
    time.sleep(0.4)
    with ctl.client("gateway") as gw:
        assert sp["id"] not in [s["id"] for s in gw.get("/v1/gateway/setpoints").json()]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_documented_client_examples_run(ctl: Api) -> None:
    """The Python and curl blocks of docs/gateway_api.md, verbatim, against the live server; the
    effects are read back from the store."""
    sp = _queue(ctl, device="LOAD1", quantity="p_setpoint_kw", value=-120).json()
    env = {**os.environ, "EMS_URL": ctl.url, "EMS_API_KEY": ctl.tokens["gateway"]}
    (python_block,) = _blocks("python")
    out = subprocess.run([sys.executable, "-c", python_block], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "accepted 1 of 2 (p_kw in kW)" in out.stdout and "row 1 rejected" in out.stdout
    assert f"setpoint {sp['id']}: LOAD1 p_setpoint_kw=-120.0" in out.stdout
    (bash_block,) = _blocks("bash")
    curl = subprocess.run(["bash", "-euc", bash_block], env=env, capture_output=True, text=True, timeout=60)
    assert curl.returncode == 0, curl.stderr
    assert '"accepted":1' in curl.stdout
    t = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)  # 08:00+08:00
    with ctl.store.connection() as conn:
        stored = conn.execute(
            """SELECT t.time, q.name, t.value FROM telemetry t JOIN device d USING (device_key)
               JOIN quantity q USING (quantity_id) WHERE d.device_id = 'LOAD1' ORDER BY t.time, q.name"""
        ).fetchall()
        status = conn.execute("SELECT status FROM gateway_setpoint WHERE setpoint_id = %s", (sp["id"],)).fetchone()
    assert [(a.astimezone(dt.UTC), q, v) for a, q, v in stored] == [
        (t, "p_kw", -412.5),
        (t + dt.timedelta(seconds=5), "p_kw", -410.0),
    ]
    assert status == ("applied",)
