"""Footprint commands: ``ems tenants``, ``ems production``, ``ems cbam``.

Register in ems/cli/main.py with::

    app.add_typer(footprint.tenants_app, name="tenants")
    app.add_typer(footprint.production_app, name="production")
    app.add_typer(footprint.cbam_app, name="cbam")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from ems.carbon.certificates import LedgerError
from ems.footprint import service
from ems.footprint.metering import MeteringError
from ems.footprint.production import read_csv
from ems.i18n import _, current_language, localise, user_message
from ems.store import open_store
from entrypoints.cli.carbon import EndOpt, StartOpt, parse_time
from entrypoints.cli.common import DataDirOption, ParkOption, park_store, settings_and_park

tenants_app = typer.Typer(help="Tenant electricity statements (JSON, CSV, PDF), hash-chained.", no_args_is_help=True)
production_app = typer.Typer(help="Production counts per line and day (for kgCO2 per unit).", no_args_is_help=True)
cbam_app = typer.Typer(help="CBAM electricity data sheets and ISO 14067 product inventories.", no_args_is_help=True)

OutOpt = Annotated[Path | None, typer.Option(help="output folder; default DATA_DIR/footprints")]


def _fail(msg: str) -> typer.Exit:
    typer.secho(msg, fg=typer.colors.RED, err=True)
    return typer.Exit(2)


def _issue(
    doc_type: str,
    subject: str,
    start: str,
    end: str,
    pdf: bool,
    out: Path | None,
    park: Path | None,
    data_dir: Path | None,
) -> None:
    settings, p = settings_and_park(data_dir, park)
    t0, t1 = parse_time(start, p), parse_time(end, p)
    folder = out or Path(settings.data_dir) / "footprints"
    with open_store(settings, p) as store, tqdm(total=2, desc=doc_type, disable=None) as bar:
        try:
            fr = service.footprint_for(store, p, t0, t1)
            bar.update()
            signer = settings.report_signer()
            doc = service.issue_document(
                store, p, doc_type, subject, t0, t1, folder, pdf=pdf, fr=fr, signer=signer, lang=current_language()
            )
            bar.update()
        except (KeyError, LedgerError, MeteringError, ValueError) as exc:
            raise _fail(user_message(exc).strip("'\"")) from None
    typer.echo(_("issued {kind} {h} (chain seq {seq})", kind=doc_type, h=doc.content_sha256, seq=doc.entry["seq"]))
    for k, path in doc.files.items():
        typer.echo(f"  {k}: {path}")


@tenants_app.command("statement")
def statement(
    tenant: Annotated[str, typer.Option(help="tenant id from the park file")],
    start: StartOpt,
    end: EndOpt,
    pdf: Annotated[bool, typer.Option(help="also render the PDF")] = True,
    out: OutOpt = None,
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Issue a tenant statement for [START, END) and append it to the footprint hash chain."""
    _issue("tenant_statement", tenant, start, end, pdf, out, park, data_dir)


@tenants_app.command("balance")
def balance(start: StartOpt, end: EndOpt, park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """Print every tenant's totals, the remainder rows and the park totals (they balance exactly)."""
    with park_store(data_dir, park) as (_settings, p, store):
        try:
            b = service.balance(service.footprint_for(store, p, parse_time(start, p), parse_time(end, p)))
        except (MeteringError, ValueError) as exc:
            raise _fail(user_message(exc)) from None
    cols = ("consumption_kwh", "location_kg", "market_kg")
    typer.echo(f"{'row':<22}" + "".join(f"{c:>20}" for c in cols))
    for row, v in [*b["rows"].items(), ("PARK", b["park"]), ("park - rows", b["park_minus_rows"])]:
        typer.echo(f"{row:<22}" + "".join(f"{v[c]:>20}" for c in cols))


@tenants_app.command("list")
def list_documents(
    tenant: Annotated[str | None, typer.Option(help="only this tenant's documents")] = None,
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """List issued footprint documents (the footprint hash chain)."""
    with park_store(data_dir, park) as (_settings, _p, store):
        for e in service.list_documents(store, tenant):
            typer.echo(
                f"{e['seq']:>4} {e['doc_type']:<18} {e['tenant_id']:<10} {e['period_start']} {e['content_sha256']}"
            )


@tenants_app.command("verify")
def verify(file: Path, park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """Verify an issued document file (JSON, CSV or PDF) against the footprint hash chain; exit 1 if it fails."""
    with park_store(data_dir, park) as (_settings, _p, store):
        v = service.verify_document_file(file, store)
    typer.echo(_("OK ({status})", status=v.status) if v.ok else _("FAILED"))
    for problem in v.problems:
        typer.echo(f"  {problem}")
    raise typer.Exit(0 if v.ok else 1)


@production_app.command("load")
def production_load(
    file: Annotated[Path, typer.Argument(help="CSV with header line,day,quantity,unit")],
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Load production counts; valid rows are stored, each invalid row is reported (exit 1 if any)."""
    settings, p = settings_and_park(data_dir, park)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(_("{file}: cannot read: {error}", file=file, error=exc.strerror)) from None
    check = read_csv(p, text, source=f"file {file.name}")
    with open_store(settings, p) as store:
        written = service.record_production(store, check)
    typer.echo(_("{n} row(s) stored, {rejected} rejected", n=written, rejected=len(check.rejected)))
    for n, reason in check.rejected:
        typer.secho(
            _("  {file}: row {n}: {reason}", file=file, n=n, reason=localise(reason)), fg=typer.colors.RED, err=True
        )
    raise typer.Exit(1 if check.rejected else 0)


@cbam_app.command("sheet")
def cbam_sheet(
    tenant: Annotated[str, typer.Option(help="tenant id (the installation)")],
    start: StartOpt,
    end: EndOpt,
    out: OutOpt = None,
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Issue the CBAM electricity data sheet of a tenant's installation (JSON, hash-chained)."""
    _issue("cbam_sheet", tenant, start, end, False, out, park, data_dir)


@cbam_app.command("inventory")
def inventory(
    line: Annotated[str, typer.Option(help="production line id")],
    start: StartOpt,
    end: EndOpt,
    out: OutOpt = None,
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Issue the ISO 14067-style electricity inventory of a product line (JSON, hash-chained)."""
    _issue("product_inventory", line, start, end, False, out, park, data_dir)


@cbam_app.command("show")
def show(file: Path) -> None:
    """Print an issued document's content (pretty JSON)."""
    typer.echo(json.dumps(json.loads(file.read_text(encoding="utf-8"))["report"], indent=2, ensure_ascii=False))
