"""Telemetry ingest, rollups, dashboard series and on-disk size on plain PostgreSQL and TimescaleDB, side by side.

    python benchmarks/ingest.py [--quick]

Per backend (each on its own embedded server; TimescaleDB once ``ems db timescaledb build``
has run, else plain PostgreSQL only, said once):

1. Burst ingest: 200 devices × 5 quantities × 1,200 one-second steps = 1.2 million readings
   (--quick: × 200 steps = 200,000) through ``Store.ingest`` (validation, binary COPY,
   idempotent insert, rollup marking) in batches of 100,000; then the same rows again
   (all duplicates); then the energy rollup refresh of the touched buckets.
   Limits measured in the same run: a raw binary COPY of the same rows into an unindexed
   table (the physical limit), the same COPY into a table with telemetry's unique key (what
   the key alone costs), and psycopg's ``executemany`` INSERT on a 30,000-row sample.
   Each figure is the median of 5 runs; both servers run at once and their rounds interleave
   (tables emptied between runs), so load drifting on a shared machine hits both alike.
2. A month of 1-minute PV power of 50 devices (--quick: 10), 2.2 million rows, from the
   project's irradiance and cloud profiles, metered to 0.1 kW, ingested day by day; the
   15-minute dashboard series of all of them for the month (``Store.series``): from the
   continuous aggregate (TimescaleDB; the first call refreshes it) vs from raw rows (both
   backends), median of 5.
3. On-disk size of that month (table + indexes; on TimescaleDB before and after compressing
   every chunk, with the ratio), scaled linearly to a year of 200 devices at 1-minute
   resolution (one active-power series per device).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import backends, database_url, emit, many_device_park
from ems.park import Park
from ems.profiles import clear_sky_ghi, clear_sky_index, pv_power_kw
from ems.store import Store
from ems.store.store import _SERIES_ROW, _fetch_columns, build_copy_buffer
from ems.telemetry import ReadingBatch, to_us

QTYS = ["p_kw", "q_kvar", "v_v", "i_a", "e_out_kwh"]
T0 = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
MONTH0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)  # months before T0, so its chunks are compressible
YEAR_ROWS_200_DEVICES = 200 * 365 * 1440
_COLUMNS = (
    "(time timestamptz NOT NULL, device_key integer NOT NULL, quantity_id smallint NOT NULL, "
    "value double precision NOT NULL, quality smallint NOT NULL)"
)


def make_batch(devices: list[str], seconds: int, t0: dt.datetime) -> ReadingBatch:
    n_dev, n_q = len(devices), len(QTYS)
    t = to_us(t0) + np.arange(seconds, dtype=np.int64) * 1_000_000
    time_us = np.tile(np.repeat(t, n_q), n_dev)
    dev = np.repeat(np.array(devices, dtype=object), seconds * n_q)
    qty = np.tile(np.array(QTYS, dtype=object), seconds * n_dev)
    rng = np.random.default_rng(0)
    base = np.tile(np.array([50.0, 5.0, 400.0, 70.0, 1000.0]), seconds * n_dev)
    value = base * (1 + 0.01 * rng.standard_normal(len(base)))
    return ReadingBatch(time_us, dev, qty, value, np.zeros(len(base), np.int16))


def month_of_power(park: Park, devices: list[str]) -> list[ReadingBatch]:
    """A month of 1-minute PV power per device, one batch per day, from the project's own profiles
    (Haurwitz clear sky at the park's location, a mean-reverting cloud index per device), metered to 0.1 kW."""
    minutes = 31 * 1440
    t_us = to_us(MONTH0) + np.arange(minutes, dtype=np.int64) * 60_000_000
    ghi = clear_sky_ghi(t_us.astype("datetime64[us]"), park.location.latitude, park.location.longitude)
    rng = np.random.default_rng(1)
    spec = {d.id: d for d in park.devices_of("pv")}
    p = np.array(
        [
            np.round(pv_power_kw(ghi * clear_sky_index(minutes, rng, 0.3, 1), spec[d].dc_kwp, spec[d].p_rated_kw), 1)
            for d in devices
        ]
    )
    days = []
    for day in range(31):
        sl = slice(day * 1440, (day + 1) * 1440)
        n = len(devices) * 1440
        days.append(
            ReadingBatch(
                np.tile(t_us[sl], len(devices)),
                np.repeat(np.array(devices, dtype=object), 1440),
                np.full(n, "p_kw", dtype=object),
                p[:, sl].ravel(),
                np.zeros(n, np.int16),
            )
        )
    return days


REPEATS = 5  # each burst figure is the median of this many runs, interleaved across backends: the machine is shared


def _timed(fn: Any) -> float:
    t_start = time.perf_counter()
    fn()
    return time.perf_counter() - t_start


class Burst:
    """The burst figures of one backend, measured a round at a time so that rounds of both backends
    interleave (the machine is shared: load drifts between back-to-back runs of one backend)."""

    def __init__(self, store: Store, url: str, batch: ReadingBatch, devices: list[str], now: dt.datetime) -> None:
        self.store, self.batch, self.now = store, batch, now
        n, chunk = len(batch), 100_000
        self.parts = [batch.take(np.arange(lo, min(lo + chunk, n))) for lo in range(0, n, chunk)]
        keys = {d: i for i, d in enumerate(devices)}
        qid = {q: i for i, q in enumerate(QTYS)}
        self.dev_key = np.array([keys[d] for d in batch.device], dtype=np.int32)
        self.q_id = np.array([qid[q] for q in batch.quantity], dtype=np.int16)
        dev_key, q_id = self.dev_key, self.q_id
        order = np.lexsort((batch.time_us, q_id, dev_key))  # the order Store.ingest writes in
        payload = build_copy_buffer(
            batch.time_us[order], dev_key[order], q_id[order], batch.value[order], batch.quality[order]
        )
        by_time = np.lexsort((q_id, dev_key, batch.time_us))  # the order of a time-first key
        payload_by_time = build_copy_buffer(
            batch.time_us[by_time], dev_key[by_time], q_id[by_time], batch.value[by_time], batch.quality[by_time]
        )
        self.payloads = {"copy_limit": payload, "copy_keyed": payload, "copy_keyed_time_first": payload_by_time}
        self.runs: dict[str, list[float]] = {k: [] for k in ("ingest", "reingest", "rollup", "prepare", *self.payloads)}
        self.conn = psycopg.connect(url, autocommit=True)
        # physical limit: the same rows, binary COPY, no index, no key, no validation
        self.conn.execute(f"CREATE TABLE copy_limit {_COLUMNS}")
        # the unique key's own cost: the same COPY into a table with telemetry's key (on TimescaleDB a
        # hypertable chunked like telemetry), still without validation, duplicate handling or rollups
        self.conn.execute(f"CREATE TABLE copy_keyed {_COLUMNS[:-1]}, PRIMARY KEY (device_key, quantity_id, time))")
        # the cheapest unique key for appended readings: time first, so new rows land at the index's end
        self.conn.execute(
            f"CREATE TABLE copy_keyed_time_first {_COLUMNS[:-1]}, PRIMARY KEY (time, device_key, quantity_id))"
        )
        if store.timescaledb:
            for table in ("copy_keyed", "copy_keyed_time_first"):
                self.conn.execute(
                    f"SELECT create_hypertable('{table}', by_range('time', INTERVAL '1 day'), "
                    "create_default_indexes => false)"
                )

    def _ingest(self, expect: str) -> None:
        got = sum(getattr(self.store.ingest(part, source="bench", now=self.now), expect) for part in self.parts)
        assert got == len(self.batch), (expect, got, len(self.batch))

    def _prepare(self) -> None:
        """Store.ingest's client side alone (validation, keys, sort, COPY buffer, dirty buckets), no database."""
        for part in self.parts:
            self.store._encode(self.store.validator.validate(part, now=self.now)[0])

    def _copy(self, table: str) -> None:
        with self.conn.cursor().copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as cp:
            cp.write(self.payloads[table])

    def round(self) -> None:
        """One run of every figure, tables emptied first."""
        self.conn.execute("TRUNCATE telemetry, rollup_dirty, energy_rollup, " + ", ".join(self.payloads))
        self.runs["ingest"].append(_timed(lambda: self._ingest("accepted")))
        self.runs["reingest"].append(_timed(lambda: self._ingest("duplicates")))
        self.runs["rollup"].append(_timed(self.store.refresh_rollups))
        self.runs["prepare"].append(_timed(self._prepare))
        for table in self.payloads:
            self.runs[table].append(_timed(lambda: self._copy(table)))  # noqa: B023 - called at once

    def figures(self) -> dict[str, Any]:
        """Medians of the rounds, and psycopg's executemany INSERT on a 30,000-row sample."""
        n, batch = len(self.batch), self.batch
        med = {k: statistics.median(v) for k, v in self.runs.items()}
        sample = min(n, 30_000)
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        rows = [
            (
                epoch + dt.timedelta(microseconds=int(batch.time_us[i])),
                int(self.dev_key[i]),
                int(self.q_id[i]),
                float(batch.value[i]),
                0,
            )
            for i in range(sample)
        ]
        self.conn.execute(
            "CREATE TABLE baseline (LIKE copy_limit INCLUDING ALL, PRIMARY KEY (device_key, quantity_id, time))"
        )
        with self.conn.cursor() as cur:
            base_s = _timed(
                lambda: cur.executemany(
                    "INSERT INTO baseline (time, device_key, quantity_id, value, quality) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    rows,
                )
            )
        self.conn.close()
        return {
            "rows": n,
            "ingest_rows_per_s": n / med["ingest"],
            "reingest_rows_per_s": n / med["reingest"],
            "rollup_refresh_s": med["rollup"],
            "copy_limit_rows_per_s": n / med["copy_limit"],
            "keyed_copy_rows_per_s": n / med["copy_keyed"],
            "keyed_time_first_copy_rows_per_s": n / med["copy_keyed_time_first"],
            "client_prepare_rows_per_s": n / med["prepare"],
            "executemany_rows_per_s": sample / base_s,
        }


def _size(conn: psycopg.Connection, timescaledb: bool) -> int:
    sql = "SELECT hypertable_size('telemetry')" if timescaledb else "SELECT pg_total_relation_size('telemetry')"
    return int(conn.execute(sql).fetchone()[0])  # type: ignore[index]


def bench_month(store: Store, devices: list[str]) -> dict[str, Any]:
    days = month_of_power(store.park, devices)
    rows = 0
    t_start = time.perf_counter()
    for day, batch in enumerate(days):
        rows += store.ingest(batch, source="bench", now=MONTH0 + dt.timedelta(days=day + 1)).accepted
    ingest_s = time.perf_counter() - t_start
    end = MONTH0 + dt.timedelta(days=31)
    out: dict[str, Any] = {"month_rows": rows, "month_ingest_rows_per_s": rows / ingest_s}

    t_start = time.perf_counter()
    first = store.series("p_kw", MONTH0, end, devices)
    out["dashboard_first_call_ms"] = (time.perf_counter() - t_start) * 1000  # includes the aggregate refresh
    timings: dict[str, list[float]] = {"aggregate": [], "raw": []}
    for _ in range(5):
        for how in ("aggregate", "raw"):
            t_start = time.perf_counter()
            s = store.series("p_kw", MONTH0, end, devices, use_aggregate=how == "aggregate")
            timings[how].append(time.perf_counter() - t_start)
            np.testing.assert_allclose(s.avg, first.avg, rtol=1e-9)  # same numbers either way
    out["dashboard_month_raw_ms"] = statistics.median(timings["raw"]) * 1000
    # The delivery floor: the same number of result rows, the same six columns, packed and read into numpy
    # by the same code, but generated instead of queried. Both paths pay it; raw / floor bounds the speedup.
    n_rows = int((first.samples > 0).sum())
    floor_sql = (
        "SELECT (g %% 50)::int4, %(start)s::timestamptz + g * interval '15 minutes', g::float8, g::float8, "
        "g::float8, g::int8 FROM generate_series(1, %(n)s) g"
    )
    floor: list[float] = []
    with store.connection() as conn:
        for _ in range(5):
            t_start = time.perf_counter()
            assert len(_fetch_columns(conn, floor_sql, {"start": MONTH0, "n": n_rows}, _SERIES_ROW)) == n_rows
            floor.append(time.perf_counter() - t_start)
    out["dashboard_result_rows"] = n_rows
    out["dashboard_delivery_floor_ms"] = statistics.median(floor) * 1000
    out["dashboard_speedup_bound"] = out["dashboard_month_raw_ms"] / out["dashboard_delivery_floor_ms"]
    if store.timescaledb:
        out["dashboard_month_aggregate_ms"] = statistics.median(timings["aggregate"]) * 1000
        out["dashboard_aggregate_speedup"] = out["dashboard_month_raw_ms"] / out["dashboard_month_aggregate_ms"]

    with store.connection() as conn:
        conn.execute("VACUUM ANALYZE telemetry")
        before = _size(conn, store.timescaledb)
        out["month_bytes"] = before
        out["year_200dev_1min_bytes"] = before / rows * YEAR_ROWS_200_DEVICES
        if store.timescaledb:
            t_start = time.perf_counter()
            store.compress(older_than=end + dt.timedelta(days=1))
            out["compress_month_s"] = time.perf_counter() - t_start
            after = _size(conn, True)
            out["month_compressed_bytes"] = after
            out["year_200dev_1min_compressed_bytes"] = after / rows * YEAR_ROWS_200_DEVICES
            out["compression_ratio"] = before / after
            t_start = time.perf_counter()
            s = store.series("p_kw", MONTH0, end, devices, use_aggregate=False)
            out["dashboard_month_raw_compressed_ms"] = (time.perf_counter() - t_start) * 1000
            np.testing.assert_allclose(s.avg, first.avg, rtol=1e-9)  # compressed rows read back identically
    return out


def pause_policies(store: Store) -> None:
    """Stop TimescaleDB's policy jobs in a benchmark database. Its readings lie months back (so the month
    can be compressed), and the compression policy would otherwise compress chunks while they are being
    ingested and measured, which a live park, writing near now, never sees (and sizes would mix both)."""
    if store.timescaledb:
        with store.connection() as conn:
            conn.execute(
                "SELECT alter_job(job_id, scheduled => false) FROM timescaledb_information.jobs WHERE job_id >= 1000"
            )


def fresh_database(url: str, name: str) -> str:
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    return psycopg.conninfo.make_conninfo(url, dbname=name)


def report(name: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Print one backend's figures; return them keyed by backend."""
    print(f"\n== {name} ==")
    print(f"burst of {figures['rows']:,} readings (200 devices x 5 quantities)")
    print(f"  Store.ingest:                {figures['ingest_rows_per_s']:>12,.0f} rows/s")
    print(f"  raw binary COPY, no index:   {figures['copy_limit_rows_per_s']:>12,.0f} rows/s (physical limit)")
    print(f"  raw binary COPY, unique key: {figures['keyed_copy_rows_per_s']:>12,.0f} rows/s (the key's own cost)")
    print(f"  same, key time first:        {figures['keyed_time_first_copy_rows_per_s']:>12,.0f} rows/s")
    print(f"  client side alone (no DB):   {figures['client_prepare_rows_per_s']:>12,.0f} rows/s")
    print(f"  executemany INSERT (sample): {figures['executemany_rows_per_s']:>12,.0f} rows/s")
    print(f"  re-ingest (all duplicates):  {figures['reingest_rows_per_s']:>12,.0f} rows/s")
    print(f"  energy rollup refresh:       {figures['rollup_refresh_s']:>12.3f} s")
    print(f"  Store.ingest / COPY limit:   {figures['ingest_rows_per_s'] / figures['copy_limit_rows_per_s']:>12.0%}")
    print(f"  Store.ingest / keyed COPY:   {figures['ingest_rows_per_s'] / figures['keyed_copy_rows_per_s']:>12.0%}")
    best_key = max(figures["keyed_copy_rows_per_s"], figures["keyed_time_first_copy_rows_per_s"])
    figures["unique_key_bound"] = best_key / figures["copy_limit_rows_per_s"]
    print(f"  any unique key / COPY limit: {figures['unique_key_bound']:>12.0%} (the ceiling of an idempotent ingest)")
    print(
        f"month of 1-minute power: {figures['month_rows']:,} rows at {figures['month_ingest_rows_per_s']:,.0f} rows/s"
    )
    print(f"  15-min dashboard month, raw rows:  {figures['dashboard_month_raw_ms']:8.1f} ms")
    if "dashboard_month_aggregate_ms" in figures:
        print(
            f"  15-min dashboard month, aggregate: {figures['dashboard_month_aggregate_ms']:8.1f} ms "
            f"({figures['dashboard_aggregate_speedup']:.0f}x faster; first call with refresh "
            f"{figures['dashboard_first_call_ms']:.0f} ms)"
        )
    print(
        f"  delivery floor, {figures['dashboard_result_rows']:,} generated rows packed the same way: "
        f"{figures['dashboard_delivery_floor_ms']:.1f} ms (raw / floor: at most "
        f"{figures['dashboard_speedup_bound']:.1f}x for any source)"
    )
    print(
        f"  on disk: {figures['month_bytes'] / 1e6:.1f} MB -> "
        f"a year of 200 devices {figures['year_200dev_1min_bytes'] / 1e9:.2f} GB"
    )
    if "compression_ratio" in figures:
        print(
            f"  compressed: {figures['month_compressed_bytes'] / 1e6:.1f} MB -> a year of 200 devices "
            f"{figures['year_200dev_1min_compressed_bytes'] / 1e9:.2f} GB (ratio {figures['compression_ratio']:.1f}x, "
            f"{figures['compress_month_s']:.1f} s); raw month query on compressed chunks "
            f"{figures['dashboard_month_raw_compressed_ms']:.0f} ms"
        )
    return {f"{name}_{k}": v for k, v in figures.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200,000 burst rows and 10 devices for the month")
    args = ap.parse_args()
    park = many_device_park(200)
    devices = [d.id for d in park.devices if d.id.startswith("PV0")]
    batch = make_batch(devices, 200 if args.quick else 1200, T0)
    figures: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        urls = {b: stack.enter_context(database_url(b)) for b in backends()}  # both servers up at once
        bursts: dict[str, Burst] = {}
        for backend, url in urls.items():
            store = stack.enter_context(Store.connect(fresh_database(url, "ems_bench"), park))
            assert store.backend is not None and store.backend.name == backend
            pause_policies(store)
            bursts[backend] = Burst(store, store.url, batch, devices, T0 + dt.timedelta(days=1))
        for _ in range(REPEATS):
            for burst in bursts.values():
                burst.round()
        for backend, url in urls.items():
            own = bursts[backend].figures()
            with Store.connect(fresh_database(url, "ems_bench_month"), park) as store:  # sizes: the month only
                pause_policies(store)
                own.update(bench_month(store, devices[: 10 if args.quick else 50]))
            figures.update(report(backend, own))
    for name in ("postgresql", "timescaledb"):
        if f"{name}_ingest_rows_per_s" in figures:
            for limit in ("copy_limit", "keyed_copy"):
                figures[f"{name}_ingest_vs_{limit}"] = (
                    figures[f"{name}_ingest_rows_per_s"] / figures[f"{name}_{limit}_rows_per_s"]
                )
    if "timescaledb_ingest_rows_per_s" in figures and "postgresql_ingest_rows_per_s" in figures:
        figures["timescaledb_vs_postgresql_ingest"] = (
            figures["timescaledb_ingest_rows_per_s"] / figures["postgresql_ingest_rows_per_s"]
        )
        print(f"\nTimescaleDB / PostgreSQL ingest: {figures['timescaledb_vs_postgresql_ingest']:.2f}x")
    if "timescaledb_compression_ratio" in figures:
        figures["compression_ratio"] = figures["timescaledb_compression_ratio"]
    emit({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()})


if __name__ == "__main__":
    main()
