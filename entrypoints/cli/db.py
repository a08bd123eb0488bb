"""``ems db``: database lifecycle."""

from __future__ import annotations

import typer

from entrypoints.cli.common import DataDirOption, ParkOption, park_store

app = typer.Typer(help="Database: migrations and status.", no_args_is_help=True)


@app.command()
def upgrade(park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """Apply pending schema migrations (also done automatically on every start)."""
    with park_store(data_dir, park) as (_settings, _p, store):
        typer.echo(f"database is up to date ({store.backend.name if store.backend else '?'})")


@app.command()
def status(park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """Show the backend, applied migrations and the number of stored readings."""
    with park_store(data_dir, park) as (_settings, _p, store), store.connection() as conn:
        rows = conn.execute("SELECT version, name, applied_at FROM schema_migrations ORDER BY version").fetchall()
        b = store.backend
        typer.echo(f"backend: {b.name if b else '?'} {b.server_version if b else ''}")
        for v, name, at in rows:
            typer.echo(f"  {v:04d} {name:40s} {at:%Y-%m-%d %H:%M}")
        typer.echo(f"readings stored: {store.count():,}")
