"""Routers for the operator and auditor resources, included by the app after the core ones."""

from __future__ import annotations

from typing import Any

from api.routers import carbon, forecasts, grid, park, schedules, tenants

ROUTERS: list[Any] = [park, schedules, forecasts, grid, carbon, tenants]
KPI_ROUTERS: list[Any] = [schedules.kpis_router]
