"""Gateway telemetry through MQTT (Mosquitto -> ems mqtt bridge -> store) vs HTTP POST of the same payloads.

    python benchmarks/mqtt_ingest.py [--quick]

One gateway sends N messages of 10 readings each (the demo park's devices, distinct times, so
nothing is a duplicate). MQTT: published with QoS 1 without waiting (the gateway matches replies
later); timed until the last reply arrives, i.e. until everything is stored. Baseline in the same
run: the same payloads POSTed to ``/v1/telemetry`` one after another by one gateway (the API in
its own process, uvicorn, one worker), each awaited. Both end in the same store, through the same
parser and validation (``api/ingest.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import aiomqtt
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.api import _serve
from benchmarks.common import database_url, emit, wait_healthy
from ems.park import example_park_path, load_park

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)  # in the past: future timestamps are rejected
PER_MESSAGE = 10


def _payloads(devices: list[str], n: int, offset_s: int) -> list[bytes]:
    out = []
    for m in range(n):
        rows = []
        for i in range(PER_MESSAGE):
            k = m * PER_MESSAGE + i
            t = T0 + dt.timedelta(seconds=offset_s + k // len(devices))
            rows.append({"time": t.isoformat(), "device": devices[k % len(devices)], "quantity": "p_kw", "value": 1.0})
        out.append(orjson.dumps({"readings": rows}))
    return out


async def _mqtt(store: object, port: int, users: dict[str, str], payloads: list[bytes]) -> tuple[float, int]:
    from entrypoints.operate.mqtt_bridge import MqttBridge

    bridge = MqttBridge(store, "127.0.0.1", port, username="ems-bridge", password=users["ems-bridge"])  # type: ignore[arg-type]
    task = asyncio.create_task(bridge.run())
    await asyncio.wait_for(bridge.ready.wait(), 10)
    accepted = 0
    async with aiomqtt.Client("127.0.0.1", port, username="gw-bench", password=users["gw-bench"]) as gw:
        await gw.subscribe("ems/gateways/gw-bench/reply", qos=1)
        t0 = time.perf_counter()
        for p in payloads:
            await gw.publish("ems/gateways/gw-bench/telemetry", p, qos=1)
        got = 0
        async for m in gw.messages:
            accepted += orjson.loads(m.payload)["accepted"]  # type: ignore[arg-type]
            got += 1
            if got == len(payloads):
                break
        elapsed = time.perf_counter() - t0
    task.cancel()
    return elapsed, accepted


def _http(base: str, token: str, payloads: list[bytes]) -> tuple[float, int]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    accepted = 0
    with httpx.Client(base_url=base, timeout=60) as c:
        t0 = time.perf_counter()
        for p in payloads:
            r = c.post("/v1/telemetry", content=p, headers=headers)
            r.raise_for_status()
            accepted += r.json()["accepted"]
        return time.perf_counter() - t0, accepted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 500 if args.quick else 5000
    park = load_park(example_park_path("demo"))
    from api.server import free_port
    from ems.store import Store
    from ems.store.keys import create_key
    from entrypoints.operate.mosquitto import Mosquitto

    devices = [d.id for d in park.devices]
    users = {"ems-bridge": "bench-bridge", "gw-bench": "bench-gw"}
    with database_url() as url, tempfile.TemporaryDirectory() as tmp:
        store = Store.connect(url, park, pool_size=4)
        token = create_key(store, "bench gw", "gateway", gateway_id="gw-bench", devices=devices)[1]
        port = free_port()
        ctx = mp.get_context("spawn")
        ready = ctx.Event()
        proc = ctx.Process(target=_serve, args=(url, port, ready), daemon=True)
        proc.start()
        ready.wait(60)
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        try:
            with Mosquitto(Path(tmp), users, free_port()) as broker:
                m_s, m_acc = asyncio.run(_mqtt(store, broker.port, users, _payloads(devices, n, 0)))
            h_s, h_acc = _http(base, token, _payloads(devices, n, 10_000_000))
        finally:
            proc.terminate()
            proc.join(10)
            store.close()
    assert m_acc == h_acc == n * PER_MESSAGE, (m_acc, h_acc)
    m_rate, h_rate = n / m_s, n / h_s
    print(f"{n} messages of {PER_MESSAGE} readings, one gateway, all stored")
    print(f"MQTT (QoS 1, pipelined, until the last reply): {m_rate:,.0f} messages/s ({m_s:.2f} s)")
    print(f"HTTP POST (one request after another):        {h_rate:,.0f} messages/s ({h_s:.2f} s)")
    print(f"ratio MQTT / HTTP: {m_rate / h_rate:.2f}")
    emit(
        {
            "messages": n,
            "readings_per_message": PER_MESSAGE,
            "mqtt_messages_per_s": round(m_rate, 1),
            "http_messages_per_s": round(h_rate, 1),
            "ratio_mqtt_vs_http": round(m_rate / h_rate, 2),
        }
    )


if __name__ == "__main__":
    main()
