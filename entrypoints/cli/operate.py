"""``ems mpc``: the production dispatcher loop (see :mod:`entrypoints.operate.mpc_loop`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ems.i18n import _, user_message
from ems.park import Park
from ems.store import Store, open_store
from entrypoints.cli.common import DataDirOption, ParkOption, refuse_unsafe_or_exit, settings_and_park

if TYPE_CHECKING:
    from dispatch.prices import PriceSeries


def mpc(
    park: ParkOption = None,
    data_dir: DataDirOption = None,
    horizon: Annotated[int | None, typer.Option(min=1, help="intervals planned ahead; default: one day")] = None,
    history_days: Annotated[int, typer.Option(help="days of telemetry the forecasters learn from")] = 14,
    no_ac_check: Annotated[bool, typer.Option("--no-ac-check", help="plan without the AC power-flow check")] = False,
    steps: Annotated[int | None, typer.Option(help="stop after this many plans (default: run until Ctrl-C)")] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="serve Prometheus metrics (solve time, fallbacks, overruns) on this port")
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option(
            help="CSV of import/export prices (start,import_cny_per_kwh,export_cny_per_kwh), as for "
            "`ems simulate-year`; default: the park file's dispatch.prices_file"
        ),
    ] = None,
) -> None:
    """Re-plan the park every interval from the store (forecasts, MPC, AC check), save each schedule and
    write the battery / PV setpoints to the devices whose control is enabled; runs until Ctrl-C."""
    from entrypoints.operate.mpc_loop import run_mpc
    from entrypoints.operate.process_metrics import MpcMetrics, serve

    settings, p = settings_and_park(data_dir, park)
    refuse_unsafe_or_exit(settings, p)
    horizon = horizon or p.intervals_per_day
    series = loaded_prices(prices, p, settings.park_file, horizon)
    logging.getLogger("entrypoints.operate").setLevel(logging.INFO)
    typer.echo(
        _(
            "mpc: {park}, {n} intervals of {minutes} min, history {days} days",
            park=p.name,
            n=horizon,
            minutes=p.interval_minutes,
            days=history_days,
        )
    )

    async def main(store: Store) -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):  # systemd and compose stop with SIGTERM
            loop.add_signal_handler(sig, stop.set)
        return await run_mpc(
            p,
            store,
            steps=steps,
            horizon=horizon,
            history_days=history_days,
            ac_check=not no_ac_check,
            stop=stop,
            on_step=metrics.observe,
            prices=series,
        )

    metrics = MpcMetrics(p.interval_minutes * 60.0)
    if metrics_port is not None:
        serve(metrics.registry, metrics_port)

    with open_store(settings, p) as store:
        n = asyncio.run(main(store))
    typer.echo(_("mpc: stopped after {n} plans", n=n))


def loaded_prices(path: Path | None, park: Park, park_file: Path | None, horizon: int) -> PriceSeries | None:
    """The price file (``--prices``, else the park's ``dispatch.prices_file``), checked to cover the first
    horizon from now; a later horizon it does not cover stops the loop with the file's error."""
    from dispatch.prices import PriceFileError
    from entrypoints.operate.clock import interval_start
    from services.planning import park_prices

    start = interval_start(dt.datetime.now(dt.UTC), park.interval_minutes)
    try:
        return park_prices(park, park_file, start, horizon, path)
    except PriceFileError as exc:
        raise typer.BadParameter(user_message(exc), param_hint="--prices") from None
