"""Liveness and readiness (public: probes carry no keys, and they reveal no park data); metrics (operator)."""

from __future__ import annotations

from collections import Counter as Tally

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from api.deps import HealthProviderDep, MetricsDep, StoreDep
from api.security import AUTH_RESPONSES, Operator

router = APIRouter(tags=["health"])


class Status(BaseModel):
    status: str


@router.get("/healthz", response_model=Status, summary="liveness: the process answers")
def healthz() -> Status:
    return Status(status="ok")


@router.get(
    "/readyz",
    response_model=Status,
    summary="readiness: the database is reachable",
    responses={503: {"model": Status, "description": "not ready"}},
)
def readyz(store: StoreDep, response: Response) -> Status:
    if store.ping():
        return Status(status="ready")
    response.status_code = 503
    return Status(status="database unreachable")


@router.get("/metrics", summary="Prometheus metrics", response_class=Response, responses=AUTH_RESPONSES)
def metrics(_: Operator, m: MetricsDep, provider: HealthProviderDep) -> Response:
    if provider is not None:
        states = Tally(str(h["state"]) for h in provider())
        for state in ("ok", "degraded", "offline"):
            m.device_health.labels(state).set(states.get(state, 0))
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
