"""``ems telemetry``: look at stored telemetry."""

from __future__ import annotations

import typer

from ems.quantities import QUANTITIES
from entrypoints.cli.common import DataDirOption, ParkOption, park_store

app = typer.Typer(help="Stored telemetry.", no_args_is_help=True)


@app.command()
def latest(park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """Print the latest reading of every device and quantity."""
    with park_store(data_dir, park) as (_settings, _p, store):
        for r in store.latest():
            typer.echo(
                f"{r.device:14s} {r.quantity:16s} {r.value:14.3f} {QUANTITIES[r.quantity].unit:5s} "
                f"{r.time:%Y-%m-%d %H:%M:%S%z} q={r.quality}"
            )


@app.command()
def quantities() -> None:
    """List the canonical quantities with their units and meaning."""
    for q in QUANTITIES.values():
        typer.echo(f"{q.name:16s} {q.unit:6s} {q.kind:8s} {q.description}")
