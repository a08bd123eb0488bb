"""``ems simulate`` (serve the park's Modbus devices from the device simulator's physics) and ``ems poll``."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import time
from typing import TYPE_CHECKING, Annotated

import typer

from device_drivers.errors import RegisterMapError
from device_drivers.inspect import check_park_maps
from ems.i18n import _, localise, user_message
from ems.park import Park
from ems.settings import Settings
from ems.telemetry import IngestResult, ReadingBatch
from entrypoints.cli.common import DataDirOption, ParkOption, refuse_unsafe_or_exit, settings_and_park

app = typer.Typer(help="Run the park simulator: Modbus TCP servers that behave like the park's devices.")
poll_app = typer.Typer(help="Poll the park's Modbus devices and store the readings (--dry-run: print them).")

if TYPE_CHECKING:  # drivers, simulator and metrics are imported where used: `ems --help` stays quick
    from device_drivers.poller import Poller
    from ems.store import Store


def _faults(specs: list[str]) -> list[tuple[str, str]]:
    from device_drivers.simulator import FAULT_KINDS

    out = []
    for spec in specs:
        device, _sep, kind = spec.partition(":")
        if kind not in FAULT_KINDS:
            raise typer.BadParameter(
                _(
                    "--fault {spec!r}: use DEVICE:KIND, KIND one of {kinds}",
                    spec=spec,
                    kinds=", ".join(FAULT_KINDS),
                )
            )
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
        list[str] | None,
        typer.Option(help="inject a fault DEVICE:KIND (repeatable); a wrong KIND is refused, naming the kinds"),
    ] = None,
    slow_s: Annotated[float, typer.Option(help="answer delay of the 'slow' fault [s]")] = 0.6,
    duration: Annotated[float, typer.Option(help="stop after this many seconds (0 = until Ctrl-C)")] = 0.0,
) -> None:
    """Serve every Modbus device of the park file on its host and port until Ctrl-C."""
    from device_drivers.simulator import ParkSimulator

    _settings, p = settings_and_park(park=park)
    faults = _faults(fault or [])
    t0 = dt.datetime.fromisoformat(start) if start else None
    if t0 is not None and t0.tzinfo is None:
        raise typer.BadParameter(_("--start needs a time zone, e.g. 2026-06-21T00:00+08:00"))

    async def run() -> None:
        sim = ParkSimulator(p, seed=seed, speed=speed, start=t0, cloudiness=cloudiness)
        unknown = [d for d, _ in faults if d not in sim.devices]
        if unknown:
            raise typer.BadParameter(
                _(
                    "--fault: {unknown} not served; served: {served}",
                    unknown=", ".join(unknown),
                    served=", ".join(sim.devices),
                )
            )
        async with sim:
            for device, kind in faults:
                await sim.inject_fault(device, kind, delay_s=slow_s)
            for host, port, names in sim.served():
                typer.echo(_("serving {host}:{port}  {devices}", host=host, port=port, devices=", ".join(names)))
            typer.echo(
                _(
                    "simulated start {start} UTC, speed x{speed:g}; Ctrl-C stops",
                    start=f"{sim.clock.start:%Y-%m-%d %H:%M}",
                    speed=speed,
                )
            )
            await asyncio.sleep(duration if duration > 0 else float("inf"))

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # fault injection makes pymodbus log loudly
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        typer.echo(_("stopped"))


class _StoreWhenUp:
    """The telemetry store, opened at first use and again after any failed opening.

    A poller started while the database is down journals from its first cycle and delivers
    once the database answers, instead of failing at start.
    """

    def __init__(self, settings: Settings, park: Park) -> None:
        self.settings = settings
        self.park = park
        self._stack = contextlib.ExitStack()
        self._store: Store | None = None

    def ingest(self, batch: ReadingBatch) -> IngestResult:
        if self._store is None:
            from ems.store import open_store  # the store (psycopg) only when storing

            self._store = self._stack.enter_context(open_store(self.settings, self.park))  # StoreUnavailable if down
        return self._store.ingest(batch)

    def close(self) -> None:
        self._stack.close()


@poll_app.callback(invoke_without_command=True)
def poll(
    park: ParkOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print readings and health instead of storing them (3 cycles by default)")
    ] = False,
    cycles: Annotated[
        int | None, typer.Option(min=1, help="stop after this many poll periods (default: until SIGTERM/Ctrl-C)")
    ] = None,
    interval: Annotated[float | None, typer.Option(help="override every device's poll interval [s]")] = None,
    data_dir: DataDirOption = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="serve Prometheus metrics (cycle time, spool depth, health) on this port")
    ] = None,
) -> None:
    """Poll the park's Modbus and DL/T 645 devices, receive from its IEC 104 stations, and store the
    readings until stopped (SIGTERM or Ctrl-C).

    Every reading is first appended to an fsync'ed journal under the data directory
    (``spool/poller.sqlite``) and then delivered to the database; while the database is down
    readings stay journaled, and a restarted poller delivers what a killed one left.
    """
    from device_drivers.poller import Poller
    from device_drivers.spool import Spool
    from entrypoints.operate.process_metrics import PollerMetrics, serve

    settings, p = settings_and_park(data_dir, park)
    refuse_unsafe_or_exit(settings, p)
    problems = check_park_maps(p)
    if problems:  # the same check as `ems park check`: a clear refusal instead of a traceback mid-start
        typer.secho("\n".join(localise(m) for m in problems), fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    limit = cycles if cycles is not None else (3 if dry_run else None)

    async def run(sink: _StoreWhenUp | None) -> None:
        journal = None if sink is None else Spool(settings.data_dir / "spool" / "poller.sqlite", durable=True)
        try:
            poller = Poller.from_park(p, sink=sink, interval_s=interval, journal=journal, flush_interval_s=0.2)
        except RegisterMapError as exc:  # e.g. IEC 104 stations without the iec104 extra
            typer.secho(user_message(exc), fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
        if not poller.devices and not poller.pushers:
            typer.echo(_("the park has no polled devices (Modbus, DL/T 645 or IEC 104)"))
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        period = interval or min((d.interval_s for d in poller.devices.values()), default=1.0)
        report_every = max(1, round(STATUS_EVERY_S / period))
        metrics = PollerMetrics(period)
        if metrics_port is not None:
            serve(metrics.registry, metrics_port)
        where = (
            _("dry run")
            if journal is None
            else _("journal {path}, {n} readings pending", path=journal.path, n=len(journal))
        )
        n_dev = len(poller.devices) + len(poller.pushers)
        typer.echo(_("polling {n} devices every {period:g} s ({where})", n=n_dev, period=period, where=where))
        await poller.start()
        n = 0
        try:
            while not stop.is_set() and (limit is None or n < limit):
                t = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), period)
                n += 1
                metrics.observe(time.monotonic() - t, 0 if journal is None else len(journal), poller.health())
                if sink is None:
                    rows = poller.take_batch()
                    for i in range(len(rows)):
                        typer.echo(
                            f"{rows.device[i]:12s} {rows.quantity[i]:15s} {rows.value[i]:14.3f} q={rows.quality[i]}"
                        )
                if sink is None or n % report_every == 0:
                    for h in poller.health():
                        typer.echo(
                            f"  {h['device']:12s} {h['state']:9s} {h['last_latency_ms']:7.2f} ms {h['last_error']}"
                        )
                    typer.echo(f"-- cycle {time.monotonic() - t:.2f} s{_store_status(poller)}")
        finally:
            await poller.stop()
            if journal is not None:
                typer.echo(
                    _(
                        "stopped: {status}; {n} readings left journaled",
                        status=_store_status(poller).strip(", "),
                        n=len(journal),
                    )
                )
                journal.close()

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    sink = None if dry_run else _StoreWhenUp(settings, p)
    try:
        asyncio.run(run(sink))
    finally:
        if sink is not None:
            sink.close()


STATUS_EVERY_S = 60.0  # a status line per minute when storing (a systemd journal, not a terminal)


def _store_status(poller: Poller) -> str:
    st = poller.stats
    if poller.journal is None:
        return ""
    down = "" if st.store_down_since is None else f", store down ({st.last_sink_error})"
    return f", journaled {st.journaled}, stored {st.accepted}, rejected {sum(st.rejected.values())}{down}"


if __name__ == "__main__":
    app()
