"""Telemetry store against a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pglast
import pytest

from ems.store import Store
from ems.store.backend import PLAIN_DIR, TIMESCALE_DIR
from ems.telemetry import ReadingBatch, to_us

T0 = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(days=30)


def _series(device: str, quantity: str, t_s: np.ndarray, values: np.ndarray) -> ReadingBatch:
    n = len(t_s)
    return ReadingBatch(
        to_us(T0) + (np.asarray(t_s) * 1_000_000).astype(np.int64),
        np.full(n, device, object),
        np.full(n, quantity, object),
        np.asarray(values, float),
        np.zeros(n, np.int16),
    )


def _hold_integral_kwh(t_s: np.ndarray, p_kw: np.ndarray, gap_s: int, bucket_s: int, n_buckets: int):
    """Independent reference: expand the sample-and-hold signal onto a 1-second grid and sum per bucket."""
    grid = np.full(n_buckets * bucket_s, np.nan)
    for i, (t, p) in enumerate(zip(t_s, p_kw, strict=True)):
        end = min(t_s[i + 1] if i + 1 < len(t_s) else 10**9, t + gap_s, len(grid))
        grid[t:end] = p
    per = np.nan_to_num(grid).reshape(n_buckets, bucket_s)
    covered = (~np.isnan(grid)).reshape(n_buckets, bucket_s).sum(axis=1) / bucket_s
    return np.clip(per, 0, None).sum(axis=1) / 3600, np.clip(-per, 0, None).sum(axis=1) / 3600, covered


def test_rollup_energy_equals_independent_integral(store: Store) -> None:
    rng = np.random.default_rng(7)
    # irregular sampling: mostly 1-30 s apart, with a few outages longer than the 120 s hold
    gaps = rng.integers(1, 30, 600)
    gaps[[50, 200, 201, 400]] = [300, 500, 130, 900]
    t_s = np.cumsum(gaps)
    t_s = t_s[t_s < 4 * 3600]
    p = rng.uniform(-200, 200, len(t_s))  # the battery charges and discharges
    res = store.ingest(_series("BESS1", "p_kw", t_s, p), now=LATER)
    assert res.accepted == len(t_s)
    e = store.interval_energy(T0, T0 + dt.timedelta(hours=4), ["BESS1"])
    out_ref, in_ref, cov_ref = _hold_integral_kwh(t_s, p, 120, 900, 16)
    np.testing.assert_allclose(e.e_out_kwh[0], out_ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(e.e_in_kwh[0], in_ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(e.coverage[0], cov_ref, atol=1e-9)
    assert (e.coverage[0] < 1).any()  # the outages lower coverage

    hourly = store.interval_energy(T0, T0 + dt.timedelta(hours=4), ["BESS1"], interval_minutes=60)
    np.testing.assert_allclose(hourly.e_out_kwh[0], out_ref.reshape(4, 4).sum(axis=1), rtol=1e-9)


def test_reingest_is_idempotent_and_late_data_updates_rollup(store: Store) -> None:
    t_s = np.arange(0, 3600, 10)
    batch = _series("PV1", "p_kw", t_s, np.full(len(t_s), 100.0))
    first = store.ingest(batch, now=LATER)
    assert (first.accepted, first.duplicates) == (360, 0)
    e1 = store.interval_energy(T0, T0 + dt.timedelta(hours=1), ["PV1"]).e_out_kwh.sum()
    second = store.ingest(batch, now=LATER)
    assert (second.accepted, second.duplicates) == (0, 360)
    assert store.count() == 360
    # 100 kW for one hour; the last sample holds 10 s into the next hour → 3600 s of 100 kW in the first hour
    assert e1 == pytest.approx(100.0)
    assert store.interval_energy(T0, T0 + dt.timedelta(hours=1), ["PV1"]).e_out_kwh.sum() == pytest.approx(e1)
    # a late, out-of-order reading in the middle changes that bucket exactly once
    late = _series("PV1", "p_kw", np.array([1805]), np.array([400.0]))
    assert store.ingest(late, now=LATER).accepted == 1
    e2 = store.interval_energy(T0, T0 + dt.timedelta(hours=1), ["PV1"]).e_out_kwh.sum()
    assert e2 == pytest.approx(100.0 + 300.0 * 5 / 3600)  # 5 s at 400 instead of 100 kW


def test_partly_stored_batch_keeps_first_writes_and_updates_rollup(store: Store) -> None:
    """A batch overlapping stored readings makes the optimistic COPY fail; the staged merge stores only the new ones.

    Hand calculation (sample-and-hold, 120 s hold): PV1 at 50 kW for t = 0..9 s, then the second
    batch adds t = 10..14 s at 70 kW (its t = 5..9 s at 70 kW are duplicates, the stored 50 kW stay).
    First batch: 9 s at 50 kW + the t = 9 s sample held 120 s = 6450 kW·s = 1.7917 kWh.
    After: 10 s at 50 kW + 4 s at 70 kW + the t = 14 s sample held 120 s = 500 + 280 + 8400 = 9180 kW·s = 2.55 kWh.
    """
    t1 = np.arange(0, 10)
    assert store.ingest(_series("PV1", "p_kw", t1, np.full(10, 50.0)), now=LATER).accepted == 10
    window = (T0, T0 + dt.timedelta(minutes=15), ["PV1"])
    assert store.interval_energy(*window).e_out_kwh[0, 0] == pytest.approx(6450 / 3600)

    t2 = np.r_[np.arange(5, 15), 14]  # the repeated t = 14 s is a duplicate inside the batch
    res = store.ingest(_series("PV1", "p_kw", t2, np.r_[np.full(10, 70.0), 90.0]), now=LATER)
    assert (res.submitted, res.accepted, res.duplicates) == (11, 5, 5)
    assert [(r.row, r.reason) for r in res.rejected] == [(10, "duplicate_in_batch")]
    t, v = store.raw("PV1", "p_kw", T0, T0 + dt.timedelta(minutes=1))
    assert (t - t[0]).tolist() == [s * 1_000_000 for s in range(15)]
    assert v.tolist() == [50.0] * 10 + [70.0] * 5
    assert store.interval_energy(*window).e_out_kwh[0, 0] == pytest.approx(9180 / 3600)


def test_rejected_rows_reported_and_accepted_rows_stored(store: Store) -> None:
    rows = [
        (T0, "PV1", "p_kw", 10.0, 0),
        (T0, "GHOST", "p_kw", 10.0, 0),
        (T0 + dt.timedelta(seconds=1), "PV1", "p_kw", float("nan"), 0),
        (T0 + dt.timedelta(seconds=2), "PV1", "p_kw", 11.0, 0),
    ]
    res = store.ingest(ReadingBatch.from_rows(rows), now=LATER)
    assert (res.submitted, res.accepted, res.duplicates) == (4, 2, 0)
    assert [(r.row, r.reason) for r in res.rejected] == [(1, "unknown_device"), (2, "not_finite")]
    t, v = store.raw("PV1", "p_kw", T0, T0 + dt.timedelta(minutes=1))
    assert list(v) == [10.0, 11.0] and t[1] - t[0] == 2_000_000


def test_restart_between_ingests_loses_nothing(store: Store, restart_pg) -> None:  # type: ignore[no-untyped-def]
    a = _series("LOAD1", "p_kw", np.arange(0, 600), np.full(600, -300.0))
    b = _series("LOAD1", "p_kw", np.arange(600, 1200), np.full(600, -310.0))
    assert store.ingest(a, now=LATER).accepted == 600
    restart_pg()
    assert store.ingest(b, now=LATER).accepted == 600  # the store reconnects by itself
    assert store.count() == 1200
    e = store.interval_energy(T0, T0 + dt.timedelta(minutes=30), ["LOAD1"])
    # bucket 0 [0, 900 s): 600 s at 300 kW + 300 s at 310 kW;
    # bucket 1 [900, 1800 s): samples 900..1199 s, the last holding 120 s → [900, 1319 s) = 419 s
    assert e.e_in_kwh[0, 0] == pytest.approx((300 * 600 + 310 * 300) / 3600)
    assert e.e_in_kwh[0, 1] == pytest.approx(310 * 419 / 3600)


def test_counter_energy_and_latest(store: Store) -> None:
    t_s = np.arange(0, 3601, 60)
    counter = 1000 + 0.1 * t_s  # 360 kWh/h
    store.ingest(_series("M_GRID", "e_out_kwh", t_s, counter), now=LATER)
    e = store.counter_energy("M_GRID", "e_out_kwh", T0, T0 + dt.timedelta(hours=1))
    np.testing.assert_allclose(e, [90.0, 90.0, 90.0, 90.0])
    latest = {(r.device, r.quantity): r for r in store.latest()}
    assert latest[("M_GRID", "e_out_kwh")].value == pytest.approx(1360.0)
    assert latest[("M_GRID", "e_out_kwh")].time == T0 + dt.timedelta(hours=1)


def test_migrations_are_idempotent_and_devices_synced(store: Store, backend: str) -> None:
    assert store.upgrade() == []
    with store.connection() as conn:
        ids = {r[0] for r in conn.execute("SELECT device_id FROM device")}
        assert ids == {d.id for d in store.park.devices}
        # the extras of exactly one backend are applied (read back from the catalog)
        hyper = conn.execute("SELECT to_regclass('_timescaledb_catalog.hypertable') IS NOT NULL").fetchone()[0]
        plain = conn.execute("SELECT to_regclass('schema_migrations_plain') IS NOT NULL").fetchone()[0]
    assert store.backend is not None and store.backend.name == backend
    assert (hyper, plain) == ((True, False) if backend == "timescaledb" else (False, True))


def test_extra_migrations_parse() -> None:
    """Both extras directories parse as PostgreSQL (pglast is PostgreSQL's own parser)."""
    for directory in (TIMESCALE_DIR, PLAIN_DIR):
        files = sorted(Path(directory).glob("*.sql"))
        assert files
        for f in files:
            assert pglast.parse_sql(f.read_text())


def test_unreachable_database_raises_store_unavailable(tiny_park) -> None:  # type: ignore[no-untyped-def]
    from ems.store import StoreUnavailable

    with pytest.raises(StoreUnavailable):
        Store.connect("postgresql://nobody@/nodb?host=/nonexistent-socket-dir&connect_timeout=1", tiny_park)


def test_concurrent_ingest_of_same_rows_counts_each_once(store: Store) -> None:
    """Two gateways replaying the same batch at once: every row stored once, the rest are duplicates."""
    import threading

    t_s = np.arange(0, 20_000)
    batch = _series("PV1", "p_kw", t_s, np.full(len(t_s), 50.0))
    results = []
    barrier = threading.Barrier(2)

    def go() -> None:
        barrier.wait()
        results.append(store.ingest(batch, now=LATER))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(r.accepted for r in results) == len(t_s)
    assert sum(r.duplicates for r in results) == len(t_s)
    assert store.count() == len(t_s)


def test_packed_rows_read_back_exactly_and_a_null_column_is_refused(store: Store) -> None:
    """Result rows travel packed into one bytea (ems/store/store.py::_fetch_columns): values chosen by hand,
    including extremes, come back bit for bit; no rows give an empty array; a NULL column (whose row
    string_agg would skip) raises instead of losing the row."""
    from ems.store.errors import StoreError
    from ems.store.store import _SERIES_ROW, _fetch_columns

    rows = (
        "SELECT * FROM (VALUES (7, timestamptz '2026-03-01 00:15+00', -1.5::float8, -1e300::float8, 2.5e-308::float8,"
        " 9007199254740993::int8), (2147483647, timestamptz '1999-12-31 23:45+00', 0.1::float8, 0.0::float8,"
        " 1e300::float8, 1::int8)) v"
    )
    with store.connection() as conn:
        out = _fetch_columns(conn, rows, {}, _SERIES_ROW)
        assert out["key"].tolist() == [7, 2147483647]
        # timestamptz as µs since 2000-01-01 UTC: 2026-03-01 00:15 is 9556 days and 15 minutes later
        assert out["bucket"].tolist() == [(9556 * 86400 + 900) * 10**6, -900 * 10**6]
        assert out["avg"].tolist() == [-1.5, 0.1] and out["min"].tolist() == [-1e300, 0.0]
        assert out["max"].tolist() == [2.5e-308, 1e300] and out["samples"].tolist() == [9007199254740993, 1]
        assert len(_fetch_columns(conn, rows + " WHERE false", {}, _SERIES_ROW)) == 0
        with pytest.raises(StoreError, match="1 of 2 result rows had a NULL column"):
            _fetch_columns(conn, rows.replace("0.1::float8", "NULL::float8"), {}, _SERIES_ROW)
