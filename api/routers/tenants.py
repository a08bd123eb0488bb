"""Tenants: electricity statements, CBAM sheets, product inventories, production counts.

A ``tenant`` key reaches only its own tenant's data: any other tenant id answers 404, as if it
did not exist (no leak of which tenants exist). Auditors and admins reach every tenant.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import FootprintsDir, ParkDep, Period, PeriodDep, SettingsDep, StoreDep, checked_period
from api.documents import DOWNLOAD_RESPONSES, ChainEntryPublic, DocumentIssued, file_response, report_signer
from api.i18n import Language
from api.principal import Principal
from api.security import AUTH_RESPONSES, Problem, require
from ems.carbon.certificates import LedgerError
from ems.documents.service import FOOTPRINT_DOCUMENTS
from ems.footprint import service
from ems.footprint.metering import MeteringError
from ems.footprint.production import ProductionCheck, check_rows
from ems.footprint.result import FootprintRun
from ems.i18n import Msg, message_of
from ems.park import Park

router = APIRouter(prefix="/v1", tags=["tenants"], responses=AUTH_RESPONSES)

TenantReader = Annotated[Principal, Depends(require("auditor", "admin", "tenant"))]
AuditorOnly = Annotated[Principal, Depends(require("auditor", "admin"))]
Producer = Annotated[Principal, Depends(require("operator", "admin", "tenant"))]
Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"model": Problem, "description": "no such tenant (or not this key's tenant)"}}
BAD: Responses = {400: {"model": Problem, "description": "bad period or inconsistent tenant metering"}}


class TenantPublic(BaseModel):
    id: str
    name: str
    meters: list[str]
    lines: list[dict[str, str]]
    shared_meter_key: float | None
    contracts: list[str]


class StatementCreate(BaseModel):
    start: dt.datetime = Field(description="period start (with time zone)")
    end: dt.datetime
    document: Literal["tenant_statement", "cbam_sheet"] = "tenant_statement"
    replaces: str | None = Field(None, description="content hash of the document this one restates")


class Software(BaseModel):
    name: str
    version: str


class Document(BaseModel):
    """A document's content as it is hashed when issued (decimal numbers as strings). The top-level
    fields are listed per document type; each section is described in docs/footprint.md."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    schema_: str = Field(alias="schema", description="document schema id and version")
    software: Software


class StatementTenant(BaseModel):
    id: str
    name: str
    meters: list[str]
    shared_meter_key: str | None
    contracts: list[str]
    metering_terms: list[str] = Field(description="signed meters whose sum is the tenant's consumption")


class StatementPeriod(BaseModel):
    start: str = Field(description="park time, ISO 8601 as hashed")
    end: str
    interval_minutes: int
    intervals: int


class Emissions(BaseModel):
    emissions_kg: str
    factor_kg_per_kwh: str | None


class StatementPublic(Document):
    park: dict[str, str]
    tenant: StatementTenant
    period: StatementPeriod
    replaces: str | None
    consumption_kwh: str
    share_of_park_consumption: str | None
    supply_mix_kwh: dict[str, str]
    location_based: Emissions
    market_based: Emissions
    park_totals: dict[str, str]
    lines: list[dict[str, Any]]
    evidence: dict[str, Any]
    factors: dict[str, dict[str, Any]] = Field(description="provenance of the grid and residual factors")
    method: dict[str, str]
    rounding: str
    data_quality: dict[str, str | int]
    intervals: dict[str, list[Any]] = Field(description="per-interval columns (start_utc, allocation columns, quality)")


class CbamSheetPublic(Document):
    installation: dict[str, str]
    reporting_period: dict[str, str]
    electricity: dict[str, Any]
    products: list[dict[str, Any]]


class PerUnit(BaseModel):
    factor_kg_per_kwh: str | None
    kg_per_unit: str | None


class ProductInventoryPublic(Document):
    product: dict[str, str]
    period: dict[str, str]
    production: dict[str, Any]
    electricity_kwh: str
    electricity_kwh_per_unit: str | None
    market_based: PerUnit
    location_based: PerUnit
    method: str
    certificate_vintages: list[dict[str, str]]
    contracts: list[str]
    factors: dict[str, dict[str, Any]]


