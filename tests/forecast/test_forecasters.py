"""Forecasters on synthetic histories whose answer is known by construction."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ems.forecast import History, accuracy, forecast_park, interval_times, make_forecaster
from ems.forecast.clear_sky_pv import ClearSkyPv
from ems.forecast.park import ParkHistory
from ems.forecast.persistence import Persistence
from ems.forecast.power_curve_wind import PowerCurveWind
from ems.forecast.similar_day_load import SimilarDayLoad
from ems.park import Park
from ems.profiles import clear_sky_ghi

# Monday 2026-03-02 00:00 local (UTC+8) = Sunday 16:00 UTC
START_LOCAL_MONDAY = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)


def _history(values: np.ndarray, start: dt.datetime = START_LOCAL_MONDAY) -> History:
    return History(interval_times(start, len(values), 15), np.asarray(values, dtype=float), 15)


def test_persistence_same_time_yesterday_and_last_value() -> None:
    h = _history(np.arange(96.0))  # one day: value = interval index
    target = interval_times(START_LOCAL_MONDAY + dt.timedelta(days=1), 96 * 2, 15)
    f = Persistence().forecast(h, target)
    # next day repeats yesterday; the day after repeats it again (two periods back)
    np.testing.assert_array_equal(f, np.concatenate([np.arange(96.0), np.arange(96.0)]))
    values = np.arange(96.0)
    values[10] = np.nan
    f2 = Persistence().forecast(_history(values), target[:12])
    assert f2[10] == 95.0  # missing yesterday -> last measured value
    assert Persistence().forecast(_history(np.array([])), target[:3]).tolist() == [0.0, 0.0, 0.0]


def test_clear_sky_pv_recovers_the_recent_index() -> None:
    f = ClearSkyPv(latitude=33.35, longitude=120.16, dc_kwp=1200.0, p_rated_kw=1000.0)
    hist_times = interval_times(START_LOCAL_MONDAY, 96 * 3, 15)
    measured = 0.6 * f.clear_sky_kw(hist_times)  # three days at 60 % of clear sky
    h = History(hist_times, measured, 15)
    assert f.recent_index(h) == pytest.approx(0.6, abs=1e-12)
    target = interval_times(START_LOCAL_MONDAY + dt.timedelta(days=3), 96, 15)
    out = f.forecast(h, target)
    # independent expectation: Haurwitz clear sky (pvlib) -> 1200 kWp · 0.82 · G/1000,
    # capped at 1000 kW, × 0.6
    ghi = clear_sky_ghi(target, 33.35, 120.16)
    np.testing.assert_allclose(out, 0.6 * np.minimum(1200 * 0.82 * ghi / 1000, 1000), atol=1e-9)
    local_hour = (target.astype("datetime64[m]").astype(np.int64) / 60 + 8) % 24
    assert np.all(out[(local_hour < 5) | (local_hour > 20)] == 0)  # night
    assert out.max() > 400  # a March noon in Jiangsu
    assert f.recent_index(History(hist_times[:0], measured[:0], 15)) == f.default_index


def test_power_curve_wind_from_constant_speed_and_relaxation() -> None:
    curve = [(3.0, 0.0), (10.0, 0.71), (12.5, 1.0), (25.0, 1.0)]
    f = PowerCurveWind(p_rated_kw=5000, power_curve=curve, count=4)
    h = _history(np.full(96, 10.0))
    target = interval_times(START_LOCAL_MONDAY + dt.timedelta(days=1), 8, 15)
    # 4 turbines · 5000 kW · curve(10 m/s) = 0.71
    np.testing.assert_allclose(f.forecast(h, target), 4 * 5000 * 0.71)
    speeds = np.full(96, 8.0)
    speeds[-1] = 12.0  # mean of the window = (95·8 + 12)/96
    h2 = _history(speeds)
    t_last = h2.times[-1]
    six_h = np.array([t_last + np.timedelta64(6, "h")])
    mean = (95 * 8 + 12) / 96
    assert f.speed_forecast(h2, six_h)[0] == pytest.approx(mean + (12 - mean) * np.exp(-1.0))
    assert f.power(np.array([26.0]))[0] == 0.0  # beyond cut-out


def test_similar_day_load_separates_weekends() -> None:
    # three weeks from a local Monday: working days 100 kW, weekend days 50 kW
    days = 21
    day_values = [50.0 if (d % 7) >= 5 else 100.0 for d in range(days)]
    values = np.repeat(day_values, 96)
    h = _history(values)
    sat = interval_times(START_LOCAL_MONDAY + dt.timedelta(days=days + 5), 96, 15)
    mon = interval_times(START_LOCAL_MONDAY + dt.timedelta(days=days), 96, 15)
    f = SimilarDayLoad()
    np.testing.assert_allclose(f.forecast(h, sat), 50.0)
    np.testing.assert_allclose(f.forecast(h, mon), 100.0)
    # persistence (yesterday = Sunday) gets Monday wrong by 50 kW; similar day has no error
    actual = np.full(96, 100.0)
    acc = accuracy(f.forecast(h, mon), actual, Persistence().forecast(h, mon))
    assert acc.mae == 0.0 and acc.skill_vs_persistence == 1.0


def test_accuracy_metrics_by_hand() -> None:
    # errors (forecast − actual) = [0, 1, −2], the NaN interval ignored
    acc = accuracy(np.array([1.0, 2.0, 3.0, np.nan]), np.array([1.0, 1.0, 5.0, 4.0]))
    assert acc.n == 3
    assert acc.mae == pytest.approx(1.0)
    assert acc.rmse == pytest.approx(np.sqrt(5 / 3))
    assert acc.bias == pytest.approx(-1 / 3)
    with pytest.raises(ValueError, match="shape"):
        accuracy(np.zeros(2), np.zeros(3))


def test_registry_rejects_unknown_names() -> None:
    assert make_forecaster("persistence").name == "persistence"
    with pytest.raises(KeyError, match="known: persistence"):
        make_forecaster("crystal_ball")


def test_forecast_park_uses_defaults_and_falls_back(demo_park: Park) -> None:
    times = interval_times(START_LOCAL_MONDAY, 96 * 7, 15)
    hist = ParkHistory(times, 15)
    for d in demo_park.devices_of("load"):
        hist.power_kw[d.id] = np.full(len(times), 0.5 * d.p_peak_kw)
    for d in demo_park.devices_of("pv"):
        hist.power_kw[d.id] = np.zeros(len(times))
    hist.power_kw["WIND"] = np.full(len(times), 7000.0)  # no wind speed measured
    fc = forecast_park(demo_park, hist, START_LOCAL_MONDAY + dt.timedelta(days=7), 96)
    assert fc.methods["PV_CELLS"] == "clear_sky_pv" and fc.methods["LOAD_CELLS"] == "similar_day_load"
    assert fc.methods["WIND"] == "persistence"
    np.testing.assert_allclose(fc.wind_kw["WIND"], 7000.0)
    np.testing.assert_allclose(fc.load_kw["LOAD_CELLS"], 11000.0)
    assert fc.T == 96 and fc.pv_kw["PV_CELLS"].max() == 0.0  # measured nothing -> index 0
