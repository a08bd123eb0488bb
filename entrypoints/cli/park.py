"""``ems park``: check and describe a park file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ems.park import ParkFileError, load_park

app = typer.Typer(help="Park description files.", no_args_is_help=True)


@app.command()
def check(path: Annotated[Path, typer.Argument(help="park file (YAML)")]) -> None:
    """Validate a park file; errors name the file, the key path and what is wrong."""
    try:
        park = load_park(path)
    except ParkFileError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    kinds: dict[str, int] = {}
    for d in park.devices:
        kinds[d.type] = kinds.get(d.type, 0) + 1
    typer.echo(
        f"{path}: OK — {park.name}, {len(park.network.buses)} buses, "
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    )
