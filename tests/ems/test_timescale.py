"""TimescaleDB: server states, dashboard series on both backends, compression, late data, retention, the build.

Issue #16. Expected values come from numpy over the readings written (series), from the
catalog read back (chunks, compression) and from the sample-and-hold rule worked by hand
(late data).
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path

import numpy as np
import psycopg
import pytest

from ems.store import Store, StoreError, series_queries
from ems.store.backend import ServerState, decide
from ems.store.timescale_build import BuildError, PgInstall, build, cache_key, verify
from ems.telemetry import ReadingBatch, to_us
from tests.conftest import ROOT, TIMESCALEDB

T0 = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)  # months before "now": its chunks are old enough to compress
VENDOR = (
    next((p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if p.exists()), ROOT.parent / "shared")
    / "vendor/timescaledb-2.29.2.tar.gz"
)  # CI: ../shared beside the clone; worktrees: ../../shared
ts_only = pytest.mark.parametrize("backend", ["timescaledb"], indirect=True)


def _batch(t: list[dt.datetime], device: list[str], quantity: str, value: np.ndarray) -> ReadingBatch:
    n = len(t)
    return ReadingBatch(
        np.array([to_us(x) for x in t], dtype=np.int64),
        np.array(device, object),
        np.full(n, quantity, object),
        np.asarray(value, float),
        np.zeros(n, np.int16),
    )


def _minutes(store: Store, devices: list[str], start: dt.datetime, minutes: int, seed: int = 1) -> np.ndarray:
    """One p_kw reading per minute per device; returns values (devices × minutes)."""
    values = np.random.default_rng(seed).uniform(-15, 80, (len(devices), minutes)).round(3)
    times = [start + dt.timedelta(minutes=m) for m in range(minutes)]
    batch = _batch([t for _ in devices for t in times], [d for d in devices for _ in times], "p_kw", values.ravel())
    res = store.ingest(batch, now=start + dt.timedelta(minutes=minutes))
    assert res.accepted == values.size, res.rejected
    return values


# ---------------------------------------------------------------- server states


@pytest.mark.parametrize(
    ("state", "name", "note_names"),
    [
        (ServerState("18.6", None, None, False), "postgresql", None),
        (ServerState("18.6", "2.29.2", None, False), "postgresql", "shared_preload_libraries"),
        (ServerState("17.2", "2.29.2", "2.29.2", True), "timescaledb", None),
        (ServerState("16.4", "2.11.2", None, True), "postgresql", "2.11.2 is older than the 2.13.0"),
        (ServerState("16.4", "2.29.2", "2.12.0", True), "postgresql", "ALTER EXTENSION timescaledb UPDATE"),
        (ServerState("18.6", "2.29.2", "2.29.2", False), "error", "shared_preload_libraries"),
    ],
    ids=["absent", "not-preloaded", "present", "old-package", "old-in-database", "hypertables-not-preloaded"],
)
def test_every_server_state_has_a_path(state: ServerState, name: str, note_names: str | None) -> None:
    if name == "error":
        with pytest.raises(StoreError, match=note_names):
            decide(state)
        return
    backend = decide(state)
    assert backend.name == name
    assert (backend.note is None) if note_names is None else (note_names in (backend.note or ""))


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_real_server_installed_but_not_preloaded_warns_once(
    pg_url: str, tiny_park, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The plain test server has TimescaleDB's files (when built) but does not preload them: the state of
    many servers after a package install. Store.connect must take the plain path, not crash."""
    from ems.store import backend as backend_module

    # as in a fresh process: an earlier test in this worker may already have connected to this server
    monkeypatch.setattr(backend_module, "_warned", set())
    caplog.set_level(logging.WARNING, logger="ems.store.backend")
    names = [f"ems_test_state_{i}" for i in range(2)]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for n in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{n}"')
            conn.execute(f'CREATE DATABASE "{n}"')
    try:
        for n in names:
            s = Store.connect(psycopg.conninfo.make_conninfo(pg_url, dbname=n), tiny_park)
            assert s.backend is not None and s.backend.name == "postgresql"
            s.close()
        said = [r.message for r in caplog.records if "shared_preload_libraries" in r.message]
        assert len(said) == (1 if TIMESCALEDB else 0)  # once per process, however many stores connect
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            for n in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')


# ---------------------------------------------------------------- dashboard series, both backends


