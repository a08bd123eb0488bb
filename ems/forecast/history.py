"""Thin adapter: a :class:`~ems.forecast.park.ParkHistory` from the telemetry store.

Average power per interval = energy of the interval / covered time (``interval_energy``
rollups: energy and the share of the interval covered by samples); intervals with coverage
below ``min_coverage`` are NaN. Wind speed is the
mean of the raw readings inside each interval.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ems.forecast.park import ParkHistory
from ems.park import Load, Park, PvPlant, WindTurbine
from ems.store import Store


def history_from_store(
    store: Store, park: Park, start: dt.datetime, end: dt.datetime, min_coverage: float = 0.5
) -> ParkHistory:
    """Measured history of every PV, wind and load device of ``park`` in [start, end)."""
    devices = [d.id for d in park.devices if isinstance(d, PvPlant | WindTurbine | Load)]
    ie = store.interval_energy(start, end, devices)
    h = park.interval_minutes / 60.0
    hist = ParkHistory(ie.starts, park.interval_minutes)
    for i, dev in enumerate(ie.devices):
        is_load = isinstance(park.device(dev), Load)
        energy = ie.e_in_kwh[i] if is_load else ie.e_out_kwh[i]
        cov = ie.coverage[i]
        # average over the covered part of the interval; too little coverage = unknown
        hist.power_kw[dev] = np.where(cov >= min_coverage, energy / (h * np.maximum(cov, 1e-9)), np.nan)
    step_us = park.interval_minutes * 60_000_000
    t0 = ie.starts[0].astype(np.int64) if len(ie.starts) else 0
    for w in park.devices_of("wind"):
        t_us, v = store.raw(w.id, "wind_speed_m_s", start, end)
        if len(t_us) == 0:
            continue
        k = (t_us - t0) // step_us
        ok = (k >= 0) & (k < len(ie.starts))
        sums = np.bincount(k[ok], weights=v[ok], minlength=len(ie.starts))
        counts = np.bincount(k[ok], minlength=len(ie.starts))
        hist.wind_speed_m_s[w.id] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return hist
