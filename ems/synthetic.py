"""Synthetic, physically consistent telemetry for a park: demos, tests and benchmarks.

A day (or any span) of readings at a fixed step: PV from clear sky × cloud index,
wind from a wind-speed series through the power curve, loads from their
category shapes, a battery run by a simple self-consumption rule, and the grid
meter closing the balance (losses neglected). Under anti-backflow, PV is
curtailed so that the grid meter never goes negative. Deterministic from a seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ems import profiles
from ems.park import Battery, Load, Park, PvPlant, WindTurbine
from ems.telemetry import ReadingBatch, to_us


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
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 / step_s)
    t_us = to_us(start) + (np.arange(n) * step_s * 1e6).astype(np.int64)
    times = t_us.astype("datetime64[us]")
    step_min = step_s / 60.0

    p: dict[str, np.ndarray] = {}
    ghi = profiles.clear_sky_ghi(times, park.location.latitude, park.location.longitude, park.location.altitude_m)
    ghi = ghi * profiles.clear_sky_index(n, rng, cloudiness, step_min)
    wind_speed = profiles.wind_speed_series(times, rng, step_minutes=step_min, tz=park.tz)
    for d in park.devices:
        if isinstance(d, PvPlant):
            p[d.id] = profiles.pv_power_kw(ghi, d.dc_kwp, d.p_rated_kw, d.performance_ratio)
        elif isinstance(d, WindTurbine):
            p[d.id] = profiles.wind_power_kw(wind_speed, d.p_total_kw, d.power_curve, d.cut_out_m_s)
        elif isinstance(d, Load):
            p[d.id] = -profiles.load_power_kw(times, d.p_peak_kw, d.category, park.tz, rng)

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
