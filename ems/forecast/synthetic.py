"""Synthetic "truth" for a park from :mod:`ems.profiles`: the demo's stand-in for measurements.

Used by the demo CLI, the annual simulation (as the simulated plant) and the benchmark.
Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ems.forecast.base import interval_times
from ems.park import Load, Park, PvPlant, WindTurbine
from ems.profiles import (
    clear_sky_ghi,
    clear_sky_index,
    load_power_kw,
    pv_power_kw,
    wind_power_kw,
    wind_speed_series,
)


@dataclass
class ParkTruth:
    """Per-interval actual values of a park (kW, consumption positive for loads)."""

    times: np.ndarray
    ghi_clear_w_m2: np.ndarray
    ghi_w_m2: np.ndarray
    wind_speed_m_s: np.ndarray
    pv_kw: dict[str, np.ndarray]
    wind_kw: dict[str, np.ndarray]
    load_kw: dict[str, np.ndarray]
    direct_kw: dict[str, np.ndarray]


def synthesize(park: Park, start: dt.datetime, n: int, seed: int = 0, cloudiness: float = 0.3) -> ParkTruth:
    """Weather and device outputs for ``n`` intervals: clear-sky GHI × cloud index, wind speed series,
    load shapes with 2 % noise; day-to-day cloudiness varies around ``cloudiness``."""
    rng = np.random.default_rng(seed)
    step = park.interval_minutes
    times = interval_times(start, n, step)
    loc = park.location
    clear = clear_sky_ghi(times, loc.latitude, loc.longitude, loc.altitude_m)
    per_day = park.intervals_per_day
    kt = np.empty(n)
    for d0 in range(0, n, per_day):
        k = min(per_day, n - d0)
        day_cloud = float(np.clip(rng.normal(cloudiness, 0.2), 0.0, 1.0))
        kt[d0 : d0 + k] = clear_sky_index(k, rng, day_cloud, step_minutes=step)
    ghi = clear * kt
    wind_speed = wind_speed_series(times, rng, step_minutes=step, tz=park.tz)
    pv, wind, load = {}, {}, {}
    for d in park.devices:
        if isinstance(d, PvPlant):
            pv[d.id] = pv_power_kw(ghi, d.dc_kwp, d.p_rated_kw, d.performance_ratio)
        elif isinstance(d, WindTurbine):
            wind[d.id] = wind_power_kw(wind_speed, d.p_rated_kw, d.power_curve, d.cut_out_m_s) * d.count
        elif isinstance(d, Load):
            load[d.id] = load_power_kw(times, d.p_peak_kw, d.category, park.tz, rng)
    direct = {}
    for g in park.green.direct_connections:
        if g.technology == "pv":
            direct[g.id] = np.minimum(pv_power_kw(ghi, g.plant_p_rated_kw * 1.2, g.plant_p_rated_kw), g.capacity_kw)
        else:
            direct[g.id] = np.minimum(
                wind_power_kw(wind_speed, g.plant_p_rated_kw, [(3, 0), (12, 1), (25, 1)]), g.capacity_kw
            )
    return ParkTruth(times, clear, ghi, wind_speed, pv, wind, load, direct)
