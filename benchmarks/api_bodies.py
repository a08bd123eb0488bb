"""Hostile telemetry bodies: /healthz latency while row bombs are refused; fast parser vs the schema.

    python benchmarks/api_bodies.py [--quick]

1. The API runs in its own process (as in benchmarks/api.py). A gateway posts gzip bodies of
   2 to 5 kB that inflate to a million readings (JSON ``[0, 0, ...]`` and CSV lines) while a probe
   times ``GET /healthz``; the baseline is the same probe against the idle server, in the same run.
2. A 60,000-reading JSON batch is parsed by the fast column parser (api.parse) and by the declared
   pydantic schema (api.telemetry_schema.TelemetryBatch): why the route keeps the fast parser.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import multiprocessing as mp
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.api import _serve
from benchmarks.common import database_url, emit, wait_healthy
from ems.park import example_park_path, load_park


def _probe(base: str, seconds: float | None, until: threading.Event | None = None) -> list[float]:
    lat = []
    t_end = time.perf_counter() + (seconds or 1e9)
    with httpx.Client(base_url=base, timeout=60) as c:
        while time.perf_counter() < t_end and not (until and until.is_set()):
            t = time.perf_counter()
            c.get("/healthz").raise_for_status()
            lat.append(time.perf_counter() - t)
            time.sleep(0.005)
    return lat


def _parse_speed(n: int) -> tuple[float, float]:
    from api.parse import parse_json
    from api.telemetry_schema import TelemetryBatch

    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    rows = [
        {"time": (t0 + dt.timedelta(seconds=i)).isoformat(), "device": "PV1", "quantity": "p_kw", "value": i * 0.5}
        for i in range(n)
    ]
    body = orjson.dumps({"readings": rows})
    t = time.perf_counter()
    batch, malformed, _ = parse_json(body)
    fast = time.perf_counter() - t
    t = time.perf_counter()
    declared = TelemetryBatch.model_validate_json(body)
    slow = time.perf_counter() - t
    assert len(batch) == len(declared.readings) == n and not malformed
    return fast, slow


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rounds, idle_s = (2, 2.0) if args.quick else (6, 5.0)
    park = load_park(example_park_path("demo"))
    from api.server import free_port
    from ems.store import Store
    from ems.store.keys import create_key

    json_bomb = gzip.compress(b'{"readings": [' + b"0," * 999_999 + b"0]}")
    csv_bomb = gzip.compress(b"time,device,quantity,value\n" + b"0\n" * 1_000_000)
    with database_url() as url:
        store = Store.connect(url, park)
        devices = [d.id for d in park.devices if d.connection.kind != "gateway"]
        token = create_key(store, "bench gw", "gateway", devices=devices)[1]
        port = free_port()
        ready = mp.get_context("spawn").Event()
        proc = mp.get_context("spawn").Process(target=_serve, args=(url, port, ready), daemon=True)
        proc.start()
        ready.wait(60)
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        try:
            idle = _probe(base, idle_s)
            statuses: list[int] = []
            refuse_s: list[float] = []
            done = threading.Event()

            def attack() -> None:
                with httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"}) as c:
                    for body, ctype in [(json_bomb, "application/json"), (csv_bomb, "text/csv")] * rounds:
                        t = time.perf_counter()
                        h = {"Content-Type": ctype, "Content-Encoding": "gzip"}
                        statuses.append(c.post("/v1/telemetry", content=body, headers=h).status_code)
                        refuse_s.append(time.perf_counter() - t)
                done.set()

            worker = threading.Thread(target=attack)
            worker.start()
            busy = _probe(base, None, done)
            worker.join()
        finally:
            proc.terminate()
            proc.join(10)
            store.close()
    fast, slow = _parse_speed(6_000 if args.quick else 60_000)
    n = 6_000 if args.quick else 60_000
    idle_p99, busy_p99 = (float(np.percentile(x, 99)) * 1000 for x in (idle, busy))
    print(
        f"bombs: {len(json_bomb):,} B JSON and {len(csv_bomb):,} B CSV gzip, 1,000,000 readings each, "
        f"{len(statuses)} posted: HTTP {sorted(set(statuses))}, refused in median {np.median(refuse_s) * 1000:.0f} ms"
    )
    print(
        f"/healthz p99: {busy_p99:.1f} ms under attack ({len(busy)} probes) vs {idle_p99:.1f} ms idle "
        f"({len(idle)} probes): ratio {busy_p99 / idle_p99:.1f}"
    )
    print(
        f"{n:,}-reading JSON batch: fast parser {fast * 1000:.0f} ms, declared pydantic schema {slow * 1000:.0f} ms "
        f"(ratio {slow / fast:.1f})"
    )
    emit(
        {
            "healthz_p99_under_bombs_ms": round(busy_p99, 2),
            "healthz_p99_idle_ms": round(idle_p99, 2),
            "ratio_vs_idle": round(busy_p99 / idle_p99, 2),
            "bomb_refused_median_ms": round(float(np.median(refuse_s)) * 1000, 1),
            "bomb_statuses": sorted(set(statuses)),
            "parse_rows": n,
            "fast_parse_ms": round(fast * 1000, 1),
            "schema_parse_ms": round(slow * 1000, 1),
        }
    )


if __name__ == "__main__":
    main()
