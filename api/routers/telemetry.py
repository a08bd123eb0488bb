"""Gateways push telemetry: ``POST /v1/telemetry`` (JSON or CSV, optionally gzip/deflate-compressed)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import MetricsDep, SettingsDep, StoreDep
from api.limits import read_body
from api.parse import BodyError, parse_csv, parse_json
from api.security import AUTH_RESPONSES, Gateway, Problem
from api.telemetry_schema import openapi_schema
from ems.store import StoreUnavailable
from ems.telemetry import IngestResult, Rejection

router = APIRouter(prefix="/v1/telemetry", tags=["gateways"], responses=AUTH_RESPONSES)


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
            "application/json": {"schema": openapi_schema()},
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
async def push(
    request: Request, principal: Gateway, settings: SettingsDep, store: StoreDep, m: MetricsDep
) -> IngestReport:
    t0 = time.perf_counter()
    body = await read_body(request, settings.max_body_bytes)
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
    if len(index) + len(malformed) > settings.max_batch_rows:
        raise HTTPException(413, f"at most {settings.max_batch_rows} readings per request")
    try:
        result = IngestResult()
        if len(batch):
            result = await run_in_threadpool(store.ingest, batch, source="api", allowed_devices=set(principal.devices))
    except StoreUnavailable:
        raise HTTPException(
            503, "database unavailable: nothing stored, retry the whole batch", headers={"Retry-After": "5"}
        ) from None
    rejected = sorted(
        malformed + [Rejection(int(index[r.row]), r.reason, r.detail) for r in result.rejected], key=lambda r: r.row
    )
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