def test_series_match_numpy_on_both_backends(store: Store) -> None:
    devices = ["PV1", "M_GRID"]
    values = _minutes(store, devices, T0, 120)
    for minutes, use_aggregate in ((15, True), (60, True), (30, True), (15, False)):
        s = store.series("p_kw", T0, T0 + dt.timedelta(hours=2), devices, minutes, use_aggregate=use_aggregate)
        per = values.reshape(2, -1, minutes)
        np.testing.assert_allclose(s.avg, per.mean(axis=2), rtol=1e-12)
        np.testing.assert_array_equal(s.min, per.min(axis=2))
        np.testing.assert_array_equal(s.max, per.max(axis=2))
        np.testing.assert_array_equal(s.samples, np.full((2, 120 // minutes), minutes))
    empty = store.series("p_kw", T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=3), devices)
    assert np.isnan(empty.avg).all() and (empty.samples == 0).all()
    with pytest.raises(ValueError, match="multiple of 15"):
        store.series("p_kw", T0, T0 + dt.timedelta(hours=1), devices, 10)


def test_grafana_views_exist_on_both_backends(store: Store) -> None:
    """deploy/grafana's SQL reads telemetry_15m: a continuous aggregate or its plain view, same columns."""
    values = _minutes(store, ["PV1"], T0, 30)
    if store.timescaledb:
        store.series("p_kw", T0, T0 + dt.timedelta(minutes=30), ["PV1"])  # refreshes the aggregate
    with store.connection() as conn:
        rows = conn.execute(
            "SELECT a.bucket, a.avg_value, a.samples FROM telemetry_15m a JOIN device d USING (device_key) "
            "JOIN quantity q USING (quantity_id) WHERE q.name = 'p_kw' AND d.device_id = 'PV1' ORDER BY 1"
        ).fetchall()
    assert [r[0] for r in rows] == [T0, T0 + dt.timedelta(minutes=15)]
    np.testing.assert_allclose([r[1] for r in rows], values.reshape(2, 15).mean(axis=1))


# ---------------------------------------------------------------- TimescaleDB features


@ts_only
def test_features_are_on(store: Store) -> None:
    f = store.features()
    assert f is not None and f.hypertable
    assert f.compression_after == "7 days" and f.retention_keep == "3 years"
    assert f.continuous_aggregates == ["telemetry_15m", "telemetry_1h"]


@ts_only
def test_a_window_below_the_watermark_is_read_from_the_materialization(store: Store) -> None:
    """Once refreshed, a past window comes straight from the aggregate's materialisation table (an
    index-only scan, no real-time union); a window reaching above the watermark still reads the view.
    Both equal numpy over the readings written, also after a late reading changes a bucket."""
    devices = ["PV1", "M_GRID"]
    values = _minutes(store, devices, T0, 120)
    end = T0 + dt.timedelta(hours=2)
    width = dt.timedelta(minutes=15)
    store.series("p_kw", T0, end, devices)  # refreshes: the watermark passes `end`
    with store.connection() as conn:
        sql = series_queries.query(conn, timescaledb=True, use_aggregate=True, start=T0, end=end, width=width)
        assert "_materialized_hypertable_" in sql
        later = series_queries.query(
            conn, timescaledb=True, use_aggregate=True, start=T0, end=end + dt.timedelta(days=400), width=width
        )
        assert "telemetry_15m" in later and "_materialized_hypertable_" not in later
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN " + sql,
                {"keys": [store._keys[d] for d in devices], "q_id": 1, "start": T0, "end": end},
            )
        )
        assert "Index Only Scan" in plan and "telemetry_15m_series" in plan
    s = store.series("p_kw", T0, end, devices)
    np.testing.assert_allclose(s.avg, values.reshape(2, -1, 15).mean(axis=2), rtol=1e-12)
    late = T0 + dt.timedelta(minutes=3, seconds=30)
    assert store.ingest(_batch([late], ["PV1"], "p_kw", np.array([100.0])), now=end).accepted == 1
    s = store.series("p_kw", T0, end, devices)
    assert s.avg[0, 0] == pytest.approx((values[0, :15].sum() + 100.0) / 16)
    assert s.samples[0, 0] == 16


