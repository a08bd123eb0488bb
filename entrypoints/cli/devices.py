"""``ems simulate`` (serve the park's Modbus devices from the device simulator's physics) and ``ems poll``."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Annotated

import typer

from device_drivers.poller import Poller
from device_drivers.simulator import FAULT_KINDS, ParkSimulator
from device_drivers.spool import Spool, SpoolingSink
from ems.telemetry import TelemetrySink
from entrypoints.cli.common import DataDirOption, ParkOption, settings_and_park

app = typer.Typer(help="Run the park simulator: Modbus TCP servers that behave like the park's devices.")
poll_app = typer.Typer(help="Poll the park's Modbus devices and print readings and health.")


def _faults(specs: list[str]) -> list[tuple[str, str]]:
    out = []
    for spec in specs:
        device, _, kind = spec.partition(":")
        if kind not in FAULT_KINDS:
            raise typer.BadParameter(f"--fault {spec!r}: use DEVICE:KIND, KIND one of {', '.join(FAULT_KINDS)}")
        out.append((device, kind))
    return out


@app.callback(invoke_without_command=True)
def simulate(
    park: ParkOption = None,
    seed: Annotated[int, typer.Option(help="random seed: same seed and start give the same run")] = 0,
    speed: Annotated[float, typer.Option(help="time acceleration: simulated seconds per wall-clock second")] = 1.0,
    start: Annotated[str | None, typer.Option(help="simulated start, ISO 8601 with zone (default: now)")] = None,
    cloudiness: Annotated[float, typer.Option(min=0.0, max=1.0, help="0 clear sky .. 1 overcast")] = 0.3,
    fault: Annotated[
        list[str] | None, typer.Option(help=f"inject a fault DEVICE:KIND, KIND one of {', '.join(FAULT_KINDS)}")
    ] = None,
    slow_s: Annotated[float, typer.Option(help="answer delay of the 'slow' fault [s]")] = 0.6,
    duration: Annotated[float, typer.Option(help="stop after this many seconds (0 = until Ctrl-C)")] = 0.0,
) -> None:
    """Serve every Modbus device of the park file on its host and port until Ctrl-C."""
    _, p = settings_and_park(park=park)
    faults = _faults(fault or [])
    t0 = dt.datetime.fromisoformat(start) if start else None
    if t0 is not None and t0.tzinfo is None:
        raise typer.BadParameter("--start needs a time zone, e.g. 2026-06-21T00:00+08:00")

    async def run() -> None:
        sim = ParkSimulator(p, seed=seed, speed=speed, start=t0, cloudiness=cloudiness)
        unknown = [d for d, _ in faults if d not in sim.devices]
        if unknown:
            raise typer.BadParameter(f"--fault: {', '.join(unknown)} not served; served: {', '.join(sim.devices)}")
        async with sim:
            for device, kind in faults:
                await sim.inject_fault(device, kind, delay_s=slow_s)
            for host, port, names in sim.served():
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
    park: ParkOption = None,
    cycles: Annotated[int, typer.Option(min=1, help="print this many poll cycles")] = 3,
    interval: Annotated[float | None, typer.Option(help="override every device's poll interval [s]")] = None,
    store: Annotated[bool, typer.Option(help="store readings (spooled on disk while the database is down)")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Poll the park's Modbus devices; print readings (or store them) and each device's health every cycle."""
    settings, p = settings_and_park(data_dir, park)

    async def run(sink: TelemetrySink | None) -> None:
        poller = Poller.from_park(p, sink=sink, interval_s=interval)
        if not poller.devices:
            typer.echo("the park has no Modbus devices")
            return
        period = interval or min(d.interval_s for d in poller.devices.values())
        await poller.start()
        try:
            for _ in range(cycles):
                t = time.monotonic()
                await asyncio.sleep(period)
                if sink is None:
                    rows = poller.take_batch()
                    for i in range(len(rows)):
                        typer.echo(
                            f"{rows.device[i]:12s} {rows.quantity[i]:15s} {rows.value[i]:14.3f} q={rows.quality[i]}"
                        )
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
    from ems.store import open_store

    with open_store(settings, p) as st:
        asyncio.run(run(SpoolingSink(st, Spool(settings.data_dir / "spool.sqlite"))))


if __name__ == "__main__":
    app()
