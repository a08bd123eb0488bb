"""Options and helpers shared by the CLI modules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from ems.i18n import default_language
from ems.park import Park, ParkFileError, example_park_path, load_park
from ems.production import Listener, UnsafeForProduction, refuse_unsafe
from ems.settings import Settings
from ems.store import Store, open_store

ParkOption = Annotated[
    Path | None, typer.Option("--park", help="park file (YAML); default: EMS_PARK_FILE or the demo park")
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="data directory (embedded database, spool, reports); default: EMS_DATA_DIR or ./var"
    ),
]


def _settings_from(data_dir: Path | None = None, park: Path | None = None) -> Settings:
    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if park is not None:
        overrides["park_file"] = park
    return Settings(**overrides)  # type: ignore[arg-type]


def _load_park_or_exit(settings: Settings) -> Park:
    path = settings.park_file or example_park_path("demo")
    try:
        return load_park(path)
    except ParkFileError as exc:
        typer.secho(exc.render(), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def refuse_unsafe_or_exit(settings: Settings, park: Park, listener: Listener | None = None) -> None:
    """Production mode: exit 2 naming every unsafe setting (see :mod:`ems.production`)."""
    try:
        refuse_unsafe(settings, park, listener)
    except UnsafeForProduction as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def settings_and_park(data_dir: Path | None = None, park: Path | None = None) -> tuple[Settings, Park]:
    """The preamble of every command: settings from the options and environment, then the park
    (exit code 2 with the file's problems when it is invalid)."""
    settings = _settings_from(data_dir, park)
    p = _load_park_or_exit(settings)
    default_language(p.language)
    return settings, p


@contextmanager
def park_store(data_dir: Path | None = None, park: Path | None = None) -> Iterator[tuple[Settings, Park, Store]]:
    """:func:`settings_and_park`, then the store opened for that park (closed on exit)."""
    settings, p = settings_and_park(data_dir, park)
    with open_store(settings, p) as store:
        yield settings, p, store