@ts_only
def test_late_reading_into_compressed_chunk_changes_rollups(store: Store) -> None:
    """A reading arriving after its chunk was compressed is stored and changes both rollups.

    Hand calculation: PV1 at 60 kW every minute over 00:00-01:00 (each sample held until
    the next), so the hour holds 60 kW · 1 h = 60 kWh. The late reading at 00:07:30 of
    180 kW replaces the second half of the 00:07 sample's hold:
    ΔE = (180 − 60) kW · 30 s / 3600 = 1 kWh; the 00:00-00:15 mean gains one sample:
    (15 · 60 + 180) / 16 = 67.5 kW.
    """
    times = [T0 + dt.timedelta(minutes=m) for m in range(60)]
    store.ingest(_batch(times, ["PV1"] * 60, "p_kw", np.full(60, 60.0)), now=T0 + dt.timedelta(hours=1))
    before = store.interval_energy(T0, T0 + dt.timedelta(hours=1), ["PV1"], 60).e_out_kwh[0, 0]
    assert before == pytest.approx(60.0)
    assert store.series("p_kw", T0, T0 + dt.timedelta(minutes=15), ["PV1"]).avg[0, 0] == pytest.approx(60.0)

    store.compress(older_than=T0 + dt.timedelta(days=2))  # (the policy job may have compressed it first)
    stats = store.compression()
    assert stats is not None and stats.compressed_chunks >= 1 and stats.after_bytes > 0
    with store.connection() as conn:
        compressed = conn.execute(
            "SELECT is_compressed FROM timescaledb_information.chunks WHERE hypertable_name = 'telemetry' "
            "AND range_start <= %s AND range_end > %s",
            (T0, T0),
        ).fetchone()
    assert compressed == (True,)

    late = T0 + dt.timedelta(minutes=7, seconds=30)
    res = store.ingest(_batch([late], ["PV1"], "p_kw", np.array([180.0])), now=T0 + dt.timedelta(hours=1))
    assert (res.accepted, res.duplicates) == (1, 0)
    again = store.ingest(_batch([late], ["PV1"], "p_kw", np.array([170.0])), now=T0 + dt.timedelta(hours=1))
    assert (again.accepted, again.duplicates) == (0, 1)  # first write wins inside a compressed chunk too
    _, v = store.raw("PV1", "p_kw", late, late + dt.timedelta(seconds=1))
    assert v.tolist() == [180.0]
    after = store.interval_energy(T0, T0 + dt.timedelta(hours=1), ["PV1"], 60).e_out_kwh[0, 0]
    assert after - before == pytest.approx(1.0)
    assert store.series("p_kw", T0, T0 + dt.timedelta(minutes=15), ["PV1"]).avg[0, 0] == pytest.approx(67.5)
    assert store.series("p_kw", T0, T0 + dt.timedelta(hours=1), ["PV1"], 60).samples[0, 0] == 61


@ts_only
def test_series_refreshes_the_aggregate_only_when_a_change_is_logged(store: Store) -> None:
    """The refresh before a read is skipped when TimescaleDB logged no change in the window, and made when one is.

    PV1 at 10 kW every minute over 00:00-00:30; a late 40 kW reading at 00:03:30 makes the
    00:00 bucket's mean (15 · 10 + 40) / 16 = 11.875 kW, which the read can only show once
    the materialised bucket is refreshed (the window lies below the watermark by then).
    """
    now = T0 + dt.timedelta(hours=1)
    store.ingest(
        _batch([T0 + dt.timedelta(minutes=m) for m in range(30)], ["PV1"] * 30, "p_kw", np.full(30, 10.0)), now=now
    )
    first, second = T0, T0 + dt.timedelta(minutes=15)
    end = T0 + dt.timedelta(minutes=30)
    with store.connection() as conn:
        assert series_queries.refresh(conn, first, end, hourly=False) == 1  # never materialised yet
        watermark = conn.execute(
            "SELECT _timescaledb_functions.to_timestamp(_timescaledb_functions.cagg_watermark(mat_hypertable_id)) "
            "FROM _timescaledb_catalog.continuous_agg WHERE user_view_name = 'telemetry_15m'"
        ).fetchone()
        assert watermark == (end,)  # so the late reading below lands in materialised buckets, not real-time ones
        assert series_queries.refresh(conn, first, end, hourly=False) == 0  # nothing changed since
    late = T0 + dt.timedelta(minutes=3, seconds=30)
    assert store.ingest(_batch([late], ["PV1"], "p_kw", np.array([40.0])), now=now).accepted == 1
    with store.connection() as conn:
        assert series_queries.refresh(conn, second, end, hourly=False) == 0  # the change lies before this window
    s = store.series("p_kw", first, end, ["PV1"])
    assert s.avg[0].tolist() == pytest.approx([11.875, 10.0]) and s.samples[0].tolist() == [16, 15]
    with store.connection() as conn:
        assert series_queries.refresh(conn, first, end, hourly=False) == 0  # the read consumed the change


