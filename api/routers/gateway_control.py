"""Setpoints for gateway-connected devices (e.g. the EV charging hub): queued by an operator, pulled
and acknowledged by the device's gateway.

The API cannot reach behind a gateway, so the gateway asks: ``GET /v1/gateway/setpoints`` returns
the pending setpoints of *its* devices (those its key may write), ``POST
/v1/gateway/setpoints/{id}/ack`` reports whether the device took it. An operator queues with
``POST /v1/setpoints``: refused (409) unless the park file enables control for the device, the
value clamped to the device's ratings (:func:`ems.setpoints.setpoint_range`) with both the
requested and the applied value kept. A newer setpoint for the same device and quantity
supersedes a pending one; a setpoint not pulled before ``valid_until`` is not handed out (a stale
charging limit is worse than none).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import ParkDep, StoreDep
from api.security import AUTH_RESPONSES, Gateway, Operator, Problem
from ems.park import Gateway as GatewayConnection
from ems.setpoints import CONTROLLABLE, setpoint_range
from ems.store import setpoint_queries as q
from ems.store.setpoint_queries import QueuedSetpoint

router = APIRouter(tags=["gateway control"], responses=AUTH_RESPONSES)

MAX_VALID_S = 24 * 3600


class SetpointCreate(BaseModel):
    device: str = Field(description="id of a gateway-connected device")
    quantity: Literal["p_setpoint_kw", "p_limit_pct"] = Field(
        description="p_setpoint_kw (battery, EV charging; generator convention: charging < 0) or p_limit_pct (PV, wind)"
    )
    value: float = Field(allow_inf_nan=False, description="requested value; clamped to the device's ratings")
    valid_s: float = Field(default=900, gt=0, le=MAX_VALID_S, description="the gateway must pull it within this time")


class SetpointPublic(BaseModel):
    id: int
    device: str
    quantity: str
    requested: float
    value: float = Field(description="requested value clamped to the device's ratings: what the device should take")
    clamped: bool
    created_at: dt.datetime
    valid_until: dt.datetime
    status: Literal["pending", "applied", "failed", "superseded"]
    acked_at: dt.datetime | None
    applied_value: float | None = Field(description="what the gateway reports the device took")
    detail: str


class SetpointAck(BaseModel):
    status: Literal["applied", "failed"]
    applied_value: float | None = Field(default=None, allow_inf_nan=False, description="value the device took")
    detail: str = Field(default="", max_length=500, description="why it failed, or a note")


def _public(s: QueuedSetpoint) -> SetpointPublic:
    return SetpointPublic(
        id=s.setpoint_id,
        device=s.device_id,
        quantity=s.quantity,
        requested=s.requested,
        value=s.value,
        clamped=s.value != s.requested,
        created_at=s.created_at,
        valid_until=s.valid_until,
        status=s.status,  # type: ignore[arg-type]
        acked_at=s.acked_at,
        applied_value=s.applied_value,
        detail=s.detail,
    )


_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such setpoint for this gateway's devices"}
}


@router.post(
    "/v1/setpoints",
    response_model=SetpointPublic,
    status_code=201,
    summary="queue a setpoint for a gateway-connected device (clamped to its ratings)",
    responses={
        404: {"model": Problem, "description": "unknown device"},
        409: {"model": Problem, "description": "control disabled, device not behind a gateway, or wrong quantity"},
    },
)
async def create_setpoint(body: SetpointCreate, principal: Operator, park: ParkDep, store: StoreDep) -> SetpointPublic:
    dev = next((d for d in park.devices if d.id == body.device), None)
    if dev is None:
        raise HTTPException(404, f"unknown device {body.device!r}")
    if not isinstance(dev.connection, GatewayConnection):
        raise HTTPException(
            409, f"{dev.id} is reached over {dev.connection.kind}, not a gateway: the dispatcher writes it directly"
        )
    if not dev.control.enabled:
        raise HTTPException(409, f"control is not enabled for {dev.id} (park file: control.enabled)")
    rng = setpoint_range(dev)
    if rng is None:
        raise HTTPException(409, f"{dev.id} is a {dev.type}; only {CONTROLLABLE} take setpoints")
    if body.quantity != rng.quantity:
        raise HTTPException(409, f"{dev.id} takes {rng.quantity}, not {body.quantity}")
    valid_until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=body.valid_s)
    gateway_id = dev.connection.gateway_id

    def insert() -> QueuedSetpoint:
        with store.connection() as conn:
            return q.queue(
                conn, dev.id, gateway_id, rng.quantity, body.value, rng.clamp(body.value),
                principal.key.key_id, valid_until,
            )  # fmt: skip

    return _public(await run_in_threadpool(insert))


@router.get("/v1/setpoints", response_model=list[SetpointPublic], summary="recent setpoints and their acknowledgements")
async def list_setpoints(
    _: Operator,
    store: StoreDep,
    device: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SetpointPublic]:
    def select() -> list[QueuedSetpoint]:
        with store.connection() as conn:
            return q.history(conn, device, limit)

    return [_public(s) for s in await run_in_threadpool(select)]


@router.get(
    "/v1/gateway/setpoints",
    response_model=list[SetpointPublic],
    summary="pending setpoints of this gateway's devices (pull, then acknowledge each)",
)
async def pull_setpoints(principal: Gateway, store: StoreDep) -> list[SetpointPublic]:
    def select() -> list[QueuedSetpoint]:
        with store.connection() as conn:
            return q.pending(conn, principal.devices, dt.datetime.now(dt.UTC))

    return [_public(s) for s in await run_in_threadpool(select)]


@router.post(
    "/v1/gateway/setpoints/{setpoint_id}/ack",
    response_model=SetpointPublic,
    summary="report whether the device took a setpoint",
    responses={**_NOT_FOUND, 409: {"model": Problem, "description": "the setpoint is no longer pending"}},
)
async def acknowledge(
    setpoint_id: Annotated[int, Path(ge=1)], body: SetpointAck, principal: Gateway, store: StoreDep
) -> SetpointPublic:
    def update() -> QueuedSetpoint:
        with store.connection() as conn:
            found = q.get(conn, setpoint_id)
            if found is None or found.device_id not in principal.devices:  # another gateway's: not even its existence
                raise HTTPException(404, f"no setpoint {setpoint_id} for this gateway's devices")
            done = q.acknowledge(conn, setpoint_id, body.status, body.applied_value, body.detail)
            if done is None:
                raise HTTPException(409, f"setpoint {setpoint_id} is {found.status}, not pending")
            return done

    return _public(await run_in_threadpool(update))
