"""``ems plan`` (day-ahead dispatch) and ``ems simulate-year`` (closed-loop what-if)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
import yaml
from tqdm import tqdm

from dispatch.from_park import problem_from_park
from dispatch.problem import DispatchProblem
from dispatch.rules import rule_based_schedule
from dispatch.schedule import Kpis, Schedule
from dispatch.simulate import SimulationConfig, simulate_year, truth_forecast
from dispatch.solver import Dispatcher, SolverOptions
from ems.cli.common import DataDirOption, ParkOption, load_park_or_exit, settings_from
from ems.forecast import Forecast, forecast_park
from ems.forecast.synthetic import synthesize
from ems.park import Park, Tariff

app = typer.Typer(help="Dispatch: day-ahead plans and annual closed-loop simulations.", no_args_is_help=True)


def _local_midnight(park: Park, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=park.tz).astimezone(dt.UTC)


def _kpi_table(opt: Kpis, base: Kpis, ef_source: str) -> None:
    a, b = opt.as_report(ef_source), base.as_report(ef_source)
    typer.echo(f"  {'KPI':32s} {'optimised':>16s} {'rule-based':>16s}")
    for key in (
        "local_re_consumption_ratio",
        "green_share",
        "cost_cny",
        "emissions_kgco2",
        "park_ef_kgco2_per_kwh",
        "peak_import_kw",
    ):
        typer.echo(f"  {key:32s} {a[key]!s:>16s} {b[key]!s:>16s}")
    typer.echo(f"  grid factor: {ef_source}")


def _forecast(
    park: Park,
    start: dt.datetime,
    n: int,
    source: str,
    settings_dir: Path | None,
    seed: int,
    park_path: Path | None,
) -> Forecast:
    """Forecast from the store's history (last 14 days), or the synthetic demo weather."""
    if source == "synthetic":
        truth = synthesize(park, start, n, seed=seed)
        fc = truth_forecast(park, truth, 0, n)
        fc.methods = {d: "synthetic" for d in (*truth.pv_kw, *truth.wind_kw, *truth.load_kw)}
        return fc
    from ems.forecast.history import history_from_store
    from ems.store import open_store

    with open_store(settings_from(settings_dir, park_path), park) as store:
        hist = history_from_store(store, park, start - dt.timedelta(days=14), start)
        return forecast_park(park, hist, start, n)


@app.command("plan")
def plan(
    park_file: ParkOption = None,
    data_dir: DataDirOption = None,
    day: Annotated[str | None, typer.Option(help="local date to plan (YYYY-MM-DD); default: tomorrow")] = None,
    intervals: Annotated[
        int, typer.Option(min=1, help="horizon length in park intervals (96 = one day at 15 min)")
    ] = 96,
    source: Annotated[str, typer.Option(help="forecast source: 'store' (telemetry history) or 'synthetic'")] = "store",
    objective: Annotated[
        str, typer.Option(help="'lexicographic' (local RE first, then cost) or 'weighted'")
    ] = "lexicographic",
    carbon_price: Annotated[
        float, typer.Option("--carbon-price-cny-per-t", min=0, help="carbon price [CNY/tCO2]")
    ] = 0.0,
    ac_check: Annotated[
        bool, typer.Option(help="check the plan with the AC power flow and re-solve on violations")
    ] = True,
    save: Annotated[
        bool, typer.Option(help="store forecast, schedule (versioned) and baseline (needs the store)")
    ] = True,
    seed: Annotated[int, typer.Option(help="weather seed of the synthetic source")] = 1,
    json_out: Annotated[Path | None, typer.Option("--json", help="write the schedule summary and KPIs here")] = None,
) -> None:
    """Plan the next day (or any horizon): optimised schedule and the rule-based baseline, with KPIs."""
    settings = settings_from(data_dir, park_file)
    park = load_park_or_exit(settings)
    if source not in ("store", "synthetic"):
        raise typer.BadParameter("source must be 'store' or 'synthetic'")
    local_day = dt.date.fromisoformat(day) if day else (dt.datetime.now(park.tz) + dt.timedelta(days=1)).date()
    start = _local_midnight(park, local_day)
    fc = _forecast(park, start, intervals, source, data_dir, seed, park_file)
    p = problem_from_park(park, fc, carbon_price_cny_per_t=carbon_price)
    dispatcher = Dispatcher(SolverOptions(objective=objective))
    s = _solve(park, dispatcher, p, ac_check)
    base = rule_based_schedule(p)
    typer.secho(f"Plan {local_day} ({intervals} intervals) for {park.name}", bold=True)
    for key, value in s.summary().items():
        typer.echo(f"  {key}: {value}")
    _kpi_table(s.kpis, base.kpis, p.ef_source)
    if save and source == "store":
        _save(park, data_dir, park_file, s, base, fc)
    if json_out is not None:
        payload = {
            "schedule": s.summary(),
            "kpis": _plain(s.kpis.as_report(p.ef_source)),
            "baseline_kpis": _plain(base.kpis.as_report(p.ef_source)),
        }
        json_out.write_text(json.dumps(payload, indent=2))