@ts_only
def test_refresh_is_made_when_the_catalog_probe_fails(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """TimescaleDB before 2.22 has no continuous_aggs_materialization_ranges: the probe fails, the refresh is made
    every time, and a window below the watermark is still read from the materialisation table."""
    width = dt.timedelta(minutes=15)
    values = _minutes(store, ["PV1"], T0, 15)
    older = series_queries.CAGG_STATE.replace("continuous_aggs_materialization_ranges", "no_such_catalog_table")
    monkeypatch.setattr(series_queries, "CAGG_STATE", older)
    with store.connection() as conn:
        assert series_queries.refresh(conn, T0, T0 + dt.timedelta(minutes=15), hourly=False) == 1
        assert series_queries.refresh(conn, T0, T0 + dt.timedelta(minutes=15), hourly=False) == 1  # made every time
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the failed probe left the connection usable
        sql = series_queries.query(
            conn, timescaledb=True, use_aggregate=True, start=T0, end=T0 + dt.timedelta(minutes=15), width=width
        )
        assert "_materialized_hypertable_" in sql  # below the watermark the table is still read directly
    s = store.series("p_kw", T0, T0 + dt.timedelta(minutes=15), ["PV1"])
    assert s.avg[0, 0] == pytest.approx(values.mean(), rel=1e-12) and s.samples[0, 0] == 15


@ts_only
def test_an_hourly_window_below_the_watermark_is_read_from_the_hourly_materialization(store: Store) -> None:
    """Hourly buckets come from telemetry_1h's materialisation table once both aggregates are refreshed; a late
    reading is refreshed through the 15-minute aggregate into the hourly one. By hand: PV1 at 10 kW every
    minute over 00:00-02:00, a late 70 kW at 00:30:30: the first hour's mean (60 · 10 + 70) / 61 = 10.9836 kW."""
    now = T0 + dt.timedelta(hours=3)
    store.ingest(
        _batch([T0 + dt.timedelta(minutes=m) for m in range(120)], ["PV1"] * 120, "p_kw", np.full(120, 10.0)), now=now
    )
    end = T0 + dt.timedelta(hours=2)
    assert store.series("p_kw", T0, end, ["PV1"], 60).avg[0].tolist() == pytest.approx([10.0, 10.0])
    with store.connection() as conn:
        sql = series_queries.query(
            conn, timescaledb=True, use_aggregate=True, start=T0, end=end, width=dt.timedelta(hours=1)
        )
    assert "_materialized_hypertable_" in sql and "telemetry_1h" not in sql
    late = T0 + dt.timedelta(minutes=30, seconds=30)
    assert store.ingest(_batch([late], ["PV1"], "p_kw", np.array([70.0])), now=now).accepted == 1
    s = store.series("p_kw", T0, end, ["PV1"], 60)
    assert s.avg[0].tolist() == pytest.approx([(60 * 10.0 + 70.0) / 61, 10.0], rel=1e-12)
    assert s.samples[0].tolist() == [61, 60]


@ts_only
def test_retention_keeps_chunks_an_issued_report_cites(store: Store) -> None:
    """Chunks older than 3 years are dropped unless an issued carbon report's period overlaps them."""
    old = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=4 * 366)
    days = [old + dt.timedelta(days=i) for i in range(3)]
    with store.connection() as conn:
        # one transaction: the retention job also runs in the background and must never see the rows
        # without the report that cites them
        with conn.transaction():
            conn.execute(
                "INSERT INTO carbon_report (seq, content_sha256, prev_chain_sha256, chain_sha256, park, period_start, "
                "period_end, software_version) VALUES (1, repeat('a', 64), repeat('0', 64), repeat('b', 64), 'tiny', "
                "%s, %s, 'test')",
                (days[1] + dt.timedelta(hours=6), days[1] + dt.timedelta(hours=7)),
            )
            for d in days:  # below the ingest late window, so written directly, as a migration import would
                conn.execute(
                    "INSERT INTO telemetry (time, device_key, quantity_id, value) "
                    "SELECT %s + n * INTERVAL '1 hour', 1, 1, n FROM generate_series(0, 23) n",
                    (d,),
                )
        listed = conn.execute("SELECT range_start FROM ems_droppable_telemetry_chunks('3 years')").fetchall()
        assert {r[0] for r in listed} <= {days[0], days[2]}  # (the background run may have dropped them already)
        for _ in range(5):  # a chunk a background policy job holds at that moment is left for the next run
            conn.execute("""CALL ems_telemetry_retention(0, '{"keep": "3 years"}')""")
            kept = conn.execute("SELECT DISTINCT date_trunc('day', time, 'UTC') FROM telemetry ORDER BY 1").fetchall()
            if len(kept) == 1:
                break
    assert [r[0] for r in kept] == [days[1]]


