"""``ems pathway plan`` (least-cost route to the zero-carbon park indicators) and ``ems pathway sweep``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from ems.park import example_park_path
from entrypoints.cli.common import ParkOption, load_park_or_exit, settings_from
from services.pathway.options import OptionsFileError, PlanOptions, load_options
from services.pathway.solve import PlanInfeasible

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
) -> None:
    """Year by year to the target year: new capacity, contracts, certificates and the indicators reached."""
    from services.pathway.pathway import plan_pathway
    from services.pathway.report import plan_report, plot_plan
    from services.pathway.representative import representative_periods

    park = load_park_or_exit(settings_from(None, park_file))
    opts = options_or_exit(options)
    if opts.pathway is None:
        typer.secho("the options file has no 'pathway' section", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    n_years = opts.pathway.target_year - opts.pathway.start_year + 1
    prepare = (lambda d: representative_periods(d, representative_days)) if representative_days else None
    try:
        with tqdm(total=n_years, desc="pathway", unit="year") as bar:
            result = plan_pathway(park, opts, hours=hours, prepare=prepare, progress=bar.update)
    except (PlanInfeasible, ValueError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    report = plan_report(result, opts)
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
    typer.echo("  wrote " + ", ".join(str(f) for f in [out / "pathway.json", *files]))
