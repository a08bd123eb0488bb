"""Gateways push telemetry: ``POST /v1/telemetry`` (JSON or CSV, optionally gzip/deflate-compressed)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from api.limits import read_body
from api.parse import BodyError, parse_csv, parse_json
from api.security import AUTH_RESPONSES, Gateway, Problem
from ems.store import StoreUnavailable
from ems.telemetry import IngestResult, Rejection

router = APIRouter(prefix="/v1/telemetry", tags=["gateways"], responses=AUTH_RESPONSES)


class Reading(BaseModel):
    time: str = Field(
        description="ISO 8601 with a time zone, e.g. 2026-06-01T08:00:00+08:00", examples=["2026-06-01T00:00:00Z"]
    )
    device: str = Field(examples=["PV1"])
    quantity: str = Field(description="one of the canonical quantities (GET /v1/quantities)", examples=["p_kw"])
    value: float = Field(description="in the quantity's unit; power in generator convention")
    quality: int = Field(0, ge=0, le=3, description="0 good, 1 estimated, 2 suspect, 3 bad")


class TelemetryBatch(BaseModel):
    readings: list[Reading]


class RejectedRow(BaseModel):
    row: int = Field(description="0-based index of the reading in the request")
    reason: str
    detail: str


class IngestReport(BaseModel):
    submitted: int
    accepted: int = Field(description="new readings stored")
    duplicates: int = Field(description="readings already stored (same device, quantity, time): first write wins")
    rejected: list[RejectedRow]


_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": TelemetryBatch.model_json_schema(ref_template="#/components/schemas/{model}")
            },
            "text/csv": {"schema": {"type": "string", "description": "header time,device,quantity,value[,quality]"}},
        },
    }
}


@router.post(
    "",
    response_model=IngestReport,
    summary="push a batch of readings (idempotent on device, quantity, time)",
    openapi_extra=_BODY_DOC,
    responses={
        400: {"model": Problem, "description": "body unreadable"},
        413: {"model": Problem, "description": "body too large"},
        415: {"model": Problem, "description": "unsupported media type or encoding"},
    },
)
async def push(request: Request, principal: Gateway) -> IngestReport:
    t0 = time.perf_counter()
    state = request.app.state
    body = await read_body(request, state.settings.max_body_bytes)
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    try:
        if ctype in ("application/json", ""):
            batch, malformed, index = parse_json(body)
        elif ctype in ("text/csv", "application/csv"):
            batch, malformed, index = parse_csv(body)
        else:
            raise HTTPException(415, f"content-type {ctype!r} not supported (application/json or text/csv)")
    except BodyError as exc:
        raise HTTPException(400, str(exc)) from None
    if len(index) + len(malformed) > state.settings.max_batch_rows:
        raise HTTPException(413, f"at most {state.settings.max_batch_rows} readings per request")
    try:
        result: IngestResult = await _ingest(request, batch, principal.devices)
    except StoreUnavailable:
        raise HTTPException(
            503, "database unavailable: nothing stored, retry the whole batch", headers={"Retry-After": "5"}
        ) from None
    rejected = sorted(
        malformed + [Rejection(int(index[r.row]), r.reason, r.detail) for r in result.rejected], key=lambda r: r.row
    )
    m = state.metrics
    m.ingest_requests.labels("csv" if ctype.endswith("csv") else "json").inc()
    m.ingest_rows.labels("accepted").inc(result.accepted)
    m.ingest_rows.labels("duplicate").inc(result.duplicates)
    m.ingest_rows.labels("rejected").inc(len(rejected))
    for r in rejected:
        m.rejected_rows.labels(r.reason).inc()
    m.ingest_seconds.observe(time.perf_counter() - t0)
    return IngestReport(
        submitted=len(index) + len(malformed),
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=[RejectedRow(row=r.row, reason=r.reason, detail=r.detail) for r in rejected],
    )


async def _ingest(request: Request, batch: Any, devices: frozenset[str]) -> IngestResult:
    from starlette.concurrency import run_in_threadpool

    store = request.app.state.store
    if len(batch) == 0:
        return IngestResult()
    return await run_in_threadpool(store.ingest, batch, source="api", allowed_devices=set(devices))
