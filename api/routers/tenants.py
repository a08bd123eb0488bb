"""Tenants: electricity statements, CBAM sheets, product inventories, production counts.

A ``tenant`` key reaches only its own tenant's data: any other tenant id answers 404, as if it
did not exist (no leak of which tenants exist). Auditors and admins reach every tenant.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.routers.carbon import checked_period
from api.security import AUTH_RESPONSES, Principal, Problem, require
from ems.carbon.certificates import LedgerError
from ems.footprint import service
from ems.footprint.metering import MeteringError
from ems.footprint.production import ProductionCheck, check_rows
from ems.footprint.result import FootprintRun
from ems.park import Park

router = APIRouter(prefix="/v1", tags=["tenants"], responses=AUTH_RESPONSES)

TenantReader = Annotated[Principal, Depends(require("auditor", "admin", "tenant"))]
AuditorOnly = Annotated[Principal, Depends(require("auditor", "admin"))]
Producer = Annotated[Principal, Depends(require("operator", "admin", "tenant"))]
Start = Annotated[dt.datetime, Query(description="period start with time zone")]
End = Annotated[dt.datetime, Query(description="period end (exclusive) with time zone")]
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


class DocumentIssued(BaseModel):
    content_sha256: str
    entry: dict[str, Any]
    downloads: dict[str, str]


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
        raise HTTPException(404, f"no tenant {tenant_id!r}")
    return tenant_id


def _compute(request: Request, start: dt.datetime, end: dt.datetime) -> FootprintRun:
    start, end = checked_period(start, end, request.app.state.park.interval_minutes)
    try:
        return service.footprint_for(request.app.state.store, request.app.state.park, start, end)
    except (MeteringError, ValueError) as exc:
        raise HTTPException(400, str(exc)) from None


def _docs_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir) / "footprints"


@router.get("/tenants", response_model=list[TenantPublic], summary="tenants (a tenant key sees only itself)")
def list_tenants(request: Request, principal: TenantReader) -> list[dict[str, Any]]:
    park: Park = request.app.state.park
    return [
        {
            "id": t.id,
            "name": t.name,
            "meters": t.meters,
            "shared_meter_key": t.shared_meter_key,
            "contracts": t.contracts,
            "lines": [ln.model_dump() for ln in t.lines],
        }
        for t in park.tenants
        if principal.role != "tenant" or principal.key.tenant_id == t.id
    ]


@router.get(
    "/tenants/{tenant_id}/statement",
    response_model=dict[str, Any],
    summary="tenant electricity statement for a period (computed, not issued)",
    responses={**NOT_FOUND, **BAD},
)
def tenant_statement(
    tenant_id: str, request: Request, principal: TenantReader, start: Start, end: End
) -> dict[str, Any]:
    tid = _tenant(principal, request.app.state.park, tenant_id)
    return service.document_content(_compute(request, start, end), "tenant_statement", tid)[1]


@router.get(
    "/tenants/{tenant_id}/cbam",
    response_model=dict[str, Any],
    summary="CBAM electricity data sheet of the tenant's installation",
    responses={**NOT_FOUND, **BAD},
)
def tenant_cbam(tenant_id: str, request: Request, principal: TenantReader, start: Start, end: End) -> dict[str, Any]:
    tid = _tenant(principal, request.app.state.park, tenant_id)
    return service.document_content(_compute(request, start, end), "cbam_sheet", tid)[1]


@router.get(
    "/products/{line_id}/inventory",
    response_model=dict[str, Any],
    summary="ISO 14067-style electricity inventory of a product line",
    responses={**NOT_FOUND, **BAD},
)
def product_inventory(
    line_id: str, request: Request, principal: TenantReader, start: Start, end: End
) -> dict[str, Any]:
    park: Park = request.app.state.park
    owner = next((t.id for t in park.tenants for ln in t.lines if ln.id == line_id), None)
    if owner is None or (principal.role == "tenant" and principal.key.tenant_id != owner):
        raise HTTPException(404, f"no production line {line_id!r}")
    return service.document_content(_compute(request, start, end), "product_inventory", line_id)[1]


@router.get(
    "/tenant-allocation",
    response_model=dict[str, Any],
    summary="every tenant's totals, the remainder rows and the park totals (exact balance)",
    responses=BAD,
)
def allocation(request: Request, _: AuditorOnly, start: Start, end: End) -> dict[str, Any]:
    return service.balance(_compute(request, start, end))


@router.post(
    "/tenants/{tenant_id}/statements",
    response_model=DocumentIssued,
    status_code=201,
    summary="issue a tenant statement or CBAM sheet and append it to the footprint hash chain",
    responses={**NOT_FOUND, **BAD},
)
async def issue(tenant_id: str, body: StatementCreate, request: Request, principal: TenantReader) -> DocumentIssued:
    tid = _tenant(principal, request.app.state.park, tenant_id)
    start, end = checked_period(body.start, body.end, request.app.state.park.interval_minutes)
    state = request.app.state
    try:
        doc = await run_in_threadpool(
            service.issue_document,
            state.store,
            state.park,
            body.document,
            tid,
            start,
            end,
            _docs_dir(request),
            replaces=body.replaces,
        )
    except (LedgerError, MeteringError, ValueError) as exc:
        raise HTTPException(400, str(exc)) from None
    h = doc.content_sha256
    return DocumentIssued(
        content_sha256=h,
        entry=doc.entry,
        downloads={k: f"/v1/tenants/{tid}/statements/{h}/{k}" for k in doc.files},
    )


@router.get(
    "/tenants/{tenant_id}/statements",
    response_model=list[dict[str, Any]],
    summary="the tenant's issued documents (its entries of the footprint hash chain)",
    responses=NOT_FOUND,
)
def list_statements(tenant_id: str, request: Request, principal: TenantReader) -> list[dict[str, Any]]:
    tid = _tenant(principal, request.app.state.park, tenant_id)
    return service.list_documents(request.app.state.store, tid)


_MEDIA = {"json": "application/json", "csv": "text/csv", "pdf": "application/pdf"}


@router.get(
    "/tenants/{tenant_id}/statements/{content_sha256}/{fmt}",
    response_class=FileResponse,
    summary="download an issued tenant document (json, csv or pdf)",
    responses={200: {"content": {m: {} for m in _MEDIA.values()}}, **NOT_FOUND},
)
def download(tenant_id: str, content_sha256: str, fmt: str, request: Request, principal: TenantReader) -> FileResponse:
    tid = _tenant(principal, request.app.state.park, tenant_id)
    entry = next(
        (e for e in service.list_documents(request.app.state.store, tid) if e["content_sha256"] == content_sha256),
        None,
    )
    if entry is None or fmt not in _MEDIA or fmt not in entry["files"]:
        raise HTTPException(404, f"no issued document {content_sha256!r} with a {fmt} file for tenant {tid!r}")
    name = entry["files"][fmt].split(" ")[0]
    path = _docs_dir(request) / name
    if not path.exists():
        raise HTTPException(404, f"document file {name} is missing from this server's data directory")
    return FileResponse(path, media_type=_MEDIA[fmt], filename=name)


@router.post(
    "/production",
    response_model=ProductionResult,
    summary="push production counts (per line and park-local day); invalid rows are reported one by one",
)
def push_production(rows: list[ProductionRowIn], request: Request, principal: Producer) -> ProductionResult:
    park: Park = request.app.state.park
    source = f"api key {principal.key.key_id}"
    check = ProductionCheck()
    for i, r in enumerate(rows):
        if principal.role == "tenant" and r.line not in _own_lines(park, principal.key.tenant_id):
            check.rejected.append((i, f"line {r.line!r} is not a line of this key's tenant"))
            continue
        one = check_rows(park, [r.model_dump()], source, first_row=i)
        check.accepted += one.accepted
        check.rejected += one.rejected
    written = service.record_production(request.app.state.store, check)
    return ProductionResult(accepted=written, rejected=[{"row": n, "reason": m} for n, m in check.rejected])


def _own_lines(park: Park, tenant_id: str | None) -> set[str]:
    return {ln.id for t in park.tenants if t.id == tenant_id for ln in t.lines}
