"""``ems db``: database lifecycle, and the TimescaleDB build for the embedded server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ems.i18n import _, user_message
from entrypoints.cli.common import DataDirOption, ParkOption, park_store

app = typer.Typer(help="Database: migrations, status, TimescaleDB.", no_args_is_help=True)
timescaledb_app = typer.Typer(help="TimescaleDB for the embedded PostgreSQL.", no_args_is_help=True)
app.add_typer(timescaledb_app, name="timescaledb")


@app.command()
def upgrade(park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """Apply pending schema migrations (also done automatically on every start)."""
    with park_store(data_dir, park) as (_settings, _p, store):
        typer.echo(_("database is up to date ({backend})", backend=store.backend.name if store.backend else "?"))


@app.command()
def status(park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """Show the backend and its version, the TimescaleDB features in use, migrations and stored readings."""
    with park_store(data_dir, park) as (_settings, _p, store), store.connection() as conn:
        rows = conn.execute("SELECT version, name, applied_at FROM schema_migrations ORDER BY version").fetchall()
        extras = "schema_migrations_timescale" if store.timescaledb else "schema_migrations_plain"
        if conn.execute("SELECT to_regclass(%s)", (extras,)).fetchone() != (None,):
            rows += conn.execute(f"SELECT version, name, applied_at FROM {extras} ORDER BY version").fetchall()
        b = store.backend
        assert b is not None  # set by Store.connect
        version = f", TimescaleDB {b.timescaledb_version}" if b.timescaledb_version else ""
        typer.echo(
            _(
                "backend: {name} (PostgreSQL {server}{timescaledb})",
                name=b.name,
                server=b.server_version,
                timescaledb=version,
            )
        )
        if b.note:
            typer.echo(_("  note: {note}", note=b.note))
        f = store.features()
        if f is not None:
            typer.echo(_("  hypertable: {state}", state=_("on") if f.hypertable else _("off")))
            typer.echo(
                _(
                    "  compression policy: {state}",
                    state=_("after {age}", age=f.compression_after) if f.compression_after else _("off"),
                )
            )
            keep = f"keep {f.retention_keep}, never a period an issued report cites" if f.retention_keep else "off"
            typer.echo(_("  retention policy: {keep}", keep=keep))
            typer.echo(_("  continuous aggregates: {names}", names=", ".join(f.continuous_aggregates) or _("none")))
            c = store.compression()
            if c is not None and c.ratio is not None:
                typer.echo(
                    f"  compressed chunks: {c.compressed_chunks}/{c.chunks}, "
                    f"{c.before_bytes / 1e6:.1f} MB -> {c.after_bytes / 1e6:.1f} MB (ratio {c.ratio:.1f}x)"
                )
        typer.echo(_("migrations:"))
        for _version, name, at in rows:
            typer.echo(f"  {name:44s} {at:%Y-%m-%d %H:%M}")
        typer.echo(_("readings stored: {n:,}", n=store.count()))


@timescaledb_app.command("build")
def timescaledb_build(
    source: Annotated[Path, typer.Option("--source", help="release tarball timescaledb-X.Y.Z.tar.gz")],
    sha256: Annotated[str | None, typer.Option("--sha256", help="expected checksum (known releases built in)")] = None,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="build cache; default: EMS_CACHE_DIR or ~/.cache/ems")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="parallel compile jobs")] = 2,
) -> None:
    """Build TimescaleDB from source against the embedded PostgreSQL and install it (cached per version)."""
    from ems.store.timescale_build import BuildError, PgInstall, build

    pg = PgInstall.embedded()
    typer.echo(
        _(
            "building {source} for the embedded PostgreSQL {version} (cached after the first build) ...",
            source=source.name,
            version=pg.version,
        )
    )
    try:
        result = build(source, pg=pg, cache_dir=cache_dir, expected_sha256=sha256, jobs=jobs)
    except BuildError as exc:
        typer.secho(
            f"{user_message(exc)}\n" + _("the embedded server keeps running plain PostgreSQL"),
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1) from None
    how = "from the cache" if result.from_cache else "built"
    typer.echo(
        f"TimescaleDB {result.version} installed for PostgreSQL {result.pg_version} ({how}: {result.cache_dir}); "
        "the embedded server preloads it from its next start"
    )
