"""``ems serve``: the HTTP API and dashboard (uvicorn)."""

from __future__ import annotations

import signal
from typing import Annotated

import typer
import uvicorn

from ems.i18n import _
from ems.production import Listener
from ems.store import open_store
from entrypoints.cli.common import DataDirOption, ParkOption, refuse_unsafe_or_exit, settings_and_park


def serve(
    park: ParkOption = None,
    data_dir: DataDirOption = None,
    host: Annotated[str | None, typer.Option(help="bind address (default EMS_API_HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default EMS_API_PORT or 8080)")] = None,
) -> None:
    """Serve the API and the operator dashboard until Ctrl-C; shuts down gracefully."""
    from api.app import create_app

    settings, p = settings_and_park(data_dir, park)
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
        typer.echo(_("API on {base}/docs — dashboard on {base}/dashboard/", base=f"{scheme}://{h}:{pt}"))
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
            forwarded_allow_ips=settings.forwarded_allow_ips if settings.behind_proxy else None,
        )


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)
