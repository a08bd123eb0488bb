"""Synthetic "truth" for a park per interval (composed from :mod:`ems.synthetic`): the demo's stand-in
for measurements.

Used by the demo CLI, the annual simulation (as the simulated plant) and the benchmark.
Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ems.forecast.base import interval_times
from ems.park import Park, PvPlant, WindTurbine
from ems.profiles import wind_speed_series
from ems.synthetic import daily_clear_sky_index, device_output_kw, direct_output_kw, weather


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
    """Weather and device outputs for ``n`` intervals (:mod:`ems.synthetic`); the day's cloudiness is
    drawn around ``cloudiness`` (normal, σ 0.2, clipped to [0, 1])."""
    rng = np.random.default_rng(seed)
    step = park.interval_minutes
    times = interval_times(start, n, step)
    kt = daily_clear_sky_index(
        n, park.intervals_per_day, rng, lambda r: float(np.clip(r.normal(cloudiness, 0.2), 0.0, 1.0)), step
    )
    w = weather(park.location, times, kt, wind_speed_series(times, rng, step_minutes=step, tz=park.tz))
    pv: dict[str, np.ndarray] = {}
    wind: dict[str, np.ndarray] = {}
    load: dict[str, np.ndarray] = {}
    for d in park.devices:
        out = device_output_kw(d, w, park.tz, rng)
        if out is not None:
            group = pv if isinstance(d, PvPlant) else wind if isinstance(d, WindTurbine) else load
            group[d.id] = out
    direct = {g.id: direct_output_kw(g, w) for g in park.green.direct_connections}
    return ParkTruth(times, w.ghi_clear_w_m2, w.ghi_w_m2, w.wind_speed_m_s, pv, wind, load, direct)
