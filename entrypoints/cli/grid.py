"""``ems grid``: power-flow check of the park network and hosting what-ifs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import numpy as np
import typer
from tqdm import tqdm

from entrypoints.cli.common import ParkOption, settings_and_park
from grid_models import (
    NetworkModelError,
    PowerFlowResult,
    build_network,
    hosting_check,
    park_profiles,
    snapshot,
    year_profiles,
)

app = typer.Typer(help="Grid model: AC power flow, limit violations, hosting checks.", no_args_is_help=True)


def _print_snapshot(title: str, r: PowerFlowResult) -> None:
    typer.secho(f"\n{title}", bold=True)
    direction = "import" if r.grid_exchange_kw >= 0 else "export"
    typer.echo(f"  grid exchange {r.grid_exchange_kw:10.1f} kW ({direction}), losses {r.losses_kw:8.1f} kW")
    typer.echo("  bus voltages [pu]: " + ", ".join(f"{k} {v:.4f}" for k, v in r.bus_vm_pu.items()))
    if r.line_loading_percent:
        typer.echo("  line loading [%]:  " + ", ".join(f"{k} {v:.1f}" for k, v in r.line_loading_percent.items()))
    if r.trafo_loading_percent:
        typer.echo("  trafo loading [%]: " + ", ".join(f"{k} {v:.1f}" for k, v in r.trafo_loading_percent.items()))
    if not r.violations:
        typer.secho("  no violations", fg=typer.colors.GREEN)
    for v in r.violations:
        typer.secho(
            f"  VIOLATION {v.kind} at {v.element}: {v.value:.4g} vs limit {v.limit:.4g} (margin {v.margin:.4g})",
            fg=typer.colors.RED,
        )


@app.command()
def check(
    park_file: ParkOption = None,
    date: Annotated[str, typer.Option(help="day to simulate (local date, YYYY-MM-DD)")] = "2026-06-21",
    seed: Annotated[int, typer.Option(help="seed of the synthetic weather and load noise")] = 0,
) -> None:
    """AC power flow (pandapower) at a typical midday and night: voltages, loadings, violations.

    Injections come from the synthetic profiles of the day (batteries idle).
    """
    _, park = settings_and_park(park=park_file)
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        typer.secho(f"--date {date!r} is not YYYY-MM-DD", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    pn = build_network(park)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=park.tz)
    prof = park_profiles(park, start, park.intervals_per_day, seed)
    typer.echo(
        f"{park.name}: {len(pn.bus_ids)} buses, {len(pn.line_ids)} lines, {len(pn.trafo_ids)} transformers, "
        f"{len(pn.device_ids)} devices; band {pn.limits.v_min_pu}-{pn.limits.v_max_pu} pu, "
        f"import <= {pn.limits.import_limit_kw:g} kW, export <= {pn.limits.export_limit_kw:g} kW"
    )
    for label, hour in (("midday 12:00", 12), ("night 03:00", 3)):
        i = hour * 60 // park.interval_minutes
        inj = dict(zip(prof.device_ids, prof.p_kw[i].tolist(), strict=True))
        _print_snapshot(f"{day} {label} (local)", snapshot(pn, inj))


@app.command()
def hosting(
    bus: Annotated[str, typer.Option(help="bus id where the capacity would connect")],
    extra_pv_kw: Annotated[float, typer.Option(help="extra PV, AC rating (kW)")] = 0.0,
    extra_wind_kw: Annotated[float, typer.Option(help="extra wind (kW)")] = 0.0,
    extra_battery_kw: Annotated[
        float, typer.Option(help="extra battery power (kW), checked at full charge and discharge")
    ] = 0.0,
    year: Annotated[int, typer.Option(help="calendar year of 15-minute intervals to simulate")] = 2026,
    seed: Annotated[int, typer.Option(help="seed of the synthetic weather and load noise")] = 0,
    park_file: ParkOption = None,
) -> None:
    """What-if: run the year with extra PV/wind/battery at a bus and report the limit violations it adds."""
    _, park = settings_and_park(park=park_file)
    pn = build_network(park)
    try:
        pn.bus_index(bus)
        prof = year_profiles(park, year, seed)
        runs = 2 + (2 if extra_battery_kw > 0 else 0)
        with tqdm(total=runs * len(prof.times), unit="step", desc="power flow") as bar:
            rep = hosting_check(pn, prof, bus, extra_pv_kw, extra_wind_kw, extra_battery_kw, progress=bar.update)
    except NetworkModelError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"{rep.steps} intervals of {year}; extra at {bus}: PV {extra_pv_kw:g} kW, wind {extra_wind_kw:g} kW, "
        f"battery {extra_battery_kw:g} kW"
    )
    typer.echo(
        f"with extra: max export {rep.max_export_kw:.0f} kW, max import {rep.max_import_kw:.0f} kW, "
        f"max line {rep.max_line_loading_percent:.1f} %, max trafo {rep.max_trafo_loading_percent:.1f} %, "
        f"voltage {rep.v_min_pu:.4f}..{rep.v_max_pu:.4f} pu"
    )
    for s in [*rep.base, *rep.with_extra]:
        typer.echo(
            f"  [{s.scenario:>19}] {s.kind:<13} {s.element:<16} {s.intervals:6d} intervals, "
            f"worst {s.worst_value:.4g} vs {s.limit:.4g} at interval {s.worst_interval} "
            f"({np.datetime_as_string(prof.times[s.worst_interval], unit='m')} UTC)"
        )
    if rep.ok:
        typer.secho("OK: the extra capacity adds no violation", fg=typer.colors.GREEN)
    else:
        typer.secho(f"NOT OK: {rep.new_violations} new violations (interval x limit)", fg=typer.colors.RED)
