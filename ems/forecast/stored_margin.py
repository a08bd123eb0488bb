"""The peak-import safety margin of a running system: stored forecast runs against metered telemetry.

The forecast runs issued in the last ``days`` before ``until`` (:mod:`ems.store.forecasts`) are scored
against the metered net load of the same intervals (:func:`~ems.forecast.history.history_from_store`:
interval means, NaN below ``min_coverage``) and the margin per lead time is computed by
:mod:`ems.forecast.peak_margin`. An interval counts only where every PV, wind and load device of the
park is metered (the net load is their sum); a run counts with the PV, wind and load series it has.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ems.forecast.history import history_from_store
from ems.forecast.peak_margin import DEFAULT_MIN_SAMPLES, DEFAULT_QUANTILE, NetLoadErrorWindow
from ems.park import Load, Park, PvPlant, WindTurbine
from ems.store import Store
from ems.store.forecasts import runs_overlapping

_SIGN = {"load": 1.0, "pv": -1.0, "wind": -1.0}  # net load = loads − PV − wind


def stored_margin_kw(
    store: Store,
    park: Park,
    until: dt.datetime,
    days: float,
    horizon: int,
    quantile: float = DEFAULT_QUANTILE,
    min_samples: int = DEFAULT_MIN_SAMPLES,
    min_coverage: float = 0.5,
) -> np.ndarray:
    """Margin per lead time [kW] (length ``horizon``) from the runs that started in the ``days`` before
    ``until`` and what was metered before ``until`` (module docstring)."""
    since = until - dt.timedelta(days=days)
    with store.connection() as conn:
        runs = [
            r
            for r in runs_overlapping(conn, since, until)
            if r.interval_minutes == park.interval_minutes and r.start >= since
        ]
    if not runs:
        return np.zeros(horizon)
    hist = history_from_store(store, park, since, until, min_coverage)
    if len(hist.times) == 0:
        return np.zeros(horizon)
    metered = np.zeros(len(hist.times))
    for d in park.devices:
        if isinstance(d, Load):
            metered += hist.series(d.id).values
        elif isinstance(d, PvPlant | WindTurbine):
            metered -= hist.series(d.id).values
    origin = hist.times[0]
    step = np.timedelta64(park.interval_minutes, "m").astype("timedelta64[us]")
    window = NetLoadErrorWindow(horizon, len(runs), quantile, min_samples)
    for run in runs:
        offset = np.datetime64(run.start.astimezone(dt.UTC).replace(tzinfo=None), "us") - origin
        if offset % step:  # not on the interval grid of the metered series
            continue
        n = max((len(s.vals) for s in run.series), default=0)
        net = np.zeros(n)
        for s in run.series:
            if s.kind in _SIGN:
                net += _SIGN[s.kind] * np.asarray(s.vals, dtype=float)
        window.record(int(offset // step), net)
    return window.margin_kw(metered, len(hist.times))
