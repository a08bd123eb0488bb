"""Forecasters by name, so the method of each series is configuration, not code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ems.forecast.base import Forecaster
from ems.forecast.clear_sky_pv import ClearSkyPv
from ems.forecast.persistence import Persistence
from ems.forecast.power_curve_wind import PowerCurveWind
from ems.forecast.similar_day_load import SimilarDayLoad

FORECASTERS: dict[str, Callable[..., Forecaster]] = {
    "persistence": Persistence,
    "clear_sky_pv": ClearSkyPv,
    "power_curve_wind": PowerCurveWind,
    "similar_day_load": SimilarDayLoad,
}


def make_forecaster(name: str, **params: Any) -> Forecaster:
    """Instantiate the forecaster ``name`` (one of :data:`FORECASTERS`) with its parameters."""
    try:
        factory = FORECASTERS[name]
    except KeyError:
        raise KeyError(f"unknown forecaster {name!r}; known: {', '.join(FORECASTERS)}") from None
    return factory(**params)
