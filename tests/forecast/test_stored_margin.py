"""Issue 15 (uncertainty): the peak margin of a running system, from stored forecast runs scored against
metered telemetry (real PostgreSQL), checked against the synthetic generator's own samples."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ems.forecast import Forecast
from ems.forecast.runs import save_forecast
from ems.forecast.stored_margin import stored_margin_kw
from ems.park import Park
from ems.store import Store
from ems.synthetic import synthesize

T0 = dt.datetime(2026, 5, 4, 2, 0, tzinfo=dt.UTC)  # 10:00 park time
N = 8  # 2 h of 15-min intervals


def test_margin_from_stored_runs_and_metered_net_load(store: Store, tiny_park: Park) -> None:
    """Run A from T0 (load 210, PV 50, wind 10 kW: net 150 kW), run B from T0 + 30 min (net 100 kW), both
    8 intervals; metered up to T0 + 2 h. Lead k: A's error at interval k, B's at interval k + 2 (B's leads
    6 and 7 are not metered yet). With q = 0.5 and ``min_samples`` 1 the margin is the mean of the two
    errors, or A's alone at leads 6 and 7, not below 0. Expected from the generator's 1-minute samples
    (net load = −(load + PV + wind) in its generator convention), not from the store's rollups."""
    syn = synthesize(tiny_park, T0 - dt.timedelta(days=1), hours=26, step_s=60, seed=7)
    store.ingest(syn.batch, now=T0 + dt.timedelta(days=1))
    a = Forecast(T0, 15, {"PV1": np.full(N, 50.0)}, {"WT1": np.full(N, 10.0)}, {"LOAD1": np.full(N, 210.0)})
    b = Forecast(T0 + dt.timedelta(minutes=30), 15, load_kw={"LOAD1": np.full(N, 100.0)})
    old = Forecast(T0 - dt.timedelta(days=2), 15, load_kw={"LOAD1": np.full(N, 0.0)})  # outside the window
    with store.connection() as conn:
        for fc in (a, b, old):
            save_forecast(conn, fc)

    minute = -(syn.p_kw["LOAD1"] + syn.p_kw["PV1"] + syn.p_kw["WT1"])
    start = 24 * 60  # T0 in minutes after the data start
    actual = np.array([minute[start + 15 * k : start + 15 * (k + 1)].mean() for k in range(N)])
    err_a = actual - 150.0
    err_b = np.full(N, np.nan)
    err_b[:6] = actual[2:] - 100.0
    expected = np.maximum(np.nanmean(np.vstack([err_a, err_b]), axis=0), 0.0)

    got = stored_margin_kw(store, tiny_park, T0 + dt.timedelta(hours=2), 1.0, N, quantile=0.5, min_samples=1)
    np.testing.assert_allclose(got, expected, atol=0.5)
    assert got.max() > 50 and got.min() == 0  # not vacuous: large errors and clipped ones (net load fell)
    # nothing issued in the window: no margin
    none = stored_margin_kw(store, tiny_park, T0 - dt.timedelta(hours=3), 0.5, N)
    np.testing.assert_array_equal(none, np.zeros(N))
