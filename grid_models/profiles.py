"""Synthetic injection profiles of a park (for the year-long power flow, hosting checks, the benchmark).

Composed from :mod:`ems.synthetic` with one shared weather per park: clear-sky GHI times a
clear-sky index whose cloudiness is drawn per day (uniform 0..0.8), and one hub-height
wind speed series. Powers in kW, generator convention: PV, wind and direct green
connections >= 0, loads <= 0, batteries idle (0; their schedule is the dispatcher's job).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ems.park import Load, Park
from ems.profiles import wind_speed_series
from ems.synthetic import daily_clear_sky_index, device_output_kw, direct_output_kw, unit_output_kw, weather


@dataclass(frozen=True)
class ParkProfiles:
    """``p_kw`` (T, D) for ``device_ids`` at ``times`` (UTC, interval starts), plus per-kW unit profiles.

    ``pv_per_kw``/``wind_per_kw`` (T,) are the output of 1 kW (AC) of PV/wind under the same
    weather, for what-if capacity.
    """

    times: np.ndarray
    device_ids: list[str]
    p_kw: np.ndarray
    pv_per_kw: np.ndarray
    wind_per_kw: np.ndarray


def park_profiles(park: Park, start: dt.datetime, steps: int, seed: int = 0) -> ParkProfiles:
    """Profiles of ``steps`` park intervals from ``start`` (timezone-aware)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    step_min = park.interval_minutes
    t0 = np.datetime64(start.astimezone(dt.UTC).replace(tzinfo=None), "us")
    times = t0 + np.arange(steps) * np.timedelta64(step_min, "m")
    rng = np.random.default_rng(seed)
    kt = daily_clear_sky_index(steps, park.intervals_per_day, rng, lambda r: float(r.uniform(0.0, 0.8)), step_min)
    w = weather(park.location, times, kt, wind_speed_series(times, rng, step_minutes=step_min, tz=park.tz))

    ids: list[str] = []
    cols: list[np.ndarray] = []
    for d in park.devices:
        if d.type == "battery":
            cols.append(np.zeros(steps))
        else:
            out = device_output_kw(d, w, park.tz, rng)
            if out is None:
                continue
            cols.append(-out if isinstance(d, Load) else out)
        ids.append(d.id)
    for g in park.green.direct_connections:
        cols.append(direct_output_kw(g, w))
        ids.append(g.id)
    p = np.stack(cols, axis=1) if cols else np.zeros((steps, 0))
    return ParkProfiles(
        times=times,
        device_ids=ids,
        p_kw=p,
        pv_per_kw=unit_output_kw("pv", w),
        wind_per_kw=unit_output_kw("wind", w),
    )


def year_profiles(park: Park, year: int = 2026, seed: int = 0) -> ParkProfiles:
    """A calendar year (local time, park time zone) of park intervals: 35,040 at 15 minutes."""
    start = dt.datetime(year, 1, 1, tzinfo=park.tz)
    end = dt.datetime(year + 1, 1, 1, tzinfo=park.tz)
    steps = int((end - start) / park.interval)
    return park_profiles(park, start, steps, seed)
