"""Synthetic injection profiles of a park (for the year-long power flow, hosting checks, the benchmark).

Built from :mod:`ems.profiles` with one shared weather per park: clear-sky GHI times a
clear-sky index whose cloudiness is drawn per day (uniform 0..0.8), and one hub-height
wind speed series. Powers in kW, generator convention: PV, wind and direct green
connections >= 0, loads <= 0, batteries idle (0; their schedule is the dispatcher's job).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ems.park import Park, WindTurbine
from ems.profiles import (
    clear_sky_ghi,
    clear_sky_index,
    load_power_kw,
    pv_power_kw,
    wind_power_kw,
    wind_speed_series,
)

#: DC/AC ratio assumed for PV without a DC rating (direct green connections, hosting what-ifs)
DC_AC_RATIO = 1.2
DEFAULT_PERFORMANCE_RATIO = 0.82


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
    per_day = park.intervals_per_day
    csi = (
        np.concatenate(
            [
                clear_sky_index(
                    min(per_day, steps - i),
                    rng,
                    cloudiness=float(rng.uniform(0.0, 0.8)),
                    step_minutes=step_min,
                )
                for i in range(0, steps, per_day)
            ]
        )
        if steps
        else np.zeros(0)
    )
    loc = park.location
    ghi = clear_sky_ghi(times, loc.latitude, loc.longitude, loc.altitude_m) * csi
    wind_speed = wind_speed_series(times, rng, step_minutes=step_min, tz=park.tz)

    ids: list[str] = []
    cols: list[np.ndarray] = []
    for d in park.devices:
        if d.type == "pv":
            cols.append(pv_power_kw(ghi, d.dc_kwp, d.p_rated_kw, d.performance_ratio))
        elif d.type == "wind":
            cols.append(wind_power_kw(wind_speed, d.p_total_kw, d.power_curve, d.cut_out_m_s))
        elif d.type == "battery":
            cols.append(np.zeros(steps))
        elif d.type == "load":
            cols.append(-load_power_kw(times, d.p_peak_kw, d.category, park.tz, rng))
        else:
            continue
        ids.append(d.id)
    for g in park.green.direct_connections:
        ac = min(g.plant_p_rated_kw, g.capacity_kw)
        if g.technology == "pv":
            cols.append(pv_power_kw(ghi, g.plant_p_rated_kw * DC_AC_RATIO, ac, DEFAULT_PERFORMANCE_RATIO))
        else:
            cols.append(np.minimum(_wind_unit(wind_speed) * g.plant_p_rated_kw, ac))
        ids.append(g.id)
    p = np.stack(cols, axis=1) if cols else np.zeros((steps, 0))
    return ParkProfiles(
        times=times,
        device_ids=ids,
        p_kw=p,
        pv_per_kw=pv_power_kw(ghi, DC_AC_RATIO, 1.0, DEFAULT_PERFORMANCE_RATIO),
        wind_per_kw=_wind_unit(wind_speed),
    )


def _wind_unit(wind_speed: np.ndarray) -> np.ndarray:
    """Output of 1 kW of wind with the park model's default power curve."""
    curve = WindTurbine.model_fields["power_curve"].default
    return wind_power_kw(wind_speed, 1.0, curve, WindTurbine.model_fields["cut_out_m_s"].default)


def year_profiles(park: Park, year: int = 2026, seed: int = 0) -> ParkProfiles:
    """A calendar year (local time, park time zone) of park intervals: 35,040 at 15 minutes."""
    start = dt.datetime(year, 1, 1, tzinfo=park.tz)
    end = dt.datetime(year + 1, 1, 1, tzinfo=park.tz)
    steps = int((end - start) / park.interval)
    return park_profiles(park, start, steps, seed)
