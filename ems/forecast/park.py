"""Forecast every series a park's dispatcher needs, from its history.

Defaults: PV plants ``clear_sky_pv``, wind devices ``power_curve_wind`` (from their
measured wind speed; ``persistence`` of power when no speed is measured), loads
``similar_day_load``. ``methods`` overrides per device (any registry name; a name
other than the default gets only generic parameters, i.e. ``persistence``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ems.forecast.base import Forecast, Forecaster, History, interval_times
from ems.forecast.registry import make_forecaster
from ems.park import Load, Park, PvPlant, WindTurbine


@dataclass
class ParkHistory:
    """Measured average power per device and interval (loads as consumption, positive; NaN = no data)
    and hub-height wind speed per wind device."""

    times: np.ndarray
    interval_minutes: int
    power_kw: dict[str, np.ndarray] = field(default_factory=dict)
    wind_speed_m_s: dict[str, np.ndarray] = field(default_factory=dict)

    def series(self, device: str) -> History:
        return History(self.times, self.power_kw.get(device, np.full(len(self.times), np.nan)), self.interval_minutes)

    def speed(self, device: str) -> History | None:
        v = self.wind_speed_m_s.get(device)
        return None if v is None else History(self.times, v, self.interval_minutes)


def default_forecaster(
    park: Park, device_id: str, clear_sky_ghi_fn: Callable[[np.ndarray], np.ndarray] | None = None
) -> Forecaster:
    """The default forecaster of a device of ``park`` (``clear_sky_ghi_fn``: precomputed clear-sky GHI)."""
    d = park.device(device_id)
    if isinstance(d, PvPlant):
        loc = park.location
        return make_forecaster(
            "clear_sky_pv",
            latitude=loc.latitude,
            longitude=loc.longitude,
            altitude_m=loc.altitude_m,
            dc_kwp=d.dc_kwp,
            p_rated_kw=d.p_rated_kw,
            performance_ratio=d.performance_ratio,
            clear_sky_ghi_fn=clear_sky_ghi_fn,
        )
    if isinstance(d, WindTurbine):
        return make_forecaster(
            "power_curve_wind",
            p_rated_kw=d.p_rated_kw,
            power_curve=d.power_curve,
            count=d.count,
            cut_out_m_s=d.cut_out_m_s,
        )
    if isinstance(d, Load):
        return make_forecaster("similar_day_load", timezone=park.timezone)
    return make_forecaster("persistence")


def forecast_park(
    park: Park,
    history: ParkHistory,
    start: dt.datetime,
    n: int,
    methods: dict[str, str] | None = None,
    clear_sky_ghi_fn: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Forecast:
    """Forecast PV, wind and load of every device for ``n`` intervals from ``start``."""
    times = interval_times(start, n, park.interval_minutes)
    methods = methods or {}
    fc = Forecast(start, park.interval_minutes)
    for d in park.devices:
        if not isinstance(d, PvPlant | WindTurbine | Load):
            continue
        f = make_forecaster(methods[d.id]) if d.id in methods else default_forecaster(park, d.id, clear_sky_ghi_fn)
        series = history.series(d.id)
        if isinstance(d, WindTurbine) and f.name == "power_curve_wind":
            speed = history.speed(d.id)
            if speed is None or not np.isfinite(speed.values).any():
                f = make_forecaster("persistence")
            else:
                series = speed
        values = np.maximum(f.forecast(series, times), 0.0)
        fc.methods[d.id] = f.name
        target = fc.pv_kw if isinstance(d, PvPlant) else fc.wind_kw if isinstance(d, WindTurbine) else fc.load_kw
        target[d.id] = values
    return fc
