"""``ems serve``: the HTTP API and dashboard (uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from entrypoints.cli.common import DataDirOption, ParkOption, park_store


def serve(
    park: ParkOption = None,
    data_dir: DataDirOption = None,
    host: Annotated[str | None, typer.Option(help="bind address (default EMS_API_HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default EMS_API_PORT or 8080)")] = None,
) -> None:
    """Serve the API and the operator dashboard until Ctrl-C; shuts down gracefully."""
    from api.app import create_app

    with park_store(data_dir, park) as (settings, p, store):
        app = create_app(settings, p, store)
        h, pt = host or settings.api_host, port or settings.api_port
        typer.echo(f"API on http://{h}:{pt}/docs — dashboard on http://{h}:{pt}/dashboard/")
        uvicorn.run(app, host=h, port=pt, log_level="info", access_log=False)
