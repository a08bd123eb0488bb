"""Forecasts, accuracy and versioned schedules in real PostgreSQL (migration 0002)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dispatch.from_park import problem_from_park
from dispatch.rules import rule_based_schedule
from dispatch.solver import solve
from ems.forecast import Forecast
from ems.forecast.runs import evaluate_forecast, load_forecast, save_forecast
from ems.park import Park
from ems.store import Store
from ems.store.errors import StoreError
from ems.store.forecasts import accuracy_summary
from ems.store.schedules import load_schedule, save_schedule

START = dt.datetime(2026, 6, 1, 16, 0, tzinfo=dt.UTC)


def _forecast(T: int = 8) -> Forecast:
    fc = Forecast(START, 15, methods={"PV1": "clear_sky_pv", "LOAD1": "similar_day_load"})
    fc.pv_kw["PV1"] = np.linspace(0, 70, T)
    fc.wind_kw["WT1"] = np.full(T, 20.0)
    fc.load_kw["LOAD1"] = np.full(T, 300.0)
    fc.ef_kg_per_kwh = np.full(T, 0.5978)
    return fc


def test_forecast_roundtrip_and_accuracy(store: Store) -> None:
    fc = _forecast()
    with store.connection() as conn:
        run = save_forecast(conn, fc, note="test")
        back = load_forecast(conn, run)
        np.testing.assert_array_equal(back.pv_kw["PV1"], fc.pv_kw["PV1"])
        assert back.methods["PV1"] == "clear_sky_pv" and back.T == 8
        # actual load 310 kW in every interval: forecast 300 -> MAE 10, RMSE 10, bias −10 (by hand)
        acc = evaluate_forecast(conn, run, {"LOAD1": np.full(8, 310.0)})
        assert (acc["LOAD1"].mae, acc["LOAD1"].rmse, acc["LOAD1"].bias, acc["LOAD1"].n) == (
            10.0,
            10.0,
            -10.0,
            8,
        )
        run2 = save_forecast(conn, fc)
        evaluate_forecast(conn, run2, {"LOAD1": np.concatenate([np.full(4, 300.0), np.full(4, np.nan)])})
        summary = {a.series: a for a in accuracy_summary(conn)}
        # interval-weighted over both runs: (8·10 + 4·0) / 12 intervals
        assert summary["LOAD1"].intervals == 12 and summary["LOAD1"].runs == 2
        assert summary["LOAD1"].mae == pytest.approx(80 / 12)
        assert summary["LOAD1"].rmse == pytest.approx(np.sqrt(8 * 100 / 12))
        with pytest.raises(StoreError, match="no series 'NOPE'"):
            evaluate_forecast(conn, run, {"NOPE": np.zeros(8)})


def test_schedules_are_versioned_with_provenance(store: Store, tiny_park: Park) -> None:
    fc = _forecast()
    p = problem_from_park(tiny_park, fc)
    s = solve(p)
    base = rule_based_schedule(p)
    with store.connection() as conn:
        run = save_forecast(conn, fc)
        sid1, v1 = save_schedule(conn, s.to_record(), "day_ahead", forecast_run_id=run)
        sid2, v2 = save_schedule(conn, s.to_record(), "day_ahead", forecast_run_id=run)
        _, vb = save_schedule(conn, base.to_record(), "baseline")
        assert (v1, v2, vb) == (1, 2, 1) and sid2 > sid1
        latest = load_schedule(conn, "day_ahead", START)
        first = load_schedule(conn, "day_ahead", START, version=1)
        assert latest.version == 2 and first.schedule_id == sid1
        assert latest.forecast_run_id == run and latest.status == "optimal"
        assert latest.objective_mode == "lexicographic"
        np.testing.assert_allclose(latest.grid_import_kw, s.grid_import_kw)
        assert latest.devices[0]["BESS1"]["soc"] == pytest.approx(s.soc["BESS1"][0])
        assert latest.kpis["cost_cny"] == pytest.approx(s.kpis.cost_cny)
        assert latest.times[0] == START and len(latest.times) == 8
        with pytest.raises(StoreError, match="unknown schedule kind"):
            save_schedule(conn, s.to_record(), "guess")
        with pytest.raises(StoreError, match="no day_ahead schedule"):
            load_schedule(conn, "day_ahead", START, version=9)
