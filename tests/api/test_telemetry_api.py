"""POST /v1/telemetry over real HTTP into a real database."""

from __future__ import annotations

import gzip
import zlib

import numpy as np

from ems.store.keys import create_key

from .conftest import Api


def _rows(n: int, device: str = "PV1", start_s: int = 0) -> list[dict]:
    base = np.datetime64("2026-06-01T00:00:00", "s")
    return [
        {"time": f"{base + start_s + i}Z", "device": device, "quantity": "p_kw", "value": 10.0 + i % 7}
        for i in range(n)
    ]


def test_batch_idempotent_with_row_by_row_rejections(api: Api) -> None:
    rows = _rows(5)
    rows.insert(1, {"time": "2026-06-01T00:00:00", "device": "PV1", "quantity": "p_kw", "value": 1})  # naive time
    rows.insert(3, {"time": "2026-06-01T00:10:00Z", "device": "PV1", "quantity": "p_kw", "value": "abc"})
    rows.insert(4, {"time": "2026-06-01T00:10:00Z", "device": "GHOST", "quantity": "p_kw", "value": 1})
    rows.insert(5, "not an object")
    rows.append({"time": "2026-06-01T00:11:00+08:00", "device": "PV1", "quantity": "p_kw", "value": "NaN"})
    with api.client("gateway") as c:
        r = c.post("/v1/telemetry", json={"readings": rows})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["submitted"], body["accepted"], body["duplicates"]) == (10, 5, 0)
        reasons = {x["row"]: x["reason"] for x in body["rejected"]}
        assert reasons == {1: "malformed", 3: "malformed", 4: "unknown_device", 5: "malformed", 9: "not_finite"}
        again = c.post("/v1/telemetry", json={"readings": rows}).json()
        assert (again["accepted"], again["duplicates"]) == (0, 5)
    assert api.store.count() == 5


def test_compressed_csv_and_10k_batch(api: Api) -> None:
    csv = (
        "time,device,quantity,value,quality\n"
        + "\n".join(f"{r['time']},{r['device']},{r['quantity']},{r['value']},0" for r in _rows(300))
        + "\n2026-06-01T01:00:00Z,PV1,p_kw,oops,0\n"
    )
    with api.client("gateway") as c:
        r = c.post(
            "/v1/telemetry",
            content=gzip.compress(csv.encode()),
            headers={"Content-Type": "text/csv", "Content-Encoding": "gzip"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == 300 and r.json()["rejected"][0]["row"] == 300
        import orjson

        big = orjson.dumps({"readings": _rows(10_000, start_s=10_000)})
        r = c.post(
            "/v1/telemetry",
            content=zlib.compress(big),
            headers={"Content-Type": "application/json", "Content-Encoding": "deflate"},
        )
        assert r.status_code == 200 and r.json()["accepted"] == 10_000
    assert api.store.count() == 10_300


def test_gateway_may_write_only_its_devices(api: Api) -> None:
    _, token = create_key(api.store, "pv only", "gateway", devices=["PV1"])
    rows = _rows(2) + _rows(2, device="LOAD1")
    for r in rows[2:]:
        r["value"] = -5.0
    with api.client() as c:
        r = c.post("/v1/telemetry", json={"readings": rows}, headers={"Authorization": f"Bearer {token}"})
    body = r.json()
    assert body["accepted"] == 2
    assert [(x["row"], x["reason"]) for x in body["rejected"]] == [(2, "forbidden_device"), (3, "forbidden_device")]


def test_bad_bodies_get_clear_errors(api: Api) -> None:
    with api.client("gateway") as c:
        assert (
            c.post("/v1/telemetry", content=b"{not json", headers={"Content-Type": "application/json"}).status_code
            == 400
        )
        assert c.post("/v1/telemetry", json={"rows": []}).status_code == 400
        assert c.post("/v1/telemetry", content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
        r = c.post(
            "/v1/telemetry",
            content=b"garbage",
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
        assert r.status_code == 400
        bomb = gzip.compress(b"0" * (17 * 1024 * 1024))  # inflates beyond the 16 MiB limit
        r = c.post(
            "/v1/telemetry", content=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )
        assert r.status_code == 413


def test_keys_lifecycle_and_rate_limit(api: Api) -> None:
    with api.client("admin") as c:
        created = c.post("/v1/keys", json={"name": "new op", "role": "operator"}).json()
        token = created["token"]
        listed = c.get("/v1/keys").json()
        assert created["key_id"] in {k["key_id"] for k in listed}
        assert all("token" not in k for k in listed)
        with api.client() as anon:
            assert anon.get("/v1/devices", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            assert c.delete(f"/v1/keys/{created['key_id']}").status_code == 204
            assert anon.get("/v1/devices", headers={"Authorization": f"Bearer {token}"}).status_code == 401
            assert anon.get("/v1/devices", headers={"Authorization": "Bearer ems_abc_wrong"}).status_code == 401
    # secrets are stored hashed only
    with api.store.connection() as conn:
        stored = [bytes(r[0]) for r in conn.execute("SELECT secret_sha256 FROM api_key")]
    assert all(token.split("_", 2)[2].encode() not in s for s in stored)


def test_rate_limit_returns_429(store, tiny_park) -> None:  # type: ignore[no-untyped-def]
    from .conftest import make_api

    a = make_api(store, tiny_park, rate_limit_per_s=1.0, rate_limit_burst=3)
    try:
        with a.client("operator") as c:
            codes = [c.get("/v1/devices").status_code for _ in range(6)]
        assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
    finally:
        a.server.stop()


def test_health_ready_metrics(api: Api) -> None:
    with api.client("gateway") as g:
        g.post("/v1/telemetry", json={"readings": _rows(3)})
    with api.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        assert c.get("/readyz").status_code == 200
        assert c.get("/metrics").status_code == 401
    with api.client("operator") as c:
        text = c.get("/metrics").text
        assert 'ems_ingest_rows_total{outcome="accepted"} 3.0' in text
