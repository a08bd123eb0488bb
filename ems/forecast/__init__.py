"""Forecasts for the dispatcher: PV, wind, load per interval, with accuracy tracking.

Pluggable forecasters (:data:`ems.forecast.registry.FORECASTERS`): ``persistence`` (the
floor), ``clear_sky_pv``, ``power_curve_wind``, ``similar_day_load``. They work on plain
arrays (:class:`~ems.forecast.base.History`); :mod:`ems.forecast.history` adapts the store;
:mod:`ems.forecast.runs` saves, loads and scores issued forecasts (SQL in :mod:`ems.store.forecasts`).
"""

from __future__ import annotations

from ems.forecast.accuracy import Accuracy, accuracy
from ems.forecast.base import Forecast, Forecaster, History, interval_times
from ems.forecast.park import ParkHistory, forecast_park
from ems.forecast.registry import FORECASTERS, make_forecaster

__all__ = [
    "FORECASTERS",
    "Accuracy",
    "Forecast",
    "Forecaster",
    "History",
    "ParkHistory",
    "accuracy",
    "forecast_park",
    "interval_times",
    "make_forecaster",
]
