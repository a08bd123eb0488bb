"""Routers for the operator and auditor resources, included by the app after the core ones."""

from __future__ import annotations

from typing import Any

from api.routers import carbon, tenants

ROUTERS: list[Any] = [carbon, tenants]
