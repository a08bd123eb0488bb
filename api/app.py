"""The FastAPI application: includes the routers and holds the app's state (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.limits import RateLimiter
from api.metrics import Metrics
from api.routers import devices, health, keys, pathway, telemetry
from api.security import KeyCache
from ems import __version__
from ems.park import Park
from ems.settings import Settings
from ems.store import Store, StoreUnavailable

DASHBOARD_DIR = Path(__file__).parent / "dashboard"
HealthProvider = Callable[[], list[dict[str, Any]]]


def create_app(
    settings: Settings,
    park: Park,
    store: Store,
    *,
    health_provider: HealthProvider | None = None,
    services: dict[str, Any] | None = None,
) -> FastAPI:
    """Build the app around an open store. ``services`` carries optional collaborators
    (dispatcher, grid checker, report service) that routers look up by name."""
    app = FastAPI(
        title="Zero-carbon park EMS",
        version=__version__,
        description="Telemetry ingest for gateways, schedules and grid status for operators, "
        "emission-factor reports for auditors. Authenticate with `Authorization: Bearer <API key>`.",
    )
    app.state.settings = settings
    app.state.park = park
    app.state.store = store
    app.state.metrics = Metrics()
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
    app.state.health_provider = health_provider
    app.state.key_cache = KeyCache()
    app.state.services = services or {}
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Content-Encoding"],
        )

    @app.exception_handler(StoreUnavailable)
    async def _store_down(_: Request, exc: StoreUnavailable) -> JSONResponse:
        return JSONResponse({"detail": "database unavailable"}, status_code=503, headers={"Retry-After": "5"})

    for module in (health, telemetry, devices, keys, pathway):
        app.include_router(module.router)
    from api.routers import registry

    for module in registry.ROUTERS:
        app.include_router(module.router)
    for extra in registry.KPI_ROUTERS:
        app.include_router(extra)

    app.mount("/dashboard", StaticFiles(directory=DASHBOARD_DIR, html=True), name="dashboard")

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    return app
