"""``ems simulate`` (serve the park's Modbus devices from simulated physics) and ``ems poll``."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from pathlib import Path

import typer

from device_drivers.poller import Poller
from device_drivers.simulator import FAULT_KINDS, ParkSimulator
from device_drivers.spool import Spool, SpoolingSink
from ems.park import ParkFileError, example_park_path, load_park

app = typer.Typer(help="Run the park simulator: Modbus TCP servers that behave like the park's devices.")
poll_app = typer.Typer(help="Poll the park's Modbus devices and print readings and health.")


def _park(path: Path | None):  # type: ignore[no-untyped-def]
    try:
        return load_park(path or example_park_path("demo"))
    except ParkFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _faults(specs: list[str]) -> list[tuple[str, str]]:
    out = []
    for spec in specs:
        device, _, kind = spec.partition(":")
        if kind not in FAULT_KINDS:
            raise typer.BadParameter(f"--fault {spec!r}: use DEVICE:KIND with KIND one of {', '.join(FAULT_KINDS)}")
        out.append((device, kind))
    return out


@app.callback(invoke_without_command=True)
def simulate(
    park_file: Path = typer.Option(None, "--park", help="park file (default: the demo park)"),
    seed: int = typer.Option(0, help="random seed: same seed and start give the same run"),
    speed: float = typer.Option(1.0, help="time acceleration: simulated seconds per wall-clock second"),
    start: str = typer.Option(None, help="simulated start time, ISO 8601 (default: now, UTC)"),
    cloudiness: float = typer.Option(0.3, min=0.0, max=1.0, help="0 clear sky .. 1 overcast"),
    fault: list[str] = typer.Option([], help="inject a fault DEVICE:KIND (no_answer, slow, exception, garbage, refuse)"),
    duration: float = typer.Option(0.0, help="stop after this many seconds (0 = until Ctrl-C)"),
) -> None:
    """Serve every Modbus device of the park file on its host and port until Ctrl-C."""
    park = _park(park_file)
    faults = _faults(fault)
    t0 = dt.datetime.fromisoformat(start) if start else None
    if t0 is not None and t0.tzinfo is None:
        raise typer.BadParameter("--start needs a time zone, e.g. 2026-06-21T00:00+08:00")

    async def run() -> None:
        sim = ParkSimulator(park, seed=seed, speed=speed, start=t0, cloudiness=cloudiness)
        unknown = [d for d, _ in faults if d not in sim.devices]
        if unknown:
            raise typer.BadParameter(f"--fault: {', '.join(unknown)} not served; served: {', '.join(sim.devices)}")
        async with sim:
            for device, kind in faults:
                await sim.inject_fault(device, kind)
            for host, port in sim.endpoints:
                names = [d for d, s in sim.devices.items() if sim._by_device[d].port == port]
                typer.echo(f"serving {host}:{port}  {', '.join(names)}")
            typer.echo(f"simulated start {sim.clock.start:%Y-%m-%d %H:%M UTC}, speed x{speed:g}; Ctrl-C stops")
            await asyncio.sleep(duration if duration > 0 else float("inf"))

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # fault injection makes pymodbus log loudly
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        typer.echo("stopped")


@poll_app.callback(invoke_without_command=True)
def poll(
    park_file: Path = typer.Option(None, "--park", help="park file (default: the demo park)"),
    cycles: int = typer.Option(3, min=1, help="print this many poll cycles"),
    interval: float = typer.Option(None, help="override every device's poll interval [s]"),
    store: bool = typer.Option(False, help="also store readings (spooled to --spool while the database is down)"),
    spool: Path = typer.Option(Path("var/spool.sqlite"), help="spool file used with --store"),
    data_dir: Path = typer.Option(None, help="data directory for the store (embedded database)"),
) -> None:
    """Poll the park's Modbus devices; print readings and each device's health every cycle."""
    park = _park(park_file)

    async def run(sink) -> None:  # type: ignore[no-untyped-def]
        poller = Poller.from_park(park, sink=sink, interval_s=interval)
        period = interval or min(d.interval_s for d in poller.devices.values())
        await poller.start()
        try:
            for _ in range(cycles):
                t = time.monotonic()
                await asyncio.sleep(period)
                rows = poller.take_batch() if sink is None else None
                if rows is not None:
                    for i in range(len(rows)):
                        typer.echo(f"{rows.device[i]:12s} {rows.quantity[i]:15s} {rows.value[i]:14.3f} q={rows.quality[i]}")
                for h in poller.health():
                    typer.echo(f"  {h['device']:12s} {h['state']:9s} {h['last_latency_ms']:7.2f} ms {h['last_error']}")
                typer.echo(f"-- cycle {time.monotonic() - t:.2f} s")
        finally:
            await poller.stop()
        if sink is not None:
            typer.echo(f"stored {poller.stats.accepted}, rejected {dict(poller.stats.rejected)}")

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if not store:
        asyncio.run(run(None))
        return
    from ems.cli.common import settings_from
    from ems.store import open_store

    settings = settings_from(data_dir, park_file)
    with open_store(settings, park) as st:
        asyncio.run(run(SpoolingSink(st, Spool(spool))))


if __name__ == "__main__":
    app()
