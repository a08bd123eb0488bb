"""``ems grid``: power-flow check of the park network and hosting what-ifs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import pandas as pd
import typer
from tqdm import tqdm

from ems.i18n import _
from ems.park import Park
from entrypoints.cli.common import ParkOption, settings_and_park

if TYPE_CHECKING:  # imported where used: `ems --help` does not load them
    from grid_models import ParkNetwork, ParkProfiles, Violation

app = typer.Typer(help="Grid model: AC power flow, limit violations, hosting checks.", no_args_is_help=True)


def _period_profiles(park: Park, year: int, date: str | None, days: int, seed: int) -> ParkProfiles:
    """The whole ``year``, or ``days`` days from ``date``."""
    from grid_models import park_profiles, year_profiles

    if date is None:
        return year_profiles(park, year, seed)
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        typer.secho(_("--date {date!r} is not YYYY-MM-DD", date=date), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    start = dt.datetime.combine(day, dt.time(0), tzinfo=park.tz)
    return park_profiles(park, start, days * park.intervals_per_day, seed)


def _describe(pn: ParkNetwork, v: Violation) -> str:
    from grid_models.period_check import UNITS

    unit = UNITS[v.kind]
    text = f"{v.value:.4g}{unit} vs limit {v.limit:.4g}{unit}"
    if v.kind.startswith("voltage"):
        vn = float(pn.net.bus.vn_kv.iloc[pn.bus_ids.index(v.element)])
        text += f" ({v.value * vn:.3f} kV vs {v.limit * vn:.3f} kV)"
    return text


@app.command()
def check(
    park_file: ParkOption = None,
    year: Annotated[int, typer.Option(help="calendar year of intervals to check (default period)")] = 2026,
    date: Annotated[str | None, typer.Option(help="check --days days from this local date instead")] = None,
    days: Annotated[int, typer.Option(min=1, help="days to check from --date")] = 1,
    seed: Annotated[int, typer.Option(help="seed of the synthetic weather and load noise")] = 0,
    show: Annotated[int, typer.Option(help="violating intervals to list (all go to --csv)")] = 20,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="write every violation to this CSV")] = None,
    plot: Annotated[Path | None, typer.Option(help="write a PNG of voltages, loadings, exchange, pf")] = None,
    n_1: Annotated[bool, typer.Option("--n-1", help="also each transformer and line out in turn (N-1)")] = False,
) -> None:
    """AC power flow of every interval of a period (the year by default, fast path): every limit
    violation with element, value and limit, summarised per limit and element.

    Injections come from the park's synthetic profiles (batteries idle).
    """
    from grid_models import Violation, check_period
    from grid_models.period_check import plot_check, write_csv
    from grid_models.power_factor import SOURCE as PF_SOURCE
    from grid_models.power_factor import monthly_power_factor

    park = settings_and_park(park=park_file)[1]
    pn = _network_or_exit(park)
    prof = _period_profiles(park, year, date, days, seed)
    lim = pn.limits
    typer.echo(
        f"{park.name}: {len(pn.bus_ids)} buses, {len(pn.line_ids)} lines, {len(pn.trafo_ids)} transformers, "
        f"{len(pn.device_ids)} devices; voltage band {lim.v_min_pu}-{lim.v_max_pu} pu of each bus's nominal kV, "
        f"import <= {lim.import_limit_kw:g} kW, export <= {lim.export_limit_kw:g} kW, pf >= {lim.min_power_factor:g}"
    )
    with tqdm(total=len(prof.times), unit="step", desc="power flow") as bar:
        chk = check_period(pn, prof, progress=bar.update)
    first = np.datetime_as_string(prof.times[0], unit="m")
    typer.echo(
        f"{len(prof.times)} intervals from {first} UTC: {chk.violating_intervals} with a violation, "
        f"{len(chk.violations)} violations"
    )
    for s in chk.summary:
        worst = Violation(s.kind, s.element, s.worst_interval, s.worst_value, s.limit, s.worst_margin)
        typer.echo(
            f"  {s.kind:<13} {s.element:<16} {s.intervals:6d} intervals, worst {_describe(pn, worst)} "
            f"at {np.datetime_as_string(prof.times[s.worst_interval], unit='m')} UTC"
        )
    for v in chk.violations[:show]:
        t = np.datetime_as_string(prof.times[v.interval], unit="m")
        typer.secho(f"  {t} UTC  {v.kind:<13} {v.element:<16} {_describe(pn, v)}", fg=typer.colors.RED)
    if len(chk.violations) > show:
        more = len(chk.violations) - show
        typer.echo(_("  ... {n} more", n=more) if csv_path else _("  ... {n} more (all with --csv PATH)", n=more))
    if lim.min_power_factor > 0:
        months = np.array([t.strftime("%Y-%m") for t in pd.DatetimeIndex(prof.times, tz="UTC").tz_convert(park.tz)])
        res = chk.result
        typer.echo(
            _("power factor at the connection point per month and tariff adjustment ({source}):", source=PF_SOURCE)
        )
        for m in monthly_power_factor(months, res.grid_exchange_kw, res.grid_exchange_kvar, park.interval_minutes / 60):
            typer.echo(
                f"  {m.month}  pf {m.power_factor}  adjustment {m.adjustment_percent:+} % of the month's charges"
            )
    if csv_path is not None:
        rows = write_csv(chk, pn, csv_path)
        typer.echo(_("wrote {n} violations to {path}", n=rows, path=csv_path))
    if plot is not None:
        plot_check(chk, pn, plot)
        typer.echo(_("wrote {path}", path=plot))
    if not chk.violations:
        typer.secho(_("no violations"), fg=typer.colors.GREEN)
    if n_1:
        _print_n_minus_1(pn, prof)


def _print_n_minus_1(pn: ParkNetwork, prof: ParkProfiles) -> None:
    from grid_models import Violation
    from grid_models.contingency import n_minus_1

    typer.secho(_("N-1 (each transformer and line out in turn; power factor not repeated):"), bold=True)
    for c in n_minus_1(pn, prof):
        dark = f"; without supply: {', '.join(c.unsupplied_buses)}" if c.unsupplied_buses else ""
        rows = [s for s in c.summary if s.kind != "power_factor"]
        typer.echo(_("  {outage} out{dark}", outage=c.outage, dark=dark) + ("" if rows else _(": no violation")))
        for s in rows:
            worst = Violation(s.kind, s.element, s.worst_interval, s.worst_value, s.limit, s.worst_margin)
            typer.echo(
                f"    {s.kind:<13} {s.element:<16} {s.intervals:6d} intervals, worst {_describe(pn, worst)} "
                f"at {np.datetime_as_string(prof.times[s.worst_interval], unit='m')} UTC"
            )


def _network_or_exit(park: Park) -> ParkNetwork:
    from grid_models import NetworkModelError, build_network

    try:
        return build_network(park)
    except NetworkModelError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


@app.command()
def hosting(
    bus: Annotated[str | None, typer.Option(help="bus id; default: the capacity of every bus")] = None,
    technology: Annotated[str, typer.Option(help="capacity search: pv, wind or battery")] = "pv",
    ignore: Annotated[
        list[str] | None, typer.Option(help="limit kinds not to count, e.g. export_limit (repeatable)")
    ] = None,
    tolerance_kw: Annotated[float, typer.Option(help="bisection tolerance of the capacity (kW)")] = 10.0,
    upper_kw: Annotated[float | None, typer.Option(help="search bound (kW); default 2x transformer rating")] = None,
    extra_pv_kw: Annotated[float, typer.Option(help="what-if instead: extra PV, AC rating (kW)")] = 0.0,
    extra_wind_kw: Annotated[float, typer.Option(help="what-if instead: extra wind (kW)")] = 0.0,
    extra_battery_kw: Annotated[
        float, typer.Option(help="what-if instead: extra battery power (kW), at full charge and discharge")
    ] = 0.0,
    year: Annotated[int, typer.Option(help="calendar year of 15-minute intervals to simulate")] = 2026,
    seed: Annotated[int, typer.Option(help="seed of the synthetic weather and load noise")] = 0,
    park_file: ParkOption = None,
) -> None:
    """Hosting capacity per bus over the year (bisection on the fast path) with the binding element
    and interval; with --extra-*-kw, the what-if for that amount at --bus instead."""
    from grid_models import NetworkModelError, hosting_check, year_profiles

    park = settings_and_park(park=park_file)[1]
    pn = _network_or_exit(park)
    if max(extra_pv_kw, extra_wind_kw, extra_battery_kw) <= 0:
        _capacity(pn, park, bus, technology, frozenset(ignore or ()), tolerance_kw, upper_kw, year, seed)
        return
    if bus is None:
        typer.secho(_("--bus is required with --extra-*-kw"), fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
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
        typer.secho(_("OK: the extra capacity adds no violation"), fg=typer.colors.GREEN)
    else:
        typer.secho(_("NOT OK: {n} new violations (interval x limit)", n=rep.new_violations), fg=typer.colors.RED)


def _capacity(
    pn: ParkNetwork,
    park: Park,
    bus: str | None,
    technology: str,
    ignore: frozenset[str],
    tolerance_kw: float,
    upper_kw: float | None,
    year: int,
    seed: int,
) -> None:
    from grid_models import NetworkModelError, hosting_capacity, year_profiles
    from grid_models.period_check import UNITS

    unknown = ignore - set(UNITS)
    if unknown:
        typer.secho(
            _("--ignore: unknown kinds {unknown}; known: {known}", unknown=sorted(unknown), known=sorted(UNITS)),
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    buses = [bus] if bus is not None else pn.bus_ids
    prof = year_profiles(park, year, seed)
    typer.echo(
        f"{technology} hosting capacity over {len(prof.times)} intervals of {year} (tolerance {tolerance_kw:g} kW"
        + (f", ignoring {', '.join(sorted(ignore))})" if ignore else ")")
    )
    for b in buses:
        try:
            cap = hosting_capacity(pn, prof, b, technology, upper_kw, tolerance_kw, ignore)
        except NetworkModelError as exc:
            typer.secho(str(exc), fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
        if cap.binding is None:
            typer.echo(
                _("  {bus:<12} >= {kw:10.0f} kW (no violation up to the search bound)", bus=b, kw=cap.capacity_kw)
            )
            continue
        v = cap.binding
        t = np.datetime_as_string(prof.times[v.interval], unit="m")
        typer.echo(
            f"  {b:<12} {cap.capacity_kw:10.0f} kW  binding: {v.kind} at {v.element}, {t} UTC "
            f"({_describe(pn, v)} at +{cap.tolerance_kw:g} kW)"
        )
