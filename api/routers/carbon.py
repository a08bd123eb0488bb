"""Carbon: park emission-factor series, zero-carbon indicators, auditor reports, certificate ledger."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.security import AUTH_RESPONSES, Auditor, Problem, Reader
from ems.carbon import hashchain, service
from ems.carbon.certificates import LedgerError
from ems.carbon.factors import FactorRegistry

router = APIRouter(prefix="/v1", tags=["carbon"], responses=AUTH_RESPONSES)

Resolution = Literal["interval", "hour", "day", "month"]
Method = Literal["location", "market"]
MAX_PERIOD = dt.timedelta(days=400)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


class FactorPointPublic(BaseModel):
    from_: dt.datetime = Field(alias="from", description="period start, park time zone")
    to: dt.datetime
    value_g_per_kwh: float | None = Field(description="park emission factor; null without consumption")
    method: Method
    estimated: bool = Field(description="true when some interval was gap-filled rather than measured")
    completeness: float = Field(ge=0, le=1)

    model_config = {"populate_by_name": True}


class FactorSeriesPublic(BaseModel):
    unit: str = "gCO2/kWh"
    method: Method
    resolution: Resolution
    start: dt.datetime
    end: dt.datetime
    provenance: dict[str, Any]
    data: list[FactorPointPublic]


class IndicatorRow(BaseModel):
    name: str
    value: str | None
    unit: str
    threshold: str | None = None
    meets: bool | None = None
    gap: str | None = None


class IndicatorsPublic(BaseModel):
    start: dt.datetime
    end: dt.datetime
    method: Method
    rows: list[IndicatorRow]
    budget: dict[str, Any]


class ReportCreate(BaseModel):
    start: dt.datetime = Field(description="period start (with time zone)")
    end: dt.datetime
    replaces: str | None = Field(None, description="content hash of the report this one restates")


class ReportIssued(BaseModel):
    content_sha256: str
    entry: dict[str, Any]
    downloads: dict[str, str]


class VerificationPublic(BaseModel):
    ok: bool
    content_sha256: str | None
    entry: dict[str, Any] | None
    problems: list[str]


def checked_period(start: dt.datetime, end: dt.datetime, interval_minutes: int = 15) -> tuple[dt.datetime, dt.datetime]:
    """Validate a requested period and widen it to whole park intervals (start floored, end ceiled)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(400, "start and end need a time zone (e.g. 2026-06-01T00:00:00+08:00)")
    if not (start >= EARLIEST and end <= LATEST):
        raise HTTPException(400, f"periods must lie between {EARLIEST.year} and {LATEST.year}")
    if not start < end:
        raise HTTPException(400, "start must be before end")
    if end - start > MAX_PERIOD:
        raise HTTPException(400, f"period longer than {MAX_PERIOD.days} days; request it in parts")
    step = dt.timedelta(minutes=interval_minutes)
    start_utc = start.astimezone(dt.UTC)
    floor = start_utc - (start_utc - EARLIEST) % step
    over = (end.astimezone(dt.UTC) - EARLIEST) % step
    ceil = end.astimezone(dt.UTC) + (step - over if over else dt.timedelta(0))
    return floor.astimezone(start.tzinfo), ceil.astimezone(end.tzinfo)


def _registry(request: Request) -> FactorRegistry:
    """The factor registry, reloaded at most once a minute (user factors can be added meanwhile)."""
    cached = getattr(request.app.state, "factor_registry", None)
    if cached and time.monotonic() - cached[0] < 60:
        return cached[1]
    reg = service.load_registry(request.app.state.store)
    request.app.state.factor_registry = (time.monotonic(), reg)
    return reg


def _next(t: dt.datetime, resolution: str, minutes: int) -> dt.datetime:
    if resolution == "interval":
        return t + dt.timedelta(minutes=minutes)
    if resolution == "hour":
        return t + dt.timedelta(hours=1)
    if resolution == "day":
        return (t + dt.timedelta(days=1, hours=2)).replace(hour=0, minute=0)
    return (t.replace(day=28) + dt.timedelta(days=5)).replace(day=1, hour=0, minute=0)


@router.get(
    "/carbon/factors",
    response_model=FactorSeriesPublic,
    response_model_by_alias=True,
    summary="park emission factor series (location- or market-based)",
    responses={400: {"model": Problem, "description": "bad period"}},
)
def carbon_factors(
    request: Request,
    _: Reader,
    start: Annotated[dt.datetime, Query(description="period start with time zone")],
    end: Annotated[dt.datetime, Query(description="period end with time zone")],
    resolution: Resolution = "hour",
    method: Method = "market",
) -> dict[str, Any]:
    start, end = checked_period(start, end, request.app.state.park.interval_minutes)
    state = request.app.state
    reg = _registry(request)
    try:
        points = service.factor_series(state.store, state.park, start, end, resolution, method, reg)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    minutes = state.park.interval_minutes
    data = [
        {
            "from": p.time,
            "to": _next(p.time, resolution, minutes),
            "value_g_per_kwh": None if p.value_g_per_kwh is None else float(p.value_g_per_kwh),
            "method": p.method,
            "estimated": p.estimated,
            "completeness": float(p.completeness),
        }
        for p in points
    ]
    return {
        "method": method,
        "resolution": resolution,
        "start": start,
        "end": end,
        "provenance": service.series_provenance(state.park, reg),
        "data": data,
    }


