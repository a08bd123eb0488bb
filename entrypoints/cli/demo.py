"""``ems demo``: the demo park brought to life on an accelerated clock (see :mod:`entrypoints.operate.live`).

The simulator serves the devices over Modbus, the poller reads them, the forecaster and the MPC
dispatcher plan every interval (checked by the grid model), battery setpoints go back to the
simulated battery, a simulated gateway pushes its devices through the API, the carbon accounting
runs at the end, and the API and dashboard serve it all. ``--synthetic`` instead ingests a synthetic
day through the validated ingest path (quick; also used for parks without Modbus devices).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from tqdm import tqdm

from ems.i18n import _, user_message
from ems.park import ModbusRtu, ModbusTcp, Park
from ems.store import Store, open_store
from entrypoints.cli.common import DataDirOption, ParkOption, settings_and_park

if TYPE_CHECKING:  # the live run (API, MPC, grid model) is imported when run: `ems --help` stays quick
    from entrypoints.operate.live import Access, LiveConfig, LiveResult, StepRecord

app = typer.Typer(help="Run the demo park end to end.")


def _day_start(park: Park, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=park.tz).astimezone(dt.UTC)


def ingest_synthetic_day(
    store: Store, park: Park, day: dt.date, step_s: float, seed: int, chunk: int = 50_000
) -> tuple[int, int, float]:
    """Ingest one synthetic day in chunks; returns (accepted, duplicates, seconds)."""
    from ems.synthetic import synthesize

    syn = synthesize(park, _day_start(park, day), hours=24, step_s=step_s, seed=seed)
    batch = syn.batch
    accepted = duplicates = 0
    t0 = time.perf_counter()
    with tqdm(total=len(batch), unit="rows", desc="ingest", leave=False) as bar:
        for lo in range(0, len(batch), chunk):
            part = batch.take(np.arange(lo, min(lo + chunk, len(batch))))
            res = store.ingest(part, source="demo", now=_day_start(park, day) + dt.timedelta(days=1))
            accepted += res.accepted
            duplicates += res.duplicates
            bar.update(len(part))
    return accepted, duplicates, time.perf_counter() - t0


def print_synthetic_summary(store: Store, park: Park, day: dt.date) -> None:
    start = _day_start(park, day)
    ie = store.interval_energy(start, start + dt.timedelta(days=1))
    by_type: dict[str, float] = {}
    for d in park.devices:
        if d.type == "meter":
            continue
        i = ie.row(d.id)
        by_type[d.type] = by_type.get(d.type, 0.0) + float(ie.e_out_kwh[i].sum() - ie.e_in_kwh[i].sum())
    load = -by_type.get("load", 0.0)
    local_re = by_type.get("pv", 0.0) + by_type.get("wind", 0.0)
    gm = park.grid_meter
    imp = exp = peak = 0.0
    if gm:
        i = ie.row(gm.id)
        imp, exp = float(ie.e_out_kwh[i].sum()), float(ie.e_in_kwh[i].sum())
        peak = float(ie.e_out_kwh[i].max() * 60 / park.interval_minutes)
    reporting = ie.coverage.sum(axis=1) > 0
    coverage = float(ie.coverage[reporting].mean()) if reporting.any() else 0.0
    silent = [d for d, r in zip(ie.devices, reporting, strict=True) if not r]
    typer.echo(
        f"\n{park.name} — {day.isoformat()} ({park.timezone}), {len(ie.starts)} intervals of "
        f"{park.interval_minutes} min"
    )
    typer.echo(
        f"  {int(reporting.sum())} of {len(ie.devices)} devices reporting, data coverage {coverage:.1%}"
        + (f"; no data from {', '.join(silent)}" if silent else "")
    )
    typer.echo(_("  consumption (loads)      {mwh:10.1f} MWh", mwh=load / 1000))
    typer.echo(
        _(
            "  local PV + wind          {mwh:10.1f} MWh  ({share:.1%} of load)",
            mwh=local_re / 1000,
            share=local_re / max(load, 1e-9),
        )
    )
    typer.echo(_("  battery net discharge    {mwh:10.1f} MWh", mwh=by_type.get("battery", 0.0) / 1000))
    typer.echo(_("  grid import / export     {imp:10.1f} / {exp:.1f} MWh", imp=imp / 1000, exp=exp / 1000))
    typer.echo(
        f"  peak 15-min import       {peak / 1000:10.2f} MW (limit "
        f"{park.network.grid_connection.import_limit_kw / 1000:.0f} MW)"
    )


def print_access(a: Access) -> None:
    typer.echo("\n" + _("API        {url}  (OpenAPI: {url}/docs)", url=a.url))
    typer.echo(_("dashboard  {url}", url=a.dashboard_url))
    typer.echo(_("API keys created for this demo (shown once):"))
    for name, token in a.tokens.items():
        typer.echo(f"  {name:<22} {token}")
    typer.echo("")


def summary_lines(r: LiveResult) -> list[str]:
    """The end-of-run summary: as operated vs the rule-based baseline, and the carbon accounting."""
    from entrypoints.operate.summary import cost_rows

    a, b = r.comparison.operated_kpis, r.comparison.baseline_kpis
    ef = r.carbon.ef_g_per_kwh
    fallbacks = sum(s.status == "fallback" for s in r.steps)
    plan_s = float(np.mean([s.plan_seconds for s in r.steps])) if r.steps else 0.0
    rows = [
        ("local renewable consumption", f"{a.local_re_consumption_ratio:.1%}", f"{b.local_re_consumption_ratio:.1%}"),
        ("curtailment [MWh]", f"{a.curtailed_kwh / 1000:.2f}", f"{b.curtailed_kwh / 1000:.2f}"),
        ("green share", f"{a.green_share:.1%}", f"{b.green_share:.1%}"),
        ("grid-mix import [MWh]", f"{a.grid_import_kwh / 1000:.1f}", f"{b.grid_import_kwh / 1000:.1f}"),
        ("peak import [MW]", f"{a.peak_import_kw / 1000:.2f}", f"{b.peak_import_kw / 1000:.2f}"),
        *cost_rows(r.comparison),
        ("park EF, location [gCO2/kWh]", f"{1000 * a.park_ef_kg_per_kwh:.1f}", f"{1000 * b.park_ef_kg_per_kwh:.1f}"),
    ]
    out = [
        f"\n{r.start.isoformat()} .. {r.end.isoformat()} simulated in {r.wall_s:.0f} s: {len(r.steps)} plans "
        f"({fallbacks} fallback, {plan_s:.2f} s each), {r.readings_accepted:,} polled readings stored, gateway "
        f"{r.gateway.accepted:,} accepted / {r.gateway.rejected} rejected, {len(r.guard_actions)} import-guard "
        "corrections",
        f"{'':32}{'MPC (as operated)':>20}{'rule-based baseline':>22}",
    ]
    out += [f"{name:<32}{x:>20}{y:>22}" for name, x, y in rows]
    out += [
        f"difference: cost {r.comparison.operated_costs.total_cny - r.comparison.baseline_costs.total_cny:+,.2f} "
        "CNY, local RE consumption "
        f"{100 * (a.local_re_consumption_ratio - b.local_re_consumption_ratio):+.1f} points, grid-mix import "
        f"{(a.grid_import_kwh - b.grid_import_kwh) / 1000:+.1f} MWh",
        f"carbon accounting (metered): park emission factor {ef['location']} gCO2/kWh location-based, "
        f"{ef['market']} gCO2/kWh market-based",
        f"report {r.carbon.report_sha256[:16]}… {'verified OK' if r.carbon.verified else 'NOT verified: '}"
        + "; ".join(r.carbon.problems)
        + f"  ({r.carbon.report_files['json']})",
    ]
    return out


def _has_modbus(park: Park) -> bool:
    return any(isinstance(d.connection, ModbusTcp | ModbusRtu) for d in park.devices)


async def _live(park: Park, store: Store, settings: object, cfg: LiveConfig, keep_serving: bool) -> None:
    from entrypoints.operate.live import LiveRun

    n = int(cfg.hours * 60 / park.interval_minutes)
    bar: tqdm[None] | None = None

    def on_ready(access: Access) -> None:
        nonlocal bar
        print_access(access)
        bar = tqdm(total=n, unit="interval", desc="simulated intervals")

    def on_step(rec: StepRecord) -> None:
        assert bar is not None
        bar.update(1)
        bat = ", ".join(f"{d} {v:+.0f} kW" for d, v in rec.confirmed.items() if not d.startswith("PV"))
        bar.set_postfix_str(f"{rec.start.astimezone(park.tz):%H:%M} {rec.method} {bat}", refresh=False)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with LiveRun(park, store, settings, cfg) as live:  # type: ignore[arg-type]
        typer.echo(
            f"simulating {live.start.astimezone(park.tz):%Y-%m-%d %H:%M} .. "
            f"{live.end.astimezone(park.tz):%Y-%m-%d %H:%M} ({park.timezone}) at {cfg.speed:g}x"
        )
        try:
            result = await live.run(on_ready=on_ready, on_step=on_step, stop=stop)
        finally:
            if bar is not None:
                bar.close()
        if result is None:
            typer.echo(_("interrupted: simulator and poller stopped, readings flushed to the store, API stopped"))
            return
        for line in summary_lines(result):
            typer.echo(line)
        if keep_serving:
            typer.echo("\n" + _("serving {url} until Ctrl-C", url=result.access.dashboard_url))
            await stop.wait()


@app.command()
def demo(
    park: ParkOption = None,
    data_dir: DataDirOption = None,
    hours: Annotated[float, typer.Option(help="simulated hours")] = 24.0,
    speed: Annotated[float, typer.Option(help="simulated seconds per wall second")] = 360.0,
    seed: Annotated[int, typer.Option(help="random seed of weather and loads")] = 1,
    day: Annotated[
        str | None,
        typer.Option(
            help="local date of the simulated day (YYYY-MM-DD, in the past); default: the latest full past day(s)"
        ),
    ] = None,
    start_hour: Annotated[int, typer.Option(help="local hour of day the simulation starts")] = 0,
    history_days: Annotated[int, typer.Option(help="days of simulated history ingested before the live period")] = 7,
    keep_serving: Annotated[bool, typer.Option(help="keep the API and dashboard running after the summary")] = False,
    port: Annotated[
        int | None, typer.Option(help="API port (default: EMS_API_PORT if free, else any free port)")
    ] = None,
    no_ac_check: Annotated[bool, typer.Option("--no-ac-check", help="plan without the AC power-flow check")] = False,
    no_guard: Annotated[bool, typer.Option("--no-guard", help="no import-cap guard between re-plans")] = False,
    synthetic: Annotated[bool, typer.Option(help="only ingest a synthetic day and summarise it (quick)")] = False,
    step_s: Annotated[float, typer.Option(help="--synthetic: seconds between synthetic readings")] = 10.0,
    prices: Annotated[
        Path | None,
        typer.Option(
            help="CSV of import/export prices for the MPC (as `ems mpc --prices`); default: the park file's prices_file"
        ),
    ] = None,
) -> None:
    """Bring the park to life: simulator, poller, MPC with AC check, setpoints, API, carbon report, summary."""
    settings, p = settings_and_park(data_dir, park)
    where = "EMS_DATABASE_URL" if settings.database_url is not None else f"embedded PostgreSQL in {settings.data_dir}"
    typer.echo(_("park: {park} ({n} devices); store: {where}", park=p.name, n=len(p.devices), where=where))
    the_day = dt.date.fromisoformat(day) if day else None
    if synthetic or not _has_modbus(p):
        if not synthetic:
            typer.echo(_("the park has no Modbus devices to simulate: ingesting a synthetic day instead"))
        sday = the_day or dt.date(2026, 6, 21)
        with open_store(settings, p) as store:
            accepted, dups, secs = ingest_synthetic_day(store, p, sday, step_s, seed)
            total = accepted + dups
            typer.echo(
                f"ingested {total:,} readings in {secs:.2f} s ({total / secs:,.0f} rows/s): "
                f"{accepted:,} new, {dups:,} already stored"
            )
            print_synthetic_summary(store, p, sday)
        return
    from dispatch.prices import PriceFileError
    from entrypoints.operate.live import LiveConfig, live_window
    from services.planning import park_prices

    cfg = LiveConfig(
        hours=hours,
        speed=speed,
        seed=seed,
        day=the_day,
        start_hour=start_hour,
        history_days=history_days,
        ac_check=not no_ac_check,
        guard=not no_guard,
        horizon=p.intervals_per_day,
        api_port=port if port is not None else _free_or_none(settings.api_host, settings.api_port),
    )
    try:
        start, end = live_window(p, hours, the_day, dt.datetime.now(dt.UTC), start_hour)
    except ValueError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    # the file must cover the last horizon planned, which ends a horizon after the simulated period
    covered = math.ceil((end - start) / dt.timedelta(minutes=p.interval_minutes)) + cfg.horizon
    try:
        cfg.prices = park_prices(p, settings.park_file, start, covered, prices)
    except PriceFileError as exc:
        raise typer.BadParameter(user_message(exc), param_hint="--prices") from None
    with open_store(settings, p) as store:
        asyncio.run(_live(p, store, settings, cfg, keep_serving))  # Ctrl-C: servers stop, poller flushes


def _free_or_none(host: str, port: int) -> int | None:
    """``port`` if nothing listens there, else None (= any free port)."""
    import socket

    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return None
    return port
