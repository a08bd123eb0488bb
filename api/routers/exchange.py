"""City platform exchange: the pull side of the push in ems.exchange (same payload, same schema)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import ParkDep, RegistryDep, StoreDep
from api.security import AUTH_RESPONSES, Auditor, Problem
from ems.exchange.payload import ExchangeError, payload_for

router = APIRouter(prefix="/v1/exchange", tags=["auditors"], responses=AUTH_RESPONSES)
Decimal = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", description="exact decimal")]


class ExchangeHour(BaseModel):
    """One hour [start, start + 1 h); energies in kWh, emissions in kgCO2, factors in kgCO2/kWh."""

    start: str = Field(description="ISO 8601 with the park's UTC offset")
    consumption_kwh: Decimal
    grid_kwh: Decimal
    local_re_kwh: Decimal
    direct_green_kwh: Decimal
    location_kg: Decimal
    market_kg: Decimal
    ef_location_kg_per_kwh: Decimal | None = Field(description="null: no consumption in the hour")
    ef_market_kg_per_kwh: Decimal | None


class Enterprise(BaseModel):
    id: str
    name: str
    hours: list[ExchangeHour]


class RestOfPark(BaseModel):
    id: str = Field(description="shared services not allocated, or the park remainder")
    hours: list[ExchangeHour]


class ExchangePayload(BaseModel):
    """docs/schemas/city-exchange-v1.schema.json (the authoritative schema; this model mirrors it)."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: str = Field(alias="schema", description="city-exchange/1")
    software: dict[str, str]
    generated_at: str
    park: dict[str, str]
    period: dict[str, str]
    units: dict[str, str]
    factors: dict[str, dict[str, Any]] = Field(description="provenance of the grid and residual factors")
    completeness: Decimal
    park_hours: list[ExchangeHour]
    enterprises: list[Enterprise]
    rest_of_park: list[RestOfPark]
    indicators: dict[str, dict[str, Any]]
    budget: dict[str, Any] | None


BAD: dict[int | str, dict[str, Any]] = {400: {"model": Problem, "description": "period not in whole hours or too long"}}


@router.get(
    "/hourly",
    response_model=ExchangePayload,
    responses=BAD,
    summary="hourly park and tenant figures for the city carbon platform",
)
async def hourly(
    _: Auditor,
    store: StoreDep,
    park: ParkDep,
    registry: RegistryDep,
    start: Annotated[dt.datetime, Query(description="whole hour, with time zone")],
    end: Annotated[dt.datetime, Query(description="whole hour (exclusive), at most 31 days after start")],
) -> ExchangePayload:
    """The payload documented by ``docs/schemas/city-exchange-v1.schema.json`` (docs/city_exchange.md).

    A municipal platform uses an ``auditor`` key (read-only)."""
    try:
        payload = await run_in_threadpool(payload_for, store, park, start, end, registry)
    except ExchangeError as exc:
        raise HTTPException(400, str(exc)) from None
    return ExchangePayload.model_validate(payload)
