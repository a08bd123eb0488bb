"""Physical profiles as pure functions over numpy arrays.

Used by the synthetic telemetry of the demo, the park simulator and the
forecasters, so all three agree on what "a PV plant at this location" means.
Times are UTC ``numpy.datetime64`` arrays; powers are kW.
"""

from __future__ import annotations

import csv
import io
from importlib import resources

import numpy as np
import pandas as pd
import pvlib

from ems.constants import PV_PERFORMANCE_RATIO
from ems.parktime import DEFAULT_TIMEZONE, Zone, local_hours


def _read_load_shapes() -> dict[str, tuple[float, ...]]:
    text = resources.files("ems").joinpath("load_shapes.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    if [int(r["hour"]) for r in rows] != list(range(24)):
        raise ValueError("load_shapes.csv must have one row per hour 0..23")
    return {c: tuple(float(r[c]) for r in rows) for c in rows[0] if c != "hour"}


# Hourly load shape per category, fraction of peak, local time 00..23 (data file ``load_shapes.csv``).
# Illustrative shapes of the categories (continuous process industries run flat; EV charging peaks
# in the valley tariff at night and at midday; offices follow working hours).
LOAD_SHAPES: dict[str, tuple[float, ...]] = _read_load_shapes()


def clear_sky_ghi(times_utc: np.ndarray, latitude: float, longitude: float, altitude_m: float = 0.0) -> np.ndarray:
    """Clear-sky global horizontal irradiance [W/m²] (Haurwitz 1945 model).

    Solar zenith from pvlib's NREL SPA (numpy). Haurwitz needs no turbidity data,
    which keeps the function deterministic and offline.
    """
    idx = pd.DatetimeIndex(np.asarray(times_utc, dtype="datetime64[ns]"), tz="UTC")
    sp = pvlib.solarposition.get_solarposition(idx, latitude, longitude, altitude=altitude_m, method="nrel_numpy")
    ghi = pvlib.clearsky.haurwitz(sp["apparent_zenith"])["ghi"].to_numpy()
    return np.nan_to_num(ghi, nan=0.0)


def clear_sky_index(n: int, rng: np.random.Generator, cloudiness: float = 0.3, step_minutes: float = 1.0) -> np.ndarray:
    """Cloud variability: clear-sky index in [0.15, 1.05] as a mean-reverting random walk.

    ``cloudiness`` 0 gives clear sky, 1 a heavily overcast day. The correlation time
    is about 30 minutes regardless of ``step_minutes``.
    """
    if n == 0:
        return np.zeros(0)
    mean = 1.0 - 0.7 * cloudiness
    phi = float(np.exp(-step_minutes / 30.0))
    sigma = 0.25 * cloudiness * np.sqrt(1 - phi**2)
    shocks = rng.normal(0.0, sigma, n)
    x = np.empty(n)
    x[0] = mean
    for i in range(1, n):
        x[i] = mean + phi * (x[i - 1] - mean) + shocks[i]
    return np.clip(x, 0.15, 1.05)


def pv_power_kw(
    ghi_w_m2: np.ndarray, dc_kwp: float, p_rated_kw: float, performance_ratio: float = PV_PERFORMANCE_RATIO
) -> np.ndarray:
    """AC output of a PV plant [kW] from irradiance: ``min(dc_kwp · PR · G / 1000, p_rated_kw)``.

    A plane-of-array transposition is deliberately left out: the demo roofs are
    near-horizontal (tilt ≤ 15°), where GHI and POA differ by a few percent.
    """
    return np.minimum(dc_kwp * performance_ratio * np.asarray(ghi_w_m2) / 1000.0, p_rated_kw)


def wind_power_kw(
    wind_speed_m_s: np.ndarray,
    p_rated_kw: float,
    power_curve: list[tuple[float, float]],
    cut_out_m_s: float = 25.0,
) -> np.ndarray:
    """Turbine output [kW] by linear interpolation of the power curve; zero above cut-out."""
    v = np.asarray(wind_speed_m_s, dtype=float)
    speeds = np.array([s for s, _ in power_curve])
    fractions = np.array([f for _, f in power_curve])
    p = np.interp(v, speeds, fractions, left=0.0, right=0.0) * p_rated_kw
    p[v >= cut_out_m_s] = 0.0
    return p


def wind_speed_series(
    times_utc: np.ndarray,
    rng: np.random.Generator,
    mean_m_s: float = 7.0,
    step_minutes: float = 1.0,
    tz: Zone = DEFAULT_TIMEZONE,
) -> np.ndarray:
    """Hub-height wind speed [m/s]: a mean-reverting process with a weak diurnal cycle (coastal sea
    breeze, strongest at 17:00 park time ``tz``)."""
    n = len(times_utc)
    if n == 0:
        return np.zeros(0)
    hours = local_hours(times_utc, tz)
    diurnal = 1.0 + 0.15 * np.sin(2 * np.pi * (hours - 11) / 24)  # sin peaks at hours - 11 = 6
    phi = float(np.exp(-step_minutes / 180.0))
    sigma = 0.35 * np.sqrt(1 - phi**2)
    z = np.empty(n)
    z[0] = rng.normal(0, 0.35)
    shocks = rng.normal(0.0, sigma, n)
    for i in range(1, n):
        z[i] = phi * z[i - 1] + shocks[i]
    return np.clip(mean_m_s * diurnal * np.exp(z - 0.06), 0.0, 40.0)


def load_power_kw(
    times_utc: np.ndarray,
    p_peak_kw: float,
    category: str,
    tz: Zone = DEFAULT_TIMEZONE,
    rng: np.random.Generator | None = None,
    noise: float = 0.02,
) -> np.ndarray:
    """Load consumption [kW, positive] from the category's hourly shape at park time ``tz``, linearly
    interpolated."""
    try:
        shape = np.array(LOAD_SHAPES[category] + (LOAD_SHAPES[category][0],))
    except KeyError:
        raise KeyError(f"unknown load category {category!r}; known: {', '.join(LOAD_SHAPES)}") from None
    p = np.interp(local_hours(times_utc, tz), np.arange(25), shape) * p_peak_kw
    if rng is not None and noise > 0:
        p = p * (1 + rng.normal(0, noise, len(p)))
    return np.clip(p, 0.0, None)
