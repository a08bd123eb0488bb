"""Park carbon intensity in the shape integrators know (Electricity Maps' carbon-intensity API), measured
and forecast (issue 22).

Each point carries ``zone`` (the park), ``carbonIntensity`` [gCO2/kWh], ``datetime`` (UTC start of the
period), ``updatedAt`` (when the value was computed: values change when late telemetry arrives),
``emissionFactorType`` (``direct`` for combustion-only factors, ``lifecycle`` for life-cycle ones,
from the factor's ``scope``), ``isEstimated`` with ``estimationMethod``, and the accounting ``method``
(location or market).

*Measured*: the park emission factor of :func:`ems.carbon.service.factor_series` (storage ledger
applied). A period whose mean boundary-meter completeness is below :data:`MIN_COMPLETENESS` is
``missing`` with ``carbonIntensity = null``: a value there would be an extrapolation of a few minutes of
data (an hour held by one sample past the end of telemetry read 0 g/kWh before issue 22). A period
with some gap-filled interval is ``isEstimated`` with ``estimationMethod = "gap-filled"``.

*Forecast*: from the dispatcher's stored plan (the newest ``mpc`` or ``day_ahead`` schedule),
per planned interval ``t``::

    location: CI_t = (grid-mix import_t + contract_t) * EF_grid_t / consumption_t
    market:   CI_t = grid-mix import_t * EF_residual_t / consumption_t

with the factors the accounting uses. Planned discharge is treated as carbon-free at the moment of
use and future certificate retirements are unknown, so the market forecast is an upper bound for
retirements and the estimation method says so. Intervals without planned consumption are missing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ems.carbon.aggregate import FactorPoint

MIN_COMPLETENESS = Decimal("0.5")  # below this the period is mostly unmeasured: no value is shown
FACTOR_TYPES = {"combustion_co2": "direct", "lifecycle_co2e": "lifecycle"}
PLAN_METHOD = (
    "dispatch-plan: planned grid-mix import (plus contracts for location) x the accounting's factor / planned "
    "consumption; storage ledger and future certificate retirements not applied"
)
_Q = Decimal("0.001")


@dataclass(frozen=True)
class IntensityPoint:
    datetime: dt.datetime  # UTC start of the period
    carbon_intensity_g_per_kwh: Decimal | None  # None when missing
    is_estimated: bool
    estimation_method: str | None
    missing: bool
    completeness: Decimal | None  # measured only


def factor_type(scope: str) -> str:
    """``direct`` or ``lifecycle`` for a factor scope (:data:`ems.carbon.factors.SCOPES`)."""
    return FACTOR_TYPES[scope]


def measured_points(points: list[FactorPoint]) -> list[IntensityPoint]:
    """Integrator points from the park emission-factor series (module docstring)."""
    out = []
    for p in points:
        missing = p.completeness < MIN_COMPLETENESS or p.value_g_per_kwh is None
        out.append(
            IntensityPoint(
                p.time.astimezone(dt.UTC),
                None if missing else p.value_g_per_kwh,
                p.estimated and not missing,
                "gap-filled" if p.estimated and not missing else None,
                missing,
                p.completeness,
            )
        )
    return out


def forecast_points(
    times: list[dt.datetime],
    grid_mix_kw: np.ndarray,
    contract_kw: np.ndarray,
    consumption_kw: np.ndarray,
    factor_kg_per_kwh: np.ndarray,
    method: str,
) -> list[IntensityPoint]:
    """Forecast points from a stored plan (module docstring); ``factor_kg_per_kwh`` is the grid factor for
    ``location`` and the residual factor for ``market``, per planned interval."""
    grid = grid_mix_kw + contract_kw if method == "location" else grid_mix_kw
    out = []
    for t, g, f, k in zip(times, grid.tolist(), factor_kg_per_kwh.tolist(), consumption_kw.tolist(), strict=True):
        value = None if k <= 1e-9 else Decimal(repr(g * f / k * 1000.0)).quantize(_Q)
        out.append(IntensityPoint(t.astimezone(dt.UTC), value, value is not None, PLAN_METHOD, value is None, None))
    return out
