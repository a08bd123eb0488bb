"""Telemetry ingest through HTTP with concurrent gateways; latency of a month of hourly carbon factors.

    python benchmarks/api.py [--quick]

The API runs in its own process (uvicorn, one worker) on the demo park over an
embedded PostgreSQL. Several gateway clients post 1,000-reading JSON batches
concurrently for a fixed duration. The baseline, measured in the same run, is a
naive gateway posting one reading per request.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import database_url, emit, wait_healthy
from ems.park import example_park_path, load_park

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)  # in the past: future timestamps are rejected


def _serve(url: str, port: int, ready: mp.Event) -> None:  # type: ignore[valid-type]
    import uvicorn

    from api.app import create_app
    from ems.settings import Settings
    from ems.store import Store

    park = load_park(example_park_path("demo"))
    store = Store.connect(url, park, pool_size=8)
    settings = Settings(rate_limit_per_s=1e9, rate_limit_burst=10**9)
    app = create_app(settings, park, store)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    ready.set()  # type: ignore[attr-defined]
    server.run()


def _batches(device_ids: list[str], n_batches: int, size: int, offset_s: int) -> list[bytes]:
    out = []
    for b in range(n_batches):
        rows = []
        for i in range(size):
            k = b * size + i
            dev = device_ids[k % len(device_ids)]
            t = T0 + dt.timedelta(seconds=offset_s + k // len(device_ids))
            rows.append({"time": t.isoformat(), "device": dev, "quantity": "p_kw", "value": 100.0 + k % 13})
        out.append(orjson.dumps({"readings": rows}))
    return out


async def _gateway(client: httpx.AsyncClient, token: str, bodies: list[bytes], lat: list[float], stop_at: float) -> int:
    sent = 0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for body in bodies:
        if time.perf_counter() > stop_at:
            break
        t = time.perf_counter()
        r = await client.post("/v1/telemetry", content=body, headers=headers)
        lat.append(time.perf_counter() - t)
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")
        sent += r.json()["accepted"]
    return sent


async def _load(
    base: str, tokens: list[str], per_gateway: list[list[bytes]], seconds: float
) -> tuple[int, float, list[float]]:
    lat: list[float] = []
    limits = httpx.Limits(max_connections=len(tokens) * 2)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        t0 = time.perf_counter()
        counts = await asyncio.gather(
            *[_gateway(client, tok, bodies, lat, t0 + seconds) for tok, bodies in zip(tokens, per_gateway, strict=True)]
        )
        elapsed = time.perf_counter() - t0
    return sum(counts), elapsed, lat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    gateways, seconds = (4, 5.0) if args.quick else (8, 20.0)
    park = load_park(example_park_path("demo"))
    from api.server import free_port
    from ems.store import Store
    from ems.store.keys import create_key

    with database_url() as url:
        store = Store.connect(url, park)
        devices = [d.id for d in park.devices if d.connection.kind != "gateway"]
        tokens = [create_key(store, f"bench gw {i}", "gateway", devices=devices)[1] for i in range(gateways)]
        op_token = create_key(store, "bench op", "operator")[1]
        port = free_port()
        ready = mp.get_context("spawn").Event()
        proc = mp.get_context("spawn").Process(target=_serve, args=(url, port, ready), daemon=True)
        proc.start()
        ready.wait(60)
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        try:
            per_batch = int(seconds * 400 / gateways) + 5
            bodies = [_batches(devices, per_batch, 1000, offset_s=g * 2_000_000) for g in range(gateways)]
            rows, elapsed, lat = asyncio.run(_load(base, tokens, bodies, seconds))
            rate = rows / elapsed
            p50, p99 = (float(np.percentile(lat, q)) * 1000 for q in (50, 99))

            one = [_batches(devices, 400, 1, offset_s=17_000_000 + g * 100_000) for g in range(gateways)]
            b_rows, b_elapsed, b_lat = asyncio.run(_load(base, tokens, one, min(5.0, seconds)))
            b_rate = b_rows / b_elapsed

            carbon_ms = _carbon_latency(base, op_token)
        finally:
            proc.terminate()
            proc.join(10)
            store.close()

    print(f"{gateways} gateways, 1,000-reading batches, {elapsed:.1f} s: {rows:,} readings, {rate:,.0f} readings/s")
    print(f"batch latency p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"baseline (one reading per request): {b_rate:,.0f} readings/s, p50 {statistics.median(b_lat) * 1000:.1f} ms")
    print(f"ratio vs baseline: {rate / b_rate:.0f}x")
    if carbon_ms is not None:
        print(f"hourly carbon factors for a month: median {carbon_ms:.1f} ms")
    emit(
        {
            "readings_per_s": round(rate),
            "batch_p50_ms": round(p50, 2),
            "batch_p99_ms": round(p99, 2),
            "baseline_readings_per_s": round(b_rate),
            "ratio_vs_baseline": round(rate / b_rate, 1),
            "carbon_month_hourly_ms": None if carbon_ms is None else round(carbon_ms, 2),
        }
    )


def _carbon_latency(base: str, token: str) -> float | None:
    """Median latency of GET /v1/carbon/factors for a month at hourly resolution (None if the route is absent)."""
    params = {
        "start": "2026-06-01T00:00:00+08:00",
        "end": "2026-07-01T00:00:00+08:00",
        "resolution": "hour",
        "method": "market",
    }
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        first = c.get("/v1/carbon/factors", params=params)
        if first.status_code == 404:
            return None
        times = []
        for _ in range(15):
            t = time.perf_counter()
            c.get("/v1/carbon/factors", params=params).raise_for_status()
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


if __name__ == "__main__":
    main()
