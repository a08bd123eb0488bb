"""The park description as operators see it."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import ParkDep
from api.security import AUTH_RESPONSES, Reader

router = APIRouter(prefix="/v1", tags=["park"], responses=AUTH_RESPONSES)


class Period(BaseModel):
    start: dt.datetime
    end: dt.datetime


class ParkPublic(BaseModel):
    name: str
    province: str
    grid_region: str
    timezone: str
    language: str = Field(description="the park's default language for people: en or zh-CN")
    interval_minutes: int
    devices: int
    import_limit_kw: float
    export_limit_kw: float
    today: Period


@router.get("/park", response_model=ParkPublic, summary="park identity, limits and today's local period")
def park(_: Reader, p: ParkDep) -> ParkPublic:
    now = dt.datetime.now(p.tz)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    gc = p.network.grid_connection
    return ParkPublic(
        name=p.name,
        province=p.province,
        grid_region=p.grid_region,
        timezone=p.timezone,
        language=p.language,
        interval_minutes=p.interval_minutes,
        devices=len(p.devices),
        import_limit_kw=gc.import_limit_kw,
        export_limit_kw=gc.export_limit_kw,
        today=Period(start=start, end=start + dt.timedelta(days=1)),
    )
