"""``ems pathway plan`` (least-cost route to the zero-carbon park indicators) and ``ems pathway sweep``."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from tqdm import tqdm

from ems.i18n import _, user_message
from ems.park import Park, example_park_path
from entrypoints.cli.common import ParkOption, settings_and_park
from services.pathway.options import OptionsFileError, PlanOptions, load_options

if TYPE_CHECKING:
    from services.pathway.history import MeteredYear
    from services.pathway.pathway import PathwayPlan

app = typer.Typer(help="Zero-carbon pathway planner: what to build and buy, year by year.", no_args_is_help=True)

OptionsOption = Annotated[
    Path | None,
    typer.Option("--options", help="planner options (YAML); default: examples/demo_pathway.yaml"),
]
HoursOption = Annotated[
    int | None, typer.Option(min=24, help="plan on the first N hours of the year only (quick look; default: all)")
]
PeriodsOption = Annotated[
    int | None, typer.Option(min=2, max=365, help="representative days (tsam) instead of all 8,760 hours")
]


def options_or_exit(path: Path | None) -> PlanOptions:
    try:
        return load_options(path or example_park_path("demo").parent / "demo_pathway.yaml")
    except OptionsFileError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


@app.command("plan")
def plan(
    park_file: ParkOption = None,
    options: OptionsOption = None,
    hours: HoursOption = None,
    representative_days: PeriodsOption = None,
    out: Annotated[Path, typer.Option(help="directory for pathway.json, pathway.pdf and pathway.png")] = Path(
        "var/pathway"
    ),
    check_operation: Annotated[
        bool,
        typer.Option(
            help="build each year's portfolio into a copy of the park and run it through the annual simulation "
            "(forecasts + MPC); the report shows its indicators and the gap to the plan"
        ),
    ] = False,
    check_replan: Annotated[
        str, typer.Option(help="re-planning cadence of that simulation: daily or hourly")
    ] = "daily",
    history_start: Annotated[
        str | None,
        typer.Option(
            help="plan on metered history from this park-local date (YYYY-MM-DD; a year, or --hours) "
            "read from the database instead of the synthetic year"
        ),
    ] = None,
) -> None:
    """Year by year to the target year: new capacity, contracts, certificates and the indicators reached."""
    from services.pathway.pathway import plan_pathway
    from services.pathway.report import plan_report, plot_plan
    from services.pathway.representative import representative_periods
    from services.pathway.solve import PlanInfeasible

    _settings, park = settings_and_park(park=park_file)
    opts = options_or_exit(options)
    if opts.pathway is None:
        typer.secho(_("the options file has no 'pathway' section"), fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    n_years = opts.pathway.target_year - opts.pathway.start_year + 1
    metered = _metered(park_file, park, history_start, hours) if history_start else None
    prepare = (lambda d: representative_periods(d, representative_days)) if representative_days else None
    try:
        with tqdm(total=n_years, desc="pathway", unit="year") as bar:
            result = plan_pathway(park, opts, hours=hours, prepare=prepare, progress=bar.update, metered=metered)
    except (PlanInfeasible, ValueError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    report = plan_report(result, opts)
    if check_operation:
        _check_operation(park, result, opts, report, check_replan)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pathway.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    files = plot_plan(result, out / "pathway")
    for y in report["years"]:
        ind = y["indicators"] or {}
        built = ", ".join(f"{k} +{v}" for k, v in y["build"].items() if float(v) > 0) or "nothing new"
        typer.echo(
            f"{y['year']}: build {built}; buy {y['buy']['contract_mwh']} MWh contracts, "
            f"{y['buy']['certificates_mwh']} MWh certificates; "
            f"{ind.get('intensity_t_per_tce', y['model_bound']['intensity_t_per_tce'])} tCO2/tce, "
            f"clean share {ind.get('clean_share', '-')}; cost {y['costs_cny']['total']} CNY"
        )
        if "operation" in y:
            op = y["operation"]["indicators"]
            typer.echo(
                f"    operated by the MPC: {op['intensity_t_per_tce']} tCO2/tce, clean share {op['clean_share']} "
                f"(gap {y['operation']['gap_operation_minus_plan']['intensity_t_per_tce']} tCO2/tce)"
            )
    typer.echo(_("  wrote {files}", files=", ".join(str(f) for f in [out / "pathway.json", *files])))


def _metered(park_file: Path | None, park: Park, day: str, hours: int | None) -> MeteredYear:
    import datetime as dt

    from entrypoints.cli.common import park_store
    from services.pathway.history import metered_year

    try:
        local = dt.date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(_("--history-start: expected YYYY-MM-DD, got {day!r}", day=day)) from None
    if not 2000 <= local.year <= 2100:
        raise typer.BadParameter(_("--history-start: {day} is outside 2000..2100", day=day))
    start = dt.datetime(local.year, local.month, local.day, tzinfo=park.tz).astimezone(dt.UTC)
    n = hours or 24 * (366 if (local + dt.timedelta(days=365)).day != local.day else 365)
    with park_store(park=park_file) as (_settings, _park, store):
        try:
            return metered_year(store, park, start, n)
        except ValueError as exc:
            typer.secho(str(exc), fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from None


def _check_operation(park: Park, plan: PathwayPlan, opts: PlanOptions, report: dict[str, Any], replan: str) -> None:
    from services.pathway.operation import check_by_operation, operation_dict

    if replan not in ("daily", "hourly"):
        raise typer.BadParameter(_("--check-replan must be 'daily' or 'hourly'"))
    growth = opts.pathway.load_growth_per_year if opts.pathway else 0.0
    try:
        with tqdm(total=len(plan.years), desc="operation check", unit="year") as bar:
            for i, (y, row) in enumerate(zip(plan.years, report["years"], strict=True)):
                chk = check_by_operation(
                    park, y, opts, growth=(1 + growth) ** i, replan_minutes=60 if replan == "hourly" else 24 * 60
                )
                row["operation"] = operation_dict(chk, y)
                bar.update(1)
    except ValueError as exc:
        typer.secho(_("operation check: {error}", error=user_message(exc)), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def _decimals(text: str | None, what: str) -> list[Decimal]:
    if not text:
        return []
    try:
        return [Decimal(x.strip()) for x in text.split(",") if x.strip()]
    except InvalidOperation:
        raise typer.BadParameter(
            _("{what}: expected comma-separated numbers, got {text!r}", what=what, text=text)
        ) from None


@app.command("sweep")
def sweep(
    park_file: ParkOption = None,
    options: OptionsOption = None,
    certificate_price: Annotated[str | None, typer.Option(help="CNY/MWh values, e.g. 5,10,20")] = None,
    contract_price: Annotated[str | None, typer.Option(help="CNY/MWh values")] = None,
    storage_cost_scale: Annotated[str | None, typer.Option(help="battery capex multipliers, e.g. 0.6,1")] = None,
    intensity_target: Annotated[str | None, typer.Option(help="tCO2/tce values (Pareto front)")] = None,
    clean_share_target: Annotated[str | None, typer.Option(help="shares, e.g. 0.8,0.9")] = None,
    factor_year: Annotated[str | None, typer.Option(help="residual-factor years, e.g. 2021,2022,2023")] = None,
    hours: HoursOption = None,
    representative_days: PeriodsOption = None,
    scheduler: Annotated[
        str | None, typer.Option(help="address of a running Dask scheduler (default: a LocalCluster)")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="LocalCluster workers")] = 2,
    out: Annotated[Path, typer.Option(help="directory for sweep.json and sweep.pdf/png")] = Path("var/pathway-sweep"),
) -> None:
    """One sizing per scenario (Cartesian product of the values) on Dask; table, Pareto fronts."""
    from services.pathway.report import plot_sweep
    from services.pathway.sweep import SweepSettings, grid, run_sweep

    _settings, park = settings_and_park(park=park_file)
    opts = options_or_exit(options)
    years = [int(y) for y in _decimals(factor_year, "--factor-year")]
    scenarios = grid(
        certificate_price_cny_per_mwh=_decimals(certificate_price, "--certificate-price"),
        contract_price_cny_per_mwh=_decimals(contract_price, "--contract-price"),
        storage_cost_scale=_decimals(storage_cost_scale, "--storage-cost-scale"),
        intensity_target=_decimals(intensity_target, "--intensity-target"),
        clean_share_target=_decimals(clean_share_target, "--clean-share-target"),
        factor_year=years,
    )
    cfg = SweepSettings(hours=hours, representative_days=representative_days)
    with tqdm(total=len(scenarios), desc="sweep", unit="task") as bar:
        result = run_sweep(
            park, opts, scenarios, cfg, scheduler_address=scheduler, workers=workers, progress=bar.update
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps({"rows": result.rows}, indent=2, default=str), encoding="utf-8")
    files = plot_sweep(result.rows, out / "sweep")
    for r in result.rows:
        if r["status"] == "ok":
            extra = f"{r.get('intensity_t_per_tce', float('nan')):.4f} tCO2/tce" if "intensity_t_per_tce" in r else ""
            typer.echo(f"{r['scenario']}: {r['cost_cny']} CNY {extra}")
        else:
            typer.secho(f"{r['scenario']}: {r['status']}: {r['error']}", fg=typer.colors.YELLOW)
    typer.echo(
        _(
            "{n} tasks on {workers} workers in {seconds:.1f} s",
            n=len(result.rows),
            workers=result.workers,
            seconds=result.wall_s,
        )
    )
    typer.echo(_("  wrote {files}", files=", ".join(str(f) for f in [out / "sweep.json", *files])))
    if result.failed:
        raise typer.Exit(1)
