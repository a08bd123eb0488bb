"""Issued forecasts as stored runs: save, load, and evaluate them against what was then measured.

The SQL is in :mod:`ems.store.forecasts`; this module converts a :class:`Forecast` to and
from its rows and computes accuracy (:func:`ems.forecast.accuracy.accuracy`).
:func:`evaluate_metered` is what the running system calls after each metered interval: every
run with an interval in the newly metered window is scored over all its intervals metered so
far (so a run's figures grow as its horizon is metered, and late data is taken in).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import psycopg

from ems.forecast.accuracy import Accuracy, accuracy
from ems.forecast.base import Forecast, History, interval_times
from ems.forecast.history import history_from_store
from ems.forecast.persistence import Persistence
from ems.park import Park
from ems.store import Store
from ems.store.errors import StoreError
from ems.store.forecasts import (
    AccuracyRow,
    ForecastRun,
    SeriesRow,
    forecast_run,
    insert_forecast_run,
    runs_overlapping,
    upsert_accuracy,
)


def forecast_rows(fc: Forecast) -> list[SeriesRow]:
    """Every series of ``fc`` as a stored row (device powers kW, price CNY/kWh, factor kgCO2/kWh)."""
    rows: list[SeriesRow] = []
    for kind, group in (
        ("pv", fc.pv_kw),
        ("wind", fc.wind_kw),
        ("load", fc.load_kw),
        ("direct", fc.direct_avail_kw),
    ):
        for dev, vals in group.items():
            rows.append(SeriesRow(dev, kind, fc.methods.get(dev, "input"), "kW", _floats(vals)))
    if fc.import_price is not None:
        rows.append(SeriesRow("price", "price", "tariff", "CNY/kWh", _floats(fc.import_price)))
    if fc.ef_kg_per_kwh is not None:
        rows.append(SeriesRow("ef", "ef", fc.ef_source or "input", "kgCO2/kWh", _floats(fc.ef_kg_per_kwh)))
    return rows


def _floats(vals: np.ndarray) -> list[float]:
    return np.asarray(vals, dtype=float).tolist()


def save_forecast(conn: psycopg.Connection, fc: Forecast, note: str = "") -> int:
    """Store every series of ``fc``; returns the forecast run id."""
    if fc.T == 0:
        raise StoreError("forecast has no intervals")
    return insert_forecast_run(conn, fc.start, fc.interval_minutes, forecast_rows(fc), note)


def load_forecast(conn: psycopg.Connection, run_id: int) -> Forecast:
    """The forecast stored as ``run_id``."""
    return _forecast_of(forecast_run(conn, run_id))


def _forecast_of(run: ForecastRun) -> Forecast:
    fc = Forecast(run.start, run.interval_minutes)
    groups = {"pv": fc.pv_kw, "wind": fc.wind_kw, "load": fc.load_kw, "direct": fc.direct_avail_kw}
    for row in run.series:
        arr = np.array(row.vals, dtype=float)
        if row.kind == "price":
            fc.import_price = arr
        elif row.kind == "ef":
            fc.ef_kg_per_kwh, fc.ef_source = arr, row.method
        else:
            groups[row.kind][row.series] = arr
            fc.methods[row.series] = row.method
    return fc


def evaluate_forecast(
    conn: psycopg.Connection,
    run_id: int,
    actual: dict[str, np.ndarray],
    persistence: dict[str, np.ndarray] | None = None,
) -> dict[str, Accuracy]:
    """Compute and store MAE/RMSE/bias of each series of run ``run_id`` that has an ``actual`` array.

    Re-evaluating (e.g. once late data arrived) replaces the earlier figures of that run.
    """
    fc = load_forecast(conn, run_id)
    groups = {**fc.pv_kw, **fc.wind_kw, **fc.load_kw, **fc.direct_avail_kw}
    out: dict[str, Accuracy] = {}
    rows = []
    for series, values in actual.items():
        if series not in groups:
            raise StoreError(f"forecast run {run_id} has no series {series!r}")
        acc = accuracy(groups[series], values, (persistence or {}).get(series))
        out[series] = acc
        rows.append(_row(run_id, series, fc, acc))
    upsert_accuracy(conn, rows)
    return out


def _row(run_id: int, series: str, fc: Forecast, acc: Accuracy) -> AccuracyRow:
    return AccuracyRow(
        run_id,
        series,
        fc.methods.get(series, "input"),
        acc.n,
        _num(acc.mae),
        _num(acc.rmse),
        _num(acc.bias),
        acc.skill_vs_persistence,
    )


def _num(x: float) -> float | None:
    return None if np.isnan(x) else x


def evaluate_metered(
    store: Store, park: Park, since: dt.datetime, until: dt.datetime, min_coverage: float = 0.5
) -> dict[int, dict[str, Accuracy]]:
    """Score every stored run with an interval in [since, until) against the metered average power of
    its PV, wind and load devices (:func:`~ems.forecast.history.history_from_store`) over its intervals
    before ``until``, with skill against same-time-yesterday persistence; stores and returns the figures.

    Intervals not metered (yet), or with less than ``min_coverage`` of samples, count as missing (``n``).
    """
    with store.connection() as conn:
        runs = [r for r in runs_overlapping(conn, since, until) if r.interval_minutes == park.interval_minutes]
    if not runs:
        return {}
    # one fetch: a day before the oldest run (for persistence) up to what is metered
    hist = history_from_store(store, park, min(r.start for r in runs) - dt.timedelta(days=1), until, min_coverage)
    until64 = np.datetime64(until.astimezone(dt.UTC).replace(tzinfo=None), "us")
    out: dict[int, dict[str, Accuracy]] = {}
    rows: list[AccuracyRow] = []
    for run in runs:
        fc = _forecast_of(run)
        times = interval_times(run.start, fc.T, run.interval_minutes)
        start64 = times[0]
        for series, values in {**fc.pv_kw, **fc.wind_kw, **fc.load_kw}.items():
            if series not in hist.power_kw:
                continue
            measured = hist.series(series)
            actual = np.where(times < until64, measured.at(times), np.nan)
            before = measured.times < start64
            persistence = Persistence().forecast(
                History(measured.times[before], measured.values[before], measured.interval_minutes), times
            )
            acc = accuracy(values, actual, persistence)
            if acc.n == 0:  # nothing of this run metered yet
                continue
            out.setdefault(run.run_id, {})[series] = acc
            rows.append(_row(run.run_id, series, fc, acc))
    if rows:
        with store.connection() as conn:
            upsert_accuracy(conn, rows)
    return out
