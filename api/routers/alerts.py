"""Operators: alerts raised by the rules (ems.alerts), their acknowledgement and log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import StoreDep
from api.security import AUTH_RESPONSES, Operator, Problem, Reader
from ems.alerts import engine
from ems.i18n import Msg
from ems.store import Store
from ems.store import alert_queries as AQ
from ems.store.alert_queries import AlertRow

router = APIRouter(prefix="/v1/alerts", tags=["operators"], responses=AUTH_RESPONSES)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "no such alert"}}


class AlertPublic(BaseModel):
    id: int
    rule: str = Field(
        description="device_stale, gateway_silent, data_gap, forecast_error, grid_violation, "
        "budget_projection, solver_fallback"
    )
    subject: str = Field(description="device, gateway, grid element (kind:element), 'park' or 'dispatch'")
    severity: str = Field(description="info, warning or critical")
    message: str
    details: dict[str, Any]
    raised_at: dt.datetime
    last_seen_at: dt.datetime = Field(description="latest evaluation that still found the condition")
    cleared_at: dt.datetime | None = Field(description="null while the condition holds")
    acked_at: dt.datetime | None
    acked_by: str | None = Field(description="name of the API key that acknowledged it")
    ack_note: str | None


class AlertEventPublic(BaseModel):
    event: str = Field(description="raised, acknowledged or cleared")
    actor: str
    note: str
    at: dt.datetime


class AlertDetail(AlertPublic):
    log: list[AlertEventPublic]


class AckCreate(BaseModel):
    note: str = Field("", max_length=1000, description="what was done about it")


def _public(a: AlertRow) -> dict[str, Any]:
    d = dict(a.__dict__)
    d["id"] = d.pop("alert_id")
    return d


@router.get("", response_model=list[AlertPublic], summary="alerts, newest first")
async def list_alerts(
    _: Reader,
    store: StoreDep,
    open_only: Annotated[bool, Query(alias="open", description="only alerts whose condition still holds")] = False,
    since: Annotated[dt.datetime | None, Query(description="raised at or after (with time zone)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AlertPublic]:
    if since is not None and since.tzinfo is None:
        raise HTTPException(400, Msg("since needs a time zone (e.g. 2026-06-01T00:00:00+08:00)"))
    rows = await run_in_threadpool(engine.alerts, store, open_only=open_only, since=since, limit=limit)
    return [AlertPublic.model_validate(_public(a)) for a in rows]


def _detail(store: Store, alert_id: int) -> AlertDetail | None:
    with store.connection() as conn:
        a = AQ.get(conn, alert_id)
        if a is None:
            return None
        log = [AlertEventPublic(event=e.event, actor=e.actor, note=e.note, at=e.at) for e in AQ.events(conn, alert_id)]
    return AlertDetail.model_validate({**_public(a), "log": log})


@router.get("/{alert_id}", response_model=AlertDetail, responses=NOT_FOUND, summary="one alert with its log")
async def get_alert(_: Reader, store: StoreDep, alert_id: int) -> AlertDetail:
    found = await run_in_threadpool(_detail, store, alert_id)
    if found is None:
        raise HTTPException(404, f"no alert {alert_id}")
    return found


@router.post("/{alert_id}/ack", response_model=AlertDetail, responses=NOT_FOUND, summary="acknowledge an alert")
async def ack(principal: Operator, store: StoreDep, alert_id: int, body: AckCreate) -> AlertDetail:
    """The first acknowledgement is kept on the alert; every one is logged with the key's name."""
    done = await run_in_threadpool(engine.acknowledge, store, alert_id, principal.key.name, body.note)
    if done is None:
        raise HTTPException(404, f"no alert {alert_id}")
    found = await run_in_threadpool(_detail, store, alert_id)
    assert found is not None
    return found
