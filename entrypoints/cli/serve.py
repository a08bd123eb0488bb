"""``ems serve``: the HTTP API and dashboard (uvicorn)."""

from __future__ import annotations

import signal
from typing import Annotated

import typer
import uvicorn

from ems.production import Listener
from ems.store import open_store
from entrypoints.cli.common import DataDirOption, ParkOption, load_park_or_exit, refuse_unsafe_or_exit, settings_from


def serve(
    park: ParkOption = None,
    data_dir: DataDirOption = None,
    host: Annotated[str | None, typer.Option(help="bind address (default EMS_API_HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default EMS_API_PORT or 8080)")] = None,
) -> None:
    """Serve the API and the operator dashboard until Ctrl-C; shuts down gracefully."""
    from api.app import create_app

    settings = settings_from(data_dir, park)
    p = load_park_or_exit(settings)
    h, pt = host or settings.api_host, port or settings.api_port
    tls = settings.tls_certfile is not None and settings.tls_keyfile is not None
    refuse_unsafe_or_exit(settings, p, Listener(h, tls=tls, behind_proxy=settings.behind_proxy))
    scheme = "https" if tls else "http"
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal: with the default
    # handler that kills the process before the store (and an embedded server it started) is closed.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    with open_store(settings, p) as store:
        app = create_app(settings, p, store)
        typer.echo(f"API on {scheme}://{h}:{pt}/docs — dashboard on {scheme}://{h}:{pt}/dashboard/")
        uvicorn.run(
            app,
            host=h,
            port=pt,
            log_level="info",
            access_log=False,
            ssl_certfile=str(settings.tls_certfile) if tls else None,
            ssl_keyfile=str(settings.tls_keyfile) if tls else None,
            # behind a TLS-terminating proxy: trust its X-Forwarded-* headers (client address, scheme)
            proxy_headers=settings.behind_proxy,
            forwarded_allow_ips="*" if settings.behind_proxy else None,
        )


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)
