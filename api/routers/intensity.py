"""Park carbon intensity shaped as integrators know it (Electricity Maps' field names), measured and
forecast from the dispatcher's stored plan. Definitions: :mod:`ems.carbon.intensity`."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import ParkDep, PeriodDep, RegistryDep, StoreDep
from api.security import AUTH_RESPONSES, Problem, Reader
from ems.carbon import service
from ems.carbon.factors import FactorError
from ems.carbon.intensity import IntensityPoint, factor_type
from ems.documents.content import slug
from ems.i18n import message_of
from ems.park import Park

router = APIRouter(prefix="/v1/carbon/intensity", tags=["carbon"], responses=AUTH_RESPONSES)

Method = Literal["location", "market"]
FactorType = Literal["direct", "lifecycle"]


class IntensityPublic(BaseModel):
    zone: str = Field(description="park identifier ('park:<name slug>')")
    carbonIntensity: float | None = Field(description="gCO2/kWh; null when the period is missing")
    datetime: dt.datetime = Field(description="period start, UTC")
    updatedAt: dt.datetime = Field(description="when the value was computed, UTC (late data can change it)")
    emissionFactorType: FactorType
    isEstimated: bool
    estimationMethod: str | None
    isMissing: bool = Field(description="too little data (completeness below 0.5) for a value")
    completeness: float | None = Field(description="mean boundary-meter coverage; null for forecasts")
    method: Method


class IntensityHistory(BaseModel):
    zone: str
    unit: str = "gCO2/kWh"
    method: Method
    emissionFactorType: FactorType
    history: list[IntensityPublic]


class IntensityForecast(BaseModel):
    zone: str
    unit: str = "gCO2/kWh"
    method: Method
    emissionFactorType: FactorType
    updatedAt: dt.datetime | None = Field(description="when the plan was made (UTC); null without a plan")
    schedule_id: int | None
    forecast: list[IntensityPublic]


def zone_of(park: Park) -> str:
    return f"park:{slug(park.name, 'park')}"


def _public(p: IntensityPoint, zone: str, updated: dt.datetime, ftype: str, method: str) -> IntensityPublic:
    return IntensityPublic.model_validate(
        {
            "zone": zone,
            "carbonIntensity": None if p.carbon_intensity_g_per_kwh is None else float(p.carbon_intensity_g_per_kwh),
            "datetime": p.datetime,
            "updatedAt": updated,
            "emissionFactorType": ftype,
            "isEstimated": p.is_estimated,
            "estimationMethod": p.estimation_method,
            "isMissing": p.missing,
            "completeness": None if p.completeness is None else float(p.completeness),
            "method": method,
        }
    )


@router.get(
    "",
    response_model=IntensityHistory,
    summary="measured park carbon intensity per hour (or interval/day), UTC, missing where data are too sparse",
    responses={400: {"model": Problem, "description": "bad period or factor"}},
)
async def intensity_history(
    _: Reader,
    period: PeriodDep,
    store: StoreDep,
    park: ParkDep,
    reg: RegistryDep,
    method: Method = "market",
    resolution: Literal["interval", "hour", "day"] = "hour",
) -> IntensityHistory:
    try:
        points = await run_in_threadpool(
            service.intensity_measured, store, park, period.start, period.end, resolution, method, reg
        )
        ftype = factor_type(service.factor_scope(park, reg, method))
    except (FactorError, ValueError) as exc:
        raise HTTPException(400, message_of(exc)) from None
    zone, now = zone_of(park), dt.datetime.now(dt.UTC)
    return IntensityHistory(
        zone=zone,
        method=method,
        emissionFactorType=ftype,  # type: ignore[arg-type]
        history=[_public(p, zone, now, ftype, method) for p in points],
    )


@router.get(
    "/forecast",
    response_model=IntensityForecast,
    summary="forecast park carbon intensity from the dispatcher's newest stored plan",
    responses={400: {"model": Problem, "description": "bad factor"}},
)
async def intensity_forecast(
    _: Reader, store: StoreDep, park: ParkDep, reg: RegistryDep, method: Method = "market"
) -> IntensityForecast:
    try:
        plan, points = await run_in_threadpool(
            service.intensity_forecast, store, park, method, dt.datetime.now(dt.UTC), reg
        )
        ftype = factor_type(service.factor_scope(park, reg, method))
    except (FactorError, ValueError) as exc:
        raise HTTPException(400, message_of(exc)) from None
    zone = zone_of(park)
    made = None if plan is None or plan.created_at is None else plan.created_at.astimezone(dt.UTC)
    return IntensityForecast(
        zone=zone,
        method=method,
        emissionFactorType=ftype,  # type: ignore[arg-type]
        updatedAt=made,
        schedule_id=None if plan is None else plan.schedule_id,
        forecast=[_public(p, zone, made or dt.datetime.now(dt.UTC), ftype, method) for p in points],
    )
