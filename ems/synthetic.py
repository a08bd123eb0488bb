"""Synthetic park profiles: the one source the demo, the simulator, the annual what-if and the
grid profiles compose, and the synthetic telemetry built on it.

Weather is clear-sky GHI (:func:`ems.profiles.clear_sky_ghi`) times a clear-sky index, plus one
hub-height wind speed series; each device's output follows from it (:func:`device_output_kw`:
PV through its DC rating and performance ratio, wind through its power curve, loads from their
category shape at park time). Off-site direct green plants known only by their AC rating use
:data:`ems.constants.PV_DC_AC_RATIO` / the park model's default wind curve (:func:`direct_output_kw`).

:func:`synthesize_truth` gives per-interval outputs (the demo's and the annual what-if's stand-in for
measurements); :func:`synthesize` a day (or any span) of readings at a fixed step: a battery run by a
simple self-consumption rule, and the grid meter closing the balance (losses neglected). Under
anti-backflow, PV is curtailed so that the grid meter never goes negative. Deterministic from a seed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ems import profiles
from ems.constants import PV_DC_AC_RATIO, PV_PERFORMANCE_RATIO
from ems.forecast.base import interval_times
from ems.park import Battery, DirectGreenConnection, Load, Location, Park, PvPlant, WindTurbine
from ems.parktime import Zone
from ems.telemetry import ReadingBatch, to_us


@dataclass(frozen=True)
class Weather:
    """Irradiance [W/m²] and hub-height wind speed [m/s] at ``times`` (UTC ``datetime64``)."""

    times: np.ndarray
    ghi_clear_w_m2: np.ndarray
    ghi_w_m2: np.ndarray
    wind_speed_m_s: np.ndarray


def weather(location: Location, times: np.ndarray, clear_sky_index: np.ndarray, wind_speed_m_s: np.ndarray) -> Weather:
    """Weather at ``location``: clear-sky GHI times ``clear_sky_index``, and the given wind speed."""
    clear = profiles.clear_sky_ghi(times, location.latitude, location.longitude, location.altitude_m)
    return Weather(times, clear, clear * clear_sky_index, wind_speed_m_s)


def daily_clear_sky_index(
    n: int,
    per_day: int,
    rng: np.random.Generator,
    cloudiness_of_day: Callable[[np.random.Generator], float],
    step_minutes: float,
) -> np.ndarray:
    """Clear-sky index of ``n`` steps whose cloudiness is drawn anew every ``per_day`` steps."""
    if n == 0:
        return np.zeros(0)
    return np.concatenate(
        [
            profiles.clear_sky_index(min(per_day, n - d0), rng, cloudiness_of_day(rng), step_minutes)
            for d0 in range(0, n, per_day)
        ]
    )


def pv_output_kw(d: PvPlant, ghi_w_m2: np.ndarray) -> np.ndarray:
    """Available AC output of a PV plant [kW]."""
    return profiles.pv_power_kw(ghi_w_m2, d.dc_kwp, d.p_rated_kw, d.performance_ratio)


def wind_output_kw(d: WindTurbine, wind_speed_m_s: np.ndarray) -> np.ndarray:
    """Output of all turbines of a wind device [kW]."""
    return profiles.wind_power_kw(wind_speed_m_s, d.p_total_kw, d.power_curve, d.cut_out_m_s)


def load_output_kw(d: Load, times: np.ndarray, tz: Zone, rng: np.random.Generator | None) -> np.ndarray:
    """Consumption of a load [kW, positive]: its category shape at park time with 2 % noise."""
    return profiles.load_power_kw(times, d.p_peak_kw, d.category, tz, rng)


def device_output_kw(d: object, w: Weather, tz: Zone, rng: np.random.Generator) -> np.ndarray | None:
    """PV or wind output, or load consumption [kW, all positive]; ``None`` for other devices."""
    if isinstance(d, PvPlant):
        return pv_output_kw(d, w.ghi_w_m2)
    if isinstance(d, WindTurbine):
        return wind_output_kw(d, w.wind_speed_m_s)
    if isinstance(d, Load):
        return load_output_kw(d, w.times, tz, rng)
    return None


def unit_output_kw(technology: str, w: Weather) -> np.ndarray:
    """Output of 1 kW (AC) of off-site PV or wind [kW]: PV with :data:`PV_DC_AC_RATIO` and
    :data:`PV_PERFORMANCE_RATIO`, wind with the park model's default power curve and cut-out."""
    if technology == "pv":
        return profiles.pv_power_kw(w.ghi_w_m2, PV_DC_AC_RATIO, 1.0, PV_PERFORMANCE_RATIO)
    curve = WindTurbine.model_fields["power_curve"].default
    return profiles.wind_power_kw(w.wind_speed_m_s, 1.0, curve, WindTurbine.model_fields["cut_out_m_s"].default)


def direct_output_kw(g: DirectGreenConnection, w: Weather) -> np.ndarray:
    """What a direct green connection delivers at most [kW]: its plant's output within the line capacity."""
    ac = min(g.plant_p_rated_kw, g.capacity_kw)
    if g.technology == "pv":
        return profiles.pv_power_kw(w.ghi_w_m2, g.plant_p_rated_kw * PV_DC_AC_RATIO, ac, PV_PERFORMANCE_RATIO)
    return np.minimum(unit_output_kw(g.technology, w) * g.plant_p_rated_kw, ac)


