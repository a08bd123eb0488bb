"""Read N DL/T 645 meters on one simulated RS-485 bus behind one transparent TCP gateway.

Usage: ``python benchmarks/dlt645_poll.py [--quick] [--meters 32] [--rounds 5]``

The meter simulator (``device_drivers.simulator.dlt645_meter``) runs in a subprocess (its own
core), serving N meters with the built-in ``dlt645_3phase`` map on one port. In this process:

* the project's driver reads every mapped DI of every meter, meter after meter, over one
  persistent connection (as the poller does for meters sharing a gateway): meters/s, DI
  requests/s, median and p99 request time;
* baseline, a naive reader as often written for such gateways: one new TCP connection per
  request, blocking socket, same frames;
* frame codec alone: decode of a hand-encoded answer frame per second.

A real RS-485 line at 2400 baud adds about 4.6 ms per byte (11 bits) on top: a 20-byte
answer is ~92 ms, so a bus of meters is line-bound, not CPU-bound; these figures show the
software's share. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from device_drivers.dlt645.data_map import load_data_map
from device_drivers.dlt645.driver import Dlt645Driver
from device_drivers.dlt645.frame import READ_DATA, decode, di_bytes, encode, frame_span
from device_drivers.dlt645.link import Dlt645Link
from ems.park import Meter

SERVER = """
import asyncio, sys
from device_drivers.dlt645.data_map import load_data_map
from device_drivers.simulator.dlt645_meter import MeterBus, SimulatedMeter
n = int(sys.argv[1])
m = load_data_map("dlt645_3phase")
values = {"forward_active_energy": 1234.56, "total_active_power": 12.3456, "phase_a_voltage": 381.0,
          "grid_frequency": 50.0}
async def main():
    bus = MeterBus([SimulatedMeter(f"{i + 1:012d}", m, values) for i in range(n)])
    print(await bus.serve_tcp(), flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def naive_read(port: int, address: str, di: str) -> bytes:
    """One request on a fresh connection, blocking; returns the answer frame."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(encode(address, READ_DATA, di_bytes(di)))
        buf = bytearray()
        while (span := frame_span(buf)) is None:
            buf += s.recv(512)
        return bytes(buf[span[0] : span[1]])


async def driver_round(drivers: list[Dlt645Driver], times: list[float]) -> int:
    readings = 0
    for d in drivers:
        t0 = time.perf_counter()
        out, _ = await d.read()
        times.append((time.perf_counter() - t0) / len(out))
        readings += len(out)
    return readings


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--meters", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    n, rounds = (8, 2) if args.quick else (args.meters, args.rounds)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(n)], stdout=subprocess.PIPE, text=True, cwd=root)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        dmap = load_data_map("dlt645_3phase")
        dis = [pt.di for pt in dmap.points if pt.quantity]
        link = Dlt645Link.tcp("127.0.0.1", port, timeout_s=2.0)
        drivers = []
        for i in range(n):
            dev = Meter(id=f"M{i}", bus="b", p_rated_kw=60, connection={"kind": "gateway", "gateway_id": "x"})  # type: ignore[arg-type]
            drivers.append(Dlt645Driver(dev.id, dev, dmap, link, f"{i + 1:012d}"))
        per_request: list[float] = []
        await driver_round(drivers, [])  # connect, warm up
        t0 = time.perf_counter()
        readings = 0
        for _ in range(rounds):
            readings += await driver_round(drivers, per_request)
        driver_s = time.perf_counter() - t0
        await link.close()

        t0 = time.perf_counter()
        naive_requests = 0
        for _ in range(rounds):
            for i in range(n):
                for di in dis:
                    decode(naive_read(port, f"{i + 1:012d}", di))
                    naive_requests += 1
        naive_s = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait()

    answer = encode("000012345678", 0x91, bytes([0, 0, 1, 0, 0x67, 0x45, 0x23, 0x01]), wake=0)
    k = 20_000 if args.quick else 100_000
    t0 = time.perf_counter()
    for _ in range(k):
        decode(answer)
    decode_per_s = k / (time.perf_counter() - t0)

    meters_per_s = n * rounds / driver_s
    requests_per_s = readings / driver_s
    naive_per_s = naive_requests / naive_s
    ms = sorted(t * 1000 for t in per_request)
    print(f"{n} meters x {len(dis)} DIs, {rounds} rounds over one TCP gateway connection")
    print(f"  driver : {meters_per_s:8.1f} meters/s  {requests_per_s:8.0f} DI requests/s  "
          f"per DI median {statistics.median(ms):.3f} ms, p99 {ms[int(0.99 * (len(ms) - 1))]:.3f} ms")  # fmt: skip
    print(f"  naive  : {naive_per_s:8.0f} DI requests/s (a new connection per request)")
    print(f"  ratio  : {requests_per_s / naive_per_s:.1f}x the naive reader")
    print(f"  codec  : {decode_per_s:,.0f} answer frames decoded/s")
    print(
        json.dumps(
            {
                "benchmark": "dlt645_poll",
                "meters": n,
                "dis_per_meter": len(dis),
                "meters_per_s": round(meters_per_s, 1),
                "driver_requests_per_s": round(requests_per_s),
                "naive_requests_per_s": round(naive_per_s),
                "speedup_vs_naive": round(requests_per_s / naive_per_s, 2),
                "per_di_median_ms": round(statistics.median(ms), 3),
                "decode_frames_per_s": round(decode_per_s),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