class AllocationPublic(BaseModel):
    rows: dict[str, dict[str, str]] = Field(description="allocation row (tenant or remainder) -> column -> total")
    park: dict[str, str] = Field(description="park totals per column")
    park_minus_rows: dict[str, str] = Field(description="park total minus the sum of the rows: zero when exact")


class ProductionRowIn(BaseModel):
    line: str
    day: str = Field(description="park-local day YYYY-MM-DD")
    quantity: str = Field(description="decimal number >= 0, as a string")
    unit: str


class ProductionResult(BaseModel):
    accepted: int
    rejected: list[dict[str, Any]] = Field(description="row index (from 0) and reason per refused row")


def _tenant(principal: Principal, park: Park, tenant_id: str) -> str:
    """The tenant id if this key may read it, else 404."""
    known = {t.id for t in park.tenants}
    if tenant_id not in known or (principal.role == "tenant" and principal.key.tenant_id != tenant_id):
        raise HTTPException(404, Msg("no tenant {tenant_id!r}", tenant_id=tenant_id))
    return tenant_id


def _compute(store: StoreDep, park: ParkDep, period: PeriodDep) -> FootprintRun:
    """The footprint of the requested period (400 naming a metering or period problem)."""
    try:
        return service.footprint_for(store, park, period.start, period.end)
    except (MeteringError, ValueError) as exc:
        raise HTTPException(400, message_of(exc)) from None


Footprint = Annotated[FootprintRun, Depends(_compute)]


@router.get("/tenants", response_model=list[TenantPublic], summary="tenants (a tenant key sees only itself)")
def list_tenants(principal: TenantReader, park: ParkDep) -> list[TenantPublic]:
    return [
        TenantPublic(
            id=t.id,
            name=t.name,
            meters=t.meters,
            shared_meter_key=t.shared_meter_key,
            contracts=t.contracts,
            lines=[ln.model_dump() for ln in t.lines],
        )
        for t in park.tenants
        if principal.role != "tenant" or principal.key.tenant_id == t.id
    ]


def _readable_tenant(tenant_id: str, principal: TenantReader, park: ParkDep) -> str:
    return _tenant(principal, park, tenant_id)


def _readable_line(line_id: str, principal: TenantReader, park: ParkDep) -> str:
    """The line id if this key may read its owner's data, else 404."""
    owner = next((t.id for t in park.tenants for ln in t.lines if ln.id == line_id), None)
    if owner is None or (principal.role == "tenant" and principal.key.tenant_id != owner):
        raise HTTPException(404, Msg("no production line {line_id!r}", line_id=line_id))
    return line_id


# Checked before the period and the footprint are computed, so a foreign tenant is 404 whatever the period.
TenantId = Annotated[str, Depends(_readable_tenant)]
LineId = Annotated[str, Depends(_readable_line)]


@router.get(
    "/tenants/{tenant_id}/statement",
    response_model=StatementPublic,
    summary="tenant electricity statement for a period (computed, not issued)",
    responses={**NOT_FOUND, **BAD},
)
def tenant_statement(tid: TenantId, fr: Footprint) -> dict[str, Any]:
    return service.document_content(fr, "tenant_statement", tid)[1]


@router.get(
    "/tenants/{tenant_id}/cbam",
    response_model=CbamSheetPublic,
    summary="CBAM electricity data sheet of the tenant's installation",
    responses={**NOT_FOUND, **BAD},
)
def tenant_cbam(tid: TenantId, fr: Footprint) -> dict[str, Any]:
    return service.document_content(fr, "cbam_sheet", tid)[1]


@router.get(
    "/products/{line_id}/inventory",
    response_model=ProductInventoryPublic,
    summary="ISO 14067-style electricity inventory of a product line",
    responses={**NOT_FOUND, **BAD},
)
def product_inventory(line: LineId, fr: Footprint) -> dict[str, Any]:
    return service.document_content(fr, "product_inventory", line)[1]


