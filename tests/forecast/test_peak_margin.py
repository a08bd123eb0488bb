"""Issue 15 (uncertainty): the peak-import safety margin learned from net-load forecast errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ems.forecast.base import Forecast
from ems.forecast.peak_margin import NetLoadErrorWindow, margin_from_errors, net_load_kw


def test_quantile_of_a_known_error_series() -> None:
    """Errors 1, 2, ..., 100 kW at one lead. Hyndman & Fan definition 7 (numpy's default): position
    h = (n − 1)·q = 99 · 0.95 = 94.05 in the sorted series counted from 0, so
    Q = x[94] + 0.05·(x[95] − x[94]) = 95 + 0.05 · 1 = 95.05 kW; the median is (50 + 51)/2 = 50.5 kW."""
    errors = np.arange(1.0, 101.0)[:, None]
    assert margin_from_errors(errors, 0.95, min_samples=1)[0] == pytest.approx(95.05, abs=1e-12)
    assert margin_from_errors(errors, 0.5, min_samples=1)[0] == pytest.approx(50.5, abs=1e-12)
    shuffled = np.random.default_rng(0).permutation(errors)  # order does not matter
    assert margin_from_errors(shuffled, 0.95, min_samples=1)[0] == pytest.approx(95.05, abs=1e-12)


def test_leads_with_few_errors_take_the_pooled_quantile_and_negative_gives_zero() -> None:
    """Lead 0 has errors −4..5 (10 values), lead 1 only 100 (1 value), lead 2 −10, −20 (all below zero).
    With ``min_samples`` 5: lead 0 keeps its own 0.9-quantile, h = 9·0.9 = 8.1 → 4 + 0.1·1 = 4.1 kW; lead 1
    takes the pooled one over all 13 values (sorted −20, −10, −4..5, 100), h = 12·0.9 = 10.8 →
    x[10] + 0.8·(x[11] − x[10]) = 4 + 0.8·1 = 4.8 kW; so does lead 2, 4.8 kW (pooled) even though its own is negative.
    With ``min_samples`` 1 lead 2's own quantile is −11 kW, given as 0."""
    e = np.full((10, 3), np.nan)
    e[:, 0] = np.arange(-4.0, 6.0)
    e[0, 1] = 100.0
    e[:2, 2] = [-10.0, -20.0]
    np.testing.assert_allclose(margin_from_errors(e, 0.9, min_samples=5), [4.1, 4.8, 4.8], atol=1e-12)
    assert margin_from_errors(e, 0.9, min_samples=1)[2] == 0.0
    np.testing.assert_array_equal(margin_from_errors(np.full((3, 4), np.nan), 0.95), np.zeros(4))
    with pytest.raises(ValueError, match="quantile"):
        margin_from_errors(e, 1.0)


def test_window_scores_runs_against_what_was_metered_before_now() -> None:
    """Runs at intervals 0 and 2, three leads each; metered net load 10, 11, 12, 9, 15 kW; at ``now`` = 4
    interval 4 is not metered yet: run 0 errors 10−8, 11−10, 12−13 = 2, 1, −1; run 2 errors 12−10, 9−10 and
    NaN. The oldest run leaves the window when a third is recorded (``window_runs`` 2); at ``now`` = 5 run 2's
    last lead is metered (15 − 10 = 5) and run 3 has 9 − 9, 15 − 9 and NaN."""
    w = NetLoadErrorWindow(3, window_runs=2, quantile=0.5, min_samples=1)
    w.record(0, np.array([8.0, 10.0, 13.0]))
    w.record(2, np.array([10.0, 10.0, 10.0]))
    metered = np.array([10.0, 11.0, 12.0, 9.0, 15.0])
    np.testing.assert_array_equal(w.errors(metered, 4), [[2.0, 1.0, -1.0], [2.0, -1.0, np.nan]])
    np.testing.assert_allclose(w.margin_kw(metered, 4), [2.0, 0.0, 0.0])  # medians 2, 0, −1 -> 0
    w.record(3, np.array([9.0, 9.0, 9.0]))
    np.testing.assert_array_equal(w.errors(metered, 5), [[2.0, -1.0, 5.0], [0.0, 6.0, np.nan]])


def test_net_load_is_load_minus_local_generation() -> None:
    fc = Forecast(
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        15,
        pv_kw={"PV1": np.array([0.0, 30.0])},
        wind_kw={"W1": np.array([5.0, 5.0])},
        load_kw={"L1": np.array([50.0, 60.0]), "L2": np.array([10.0, 10.0])},
    )
    np.testing.assert_allclose(net_load_kw(fc), [55.0, 35.0])
