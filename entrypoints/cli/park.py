"""``ems park``: check and describe a park file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from device_drivers.inspect import check_park_maps
from ems.i18n import localise
from ems.park import ParkFileError, load_park

app = typer.Typer(help="Park description files.", no_args_is_help=True)


@app.command()
def check(path: Annotated[Path, typer.Argument(help="park file (YAML)")]) -> None:
    """Validate a park file and the register maps it references; errors name the file, key path and problem."""
    try:
        park = load_park(path)
    except ParkFileError as exc:
        typer.secho(exc.render(), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    problems = check_park_maps(park)
    if problems:
        typer.secho("\n".join(f"{path}: {localise(p)}" for p in problems), fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    kinds: dict[str, int] = {}
    for d in park.devices:
        kinds[d.type] = kinds.get(d.type, 0) + 1
    typer.echo(
        f"{path}: OK — {park.name}, {len(park.network.buses)} buses, "
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    )
