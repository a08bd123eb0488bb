"""Bulk telemetry ingest through the project's own API vs a plain executemany INSERT.

    python benchmarks/ingest.py [--quick]

Rows: 200 devices × 5 quantities × 1,200 one-second steps = 1.2 million readings
(--quick: 200 × 5 × 200 = 200,000), ingested through ``Store.ingest`` (validation,
binary COPY, idempotent insert, rollup marking) in batches of 100,000. The baseline
is psycopg's ``executemany`` of a parameterised INSERT … ON CONFLICT DO NOTHING,
measured on a sample in the same run. Then the same data is re-ingested to time
the duplicate path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import database_url, emit, many_device_park
from ems.store import Store
from ems.telemetry import ReadingBatch, to_us

QTYS = ["p_kw", "q_kvar", "v_v", "i_a", "e_out_kwh"]


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200,000 rows instead of 1.2 million")
    args = ap.parse_args()
    seconds = 200 if args.quick else 1200
    park = many_device_park(200)
    devices = [d.id for d in park.devices if d.id.startswith("PV0")]
    t0 = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    batch = make_batch(devices, seconds, t0)
    now = t0 + dt.timedelta(days=1)
    n = len(batch)
    chunk = 100_000

    with database_url() as url:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("DROP DATABASE IF EXISTS ems_bench WITH (FORCE)")
            c.execute("CREATE DATABASE ems_bench")
        url = psycopg.conninfo.make_conninfo(url, dbname="ems_bench")
        store = Store.connect(url, park)
        t_start = time.perf_counter()
        accepted = 0
        for lo in range(0, n, chunk):
            accepted += store.ingest(batch.take(np.arange(lo, min(lo + chunk, n))), source="bench", now=now).accepted
        ours_s = time.perf_counter() - t_start
        assert accepted == n, (accepted, n)

        t_start = time.perf_counter()
        dups = 0
        for lo in range(0, n, chunk):
            dups += store.ingest(batch.take(np.arange(lo, min(lo + chunk, n))), source="bench", now=now).duplicates
        dup_s = time.perf_counter() - t_start
        assert dups == n

        t_start = time.perf_counter()
        store.refresh_rollups()
        rollup_s = time.perf_counter() - t_start

        # baseline: executemany INSERT of the same kind of rows, on a sample, into a fresh table copy
        sample = min(n, 30_000)
        keys = {d: i for i, d in enumerate(devices)}
        qid = {q: i for i, q in enumerate(QTYS)}
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        rows = [
            (
                epoch + dt.timedelta(microseconds=int(batch.time_us[i])),
                keys[batch.device[i]],
                qid[batch.quantity[i]],
                float(batch.value[i]),
                0,
            )
            for i in range(sample)
        ]
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE baseline (LIKE telemetry INCLUDING ALL)")
            t_start = time.perf_counter()
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO baseline (time, device_key, quantity_id, value, quality) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    rows,
                )
            conn.commit()
            base_s = time.perf_counter() - t_start
        store.close()

    ours_rate = n / ours_s
    base_rate = sample / base_s
    print(f"rows: {n:,} (200 devices x 5 quantities x {seconds} s)")
    print(f"Store.ingest (validate + binary COPY + idempotent insert): {ours_s:.2f} s, {ours_rate:,.0f} rows/s")
    print(f"re-ingest of the same rows (all duplicates):               {dup_s:.2f} s, {n / dup_s:,.0f} rows/s")
    print(f"rollup refresh of the touched buckets:                      {rollup_s:.2f} s")
    print(f"baseline executemany INSERT ({sample:,}-row sample):         {base_s:.2f} s, {base_rate:,.0f} rows/s")
    print(f"ratio vs baseline: {ours_rate / base_rate:.1f}x")
    emit(
        {
            "rows": n,
            "ingest_rows_per_s": round(ours_rate),
            "reingest_rows_per_s": round(n / dup_s),
            "rollup_refresh_s": round(rollup_s, 3),
            "baseline_rows_per_s": round(base_rate),
            "ratio_vs_baseline": round(ours_rate / base_rate, 1),
        }
    )


if __name__ == "__main__":
    main()
