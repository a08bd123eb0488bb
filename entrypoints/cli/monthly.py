"""``ems report monthly``: the operator's monthly report as Excel and PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ems.i18n import _
from entrypoints.cli.common import DataDirOption, ParkOption, park_store


def monthly_cmd(
    month: Annotated[str, typer.Option(help="park-time calendar month, YYYY-MM")],
    out: Annotated[Path, typer.Option(help="directory for the .xlsx and .pdf")] = Path("var/reports/monthly"),
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Energy by source, cost by component and the indicators of one month (the carbon report's figures)."""
    from services.monthly_report import IncompleteMonth, monthly_report, to_pdf, to_xlsx

    with park_store(data_dir, park) as (_settings, p, store):
        try:
            r = monthly_report(store, p, month)
        except (IncompleteMonth, ValueError) as exc:
            typer.secho(str(exc), fg=typer.colors.RED, err=True)
            raise typer.Exit(1) from None
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"operator_report_{month}"
    xlsx, pdf = stem.with_suffix(".xlsx"), stem.with_suffix(".pdf")
    xlsx.write_bytes(to_xlsx(r))
    pdf.write_bytes(to_pdf(r))
    typer.echo(
        f"{month}: consumption {r.energy_mwh['consumption_kwh']} MWh, cost {r.cost_cny['total']} CNY "
        f"(demand charge {r.cost_cny['demand_charge']}), completeness {r.completeness:.1%}"
    )
    typer.echo(_("  wrote {files}", files=f"{xlsx}, {pdf}"))
