"""Gateways push telemetry: ``POST /v1/telemetry`` (JSON or CSV, optionally gzip/deflate-compressed)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import MetricsDep, SettingsDep, StoreDep
from api.ingest import parse_body, store_parsed
from api.limits import BodyTooLarge, BodyUnreadable, read_body
from api.parse import BodyError, TooManyRows
from api.security import AUTH_RESPONSES, Gateway, Problem
from api.telemetry_schema import openapi_schema
from ems.i18n import Msg
from ems.store import StoreUnavailable

JSON = ("application/json", "")
CSV = ("text/csv", "application/csv")

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
        408: {"model": Problem, "description": "body not received whole within the configured time"},
        413: {"model": Problem, "description": "body too large"},
        415: {"model": Problem, "description": "unsupported media type or encoding"},
    },
)
async def push(
    request: Request, principal: Gateway, settings: SettingsDep, store: StoreDep, m: MetricsDep
) -> IngestReport:
    t0 = time.perf_counter()
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype not in (*JSON, *CSV):
        raise HTTPException(
            415, Msg("content-type {ctype!r} not supported (application/json or text/csv)", ctype=ctype)
        )
    encoding = request.headers.get("content-encoding", "identity").lower().strip()
    if encoding not in ("identity", "", "gzip", "deflate"):
        raise HTTPException(
            415, Msg("content-encoding {encoding!r} not supported (use gzip or deflate)", encoding=encoding)
        )
    body = await read_body(request, settings.max_body_bytes, settings.body_timeout_s)
    try:  # decompression and parsing are CPU work: off the event loop, so no body stalls other requests
        parsed = await run_in_threadpool(
            parse_body, body, encoding, ctype in CSV, settings.max_body_bytes, settings.max_batch_rows
        )
    except (BodyError, BodyUnreadable) as exc:
        raise HTTPException(400, str(exc)) from None
    except (BodyTooLarge, TooManyRows) as exc:
        raise HTTPException(413, str(exc)) from None
    try:
        out = await run_in_threadpool(store_parsed, store, parsed, set(principal.devices), "api")
    except StoreUnavailable:
        raise HTTPException(
            503, Msg("database unavailable: nothing stored, retry the whole batch"), headers={"Retry-After": "5"}
        ) from None
    rejected = out.rejected
    m.ingest_requests.labels("csv" if ctype.endswith("csv") else "json").inc()
    m.ingest_rows.labels("accepted").inc(out.accepted)
    m.ingest_rows.labels("duplicate").inc(out.duplicates)
    m.ingest_rows.labels("rejected").inc(len(rejected))
    for r in rejected:
        m.rejected_rows.labels(r.reason).inc()
    m.ingest_seconds.observe(time.perf_counter() - t0)
    return IngestReport(
        submitted=out.submitted,
        accepted=out.accepted,
        duplicates=out.duplicates,
        rejected=[RejectedRow(row=r.row, reason=r.reason, detail=r.detail) for r in rejected],
    )
