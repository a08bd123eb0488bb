"""``ems contracts import-settlement``: the trading centre's green-power settlement into the contract ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ems.i18n import _, localise
from entrypoints.cli.common import DataDirOption, ParkOption, park_store

MAX_BYTES = 64 * 1024 * 1024


def import_settlement_cmd(
    file: Annotated[Path, typer.Argument(help="settlement CSV (see docs/carbon_methodology.md)", exists=True)],
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import a settlement file; each refused row is listed with its line and reason (exit 1 if any)."""
    from ems.carbon.settlement import import_settlement

    if file.stat().st_size > MAX_BYTES:
        typer.secho(
            _("{file}: larger than {mib} MiB: split the file", file=file, mib=MAX_BYTES // 2**20),
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    with park_store(data_dir, park) as (_settings, p, store):
        result = import_settlement(store, p, file.read_bytes())
    typer.echo(
        _(
            "{file}: {recorded} recorded, {corrected} corrections, "
            "{duplicates} already in the ledger, {refused} refused",
            file=file,
            recorded=len(result.recorded),
            corrected=len(result.corrected),
            duplicates=len(result.duplicates),
            refused=len(result.errors),
        )
    )
    for line, new, old in result.corrected:
        typer.echo(_("  line {line}: delivery {new} replaces {old}", line=line, new=new, old=old))
    for line, reason in result.errors:
        typer.secho(_("  line {line}: {reason}", line=line, reason=localise(reason)), fg=typer.colors.RED, err=True)
    if result.errors:
        raise typer.Exit(1)