# ---------------------------------------------------------------- the build step


def test_build_refuses_a_tarball_with_the_wrong_checksum(tmp_path: Path) -> None:
    fake = tmp_path / "timescaledb-2.29.2.tar.gz"
    fake.write_bytes(b"not the release")
    with pytest.raises(BuildError, match="does not match"):
        verify(fake)
    with pytest.raises(BuildError, match="no known checksum"):
        verify(fake.rename(tmp_path / "timescaledb-9.9.9.tar.gz"))
    if VENDOR.exists():
        assert verify(VENDOR) == "2.29.2"


def test_cached_build_installs_in_seconds(tmp_path: Path) -> None:
    """A second environment copies the cached files: no compiler runs (a fake PostgreSQL tree proves where)."""
    if not VENDOR.exists():
        pytest.skip(f"the vendored tarball is not at {VENDOR}")
    pg = PgInstall(Path("/nonexistent/pg_config"), "18.6", tmp_path / "pg" / "lib", tmp_path / "pg" / "extension")
    pg.pkglibdir.mkdir(parents=True)
    pg.extension_dir.mkdir(parents=True)
    cached = tmp_path / "cache" / cache_key("2.29.2", pg)
    (cached / "lib").mkdir(parents=True)
    (cached / "extension").mkdir()
    (cached / "lib" / "timescaledb.so").write_bytes(b"\x7fELF")
    (cached / "extension" / "timescaledb.control").write_text("default_version = '2.29.2'\n")
    (cached / "complete").write_text("2.29.2\n")
    result = build(VENDOR, pg=pg, cache_dir=tmp_path / "cache")
    assert result.from_cache
    assert (pg.pkglibdir / "timescaledb.so").read_bytes() == b"\x7fELF"
    from ems.store.timescale_build import installed_version

    assert installed_version(pg) == "2.29.2"
    shutil.rmtree(tmp_path / "pg")


@pytest.mark.skipif(not TIMESCALEDB, reason="TimescaleDB is not built: ems db timescaledb build --source ...")
def test_embedded_data_dir_switches_between_backends(tmp_path_factory: pytest.TempPathFactory, tiny_park) -> None:  # type: ignore[no-untyped-def]
    """A data directory used plain is converted when TimescaleDB arrives (the embedded default once built),
    keeping its readings; forced back to plain, the store refuses with the setting to change, never crashes."""
    import tempfile

    from ems.store.server import EmbeddedServer

    data_dir = Path(tempfile.mkdtemp(prefix="ems-test-switch-"))  # not tmp_path: see tests/conftest.py
    readings = _batch([T0 + dt.timedelta(minutes=m) for m in range(30)], ["PV1"] * 30, "p_kw", np.full(30, 50.0))
    try:
        for forced, expected in ((False, "postgresql"), (None, "timescaledb"), (False, "error"), (None, "timescaledb")):
            server = EmbeddedServer(data_dir, timescaledb=forced)
            url = server.start()
            try:
                if expected == "error":
                    with pytest.raises(StoreError, match="shared_preload_libraries"):
                        Store.connect(url, tiny_park)
                    continue
                with Store.connect(url, tiny_park) as s:
                    assert s.backend is not None and s.backend.name == expected
                    s.ingest(readings, now=T0 + dt.timedelta(hours=1))
                    assert s.count() == 30  # the readings of the first (plain) start survive the conversion
                    series = s.series("p_kw", T0, T0 + dt.timedelta(minutes=30), ["PV1"])
                    np.testing.assert_array_equal(series.samples, [[15, 15]])
            finally:
                server.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