@dataclass(frozen=True)
class SyntheticDay:
    """Power per device [kW, generator convention] at each step, plus the readings batch."""

    time_us: np.ndarray
    p_kw: dict[str, np.ndarray]
    soc: dict[str, np.ndarray]
    batch: ReadingBatch


def synthesize(
    park: Park, start: dt.datetime, hours: float = 24.0, step_s: float = 60.0, seed: int = 1, cloudiness: float = 0.3
) -> SyntheticDay:
    """Readings of every device of ``park`` for ``hours`` from ``start`` every ``step_s`` (see module doc)."""
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 / step_s)
    t_us = to_us(start) + (np.arange(n) * step_s * 1e6).astype(np.int64)
    times = t_us.astype("datetime64[us]")
    step_min = step_s / 60.0

    p: dict[str, np.ndarray] = {}
    kt = profiles.clear_sky_index(n, rng, cloudiness, step_min)
    w = weather(park.location, times, kt, profiles.wind_speed_series(times, rng, step_minutes=step_min, tz=park.tz))
    ghi, wind_speed = w.ghi_w_m2, w.wind_speed_m_s
    for d in park.devices:
        out = device_output_kw(d, w, park.tz, rng)
        if out is not None:
            p[d.id] = -out if isinstance(d, Load) else out

    net = sum(p.values(), np.zeros(n))  # > 0: local surplus
    soc: dict[str, np.ndarray] = {}
    dt_h = step_s / 3600
    for b in park.devices_of("battery"):
        assert isinstance(b, Battery)
        pb = np.zeros(n)
        s = np.empty(n)
        e = b.soc_initial * b.e_rated_kwh
        for i in range(n):
            s[i] = e / b.e_rated_kwh
            if net[i] > 0:  # charge from surplus
                room = (b.soc_max * b.e_rated_kwh - e) / (b.eta_charge * dt_h)
                pb[i] = -min(net[i], b.p_charge_max_kw, max(room, 0.0))
                e += -pb[i] * b.eta_charge * dt_h
            else:  # discharge to cover deficit
                avail = (e - b.soc_min * b.e_rated_kwh) * b.eta_discharge / dt_h
                pb[i] = min(-net[i], b.p_discharge_max_kw, max(avail, 0.0))
                e -= pb[i] / b.eta_discharge * dt_h
            e *= 1 - b.self_discharge_per_h * dt_h
        p[b.id] = pb
        soc[b.id] = s
        net = net + pb

    gc = park.network.grid_connection
    grid = -net  # grid meter: positive = import
    over_export = np.maximum(-grid - gc.export_limit_kw, 0.0)
    if over_export.any():  # curtail PV (then wind) to respect the export limit
        for d in park.devices:
            if isinstance(d, PvPlant | WindTurbine):
                cut = np.minimum(p[d.id], over_export)
                p[d.id] = p[d.id] - cut
                over_export = over_export - cut
        grid = -sum((v for k, v in p.items()), np.zeros(n))
    meter = park.grid_meter
    if meter is not None:
        p[meter.id] = grid

    cols_t, cols_d, cols_q, cols_v = [], [], [], []

    def add(dev: str, qty: str, values: np.ndarray) -> None:
        cols_t.append(t_us)
        cols_d.append(np.full(n, dev, dtype=object))
        cols_q.append(np.full(n, qty, dtype=object))
        cols_v.append(values)

    for dev, values in p.items():
        add(dev, "p_kw", values)
    for dev, values in soc.items():
        add(dev, "soc_pct", 100 * values)
    if meter is not None:
        add(meter.id, "e_out_kwh", np.cumsum(np.maximum(grid, 0)) * dt_h)
        add(meter.id, "e_in_kwh", np.cumsum(np.maximum(-grid, 0)) * dt_h)
    for d in park.devices_of("wind"):
        add(d.id, "wind_speed_m_s", wind_speed)
    for d in park.devices_of("pv")[:1]:
        add(d.id, "ghi_w_m2", ghi)
    t_all = np.concatenate(cols_t)
    batch = ReadingBatch(
        t_all,
        np.concatenate(cols_d),
        np.concatenate(cols_q),
        np.concatenate(cols_v),
        np.zeros(len(t_all), dtype=np.int16),
    )
    return SyntheticDay(t_us, p, soc, batch)


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


def synthesize_truth(park: Park, start: dt.datetime, n: int, seed: int = 0, cloudiness: float = 0.3) -> ParkTruth:
    """Per-interval "truth" of a park for ``n`` intervals: weather and device outputs (the demo's stand-in
    for measurements, the annual what-if's plant); the day's cloudiness is drawn around ``cloudiness``
    (normal, σ 0.2, clipped to [0, 1])."""
    rng = np.random.default_rng(seed)
    step = park.interval_minutes
    times = interval_times(start, n, step)
    kt = daily_clear_sky_index(
        n, park.intervals_per_day, rng, lambda r: float(np.clip(r.normal(cloudiness, 0.2), 0.0, 1.0)), step
    )
    w = weather(park.location, times, kt, profiles.wind_speed_series(times, rng, step_minutes=step, tz=park.tz))
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
