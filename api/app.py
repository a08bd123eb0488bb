"""The FastAPI application: includes the routers and holds the app's state (no globals)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from api.deps import AppState, GridStatusProvider, HealthProvider
from api.guard import Guard
from api.i18n import dashboard_router, request_language, translated_http_error
from api.live_feed import LiveFeed
from api.principal import KeyCache
from api.routers import (
    alerts,
    carbon,
    console,
    devices,
    exchange,
    forecasts,
    grid,
    health,
    intensity,
    keys,
    ledger,
    park,
    pathway,
    schedules,
    stream,
    telemetry,
    tenants,
)
from api.routers.api_docs import router as api_docs_router
from api.routers.gateway_control import router as gateway_control_router
from api.validation import validation_error
from ems import __version__
from ems.i18n import Msg
from ems.park import Park
from ems.settings import Settings
from ems.store import Store, StoreUnavailable

DASHBOARD_DIR = Path(__file__).parent / "dashboard"
ROUTERS = (
    health.router,
    telemetry.router,
    devices.router,
    keys.router,
    park.router,
    schedules.router,
    forecasts.router,
    grid.router,
    carbon.router,
    ledger.router,
    intensity.router,
    tenants.router,
    schedules.kpis_router,
    pathway.router,
    alerts.router,
    console.router,
    stream.router,
    exchange.router,
    gateway_control_router,
    api_docs_router,
)


def create_app(
    settings: Settings,
    park: Park,
    store: Store,
    *,
    health_provider: HealthProvider | None = None,
    grid_status: GridStatusProvider | None = None,
) -> FastAPI:
    """Build the app around an open store. ``health_provider`` (poll health) and ``grid_status``
    (the latest power flow) come from a live operation when one runs alongside the API."""
    app = FastAPI(
        title="Zero-carbon park EMS",
        version=__version__,
        docs_url=None,  # self-hosted instead (api.routers.api_docs): the default loads Swagger UI from a CDN
        redoc_url=None,
        description="Telemetry ingest for gateways, schedules and grid status for operators, "
        "emission-factor reports for auditors. Authenticate with `Authorization: Bearer <API key>`.",
    )
    app.state.ems = AppState(
        settings, park, store, KeyCache(), health_provider=health_provider, grid_status=grid_status
    )
    app.state.live_feed = LiveFeed(
        store,
        poll_s=settings.stream_poll_s,
        max_clients=settings.stream_max_clients,
    )
    app.router.add_event_handler("shutdown", app.state.live_feed.close)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Content-Encoding"],
        )

    # outermost: sees every request
    app.add_middleware(
        Guard,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
        default_language=park.language,
    )
    app.add_exception_handler(HTTPException, translated_http_error)

    @app.exception_handler(StoreUnavailable)
    async def _store_down(request: Request, exc: StoreUnavailable) -> JSONResponse:
        lang = request_language(request)
        detail = Msg("database unavailable").render(lang)
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "5", "Content-Language": lang})

    app.add_exception_handler(RequestValidationError, validation_error)
    for router in ROUTERS:
        app.include_router(router)

    app.include_router(dashboard_router)  # before the static mount, which would shadow it
    app.mount("/dashboard", StaticFiles(directory=DASHBOARD_DIR, html=True), name="dashboard")

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")

    return app