@router.get(
    "/carbon/indicators",
    response_model=IndicatorsPublic,
    summary="zero-carbon park indicators and the annual budget for a period",
    responses={400: {"model": Problem, "description": "bad period"}},
)
def carbon_indicators(
    request: Request,
    _: Reader,
    start: Annotated[dt.datetime, Query()],
    end: Annotated[dt.datetime, Query()],
    method: Method = "market",
) -> IndicatorsPublic:
    start, end = checked_period(start, end, request.app.state.park.interval_minutes)
    state = request.app.state
    content = service.report_content(state.store, state.park, start, end)
    ind = content["indicators"][method]

    def row(
        name: str, key: str, unit: str, limit: str | None = None, ok: str | None = None, gap: str | None = None
    ) -> IndicatorRow:
        return IndicatorRow(
            name=name,
            value=ind.get(key),
            unit=unit,
            threshold=ind.get(limit) if limit else None,
            meets=ind.get(ok) if ok else None,
            gap=ind.get(gap) if gap else None,
        )

    clean_threshold = "0.90"
    rows = [
        row(
            "CO₂ per unit of energy",
            "intensity_t_per_tce",
            "tCO₂/tce",
            "intensity_limit",
            "intensity_ok",
            "intensity_gap",
        ),
        IndicatorRow(
            name="clean-energy share",
            value=ind.get("clean_share"),
            unit="share",
            threshold=clean_threshold,
            meets=ind.get("clean_share_ok"),
            gap=ind.get("clean_share_gap"),
        ),
        row("direct green supply share", "direct_green_share", "share"),
        row("energy consumption", "energy_tce", "tce"),
        row("energy consumption, annualised", "energy_tce_per_year", "tce/a"),
        row("CO₂ emissions", "co2_t", "tCO₂"),
    ]
    budget = content.get("budget") or {}
    return IndicatorsPublic(
        start=start,
        end=end,
        method=method,
        rows=rows,
        budget={k: (str(v) if isinstance(v, Decimal) else v) for k, v in budget.items()},
    )


def _reports_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir) / "reports"


@router.post(
    "/reports",
    response_model=ReportIssued,
    status_code=201,
    summary="issue an emission-factor report",
    responses={400: {"model": Problem, "description": "bad period or unknown report to replace"}},
)
async def create_report(body: ReportCreate, request: Request, _: Auditor) -> ReportIssued:
    start, end = checked_period(body.start, body.end, request.app.state.park.interval_minutes)
    state = request.app.state
    try:
        issued = await run_in_threadpool(
            service.issue_report, state.store, state.park, start, end, _reports_dir(request), replaces=body.replaces
        )
    except (LedgerError, ValueError) as exc:
        raise HTTPException(400, str(exc)) from None
    h = issued.content_sha256
    return ReportIssued(
        content_sha256=h, entry=issued.entry, downloads={k: f"/v1/reports/{h}/{k}" for k in issued.files}
    )


@router.get("/reports", response_model=list[dict[str, Any]], summary="issued reports (the hash chain)")
def list_reports(request: Request, _: Auditor) -> list[dict[str, Any]]:
    return service.list_reports(request.app.state.store)


_MEDIA = {"json": "application/json", "csv": "text/csv", "pdf": "application/pdf"}


@router.get(
    "/reports/{content_sha256}/{fmt}",
    summary="download an issued report (json, csv or pdf)",
    response_class=FileResponse,
    responses={
        200: {"content": {m: {} for m in _MEDIA.values()}},
        404: {"model": Problem, "description": "no such report or format"},
    },
)
def download_report(content_sha256: str, fmt: str, request: Request, _: Auditor) -> FileResponse:
    if fmt not in _MEDIA:
        raise HTTPException(404, f"format {fmt!r} not offered (json, csv, pdf)")
    entry = service.find_report(request.app.state.store, content_sha256)
    if entry is None or fmt not in entry.get("files", {}):
        raise HTTPException(404, f"no issued report {content_sha256!r} with a {fmt} file")
    name = entry["files"][fmt].split(" ")[0]
    path = _reports_dir(request) / name
    if not path.exists():
        raise HTTPException(404, f"report file {name} is missing from this server's data directory")
    return FileResponse(path, media_type=_MEDIA[fmt], filename=name)


@router.post(
    "/reports/verify",
    response_model=VerificationPublic,
    summary="verify a report file (its JSON bytes) against the hash chain",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object", "description": "the report file as issued"}}},
        }
    },
)
async def verify_report(request: Request, _: Auditor) -> VerificationPublic:
    data = await request.body()
    v = hashchain.verify_report(data, service.list_reports(request.app.state.store))
    return VerificationPublic(ok=v.ok, content_sha256=v.content_sha256, entry=v.entry, problems=v.problems)


@router.get("/certificates", response_model=list[dict[str, Any]], summary="green certificate ledger (read-only)")
def certificates(request: Request, _: Auditor) -> list[dict[str, Any]]:
    return service.certificate_ledger(request.app.state.store)
