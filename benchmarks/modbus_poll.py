"""Poll N simulated Modbus TCP devices over loopback at a 1-second interval; compare with a naive poller.

Usage: ``python benchmarks/modbus_poll.py [--quick] [--devices 10,100,500] [--seconds S]``

For each N the park simulator runs in a subprocess (its own core) serving N devices
on N ports, a mix of the four built-in maps (SunSpec inverter, meter, storage,
generic wind). In this process:

* the project's poller (one task per connection, block reads) polls every device once
  per second for S seconds: registers/s, poll-cycle time (from the scheduled second to
  the last device's answer), jitter of poll start against schedule, cycle overrun
  (device polls that missed their slot);
* a naive poller reads the same registers one register per request, device after
  device, on already-open connections: its cycle time and registers/s;
* the write-ahead journal's cost: cycle time and overrun with the journal (an fsync'ed
  SQLite append every 0.2 s, as ``ems poll`` runs) against the same poller without it;
* readings lost to a SIGKILL: a child process polls with the journal, records each
  completed poll in a memory-mapped counter (page-cache writes survive the kill of the
  process) and is killed with SIGKILL mid-run; lost = completed polls not in the journal,
  per device (the promise: at most one poll per device).

Figures are printed per N; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pymodbus.client import AsyncModbusTcpClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from device_drivers.poller import PolledDevice, Poller
from device_drivers.simulator.park import free_port
from device_drivers.spool import Spool
from ems.park import Park, example_park_path, load_park, parse_park
from ems.telemetry import IngestResult, ReadingBatch

KINDS: list[tuple[str, str, dict[str, Any]]] = [
    ("pv", "sunspec_inverter", {"p_rated_kw": 400, "dc_kwp": 480}),
    ("load", "sunspec_meter", {"p_peak_kw": 500, "category": "generic"}),
    ("wind", "generic_wind", {"p_rated_kw": 100}),
    ("battery", "sunspec_storage", {"e_rated_kwh": 400, "p_charge_max_kw": 200, "p_discharge_max_kw": 200}),
]


def bench_park(n: int) -> dict[str, object]:
    """The tiny park with its devices replaced by n Modbus TCP devices on n free ports."""
    data = yaml.safe_load(example_park_path("tiny").read_text())
    devices = []
    ports: set[int] = set()
    while len(ports) < n:  # the OS may hand out a just-closed port again
        ports.add(free_port())
    port_list = sorted(ports)
    for i in range(n):
        kind, rmap, extra = KINDS[i % len(KINDS)]
        devices.append(
            {
                "id": f"D{i:04d}",
                "type": kind,
                "bus": "LV",
                "connection": {
                    "kind": "modbus_tcp",
                    "host": "127.0.0.1",
                    "port": port_list[i],
                    "register_map": rmap,
                    "poll_interval_s": 1.0,
                    "timeout_s": 1.0,
                },
                **extra,
            }
        )
    data["devices"] = devices
    data["network"]["grid_connection"].pop("meter", None)
    return data


class CountingSink:
    def __init__(self) -> None:
        self.rows = 0

    def ingest(self, batch: ReadingBatch) -> IngestResult:
        self.rows += len(batch)
        return IngestResult(submitted=len(batch), accepted=len(batch))


def wait_listening(port: int, timeout_s: float, proc: subprocess.Popen[bytes], err: Path) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"simulator exited with {proc.returncode}:\n{err.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"simulator did not open port {port} within {timeout_s} s")


async def run_poller(park: Park, seconds: float, stagger: bool, journal: Path | None = None) -> dict[str, Any]:
    sink = CountingSink()
    spool = None if journal is None else Spool(journal, durable=True)
    kw: dict[str, Any] = {} if spool is None else {"journal": spool, "flush_interval_s": 0.2}
    poller = Poller.from_park(park, sink=sink, trace=True, **kw)
    # locate every device (SunSpec discovery) before the clock starts, as a running system would have
    await asyncio.gather(*(d.driver.locate() for d in poller.devices.values()))
    regs0 = sum(t.registers for t in poller.transports.values())  # type: ignore[attr-defined]
    t0 = time.monotonic()
    await poller.start(stagger=stagger)
    await asyncio.sleep(seconds)
    await poller.stop()
    wall = time.monotonic() - t0
    if spool is not None:
        spool.close()
    regs = sum(t.registers for t in poller.transports.values()) - regs0  # type: ignore[attr-defined]
    traces = [tr for d in poller.devices.values() for tr in d.trace]
    due = np.array([t[0] for t in traces])
    start = np.array([t[1] for t in traces])
    end = np.array([t[2] for t in traces])
    lateness = start - due
    # a cycle = the polls scheduled for the same second; its time runs to the last answer
    slot = np.round(due - due.min(), 3)
    cycle_times = [float((end[slot == s] - due[slot == s].min()).max()) for s in np.unique(slot)]
    full = cycle_times[1:-1] or cycle_times  # drop the partial first and last cycles
    polls = len(traces)
    overruns = sum(d.overruns for d in poller.devices.values())
    failures = sum(d.health.failures for d in poller.devices.values())
    return {
        "registers_per_s": regs / wall,
        "polls_per_s": polls / wall,
        "cycle_time_p50_ms": 1000 * float(np.median(full)),
        "cycle_time_max_ms": 1000 * float(np.max(full)),
        "jitter_p50_ms": 1000 * float(np.median(lateness)),
        "jitter_p99_ms": 1000 * float(np.percentile(lateness, 99)),
        "overrun_pct": 100.0 * overruns / max(1, polls),
        "failures": failures,
        "readings": sink.rows,
        "expected_polls": len(poller.devices) * seconds,
        "_plan": {d: [(b.function, b.address, b.count) for b in p.driver.blocks] for d, p in poller.devices.items()},
    }


async def run_naive(park: Park, plan: dict[str, list[tuple[int, int, int]]], budget_s: float) -> dict[str, float]:
    """One register per request, device after device; stops after ``budget_s`` and extrapolates the cycle."""
    clients = {}
    for dev in park.devices:
        c = AsyncModbusTcpClient("127.0.0.1", port=dev.connection.port, timeout=1.0, retries=0, reconnect_delay=0)  # type: ignore[union-attr]
        await c.connect()
        clients[dev.id] = c
    regs = 0
    done = 0
    t0 = time.monotonic()
    for dev in park.devices:
        c = clients[dev.id]
        for fn, addr, count in plan[dev.id]:
            read = c.read_holding_registers if fn == 3 else c.read_input_registers
            for a in range(addr, addr + count):
                await read(a, count=1, device_id=1)
                regs += 1
        done += 1
        if time.monotonic() - t0 > budget_s:
            break
    wall = time.monotonic() - t0
    for c in clients.values():
        c.close()
    return {"registers_per_s": regs / wall, "cycle_time_ms": 1000 * wall * len(park.devices) / done}


class _CountingPoller(Poller):
    """Records every completed poll in a memory-mapped counter, for the SIGKILL measurement."""

    counts: np.memmap
    index: dict[str, int]

    async def poll_once(self, d: PolledDevice) -> None:
        await super().poll_once(d)
        self.counts[self.index[d.driver.device_id]] = len(d.trace)


async def _child(park_path: Path, journal: Path, counts_path: Path) -> None:
    park = load_park(park_path)
    poller = _CountingPoller.from_park(
        park, sink=None, trace=True, journal=Spool(journal, durable=True), flush_interval_s=0.2
    )
    assert isinstance(poller, _CountingPoller)
    poller.index = {dev_id: i for i, dev_id in enumerate(poller.devices)}
    poller.counts = np.memmap(counts_path, dtype=np.int64, mode="r+", shape=(len(poller.devices),))
    await poller.start()
    await asyncio.sleep(3600)  # until SIGKILL


def sigkill_loss(park_path: Path, n: int, run_s: float, tmp: Path) -> dict[str, float]:
    """Start a journaling poller in a child process, SIGKILL it after ``run_s``, count what it lost."""
    import sqlite3

    journal, counts_path = tmp / "journal.sqlite", tmp / "counts.bin"
    np.zeros(n, dtype=np.int64).tofile(counts_path)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    cmd = [sys.executable, __file__, "--child", str(park_path), str(journal), str(counts_path)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    counts = np.memmap(counts_path, dtype=np.int64, mode="r", shape=(n,))
    t0 = time.monotonic()
    while counts.sum() == 0 and time.monotonic() - t0 < 60:  # polling has started (imports, discovery)
        time.sleep(0.05)
    time.sleep(run_s)
    proc.kill()
    proc.wait()
    completed = np.array(counts)
    with sqlite3.connect(journal) as db:
        rows = db.execute("SELECT device, count(DISTINCT time_us), count(*) FROM reading GROUP BY device").fetchall()
    order = {d.id: i for i, d in enumerate(load_park(park_path).devices)}
    journaled = np.zeros(n, dtype=np.int64)
    readings = np.zeros(n, dtype=np.int64)
    for dev, polls, count in rows:
        journaled[order[dev]], readings[order[dev]] = polls, count
    lost_polls = completed - journaled
    per_poll = readings.sum() / max(1, journaled.sum())
    return {
        "polls_completed": float(completed.sum()),
        "polls_lost_max_per_device": float(lost_polls.max()),
        "readings_lost": float(lost_polls.sum() * per_poll),
        "readings_journaled": float(readings.sum()),
    }


async def bench(n: int, seconds: float, budget_s: float) -> dict[str, float]:
    data = bench_park(n)
    park = parse_park(data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench_park.yaml"
        path.write_text(yaml.safe_dump(data))
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
        err_path = Path(tmp) / "simulator.err"
        err_file = err_path.open("wb")  # a file, not a pipe: a full pipe would stall the simulator
        proc = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli.devices", "--park", str(path), "--seed", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err_file,
        )
        try:
            last = park.devices[-1].connection.port  # type: ignore[union-attr]
            wait_listening(last, 60 + n / 5, proc, err_path)
            burst = await run_poller(park, seconds, stagger=False)  # every device due at once: cycle time
            smooth = await run_poller(park, seconds, stagger=True)  # default schedule: jitter
            naive = await run_naive(park, burst.pop("_plan"), budget_s)
            walled = await run_poller(park, seconds, stagger=False, journal=Path(tmp) / "wal.sqlite")
            loss = await asyncio.to_thread(sigkill_loss, path, n, min(seconds, 5.0), Path(tmp))
        finally:
            proc.terminate()
            proc.wait(10)
            err_file.close()
    return {
        "n": n,
        "registers_per_s": smooth["registers_per_s"],
        "cycle_time_p50_ms": burst["cycle_time_p50_ms"],
        "cycle_time_max_ms": burst["cycle_time_max_ms"],
        "burst_jitter_p99_ms": burst["jitter_p99_ms"],
        "jitter_p50_ms": smooth["jitter_p50_ms"],
        "jitter_p99_ms": smooth["jitter_p99_ms"],
        "overrun_pct": max(burst["overrun_pct"], smooth["overrun_pct"]),
        "failures": burst["failures"] + smooth["failures"],
        "naive_registers_per_s": naive["registers_per_s"],
        "naive_cycle_time_ms": naive["cycle_time_ms"],
        "journal_cycle_time_p50_ms": walled["cycle_time_p50_ms"],
        "journal_cycle_time_max_ms": walled["cycle_time_max_ms"],
        "journal_overrun_pct": walled["overrun_pct"],
        "journal_readings": walled["readings"],
        "sigkill_polls_lost_max_per_device": loss["polls_lost_max_per_device"],
        "sigkill_readings_lost": loss["readings_lost"],
        "sigkill_readings_journaled": loss["readings_journaled"],
    }


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
        asyncio.run(_child(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 10, 100; 3 s per run (< 60 s)")
    ap.add_argument("--devices", default=None, help="comma-separated device counts (default 10,100,500)")
    ap.add_argument("--seconds", type=float, default=None, help="polling time per N [s] (default 10)")
    args = ap.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    ns = [int(x) for x in (args.devices or ("10,100" if args.quick else "10,100,500")).split(",")]
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    budget = 2.0 if args.quick else 5.0
    results = []
    for n in ns:
        r = asyncio.run(bench(n, seconds, budget))
        results.append(r)
        print(
            f"N={n:4d}  {r['registers_per_s']:8.0f} reg/s  "
            f"cycle (all due at once) p50 {r['cycle_time_p50_ms']:6.1f} ms "
            f"max {r['cycle_time_max_ms']:6.1f} ms  jitter (staggered) p50 {r['jitter_p50_ms']:5.2f} ms "
            f"p99 {r['jitter_p99_ms']:6.2f} ms [burst p99 {r['burst_jitter_p99_ms']:6.1f} ms]  "
            f"overrun {r['overrun_pct']:5.2f} %  failures {r['failures']}"
        )
        print(
            f"        naive 1-register sequential: {r['naive_registers_per_s']:7.0f} reg/s, "
            f"cycle {r['naive_cycle_time_ms']:8.1f} ms -> block poller is "
            f"{r['naive_cycle_time_ms'] / r['cycle_time_p50_ms']:.1f}x faster per cycle",
        )
        print(
            f"        write-ahead journal on: cycle p50 {r['journal_cycle_time_p50_ms']:6.1f} ms "
            f"max {r['journal_cycle_time_max_ms']:6.1f} ms, overrun {r['journal_overrun_pct']:5.2f} % "
            f"(off: p50 {r['cycle_time_p50_ms']:6.1f} ms, ratio on/off "
            f"{r['journal_cycle_time_p50_ms'] / r['cycle_time_p50_ms']:.2f}); SIGKILL: "
            f"{r['sigkill_readings_lost']:.0f} readings lost of {r['sigkill_readings_journaled']:.0f} journaled, "
            f"at most {r['sigkill_polls_lost_max_per_device']:.0f} poll per device",
            flush=True,
        )
    big = results[-1]
    summary = {
        "devices": big["n"],
        "registers_per_s": round(big["registers_per_s"], 1),
        "cycle_time_p50_ms": round(big["cycle_time_p50_ms"], 2),
        "cycle_time_max_ms": round(big["cycle_time_max_ms"], 2),
        "jitter_p99_ms": round(big["jitter_p99_ms"], 2),
        "burst_jitter_p99_ms": round(big["burst_jitter_p99_ms"], 2),
        "overrun_pct": round(big["overrun_pct"], 3),
        "naive_cycle_time_ms": round(big["naive_cycle_time_ms"], 1),
        "ratio_vs_baseline": round(big["naive_cycle_time_ms"] / big["cycle_time_p50_ms"], 2),
        "journal_cycle_time_p50_ms": round(big["journal_cycle_time_p50_ms"], 2),
        "journal_overrun_pct": round(big["journal_overrun_pct"], 3),
        "journal_ratio_on_vs_off": round(big["journal_cycle_time_p50_ms"] / big["cycle_time_p50_ms"], 3),
        "sigkill_readings_lost": round(max(r["sigkill_readings_lost"] for r in results)),
        "sigkill_polls_lost_max_per_device": max(r["sigkill_polls_lost_max_per_device"] for r in results),
        "per_n": {
            str(r["n"]): {
                "cycle_time_p50_ms": round(r["cycle_time_p50_ms"], 2),
                "overrun_pct": round(r["overrun_pct"], 3),
            }
            for r in results
        },
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