@router.get(
    "/tenant-allocation",
    response_model=AllocationPublic,
    summary="every tenant's totals, the remainder rows and the park totals (exact balance)",
    responses=BAD,
)
def allocation(_: AuditorOnly, fr: Footprint) -> AllocationPublic:
    return AllocationPublic.model_validate(service.balance(fr))


@router.post(
    "/tenants/{tenant_id}/statements",
    response_model=DocumentIssued,
    status_code=201,
    summary="issue a tenant statement or CBAM sheet and append it to the footprint hash chain",
    responses={**NOT_FOUND, **BAD},
)
async def issue(
    tid: TenantId,
    body: StatementCreate,
    store: StoreDep,
    park: ParkDep,
    out_dir: FootprintsDir,
    settings: SettingsDep,
    lang: Language,
) -> DocumentIssued:
    """The PDF is rendered in the request's language (``Accept-Language``, else the park's); the
    JSON and CSV, which the chain hashes, are the same in every language."""
    period: Period = checked_period(body.start, body.end, park.interval_minutes)
    signer = report_signer(settings)
    try:
        doc = await run_in_threadpool(
            partial(service.issue_document, signer=signer, lang=lang),
            store,
            park,
            body.document,
            tid,
            period.start,
            period.end,
            out_dir,
            replaces=body.replaces,
        )
    except (LedgerError, MeteringError, ValueError) as exc:
        raise HTTPException(400, message_of(exc)) from None
    h = doc.content_sha256
    return DocumentIssued(
        content_sha256=h,
        entry=ChainEntryPublic.model_validate(doc.entry),
        downloads={k: f"/v1/tenants/{tid}/statements/{h}/{k}" for k in doc.files},
    )


@router.get(
    "/tenants/{tenant_id}/statements",
    response_model=list[ChainEntryPublic],
    summary="the tenant's issued documents (its entries of the footprint hash chain)",
    responses=NOT_FOUND,
)
def list_statements(tid: TenantId, store: StoreDep) -> list[ChainEntryPublic]:
    return [ChainEntryPublic.model_validate(e) for e in FOOTPRINT_DOCUMENTS.entries(store, tid)]


@router.get(
    "/tenants/{tenant_id}/statements/{content_sha256}/{fmt}",
    response_class=FileResponse,
    summary="download an issued tenant document (json, csv or pdf)",
    responses={**DOWNLOAD_RESPONSES, **NOT_FOUND},
)
def download(tid: TenantId, content_sha256: str, fmt: str, store: StoreDep, out_dir: FootprintsDir) -> FileResponse:
    entry = FOOTPRINT_DOCUMENTS.find(store, content_sha256)
    if entry is not None and entry["tenant_id"] != tid:
        entry = None  # another tenant's document: as if it did not exist
    return file_response(FOOTPRINT_DOCUMENTS, entry, content_sha256, fmt, out_dir)


@router.post(
    "/production",
    response_model=ProductionResult,
    summary="push production counts (per line and park-local day); invalid rows are reported one by one",
)
def push_production(
    rows: list[ProductionRowIn], principal: Producer, park: ParkDep, store: StoreDep
) -> ProductionResult:
    source = f"api key {principal.key.key_id}"
    check = ProductionCheck()
    for i, r in enumerate(rows):
        if principal.role == "tenant" and r.line not in _own_lines(park, principal.key.tenant_id):
            check.rejected.append((i, f"line {r.line!r} is not a line of this key's tenant"))
            continue
        one = check_rows(park, [r.model_dump()], source, first_row=i)
        check.accepted += one.accepted
        check.rejected += one.rejected
    written = service.record_production(store, check)
    return ProductionResult(accepted=written, rejected=[{"row": n, "reason": m} for n, m in check.rejected])


def _own_lines(park: Park, tenant_id: str | None) -> set[str]:
    return {ln.id for t in park.tenants if t.id == tenant_id for ln in t.lines}
