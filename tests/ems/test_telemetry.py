"""Validation: every rejection reason, row by row; good rows pass untouched."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ems.park import Park
from ems.telemetry import ReadingBatch, Validator

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def test_each_reason_reported_row_by_row(tiny_park: Park) -> None:
    t = NOW - dt.timedelta(minutes=5)
    rows = [
        (t, "PV1", "p_kw", 120.0, 0),  # 0 ok
        (t, "NOPE", "p_kw", 1.0, 0),  # 1 unknown device
        (t, "PV1", "p_watts", 1.0, 0),  # 2 unknown quantity
        (t, "PV1", "soc_pct", float("nan"), 0),  # 3 NaN
        (t, "PV1", "e_out_kwh", float("inf"), 0),  # 4 inf
        (t, "PV1", "p_kw", 400 * 1.25 + 1, 0),  # 5 beyond 1.25 x 400 kW rating
        (t, "LOAD1", "p_kw", 100.0, 0),  # 6 a load injecting 100 kW (> 5 % of 500 kW peak)
        (t, "BESS1", "soc_pct", 101.0, 0),  # 7 SOC above 100 %
        (NOW + dt.timedelta(minutes=6), "PV1", "p_kw", 1.0, 0),  # 8 future beyond 300 s
        (t, "PV1", "p_kw", 1.0, 7),  # 9 bad quality flag
        (t, "PV1", "p_kw", 99.0, 0),  # 10 duplicate of row 0
        (t, "LOAD1", "p_kw", -480.0, 0),  # 11 ok
        (t, "BESS1", "p_kw", -200.0, 0),  # 12 ok (charging at rating)
    ]
    good, rejected = Validator(tiny_park).validate(ReadingBatch.from_rows(rows), now=NOW)
    reasons = {r.row: r.reason for r in rejected}
    assert reasons == {
        1: "unknown_device",
        2: "unknown_quantity",
        3: "not_finite",
        4: "not_finite",
        5: "out_of_range",
        6: "out_of_range",
        7: "out_of_range",
        8: "future",
        9: "bad_quality",
        10: "duplicate_in_batch",
    }
    assert list(good.value) == [120.0, -480.0, -200.0]
    assert "501" in next(r.detail for r in rejected if r.row == 5)


def test_late_window_and_gateway_binding(tiny_park: Park) -> None:
    rows = [(NOW - dt.timedelta(hours=3), "PV1", "p_kw", 1.0, 0), (NOW, "LOAD1", "p_kw", -1.0, 0)]
    v = Validator(tiny_park, max_age_s=3600)
    good, rejected = v.validate(ReadingBatch.from_rows(rows), now=NOW, allowed_devices={"PV1"})
    assert [(r.row, r.reason) for r in rejected] == [(0, "too_late"), (1, "forbidden_device")]
    assert len(good) == 0


def test_large_batch_validates_fast(tiny_park: Park) -> None:
    n = 200_000
    t = np.datetime64("2026-06-01T00:00:00", "us").astype(np.int64) + np.arange(n) * 1_000_000
    batch = ReadingBatch(
        t, np.full(n, "PV1", object), np.full(n, "p_kw", object), np.full(n, 10.0), np.zeros(n, np.int16)
    )
    good, rejected = Validator(tiny_park).validate(batch, now=NOW + dt.timedelta(days=10))
    assert len(good) == n and rejected == []


def test_bounds_for_every_quantity_and_timestamp(tiny_park: Park) -> None:
    """Hand limits from the tiny park file: PV1 400 kW, BESS1 ±200 kW, M_GRID meter 1000 kW; ×1.25 headroom."""
    t = NOW - dt.timedelta(minutes=5)
    rows = [
        (t, "M_GRID", "e_out_kwh", 1.7e308, 0),  # 0 a counter of 1.7e308 kWh: garbage (> 1e12 kWh)
        (t, "M_GRID", "e_in_kwh", 9.99e11, 0),  # 1 ok: below 1 PWh
        (t, "BESS1", "q_kvar", -250.0, 0),  # 2 ok: |q| <= 1.25 x 200 kvar
        (t, "BESS1", "q_kvar", 250.5, 0),  # 3 beyond 1.25 x 200 either way
        (t, "BESS1", "p_setpoint_kw", -251.0, 0),  # 4 a setpoint beyond the charge rating x 1.25
        (t, "BESS1", "p_setpoint_kw", 250.0, 0),  # 5 ok: discharge setpoint at 1.25 x 200
        (dt.datetime(1970, 1, 1, 0, 0, 5, tzinfo=dt.UTC), "PV1", "p_kw", 1.0, 0),  # 6 device clock reset
        (dt.datetime(1800, 1, 1, tzinfo=dt.UTC), "PV1", "p_kw", 2.0, 0),  # 7 garbage year
        (dt.datetime(2000, 1, 1, tzinfo=dt.UTC), "PV1", "p_kw", 3.0, 0),  # 8 ok: exactly the earliest instant
    ]
    good, rejected = Validator(tiny_park).validate(ReadingBatch.from_rows(rows), now=NOW)
    assert {r.row: r.reason for r in rejected} == {
        0: "out_of_range",
        3: "out_of_range",
        4: "out_of_range",
        6: "too_early",
        7: "too_early",
    }
    assert sorted(good.value.tolist()) == [-250.0, 3.0, 250.0, 9.99e11]
    assert "before 2000-01-01T00:00:00+00:00" in next(r.detail for r in rejected if r.row == 6)


def test_earliest_time_is_configurable(tiny_park: Park) -> None:
    rows = [(dt.datetime(2025, 12, 31, tzinfo=dt.UTC), "PV1", "p_kw", 1.0, 0)]
    v = Validator(tiny_park, min_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    good, rejected = v.validate(ReadingBatch.from_rows(rows), now=NOW)
    assert [r.reason for r in rejected] == ["too_early"] and len(good) == 0
