"""Operators: forecasts against what was measured, and their accuracy."""

from __future__ import annotations

import datetime as dt

import numpy as np
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from api.deps import ParkDep, PeriodDep, StoreDep
from api.security import AUTH_RESPONSES, Operator, Problem
from ems.i18n import Msg
from ems.store.forecasts import accuracy_summary, forecast_load_series

router = APIRouter(prefix="/v1/forecasts", tags=["operators"], responses=AUTH_RESPONSES)


class LoadPlanVsActual(BaseModel):
    start: list[dt.datetime]
    forecast_load_kw: list[float | None]
    actual_load_kw: list[float | None]


class AccuracyPublic(BaseModel):
    series: str
    method: str
    runs: int
    intervals: int
    mae: float
    rmse: float
    bias: float


@router.get(
    "/plan-vs-actual",
    response_model=LoadPlanVsActual,
    summary="park load: latest forecast vs metered",
    responses={400: {"model": Problem, "description": "bad period"}},
)
def load_plan_vs_actual(_: Operator, period: PeriodDep, park: ParkDep, store: StoreDep) -> LoadPlanVsActual:
    start, end = period.start, period.end
    if end - start > dt.timedelta(days=31):
        raise HTTPException(400, Msg("served for at most 31 days at a time"))
    loads = [d.id for d in park.devices_of("load")]
    ie = store.interval_energy(start, end, loads)
    h = park.interval_minutes / 60
    times = ie.start_datetimes()
    with store.connection() as conn:
        fc = forecast_load_series(conn, start, end)
    cov = ie.coverage.min(axis=0) if loads else np.zeros(len(times))
    measured = cov > 0
    # average power over the part of the interval that was metered
    actual = (ie.e_in_kwh.sum(axis=0) - ie.e_out_kwh.sum(axis=0)) / (h * np.where(measured, cov, 1.0))
    return LoadPlanVsActual(
        start=times,
        forecast_load_kw=[fc.get(t) for t in times],
        actual_load_kw=[float(a) if m else None for a, m in zip(actual, measured, strict=True)],
    )


@router.get(
    "/accuracy",
    response_model=list[AccuracyPublic],
    summary="MAE, RMSE and bias per series and method",
    responses={400: {"model": Problem, "description": "since without a time zone"}},
)
def accuracy(_: Operator, store: StoreDep, since: dt.datetime | None = None) -> list[AccuracyPublic]:
    if since is not None and since.tzinfo is None:  # else read in the database session's zone, not the park's
        raise HTTPException(400, Msg("since needs a time zone (e.g. 2026-06-01T00:00:00+08:00)"))
    with store.connection() as conn:
        return [AccuracyPublic(**vars(a)) for a in accuracy_summary(conn, since)]
