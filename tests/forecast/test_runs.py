"""Scoring stored forecasts against metered telemetry as intervals are metered (issue 12)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ems.forecast import Forecast
from ems.forecast.runs import evaluate_metered, save_forecast
from ems.park import Park
from ems.store import Store
from ems.store.forecasts import accuracy_rows
from ems.synthetic import synthesize

T0 = dt.datetime(2026, 5, 4, 2, 0, tzinfo=dt.UTC)  # 10:00 park time
N = 8  # 2 h of 15-min intervals


def _truth_kw(syn_p: np.ndarray, offset_min: int) -> np.ndarray:
    """Mean of the generator's 1-minute consumption per 15-min interval, ``offset_min`` after the data start."""
    return np.array([-syn_p[offset_min + 15 * k : offset_min + 15 * (k + 1)].mean() for k in range(N)])


def test_runs_are_scored_over_what_is_metered_so_far(store: Store, tiny_park: Park) -> None:
    syn = synthesize(tiny_park, T0 - dt.timedelta(days=1), hours=26, step_s=60, seed=7)
    store.ingest(syn.batch, now=T0 + dt.timedelta(days=1))
    fc = Forecast(T0, 15, methods={"LOAD1": "test"})
    fc.load_kw["LOAD1"] = np.full(N, 300.0)
    later = Forecast(T0 + dt.timedelta(hours=3), 15)  # starts after everything metered: never scored
    later.load_kw["LOAD1"] = np.full(N, 300.0)
    with store.connection() as conn:
        run = save_forecast(conn, fc)
        run_later = save_forecast(conn, later)

    # independent figures from the generator's own samples (not the store's energy rollups)
    actual = _truth_kw(syn.p_kw["LOAD1"], 24 * 60)
    yesterday = _truth_kw(syn.p_kw["LOAD1"], 0)
    err = np.abs(300.0 - actual)

    half = evaluate_metered(store, tiny_park, T0, T0 + dt.timedelta(hours=1))
    assert set(half) == {run} and half[run]["LOAD1"].n == 4
    assert half[run]["LOAD1"].mae == pytest.approx(err[:4].mean(), rel=0.01)

    # an hour later the same run is scored again over all 8 intervals; its row is replaced, not added
    full = evaluate_metered(store, tiny_park, T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2))
    acc = full[run]["LOAD1"]
    assert acc.n == N and acc.mae == pytest.approx(err.mean(), rel=0.01)
    # skill against same-time-yesterday persistence: 1 - MAE / MAE_persistence
    skill = 1 - err.mean() / np.abs(yesterday - actual).mean()
    assert acc.skill_vs_persistence == pytest.approx(skill, abs=0.02)
    with store.connection() as conn:
        rows = accuracy_rows(conn, run)
        assert [(r.series, r.n, r.method) for r in rows] == [("LOAD1", N, "test")]
        assert accuracy_rows(conn, run_later) == []
