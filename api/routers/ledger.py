"""Ledger writes: green-contract deliveries and certificate retirements (the CLI's ``ems contracts`` /
``ems certificates`` over HTTP, through the same :mod:`ems.carbon.service` functions and rules).

Roles: the park's energy staff (operator, admin) record deliveries and retire or reassign
certificates; auditors read the ledgers and issue reports but do not write what they audit.
Refusals: 409 when the ledger's state forbids the entry (double retirement, over-retirement,
overlapping periods), 400 for anything else wrong with the request (unknown serial or contract,
ineligible certificate, bad period); nothing is written in either case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import ParkDep, StoreDep, checked_period
from api.security import AUTH_RESPONSES, Operator, Problem, Reader
from ems.carbon import service
from ems.carbon.certificates import (
    ContractDelivery,
    DoubleRetirement,
    LedgerError,
    OverRetirement,
    Period,
    PeriodConflict,
    RetirementEntry,
    expand_serials,
)
from ems.i18n import Msg, message_of
from ems.park import Park
from ems.store import Store

router = APIRouter(prefix="/v1", tags=["carbon ledger"], responses=AUTH_RESPONSES)

REFUSALS: dict[int | str, dict[str, object]] = {
    400: {"model": Problem, "description": "bad request (unknown serial or contract, ineligible certificate, period)"},
    409: {"model": Problem, "description": "refused by the ledger's state (double/over-retirement, overlap)"},
}


class DeliveryCreate(BaseModel):
    contract_id: str = Field(max_length=200, description="green contract id from the park file")
    start: dt.datetime = Field(description="delivery period start (with time zone)")
    end: dt.datetime
    kwh: Decimal = Field(ge=0, max_digits=18, decimal_places=3, description="delivered energy [kWh]")
    granularity: Literal["period", "interval"] = "period"
    reference: str = Field("", max_length=500, description="settlement document reference")
    replaces: int | None = Field(None, description="delivery id this entry corrects")


class DeliveryPublic(BaseModel):
    delivery_id: int
    contract_id: str
    period_start: dt.datetime
    period_end: dt.datetime
    kwh: str = Field(description="decimal")
    granularity: str
    basis_kwh: str | None = Field(description="grid import of the period when recorded [kWh] (period granularity)")
    reference: str
    replaces: int | None


class RetirementCreate(BaseModel):
    serials: list[str] = Field(min_length=1, max_length=10_000, description="serials or ranges P000001..P000010")
    start: dt.datetime = Field(description="consumption period start (with time zone)")
    end: dt.datetime
    beneficiary: str = Field(min_length=1, max_length=200, description="who claims the certificates")


class ReassignmentCreate(BaseModel):
    serials: list[str] = Field(min_length=1, max_length=10_000)
    start: dt.datetime
    end: dt.datetime
    reason: str = Field(min_length=1, max_length=500, description="why the retirement is corrected (kept)")


class RetirementPublic(BaseModel):
    event_id: int
    serial: str
    seq: int
    kind: Literal["retire", "reassign"]
    period_start: dt.datetime
    period_end: dt.datetime
    basis_kwh: str = Field(description="eligible consumption of the period when the entry was made [kWh]")
    beneficiary: str
    reason: str


def _delivery(d: ContractDelivery) -> DeliveryPublic:
    return DeliveryPublic(
        delivery_id=d.delivery_id,
        contract_id=d.contract_id,
        period_start=d.period.start,
        period_end=d.period.end,
        kwh=str(d.kwh),
        granularity=d.granularity,
        basis_kwh=None if d.basis_kwh is None else str(d.basis_kwh),
        reference=d.reference,
        replaces=d.replaces,
    )


def _entry(e: RetirementEntry) -> RetirementPublic:
    return RetirementPublic(
        event_id=e.event_id,
        serial=e.serial,
        seq=e.seq,
        kind=e.kind,  # type: ignore[arg-type]
        period_start=e.period.start,
        period_end=e.period.end,
        basis_kwh=str(e.basis_kwh),
        beneficiary=e.beneficiary,
        reason=e.reason,
    )


def _period(start: dt.datetime, end: dt.datetime, interval_minutes: int) -> Period:
    p = checked_period(start, end, interval_minutes)
    return Period(p.start, p.end)


def _refused(exc: LedgerError) -> HTTPException:
    state = isinstance(exc, DoubleRetirement | OverRetirement | PeriodConflict)
    return HTTPException(409 if state else 400, Msg("refused, nothing written: {error}", error=message_of(exc)))


@router.post(
    "/contracts/deliveries",
    response_model=DeliveryPublic,
    status_code=201,
    summary="record a green-contract delivery (or a correction replacing one)",
    responses=REFUSALS,
)
async def create_delivery(body: DeliveryCreate, _: Operator, store: StoreDep, park: ParkDep) -> DeliveryPublic:
    period = _period(body.start, body.end, park.interval_minutes)
    try:
        d = await run_in_threadpool(
            service.record_delivery,
            store,
            park,
            body.contract_id,
            period,
            body.kwh,
            body.granularity,
            body.reference,
            body.replaces,
        )
    except LedgerError as exc:
        raise _refused(exc) from None
    return _delivery(d)


@router.get("/contracts/deliveries", response_model=list[DeliveryPublic], summary="recorded contract deliveries")
def list_deliveries(_: Reader, store: StoreDep) -> list[DeliveryPublic]:
    return [_delivery(d) for d in service.deliveries(store)]


@router.post(
    "/certificates/retirements",
    response_model=list[RetirementPublic],
    status_code=201,
    summary="retire certificates against a consumption period (once only, eligible, within its consumption)",
    responses=REFUSALS,
)
async def retire(body: RetirementCreate, _: Operator, store: StoreDep, park: ParkDep) -> list[RetirementPublic]:
    return await _write_events(service.retire, body, body.beneficiary, store, park)


@router.post(
    "/certificates/reassignments",
    response_model=list[RetirementPublic],
    status_code=201,
    summary="move retired certificates to another period (a new ledger entry with its reason)",
    responses=REFUSALS,
)
async def reassign(body: ReassignmentCreate, _: Operator, store: StoreDep, park: ParkDep) -> list[RetirementPublic]:
    return await _write_events(service.reassign, body, body.reason, store, park)


async def _write_events(
    write: Callable[[Store, Park, list[str], Period, str], list[RetirementEntry]],
    body: RetirementCreate | ReassignmentCreate,
    note: str,
    store: Store,
    park: Park,
) -> list[RetirementPublic]:
    """Retire or reassign: ``write`` (with the beneficiary or the reason as ``note``) the expanded
    serials against the checked period; a ledger refusal becomes 409/400 with nothing written."""
    period = _period(body.start, body.end, park.interval_minutes)
    try:
        serials = await run_in_threadpool(expand_serials, body.serials)  # off the event loop
        entries = await run_in_threadpool(write, store, park, serials, period, note)
    except LedgerError as exc:
        raise _refused(exc) from None
    return [_entry(e) for e in entries]
