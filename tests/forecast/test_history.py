"""The store adapter: interval powers and wind speeds from real PostgreSQL rollups."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ems.forecast.history import history_from_store
from ems.park import Park
from ems.store import Store
from ems.telemetry import ReadingBatch, to_us

START = dt.datetime(2026, 1, 5, 0, 0, tzinfo=dt.UTC)


def _batch(device: str, quantity: str, values: np.ndarray) -> ReadingBatch:
    n = len(values)
    t = to_us(START) + np.arange(n, dtype=np.int64) * 60_000_000  # one reading per minute
    return ReadingBatch(
        t,
        np.full(n, device, dtype=object),
        np.full(n, quantity, dtype=object),
        values.astype(float),
        np.zeros(n, dtype=np.int16),
    )


def test_history_from_store_powers_and_wind(store: Store, tiny_park: Park) -> None:
    minutes = 120
    pv = np.where(np.arange(minutes) < 60, 100.0, 40.0)  # 100 kW in the first hour, 40 kW in the second
    store.ingest(_batch("PV1", "p_kw", pv))
    store.ingest(_batch("LOAD1", "p_kw", np.full(minutes, -300.0)))  # generator convention: consuming 300 kW
    minute = np.arange(minutes)
    store.ingest(_batch("WT1", "wind_speed_m_s", 5.0 + minute // 15 + 0.1 * (minute % 15 - 7)))
    hist = history_from_store(store, tiny_park, START, START + dt.timedelta(hours=3))
    assert len(hist.times) == 12
    # energy / interval length: 100 kW for four intervals, 40 kW for four, then nothing measured (NaN)
    np.testing.assert_allclose(hist.power_kw["PV1"][:8], [100] * 4 + [40] * 4, rtol=1e-6)
    assert np.isnan(hist.power_kw["PV1"][8:]).all()
    np.testing.assert_allclose(hist.power_kw["LOAD1"][:8], 300.0, rtol=1e-6)  # consumption, positive
    # interval k holds 5 + k ± a ramp symmetric about its middle minute: the mean is exactly 5 + k
    np.testing.assert_allclose(hist.wind_speed_m_s["WT1"][:8], 5.0 + np.arange(8))
    assert np.isnan(hist.wind_speed_m_s["WT1"][8:]).all()