def _solve(park: Park, dispatcher: Dispatcher, p: DispatchProblem, ac_check: bool) -> Schedule:
    if not ac_check:
        return dispatcher.solve(p)
    from dispatch.network_check import dispatch_with_ac_check
    from grid_models import build_network

    s, _ = dispatch_with_ac_check(dispatcher, p, build_network(park))
    return s


def _save(park: Park, data_dir: Path | None, park_file: Path | None, s: Schedule, base: Schedule, fc: Forecast) -> None:
    """Store the forecast, the schedule (next version) and the baseline, linked to the forecast run."""
    from ems.store import open_store
    from ems.store.schedules import save_forecast, save_schedule

    with open_store(settings_from(data_dir, park_file), park) as store, store.connection() as conn:
        run_id = save_forecast(conn, fc, note="ems plan")
        sid, version = save_schedule(conn, s, "day_ahead", forecast_run_id=run_id)
        save_schedule(conn, base, "baseline", forecast_run_id=run_id)
    typer.echo(f"  stored as schedule {sid}, version {version} (forecast run {run_id})")


def _plain(d: dict[str, object]) -> dict[str, object]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in d.items()}


@app.command("simulate-year")
def simulate_year_cmd(
    park_file: ParkOption = None,
    days: Annotated[int, typer.Option(min=1, max=366, help="days to simulate")] = 365,
    replan: Annotated[str, typer.Option(help="re-planning cadence: 'hourly' or 'daily'")] = "hourly",
    battery_scale: Annotated[float, typer.Option(min=0.01, help="multiply battery energy and power (what-if)")] = 1.0,
    contract_scale: Annotated[float, typer.Option(min=0, help="multiply green-contract volumes (what-if)")] = 1.0,
    carbon_price: Annotated[
        float, typer.Option("--carbon-price-cny-per-t", min=0, help="carbon price [CNY/tCO2]")
    ] = 0.0,
    tariff: Annotated[Path | None, typer.Option(help="YAML file with a replacement 'tariff' section (what-if)")] = None,
    seed: Annotated[int, typer.Option(help="weather seed")] = 7,
    out: Annotated[Path, typer.Option(help="directory for plots and results.json")] = Path("var/simulate-year"),
) -> None:
    """Closed-loop simulation (forecast -> dispatch -> plant -> measurement) vs the rule-based baseline."""
    settings = settings_from(None, park_file)
    park = load_park_or_exit(settings)
    if replan not in ("hourly", "daily"):
        raise typer.BadParameter("replan must be 'hourly' or 'daily'")
    if tariff is not None:
        park = _with_tariff(park, tariff)
    cfg = SimulationConfig(
        days=days,
        replan_minutes=60 if replan == "hourly" else 24 * 60,
        seed=seed,
        battery_scale=battery_scale,
        contract_volume_scale=contract_scale,
        carbon_price_cny_per_t=carbon_price,
    )
    replans = -(-days * park.intervals_per_day // max(1, cfg.replan_minutes // park.interval_minutes))
    with tqdm(total=replans, desc="simulate-year", unit="plan") as bar:
        result = simulate_year(park, cfg, progress=bar.update)
    from dispatch.plots import write_plots

    files = write_plots(result, out)
    typer.secho(
        f"{days} days, {result.replans} re-plans in {result.wall_seconds:.0f} s "
        f"({1000 * sorted(result.replan_seconds)[len(result.replan_seconds) // 2]:.0f} ms median)",
        bold=True,
    )
    if result.fallbacks:
        typer.secho(f"  fallbacks: {dict(result.fallbacks)}", fg=typer.colors.YELLOW)
    if result.import_limit_violations:
        typer.secho(f"  import limit exceeded in {result.import_limit_violations} intervals", fg=typer.colors.YELLOW)
    _kpi_table(result.kpis, result.baseline_kpis, "cn-jiangsu-2022 0.5978 kgCO2/kWh (MEE 2022)")
    payload = {
        "config": {
            k: (str(v) if not isinstance(v, int | float) else v)
            for k, v in dataclasses.asdict(cfg).items()
            if k != "options"
        },
        "kpis": dataclasses.asdict(result.kpis),
        "baseline_kpis": dataclasses.asdict(result.baseline_kpis),
        "gains": result.gains(),
        "fallbacks": dict(result.fallbacks),
        "wall_seconds": result.wall_seconds,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(payload, indent=2, default=str))
    typer.echo("  wrote " + ", ".join(str(f) for f in [*files, out / "results.json"]))


def _with_tariff(park: Park, path: Path) -> Park:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    section = data.get("tariff", data) if isinstance(data, dict) else data
    try:
        new = Tariff.model_validate(section)
    except ValueError as exc:
        raise typer.BadParameter(f"{path}: {exc}") from None
    return park.model_copy(update={"tariff": new})
