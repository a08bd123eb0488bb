"""Carbon: park emission-factor series, zero-carbon indicators, auditor reports, certificate ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import ParkDep, PeriodDep, RegistryDep, ReportsDir, SettingsDep, StoreDep, checked_period
from api.documents import DOWNLOAD_RESPONSES, ChainEntryPublic, DocumentIssued, file_response, report_signer
from api.i18n import Language
from api.security import AUTH_RESPONSES, Auditor, Problem, Reader
from ems.carbon import service
from ems.carbon.certificates import LedgerError
from ems.carbon.indicators import CLEAN_SHARE_DEFINITION
from ems.carbon.intensity import MIN_COMPLETENESS
from ems.documents.service import CARBON_REPORTS
from ems.i18n import message_of

router = APIRouter(prefix="/v1", tags=["carbon"], responses=AUTH_RESPONSES)

Resolution = Literal["interval", "hour", "day", "month"]
Method = Literal["location", "market"]


class FactorPointPublic(BaseModel):
    from_: dt.datetime = Field(alias="from", description="period start, park time zone")
    to: dt.datetime
    value_g_per_kwh: float | None = Field(
        description="park emission factor; null without consumption or when missing (completeness below 0.5)"
    )
    missing: bool = Field(False, description="too little data for a value (ems/carbon/intensity.py)")
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


class CfeScorePublic(BaseModel):
    definition: str = Field(description="name of the CFE definition")
    title: str
    source: str
    score: str | None = Field(description="decimal; null without consumption")


class IndicatorsPublic(BaseModel):
    start: dt.datetime
    end: dt.datetime
    method: Method
    rows: list[IndicatorRow]
    budget: dict[str, Any]
    clean_share_definition: str = Field(description="what the clean-energy share row counts")
    cfe_scores: dict[str, CfeScorePublic] = Field(description="CFE score per named definition (ems/carbon/matching.py)")


class ReportCreate(BaseModel):
    start: dt.datetime = Field(description="period start (with time zone)")
    end: dt.datetime
    replaces: str | None = Field(
        None, description="content hash of the report this one restates (same period, not restated yet)"
    )
    allow_incomplete: bool = Field(
        False, description="issue even for a period not yet over or without enough data (stated in the report)"
    )


class VerificationPublic(BaseModel):
    ok: bool
    status: str = Field(description="'valid', 'valid, replaced by <content hash>' or 'invalid'")
    replaced_by: str | None = Field(description="content hash of the report restating this one")
    format: str | None = Field(description="which issued file the bytes are: json, csv or pdf")
    content_sha256: str | None
    entry: ChainEntryPublic | None
    problems: list[str]


class LedgerEntryPublic(BaseModel):
    event_id: int
    seq: int
    kind: Literal["retire", "reassign"]
    period_start: dt.datetime
    period_end: dt.datetime
    basis_kwh: str = Field(description="eligible consumption of the period when the entry was made [kWh], decimal")
    beneficiary: str
    reason: str
    created_at: dt.datetime | None


class CertificatePublic(BaseModel):
    serial: str
    generator: str
    technology: str
    location: str
    production_start: dt.date
    production_end: dt.date
    issuer: str
    mwh: str = Field(description="decimal")
    status: Literal["available", "retired"]
    entries: list[LedgerEntryPublic] = Field(description="the serial's ledger entries, oldest first")


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
    _: Reader,
    period: PeriodDep,
    store: StoreDep,
    park: ParkDep,
    reg: RegistryDep,
    resolution: Resolution = "hour",
    method: Method = "market",
) -> FactorSeriesPublic:
    start, end = period.start, period.end
    try:
        points = service.factor_series(store, park, start, end, resolution, method, reg)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    minutes = park.interval_minutes
    data = [
        FactorPointPublic.model_validate(
            {
                "from": p.time,
                "to": _next(p.time, resolution, minutes),
                "value_g_per_kwh": None if p.value_g_per_kwh is None or missing else float(p.value_g_per_kwh),
                "missing": missing,
                "method": p.method,
                "estimated": p.estimated,
                "completeness": float(p.completeness),
            }
        )
        for p in points
        for missing in [p.completeness < MIN_COMPLETENESS]
    ]
    return FactorSeriesPublic(
        method=method,
        resolution=resolution,
        start=start,
        end=end,
        provenance=service.series_provenance(park, reg),
        data=data,
    )


@router.get(
    "/carbon/indicators",
    response_model=IndicatorsPublic,
    summary="zero-carbon park indicators and the annual budget for a period",
    responses={400: {"model": Problem, "description": "bad period"}},
)
def carbon_indicators(
    _: Reader, period: PeriodDep, store: StoreDep, park: ParkDep, method: Method = "market"
) -> IndicatorsPublic:
    start, end = period.start, period.end
    content = service.report_content(store, park, start, end)
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
        clean_share_definition=CLEAN_SHARE_DEFINITION,
        cfe_scores={
            name: CfeScorePublic(definition=name, title=s["title"], source=s["source"], score=s["score"])
            for name, s in content["cfe_scores"].items()
        },
    )


@router.post(
    "/reports",
    response_model=DocumentIssued,
    status_code=201,
    summary="issue an emission-factor report",
    responses={400: {"model": Problem, "description": "bad period or unknown report to replace"}},
)
async def create_report(
    body: ReportCreate,
    _: Auditor,
    store: StoreDep,
    park: ParkDep,
    reports_dir: ReportsDir,
    settings: SettingsDep,
    lang: Language,
) -> DocumentIssued:
    """The PDF is rendered in the request's language (``Accept-Language``, else the park's)."""
    period = checked_period(body.start, body.end, park.interval_minutes)
    signer = report_signer(settings)
    try:
        issued = await run_in_threadpool(
            partial(
                service.issue_report,
                replaces=body.replaces,
                signer=signer,
                allow_incomplete=body.allow_incomplete,
                lang=lang,
            ),
            store,
            park,
            period.start,
            period.end,
            reports_dir,
        )
    except (LedgerError, ValueError) as exc:
        raise HTTPException(400, message_of(exc)) from None
    h = issued.content_sha256
    return DocumentIssued(
        content_sha256=h,
        entry=ChainEntryPublic.model_validate(issued.entry),
        downloads={k: f"/v1/reports/{h}/{k}" for k in issued.files},
    )


@router.get("/reports", response_model=list[ChainEntryPublic], summary="issued reports (the hash chain)")
def list_reports(_: Auditor, store: StoreDep) -> list[ChainEntryPublic]:
    return [ChainEntryPublic.model_validate(e) for e in CARBON_REPORTS.entries(store)]


@router.get(
    "/reports/{content_sha256}/{fmt}",
    summary="download an issued report (json, csv or pdf)",
    response_class=FileResponse,
    responses=DOWNLOAD_RESPONSES,
)
def download_report(
    content_sha256: str, fmt: str, _: Auditor, store: StoreDep, reports_dir: ReportsDir
) -> FileResponse:
    return file_response(CARBON_REPORTS, CARBON_REPORTS.find(store, content_sha256), content_sha256, fmt, reports_dir)


@router.post(
    "/reports/verify",
    response_model=VerificationPublic,
    summary="verify an issued report file (JSON, CSV or PDF bytes) against the hash chain",
    responses={
        413: {"model": Problem, "description": "body larger than the server's limit"},
        422: {"description": "the body holds text that cannot be stored (NUL, lone surrogate): api/guard.py"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object", "description": "the report file as issued"}},
                "text/csv": {"schema": {"type": "string", "description": "the CSV file as issued"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def verify_report(request: Request, _: Auditor, store: StoreDep, settings: SettingsDep) -> VerificationPublic:
    data = await request.body()
    signer = report_signer(settings)
    trusted = None if signer is None else frozenset({signer.public_key_hex})
    v = await run_in_threadpool(CARBON_REPORTS.verify, store, data, trusted)
    return VerificationPublic(
        ok=v.ok,
        status=v.status,
        replaced_by=v.replaced_by,
        format=v.fmt,
        content_sha256=v.content_sha256,
        entry=None if v.entry is None else ChainEntryPublic.model_validate(v.entry),
        problems=v.problems,
    )


@router.get("/certificates", response_model=list[CertificatePublic], summary="green certificate ledger (read-only)")
def certificates(_: Auditor, store: StoreDep) -> list[CertificatePublic]:
    return [CertificatePublic.model_validate(c) for c in service.certificate_ledger(store)]
