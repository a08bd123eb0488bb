"""Issue 15 (uncertainty): the live planner plans the peak margin learned from its own stored forecasts."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ems.forecast.stored_margin import stored_margin_kw
from ems.park import Park
from ems.store import Store
from ems.synthetic import synthesize
from entrypoints.operate.mpc_step import Planner

T0 = dt.datetime(2026, 5, 4, 0, 0, tzinfo=dt.UTC)  # 08:00 park time


def test_planner_learns_the_margin_from_its_stored_forecasts(store: Store, tiny_park: Park) -> None:
    """The first plan has no scored forecast (no margin); six hours later its forecast has 24 metered
    intervals, enough for the margin (ems.forecast.peak_margin.DEFAULT_MIN_SAMPLES), which the second plan
    carries, covered by battery headroom (the live import guard lets the batteries absorb errors)."""
    syn = synthesize(tiny_park, T0 - dt.timedelta(days=1), hours=31, step_s=60, seed=3)
    store.ingest(syn.batch, now=T0 + dt.timedelta(days=1))
    planner = Planner(tiny_park, store, ac_check=False, history_days=1, peak_margin_quantile=0.95)
    first = planner.plan(T0, T0)
    assert np.all(np.asarray(first.problem.peak_margin_kw) == 0)
    later = T0 + dt.timedelta(hours=6)
    second = planner.plan(later, later)
    assert second.schedule.status == "optimal", second.schedule.fallback_reason
    margin = np.asarray(second.problem.peak_margin_kw)
    assert margin.shape == (planner.horizon,) and margin.max() > 0
    np.testing.assert_array_equal(margin, stored_margin_kw(store, tiny_park, later, 1, planner.horizon, 0.95))
    assert second.problem.peak_margin_from_batteries
