"""Operators: grid status (latest power flow: voltages, loading, violations)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import AppState, GridStatusDep, StateDep
from api.security import AUTH_RESPONSES, Operator

router = APIRouter(prefix="/v1/grid", tags=["operators"], responses=AUTH_RESPONSES)


class Violation(BaseModel):
    """A limit exceeded (grid_models.Violation); non-finite figures are null."""

    kind: str = Field(description="voltage_low, voltage_high, line_loading, trafo_loading, import_limit, export_limit")
    element: str
    value: float | None = Field(description="pu, percent or kW")
    limit: float | None
    interval: int | None = None
    margin: float | None = Field(None, description="headroom to the limit; negative: exceeded by")


class GridStatus(BaseModel):
    time: dt.datetime | None
    source: str
    vm_pu: dict[str, float]
    line_loading_percent: dict[str, float]
    trafo_loading_percent: dict[str, float]
    grid_exchange_kw: float | None
    losses_kw: float | None
    violations: list[Violation]


def _from_latest_telemetry(state: AppState) -> dict[str, Any]:
    """AC power flow of the latest measured injections (devices without a reading count as 0 kW)."""
    from grid_models import build_network, snapshot

    park = state.park
    latest = {r.device: r for r in state.store.latest() if r.quantity == "p_kw"}
    pn = state.park_network
    if pn is None:
        pn = state.park_network = build_network(park)
    inj = {d: latest[d].value if d in latest else 0.0 for d in pn.device_ids}
    res = snapshot(pn, inj)
    when = max((r.time for r in latest.values()), default=None)
    return {
        "time": when,
        "source": "latest telemetry",
        "vm_pu": res.bus_vm_pu,
        "line_loading_percent": res.line_loading_percent,
        "trafo_loading_percent": res.trafo_loading_percent,
        "grid_exchange_kw": res.grid_exchange_kw,
        "losses_kw": res.losses_kw,
        "violations": [
            {k: (x if not isinstance(x, float) or math.isfinite(x) else None) for k, x in dataclasses.asdict(v).items()}
            for v in res.violations
        ],
    }


@router.get("/status", response_model=GridStatus, summary="latest power flow of the park network")
async def status(_: Operator, state: StateDep, provider: GridStatusDep) -> GridStatus:
    data: dict[str, Any] | None = provider() if provider else None
    if data is None:
        data = await run_in_threadpool(_from_latest_telemetry, state)
    return GridStatus.model_validate(data)
