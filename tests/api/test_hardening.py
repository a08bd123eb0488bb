"""API hardening found by the attacker's pass of issue 14, over real HTTP against a real database."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from ems.park import Park
from ems.store import Store

from .conftest import Api, make_api


@pytest.fixture
def small_api(store: Store, tiny_park: Park) -> Iterator[Api]:
    a = make_api(store, tiny_park, max_body_bytes=64 * 1024, max_batch_rows=1000)
    yield a
    a.server.stop()


def test_invalid_text_is_422_on_every_route(api: Api) -> None:
    """NUL reached PostgreSQL and answered 500 on 7 routes (issue 14); a lone surrogate did too."""
    with api.client("admin") as c:
        assert c.get("/v1/schedules", params={"kind": "mpc\x00"}).status_code == 422
        assert c.get("/v1/reports/%00/json").status_code == 422
        assert c.delete("/v1/keys/%00abc").status_code == 422
        assert c.get("/v1/reports/%ff%fe/json").status_code == 422  # not UTF-8
        r = c.post("/v1/keys", json={"name": "op\x00", "role": "operator"})
        assert r.status_code == 422 and "NUL" in r.json()["detail"][0]["msg"]
        lone = b'{"name": "op\\ud800", "role": "operator"}'
        r = c.post("/v1/keys", content=lone, headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and "surrogate" in r.json()["detail"][0]["msg"]
        period = {"start": "2026-06-01T00:00:00Z", "end": "2026-06-02T00:00:00Z", "replaces": "\x00"}
        assert c.post("/v1/reports", json=period).status_code == 422
        # escaped backslash followed by "u0000" is plain text, not a NUL
        plain = b'{"name": "op\\\\u0000", "role": "operator"}'
        r = c.post("/v1/keys", content=plain, headers={"Content-Type": "application/json"})
        assert r.status_code == 201 and r.json()["name"] == "op\\u0000"


def test_security_headers_on_every_answer(api: Api) -> None:
    with api.client("operator") as c:
        for r in (c.get("/healthz"), c.get("/v1/park"), c.get("/dashboard/"), c.get("/v1/reports"), c.get("/nope")):
            assert r.headers["x-content-type-options"] == "nosniff", r.url
            assert r.headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
            assert r.headers["referrer-policy"] == "no-referrer"
        assert c.get("/v1/park").headers["cache-control"] == "no-store"


def test_body_limit_on_every_route_with_a_body(small_api: Api) -> None:
    """/v1/reports/verify took 105 MB (issue 14); declared or chunked, a body over the limit is 413."""
    big = b'{"report": "' + b"x" * 100_000 + b'"}'
    with small_api.client("auditor") as c:
        assert c.post("/v1/reports/verify", content=big).status_code == 413

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b"x" * 10_000

        assert c.post("/v1/reports/verify", content=chunks()).status_code == 413  # no Content-Length
        assert c.post("/v1/reports/verify", content=b"{}").status_code == 200


def _csv(n: int, start_s: int = 0) -> bytes:
    rows = [
        f"2026-06-01T{(start_s + i) // 3600:02d}:{(start_s + i) // 60 % 60:02d}:{(start_s + i) % 60:02d}Z,PV1,p_kw,{i}"
        for i in range(n)
    ]
    return ("time,device,quantity,value\n" + "\n".join(rows) + "\n").encode()


def test_truncated_gzip_refused_and_every_member_read(api: Api) -> None:
    """Truncated gzip was stored in part with a 200; of two members only the first was read (issue 14)."""
    headers = {"Content-Type": "text/csv", "Content-Encoding": "gzip"}
    whole = gzip.compress(_csv(2000))
    with api.client("gateway") as c:
        r = c.post("/v1/telemetry", content=whole[: len(whole) * 2 // 3], headers=headers)
        assert r.status_code == 400 and "truncated" in r.json()["detail"]
        assert api.store.count() == 0
        first = gzip.compress(_csv(100))
        second = gzip.compress(_csv(50, start_s=100).split(b"\n", 1)[1])  # continues without a header
        r = c.post("/v1/telemetry", content=first + second, headers=headers)
        assert r.status_code == 200 and r.json()["accepted"] == 150, r.text
    assert api.store.count() == 150


def test_row_bomb_refused_without_stalling_the_api(api: Api) -> None:
    """2 kB of gzip inflating to a million rows froze the whole API for 7.4 s (issue 14).

    A worker posts such bodies (JSON and CSV; 2 MB inflated, within the body limit) while the main
    thread times /healthz: the bombs are refused (413, beyond 100,000 readings) and no health answer
    waits on them.
    """
    json_bomb = gzip.compress(b'{"readings": [' + b"0," * 999_999 + b"0]}")
    csv_bomb = gzip.compress(b"time,device,quantity,value\n" + b"0\n" * 1_000_000)
    assert len(json_bomb) < 10_000 and len(csv_bomb) < 10_000
    statuses: list[int] = []

    def attack() -> None:
        with api.client("gateway") as c:
            for body, ctype in [(json_bomb, "application/json"), (csv_bomb, "text/csv")] * 3:
                h = {"Content-Type": ctype, "Content-Encoding": "gzip"}
                statuses.append(c.post("/v1/telemetry", content=body, headers=h).status_code)

    worker = threading.Thread(target=attack)
    latencies = []
    with httpx.Client(base_url=api.url, timeout=30) as probe:
        worker.start()
        while worker.is_alive():
            t0 = time.perf_counter()
            assert probe.get("/healthz").status_code == 200
            latencies.append(time.perf_counter() - t0)
            time.sleep(0.01)
    worker.join()
    assert statuses == [413] * 6
    # before: /healthz waited 20-24 s per bomb; 2 s leaves room for a loaded 2-core CI machine
    assert max(latencies) < 2.0, sorted(latencies)[-5:]
    assert api.store.count() == 0
