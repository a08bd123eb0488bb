"""``ems plan`` (day-ahead dispatch) and ``ems simulate-year`` (closed-loop what-if)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml
from tqdm import tqdm

from ems.i18n import _, translate, user_message
from ems.park import Park, Tariff
from ems.store import open_store
from entrypoints.cli.common import DataDirOption, ParkOption, settings_and_park

if TYPE_CHECKING:  # imported where used: `ems --help` does not load them
    from dispatch.prices import PriceSeries
    from dispatch.schedule import Kpis
    from ems.forecast import Forecast

app = typer.Typer(help="Dispatch: day-ahead plans and annual closed-loop simulations.", no_args_is_help=True)


def _local_midnight(park: Park, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=park.tz).astimezone(dt.UTC)


def _kpi_table(opt: Kpis, base: Kpis, ef_source: str) -> None:
    a, b = opt.as_report(ef_source), base.as_report(ef_source)
    kpi, optimised, rule_based = _("KPI"), _("optimised"), _("rule-based")
    typer.echo(f"  {kpi:32s} {optimised:>16s} {rule_based:>16s}")
    for key in (
        "local_re_consumption_ratio",
        "green_share",
        "cost_cny",
        "emissions_kgco2",
        "park_ef_kgco2_per_kwh",
        "peak_import_kw",
    ):
        typer.echo(f"  {key:32s} {a[key]!s:>16s} {b[key]!s:>16s}")
    typer.echo(_("  grid factor: {source}", source=ef_source))


def _synthetic_forecast(park: Park, start: dt.datetime, n: int, seed: int) -> Forecast:
    """The synthetic demo weather as a perfect forecast (no store needed)."""
    from ems.synthetic import synthesize_truth
    from services.annual import truth_forecast

    truth = synthesize_truth(park, start, n, seed=seed)
    fc = truth_forecast(park, truth, 0, n)
    fc.methods = {d: "synthetic" for d in (*truth.pv_kw, *truth.wind_kw, *truth.load_kw)}
    return fc


@app.command("plan")
def plan(
    park_file: ParkOption = None,
    data_dir: DataDirOption = None,
    day: Annotated[str | None, typer.Option(help="local date to plan (YYYY-MM-DD); default: tomorrow")] = None,
    intervals: Annotated[
        int | None, typer.Option(min=1, help="horizon length in park intervals; default: one day")
    ] = None,
    source: Annotated[str, typer.Option(help="forecast source: 'store' (telemetry history) or 'synthetic'")] = "store",
    objective: Annotated[
        str | None, typer.Option(help="'lexicographic' (local RE first, then cost) or 'weighted'; default: park file")
    ] = None,
    re_weight: Annotated[
        float | None, typer.Option("--re-weight-cny-per-kwh", min=0, help="weighted mode: price of 1 kWh of RE lost")
    ] = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit-s", min=0.001, help="solver time per plan")] = None,
    mip_gap: Annotated[float | None, typer.Option("--mip-gap", min=0, max=0.999, help="relative MIP gap")] = None,
    interval_minutes: Annotated[
        int | None, typer.Option(help="interval length (5, 10, 15, 20, 30, 60; divides 60); default: park file")
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option(help="CSV of per-interval import/export prices (start,import_cny_per_kwh,export_cny_per_kwh)"),
    ] = None,
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
    from services import planning

    settings, park = settings_and_park(data_dir, park_file)
    if source not in ("store", "synthetic"):
        raise typer.BadParameter(_("source must be 'store' or 'synthetic'"))
    if interval_minutes is not None:
        if 60 % interval_minutes:
            raise typer.BadParameter(_("interval-minutes must divide 60"))
        park = park.model_copy(update={"interval_minutes": interval_minutes})
    intervals = intervals or park.intervals_per_day
    opts: dict[str, object] = {"re_weight_cny_per_kwh": re_weight, "time_limit_s": time_limit, "mip_rel_gap": mip_gap}
    local_day = dt.date.fromisoformat(day) if day else (dt.datetime.now(park.tz) + dt.timedelta(days=1)).date()
    start = _local_midnight(park, local_day)
    series = _price_series(prices, park, settings.park_file, start, intervals)
    if source == "synthetic":
        fc = _synthetic_forecast(park, start, intervals, seed)
        res = planning.plan(
            park,
            fc,
            ac_check=ac_check,
            objective=objective,
            carbon_price_cny_per_t=carbon_price,
            options=opts,
            prices=series,
        )
    else:
        with open_store(settings, park) as store:  # one store for history and saving
            res = planning.plan_from_store(
                store,
                park,
                start,
                intervals,
                ac_check=ac_check,
                objective=objective,
                carbon_price_cny_per_t=carbon_price,
                note="ems plan",
                save=save,
                options=opts,
                prices=series,
            )
    s, base, p = res.schedule, res.baseline, res.problem
    typer.secho(_("Plan {day} ({n} intervals) for {park}", day=local_day, n=intervals, park=park.name), bold=True)
    for key, value in s.summary().items():
        typer.echo(f"  {key}: {value}")
    _kpi_table(s.kpis, base.kpis, p.ef_source)
    if res.schedule_id is not None:
        typer.echo(
            f"  stored as schedule {res.schedule_id}, version {res.version} (forecast run {res.forecast_run_id})"
        )
    if json_out is not None:
        payload = {
            "schedule": s.summary(),
            "kpis": _plain(s.kpis.as_report(p.ef_source)),
            "baseline_kpis": _plain(base.kpis.as_report(p.ef_source)),
        }
        json_out.write_text(json.dumps(payload, indent=2))


def _price_series(
    option: Path | None, park: Park, park_file: Path | None, start: dt.datetime, intervals: int
) -> PriceSeries | None:
    """The ``--prices`` file, else the park file's ``dispatch.prices_file`` (relative to the park file),
    checked to cover the horizon."""
    from dispatch.prices import PriceFileError
    from services import planning

    try:
        return planning.park_prices(park, park_file, start, intervals, option)
    except PriceFileError as exc:
        raise typer.BadParameter(user_message(exc)) from None


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
    prices: Annotated[
        Path | None, typer.Option(help="CSV of import/export prices (default: the park file's dispatch.prices_file)")
    ] = None,
    peak_margin_quantile: Annotated[
        float | None,
        typer.Option(
            min=0.5,
            max=0.999,
            help="also run with a peak-import safety margin, this quantile of the net-load forecast errors "
            "(e.g. 0.95), and compare peak, demand charge, energy cost and peak exceedances without and with it",
        ),
    ] = None,
    scenarios: Annotated[
        int,
        typer.Option(
            min=1,
            max=9,
            help="also run scenario-based MPC over this many net-load scenarios from the forecast errors and "
            "compare it with deterministic MPC (cost, peak, local RE); 1 = deterministic only",
        ),
    ] = 1,
    binaries: Annotated[
        str,
        typer.Option(
            help="charge/discharge binaries: auto (where they matter), always, or never; the loop executes each "
            "battery's net power, so 'never' gives the same flows much faster on parks with surplus renewables",
        ),
    ] = "auto",
) -> None:
    """Closed-loop simulation (forecast -> dispatch -> plant -> measurement) vs the rule-based baseline."""
    from dispatch.solver import SolverOptions
    from services.annual import SimulationConfig, simulate_year
    from services.annual_margin import MarginComparison, compare_peak_margin
    from services.annual_scenarios import ScenarioComparison, compare_scenarios

    settings, park = settings_and_park(None, park_file)
    if replan not in ("hourly", "daily"):
        raise typer.BadParameter(_("replan must be 'hourly' or 'daily'"))
    if binaries not in ("auto", "always", "never"):
        raise typer.BadParameter(_("binaries must be 'auto', 'always' or 'never'"))
    if scenarios > 1 and peak_margin_quantile is not None:
        raise typer.BadParameter(_("compare either the peak margin or scenario-based MPC, not both in one run"))
    if tariff is not None:
        park = _with_tariff(park, tariff)
    cfg = SimulationConfig(
        days=days,
        replan_minutes=60 if replan == "hourly" else 24 * 60,
        seed=seed,
        battery_scale=battery_scale,
        contract_volume_scale=contract_scale,
        carbon_price_cny_per_t=carbon_price,
        options=SolverOptions(binaries=binaries),
    )
    cfg = dataclasses.replace(cfg, horizon=park.intervals_per_day)  # one day ahead at any interval length
    span = days * park.intervals_per_day + cfg.horizon  # the last re-plan looks one horizon ahead
    cfg = dataclasses.replace(cfg, prices=_price_series(prices, park, settings.park_file, cfg.start, span))
    replans = -(-days * park.intervals_per_day // max(1, cfg.replan_minutes // park.interval_minutes))
    comparison: MarginComparison | ScenarioComparison | None = None
    runs = 1 if peak_margin_quantile is None and scenarios == 1 else 2
    with tqdm(total=replans * runs, desc="simulate-year", unit="plan") as bar:
        if peak_margin_quantile is not None:  # the figures below are those of the run with the margin
            comparison = compare_peak_margin(park, cfg, peak_margin_quantile, progress=bar.update)
            result = comparison.with_margin
        elif scenarios > 1:  # ... or of the scenario-based run
            comparison = compare_scenarios(park, cfg, scenarios, progress=bar.update)
            result = comparison.stochastic
        else:
            result = simulate_year(park, cfg, progress=bar.update)
    from services.annual_plots import write_margin_plot, write_plots

    files = write_plots(result, out, park.tz)
    if isinstance(comparison, MarginComparison):
        files.append(write_margin_plot(comparison, out, park.tz))
    typer.secho(
        _(
            "{days} days, {replans} re-plans in {seconds:.0f} s ({median_ms:.0f} ms median)",
            days=days,
            replans=result.replans,
            seconds=result.wall_seconds,
            median_ms=1000 * sorted(result.replan_seconds)[len(result.replan_seconds) // 2],
        ),
        bold=True,
    )
    if result.fallbacks:
        typer.secho(_("  fallbacks: {fallbacks}", fallbacks=dict(result.fallbacks)), fg=typer.colors.YELLOW)
    if result.import_limit_violations:
        typer.secho(
            _("  import limit exceeded in {n} intervals", n=result.import_limit_violations), fg=typer.colors.YELLOW
        )
    _kpi_table(result.kpis, result.baseline_kpis, "cn-jiangsu-2022 0.5978 kgCO2/kWh (MEE 2022)")
    k, b = result.kpis, result.baseline_kpis
    re_mwh, re_base_mwh = k.local_re_consumed_kwh / 1e3, b.local_re_consumed_kwh / 1e3
    typer.echo(
        _(
            "  local RE consumed, by origin: {mine:,.1f} vs {base:,.1f} MWh of {available:,.1f} ({diff:+,.1f} MWh); "
            "cost {cost:,.0f} vs {base_cost:,.0f} CNY ({cost_diff:+,.0f} CNY)",
            mine=re_mwh,
            base=re_base_mwh,
            available=k.local_re_available_kwh / 1e3,
            diff=re_mwh - re_base_mwh,
            cost=k.cost_cny,
            base_cost=b.cost_cny,
            cost_diff=k.cost_cny - b.cost_cny,
        )
    )
    labels = (_("cost of the period [CNY]"), _("optimised"), _("rule-based"), _("saving"))
    typer.echo(f"  {labels[0]:<34}{labels[1]:>16}{labels[2]:>16}{labels[3]:>16}")
    for (label, mine), (_label, theirs) in zip(result.costs.rows(), result.baseline_costs.rows(), strict=True):
        typer.echo(f"  {translate(label):<34}{mine:>16,.2f}{theirs:>16,.2f}{theirs - mine:>16,.2f}")
    if comparison is not None:
        head = (
            (_("without"), _("with"), _("peak margin, q = {q:g}", q=comparison.quantile))
            if isinstance(comparison, MarginComparison)
            else (_("deterministic"), _("{n} scenarios", n=comparison.scenarios), "MPC")
        )
        change = _("change")
        typer.echo(f"  {head[2]:<34}{head[0]:>16}{head[1]:>16}{change:>16}")
        for label, without, with_ in comparison.rows():
            typer.echo(f"  {translate(label):<34}{without:>16,}{with_:>16,}{with_ - without:>16,}")
    payload = {
        "config": {
            k: (str(v) if not isinstance(v, int | float) else v)
            for k, v in dataclasses.asdict(cfg).items()
            if k != "options"
        },
        "kpis": dataclasses.asdict(result.kpis),
        "baseline_kpis": dataclasses.asdict(result.baseline_kpis),
        "gains": result.gains(),
        "costs": result.costs.as_dict(),
        "baseline_costs": result.baseline_costs.as_dict(),
        "saving_by_line_cny": {k: str(-v) for k, v in result.saving_by_line().items()},
        "fallbacks": dict(result.fallbacks),
        "wall_seconds": result.wall_seconds,
    }
    if comparison is not None:
        payload["peak_margin" if isinstance(comparison, MarginComparison) else "scenarios"] = comparison.as_dict()
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(payload, indent=2, default=str))
    typer.echo(_("  wrote {files}", files=", ".join(str(f) for f in [*files, out / "results.json"])))


def _with_tariff(park: Park, path: Path) -> Park:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    section = data.get("tariff", data) if isinstance(data, dict) else data
    try:
        new = Tariff.model_validate(section)
    except ValueError as exc:
        raise typer.BadParameter(f"{path}: {user_message(exc)}") from None
    return park.model_copy(update={"tariff": new})
