"""Liveness and readiness (public: probes carry no keys, and they reveal no park data); metrics (operator)."""

from __future__ import annotations

from collections import Counter as Tally

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.security import Operator

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="readiness: the database is reachable", responses={503: {"description": "not ready"}})
def readyz(request: Request, response: Response) -> dict[str, str]:
    if request.app.state.store.ping():
        return {"status": "ready"}
    response.status_code = 503
    return {"status": "database unreachable"}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request, _: Operator) -> Response:
    m = request.app.state.metrics
    provider = request.app.state.health_provider
    if provider is not None:
        states = Tally(str(h["state"]) for h in provider())
        for state in ("ok", "degraded", "offline"):
            m.device_health.labels(state).set(states.get(state, 0))
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
