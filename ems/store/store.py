"""Telemetry store on PostgreSQL (TimescaleDB when available) through psycopg 3.

Ingest path: validate (``ems.telemetry``) → map ids to small integer keys →
binary COPY straight into ``telemetry`` in a savepoint (the COPY buffer is built
with one numpy structured array, no per-row Python); only if the unique key finds
a reading already stored is the savepoint rolled back and the batch merged through
a temporary staging table (``INSERT … WHERE NOT EXISTS``, first write wins) → mark
affected rollup buckets dirty.
Everything after validation runs in one transaction, so a batch is stored whole
or not at all, and replaying it is harmless.

Connection failures surface as :class:`~ems.store.errors.StoreUnavailable`.
Idempotent operations are retried once on a fresh connection, which is what
carries an ingest across a database restart.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import psycopg
import psycopg.sql
from psycopg_pool import ConnectionPool

from ems.park import Park
from ems.quantities import QUANTITIES
from ems.store import queries as Q
from ems.store import series_queries, timescale
from ems.store.backend import Backend, detect, enable_extras
from ems.store.errors import StoreError, StoreUnavailable
from ems.store.migrate import upgrade
from ems.store.probe import Probe
from ems.telemetry import IngestResult, ReadingBatch, Validator

log = logging.getLogger(__name__)
T = TypeVar("T")

_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix µs: PostgreSQL's binary timestamp origin
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_COPY_ROW = np.dtype(
    [
        ("nfields", ">i2"),
        ("l_time", ">i4"),
        ("time", ">i8"),
        ("l_dev", ">i4"),
        ("dev", ">i4"),
        ("l_q", ">i4"),
        ("q", ">i2"),
        ("l_value", ">i4"),
        ("value", ">f8"),
        ("l_quality", ">i4"),
        ("quality", ">i2"),
    ]
)
P_KW_ID = QUANTITIES["p_kw"].id


@dataclass(frozen=True)
class _PackedRow:
    """A fixed-width result row: its numpy record (big-endian, packed) and each column's binary send function."""

    dtype: np.dtype
    sends: tuple[str, ...]


def _packed_row(**columns: str) -> _PackedRow:
    """Columns by name and PostgreSQL type (int2, int4, int8, float8 or timestamptz: µs since 2000 as int8)."""
    fmt = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "timestamptz": ">i8"}
    send = {"timestamptz": "timestamptz_send"}
    return _PackedRow(
        np.dtype([(name, fmt[t]) for name, t in columns.items()]),
        tuple(f"{send.get(t, t + 'send')}(q.{name})" for name, t in columns.items()),
    )


# result columns of SELECT_ROLLUP*
_ROLLUP_ROW = _packed_row(key="int4", bucket="timestamptz", e_out="float8", e_in="float8", cov="float8")
# result columns of the series queries
_SERIES_ROW = _packed_row(key="int4", bucket="timestamptz", avg="float8", min="float8", max="float8", samples="int8")


def _fetch_columns(conn: psycopg.Connection, query: str, params: dict[str, Any], row: _PackedRow) -> np.ndarray:
    """Run ``query`` and return its rows as a numpy structured array, with no per-row Python.

    The server packs every row into one bytea (its columns' binary send forms, concatenated) and
    concatenates the rows (``string_agg``); the client views the result as numpy records. A binary
    COPY would send one message per row, which psycopg reads in Python (about 1 µs each: 30 ms for
    a month of 15-minute buckets of 10 devices, more than the query); one ``array_agg`` per column
    cost the server a quarter more than this (benchmarks/ingest.py, the delivery floor).
    Every column must be fixed-width and NOT NULL, of the type ``row`` gives it (a NULL raises StoreError).
    """
    names = ", ".join(row.dtype.names or ())
    sql = f"SELECT string_agg({' || '.join(row.sends)}, ''::bytea), count(*) FROM ({query}) AS q({names})"
    packed = conn.execute(sql, params, binary=True).fetchone()
    assert packed is not None  # an aggregate without GROUP BY returns one row
    out = np.frombuffer(packed[0] or b"", dtype=row.dtype)  # no rows: string_agg of nothing is NULL
    if len(out) != packed[1]:  # a NULL column makes its row's bytes NULL, which string_agg skips
        raise StoreError(f"{packed[1] - len(out)} of {packed[1]} result rows had a NULL column")
    return out


@dataclass(frozen=True)
class IntervalEnergy:
    """Energy per device and interval from the rollups.

    ``e_out_kwh`` is energy injected into the park network, ``e_in_kwh`` energy
    drawn from it (generator convention); ``coverage`` is the share of the
    interval covered by samples (1.0 = complete). Arrays are (devices × intervals);
    intervals with no data have zero energy and zero coverage.
    """

    starts: np.ndarray  # datetime64[us], UTC, interval starts
    devices: list[str]
    e_out_kwh: np.ndarray
    e_in_kwh: np.ndarray
    coverage: np.ndarray

    def row(self, device_id: str) -> int:
        return self.devices.index(device_id)

    def start_datetimes(self) -> list[dt.datetime]:
        """Interval starts as timezone-aware UTC datetimes."""
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return [epoch + dt.timedelta(microseconds=int(us)) for us in self.starts.astype(np.int64)]


@dataclass(frozen=True)
class SeriesTable:
    """Dashboard series of one quantity: per device and bucket the mean, extremes and sample count.

    Arrays are (devices × buckets); buckets without samples hold NaN and 0 samples.
    """

    starts: np.ndarray  # datetime64[us], UTC, bucket starts
    devices: list[str]
    avg: np.ndarray
    min: np.ndarray
    max: np.ndarray
    samples: np.ndarray


@dataclass(frozen=True)
class LatestReading:
    device: str
    quantity: str
    time: dt.datetime
    value: float
    quality: int


def build_copy_buffer(
    time_us: np.ndarray, dev_key: np.ndarray, q_id: np.ndarray, value: np.ndarray, quality: np.ndarray
) -> bytes:
    """PostgreSQL binary COPY payload for the staging table, built in one vectorised pass."""
    rows = np.empty(len(time_us), dtype=_COPY_ROW)
    rows["nfields"] = 5
    rows["l_time"], rows["l_dev"], rows["l_q"], rows["l_value"], rows["l_quality"] = 8, 4, 2, 8, 2
    rows["time"] = time_us - _PG_EPOCH_US
    rows["dev"] = dev_key
    rows["q"] = q_id
    rows["value"] = value
    rows["quality"] = quality
    return _COPY_HEADER + rows.tobytes() + b"\xff\xff"


def _as_utc(t: dt.datetime) -> dt.datetime:
    if t.tzinfo is None:
        raise ValueError(f"timestamp {t!r} has no time zone; the store works in UTC")
    return t.astimezone(dt.UTC)


class Store:
    """The park's telemetry store. Thread-safe; one per process."""

    def __init__(
        self,
        url: str,
        park: Park,
        *,
        validator: Validator | None = None,
        max_gap_s: float = 120.0,
        pool_size: int = 4,
        pool_timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self.park = park
        self.validator = validator or Validator(park)
        self.width = dt.timedelta(minutes=park.interval_minutes)
        self.max_gap = dt.timedelta(seconds=max_gap_s)
        if self.max_gap >= self.width:
            raise ValueError("max_gap_s must be shorter than the park interval (a hold spans at most two intervals)")
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            check=ConnectionPool.check_connection,
            kwargs={"autocommit": True},
            reconnect_timeout=5.0,
        )
        self._keys: dict[str, int] = {}
        self._ids: dict[int, str] = {}
        self._refresh_lock = threading.Lock()
        self.pool_timeout_s = pool_timeout_s  # how long to wait for a connection before StoreUnavailable
        self.backend: Backend | None = None
        self._probe = Probe(url)

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def connect(cls, url: str, park: Park, **kw: Any) -> Store:
        """Open the pool, apply migrations (and TimescaleDB extras when present), sync the devices."""
        store = cls(url, park, **kw)
        try:
            store._pool.open(wait=True, timeout=10.0)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"cannot reach the database: {exc}") from exc
        except Exception as exc:  # pool timeout
            raise StoreUnavailable(f"cannot reach the database: {exc}") from exc
        try:
            store.upgrade()
            store.sync_devices()
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self._probe.close()
        self._pool.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in autocommit mode; connection errors become StoreUnavailable."""
        try:
            with self._pool.connection(timeout=self.pool_timeout_s) as conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(str(exc).strip()) from exc
        except psycopg.errors.AdminShutdown as exc:  # pragma: no cover - subclass of OperationalError
            raise StoreUnavailable(str(exc)) from exc
        except Exception as exc:
            if type(exc).__name__ == "PoolTimeout":
                raise StoreUnavailable(f"no database connection available: {exc}") from exc
            raise

    def _retry(self, fn: Callable[[psycopg.Connection], T]) -> T:
        """Run an idempotent operation; once more on a fresh connection if the first one broke."""
        try:
            with self.connection() as conn:
                return fn(conn)
        except StoreUnavailable:
            self._pool.check()  # drop broken connections from the pool
            with self.connection() as conn:
                return fn(conn)

    def upgrade(self) -> list[str]:
        def run(conn: psycopg.Connection) -> list[str]:
            detect(conn)  # refuses, before any DDL, a database the server cannot open as it is
            applied = [m.name for m in upgrade(conn)]
            self.backend = enable_extras(conn)
            return applied

        return self._retry(run)

    def sync_devices(self) -> None:
        """Make the device and quantity tables match the park file (insert or update, never delete)."""

        def run(conn: psycopg.Connection) -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    Q.UPSERT_QUANTITY,
                    [(q.id, q.name, q.unit, q.kind, q.description) for q in QUANTITIES.values()],
                )
                cur.executemany(
                    Q.UPSERT_DEVICE,
                    [
                        (d.id, d.type, d.bus, json.dumps(d.model_dump(mode="json"), sort_keys=True))
                        for d in self.park.devices
                    ],
                )
                cur.execute(
                    "INSERT INTO store_meta VALUES ('interval_minutes', %s) ON CONFLICT (key) DO UPDATE "
                    "SET value = EXCLUDED.value",
                    (str(self.park.interval_minutes),),
                )
            rows = conn.execute("SELECT device_key, device_id FROM device").fetchall()
            self._keys = {r[1]: r[0] for r in rows}
            self._ids = {r[0]: r[1] for r in rows}

        self._retry(run)

    # ------------------------------------------------------------------ ingest

    def ingest(
        self,
        batch: ReadingBatch,
        *,
        source: str = "api",
        now: dt.datetime | None = None,
        allowed_devices: set[str] | None = None,
    ) -> IngestResult:
        """Validate and store a batch. Rejected rows are reported; accepted rows are stored in one transaction.

        Raises StoreUnavailable if the database cannot be reached even after one reconnect;
        in that case nothing of the batch was stored and it can be replayed as a whole.
        """
        good, rejected = self.validator.validate(batch, now=now, allowed_devices=allowed_devices)
        result = IngestResult(submitted=len(batch), rejected=rejected)
        if len(good) == 0:
            return result
        payload, dirty = self._encode(good)

        def run(conn: psycopg.Connection) -> int:
            with conn.transaction(), conn.cursor() as cur:
                try:
                    # optimistic: straight into telemetry; the first reading already stored aborts it
                    with conn.transaction(), cur.copy(Q.COPY_TELEMETRY) as copy:  # savepoint
                        copy.write(payload)
                    inserted = len(good)
                except psycopg.errors.UniqueViolation:
                    inserted = self._merge_staged(conn, cur, payload)
                if inserted:
                    cur.execute(Q.MARK_DIRTY, dirty)
                cur.execute(Q.LOG_INGEST, (source, len(batch), inserted, len(good) - inserted, len(rejected)))
                return inserted

        inserted = self._retry(run)
        result.accepted = inserted
        result.duplicates = len(good) - inserted
        return result

    def _encode(self, good: ReadingBatch) -> tuple[bytes, dict[str, Any]]:
        """The binary COPY buffer of validated readings in the key's order, and MARK_DIRTY's parameters."""
        keys = self._device_keys(good.device)
        q_code, q_uniq = pd.factorize(good.quantity)
        q_ids = np.array([QUANTITIES[q].id for q in q_uniq], dtype=np.int16)[q_code]
        order = np.lexsort((good.time_us, q_ids, keys))  # index order: fewer page splits
        payload = build_copy_buffer(
            good.time_us[order], keys[order], q_ids[order], good.value[order], good.quality[order]
        )
        return payload, self._dirty_starts(keys, q_ids, good.time_us)

    @staticmethod
    def _merge_staged(conn: psycopg.Connection, cur: psycopg.Cursor, payload: bytes) -> int:
        """Insert the batch's readings not stored yet (first write wins) through the staging table; how many."""
        cur.execute(Q.CREATE_STAGING)
        with cur.copy(Q.COPY_STAGING) as copy:
            copy.write(payload)
        try:
            with conn.transaction():  # savepoint
                cur.execute(Q.INSERT_NEW_FROM_STAGING)
        except psycopg.errors.UniqueViolation:  # duplicates inside the batch, or a concurrent ingest
            cur.execute(Q.INSERT_FROM_STAGING_ON_CONFLICT)
        return cur.rowcount

    def _dirty_starts(self, keys: np.ndarray, q_ids: np.ndarray, time_us: np.ndarray) -> dict[str, Any]:
        """MARK_DIRTY's parameters: the distinct (device, bucket start) of the batch's power samples."""
        width_us = self.width // dt.timedelta(microseconds=1)
        p = q_ids == P_KW_ID
        start = (time_us[p] - _PG_EPOCH_US) // width_us * width_us + _PG_EPOCH_US  # bucket grid from 2000-01-01
        pairs = np.unique(np.stack([keys[p].astype(np.int64), start]), axis=1)
        return {
            "keys": pairs[0].tolist(),
            "starts_us": pairs[1].tolist(),
            "width": self.width,
            "gap": self.max_gap,
        }

    def _device_keys(self, devices: np.ndarray) -> np.ndarray:
        inverse, uniq = pd.factorize(devices)
        missing = [d for d in uniq if d not in self._keys]
        if missing:
            self.sync_devices()
        try:
            lut = np.array([self._keys[d] for d in uniq], dtype=np.int32)
        except KeyError as exc:  # validated before, so only a park/database mismatch gets here
            raise StoreError(f"device {exc} is valid for the park but missing in the database") from None
        return lut[inverse]

    # ------------------------------------------------------------------ queries

    def refresh_rollups(self) -> None:
        """Recompute energy for every bucket touched since the last refresh."""
        params = {"width": self.width, "gap": self.max_gap, "p_id": P_KW_ID}
        with self._refresh_lock:
            self._retry(lambda conn: conn.execute(Q.REFRESH_DIRTY, params))

    def interval_energy(
        self,
        start: dt.datetime,
        end: dt.datetime,
        devices: list[str] | None = None,
        interval_minutes: int | None = None,
    ) -> IntervalEnergy:
        """Energy per device per interval in [start, end), at the park interval or a multiple of it."""
        start, end = _as_utc(start), _as_utc(end)
        minutes = interval_minutes or self.park.interval_minutes
        if minutes % self.park.interval_minutes:
            raise ValueError(f"interval_minutes must be a multiple of the park interval ({self.park.interval_minutes})")
        step = dt.timedelta(minutes=minutes)
        n = int((end - start) / step)
        if n <= 0:
            raise ValueError("end must be at least one interval after start")
        devices = devices if devices is not None else [d.id for d in self.park.devices]
        unknown = [d for d in devices if d not in self._keys]
        if unknown:
            raise KeyError(f"unknown devices: {unknown}")
        self.refresh_rollups()
        keys = [self._keys[d] for d in devices]
        params = {"start": start, "end": start + n * step, "keys": keys, "step": step}
        aligned = (start - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) % self.width == dt.timedelta(0)
        query = Q.SELECT_ROLLUP_BASE if minutes == self.park.interval_minutes and aligned else Q.SELECT_ROLLUP
        rows = self._retry(lambda conn: _fetch_columns(conn, query, params, _ROLLUP_ROW))
        e_out = np.zeros((len(devices), n))
        e_in = np.zeros((len(devices), n))
        cov = np.zeros((len(devices), n))
        if len(rows):
            row_of = np.full(max(keys) + 1, -1, dtype=np.int64)
            row_of[keys] = np.arange(len(keys))
            us = dt.timedelta(microseconds=1)
            i = row_of[rows["key"].astype(np.int64)]
            j = (rows["bucket"].astype(np.int64) - (start - series_queries.ORIGIN) // us) // (step // us)
            e_out[i, j], e_in[i, j] = rows["e_out"], rows["e_in"]
            cov[i, j] = rows["cov"] / (minutes // self.park.interval_minutes)
        starts = np.datetime64(start.replace(tzinfo=None), "us") + np.arange(n) * np.timedelta64(
            int(step.total_seconds() * 1e6), "us"
        )
        return IntervalEnergy(starts, list(devices), e_out, e_in, np.minimum(cov, 1.0))

    def counter_energy(
        self, device: str, quantity: str, start: dt.datetime, end: dt.datetime, interval_minutes: int | None = None
    ) -> np.ndarray:
        """Energy per interval [kWh] from a cumulative counter (``e_out_kwh``/``e_in_kwh``).

        Difference of the last reading at or before each boundary; NaN where a
        boundary has no reading yet or the counter went backwards (reset, flagged by NaN).
        """
        if QUANTITIES[quantity].kind != "counter":
            raise ValueError(f"{quantity} is not a counter quantity")
        start, end = _as_utc(start), _as_utc(end)
        step = dt.timedelta(minutes=interval_minutes or self.park.interval_minutes)
        params = {"key": self._keys[device], "q_id": QUANTITIES[quantity].id, "start": start, "end": end, "width": step}
        rows = self._retry(lambda conn: conn.execute(Q.SELECT_COUNTER_AT, params).fetchall())
        vals = np.array([np.nan if v is None else v for _, v in rows], dtype=float)
        diff = np.diff(vals)
        diff[diff < 0] = np.nan
        return diff

    def raw(self, device: str, quantity: str, start: dt.datetime, end: dt.datetime) -> tuple[np.ndarray, np.ndarray]:
        """Raw readings of one series in [start, end): (time_us int64, value float64)."""
        params = {
            "key": self._keys[device],
            "q_id": QUANTITIES[quantity].id,
            "start": _as_utc(start),
            "end": _as_utc(end),
        }
        rows = self._retry(lambda conn: conn.execute(Q.SELECT_RAW, params).fetchall())
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        t = np.array([(r[0] - epoch) // dt.timedelta(microseconds=1) for r in rows], dtype=np.int64)
        v = np.array([r[1] for r in rows], dtype=np.float64)
        return t, v

    def latest(self) -> list[LatestReading]:
        """The latest reading of every (device, quantity) series."""
        rows = self._retry(lambda conn: conn.execute(Q.SELECT_LATEST).fetchall())
        return [LatestReading(*r) for r in rows]

    @property
    def timescaledb(self) -> bool:
        return self.backend is not None and self.backend.name == "timescaledb"

    def series(
        self,
        quantity: str,
        start: dt.datetime,
        end: dt.datetime,
        devices: list[str] | None = None,
        bucket_minutes: int = 15,
        *,
        use_aggregate: bool = True,
    ) -> SeriesTable:
        """Mean/min/max/samples per ``bucket_minutes`` (a multiple of 15) in [start, end), samples of quality < BAD.

        Served from the continuous aggregates on TimescaleDB, from raw rows on plain PostgreSQL
        (``use_aggregate=False`` forces raw rows on both, for comparison).
        """
        if bucket_minutes <= 0 or bucket_minutes % 15:
            raise ValueError("bucket_minutes must be a positive multiple of 15")
        width = dt.timedelta(minutes=bucket_minutes)
        start, end = _as_utc(start), _as_utc(end)
        if (start - series_queries.ORIGIN) % width or (end - start) % width or end <= start:
            raise ValueError(f"start and end must lie on the {bucket_minutes}-minute grid, end after start")
        devices = devices if devices is not None else [d.id for d in self.park.devices]
        unknown = [d for d in devices if d not in self._keys]
        if unknown:
            raise KeyError(f"unknown devices: {unknown}")
        keys = [self._keys[d] for d in devices]
        params = {
            "keys": keys,
            "q_id": QUANTITIES[quantity].id,
            "start": start,
            "end": end,
            "width": width,
        }

        def run(conn: psycopg.Connection) -> np.ndarray:
            sql = series_queries.query(
                conn, timescaledb=self.timescaledb, use_aggregate=use_aggregate, start=start, end=end, width=width
            )
            return _fetch_columns(conn, sql, params, _SERIES_ROW)

        rows = self._retry(run)
        n = (end - start) // width
        shape = (len(devices), n)
        avg, lo, hi = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
        samples = np.zeros(shape, dtype=np.int64)
        if len(rows):
            row_of = np.full(max(keys) + 1, -1, dtype=np.int64)
            row_of[keys] = np.arange(len(keys))
            start_pg_us = (start - series_queries.ORIGIN) // dt.timedelta(microseconds=1)
            i = row_of[rows["key"].astype(np.int64)]
            j = (rows["bucket"].astype(np.int64) - start_pg_us) // (width // dt.timedelta(microseconds=1))
            avg[i, j], lo[i, j], hi[i, j], samples[i, j] = rows["avg"], rows["min"], rows["max"], rows["samples"]
        starts = np.datetime64(start.replace(tzinfo=None), "us") + np.arange(n) * np.timedelta64(width)
        return SeriesTable(starts, list(devices), avg, lo, hi, samples)

    def features(self) -> timescale.Features | None:
        """TimescaleDB features in use, or None on plain PostgreSQL."""
        return self._retry(timescale.features) if self.timescaledb else None

    def compress(self, older_than: dt.datetime) -> int:
        """Compress telemetry chunks ending before ``older_than`` now (the policy does it after 7 days).

        Returns the number of chunks compressed; 0 on plain PostgreSQL, which has no compression.
        """
        if not self.timescaledb:
            return 0
        return self._retry(lambda conn: timescale.compress_older_than(conn, _as_utc(older_than)))

    def compression(self) -> timescale.CompressionStats | None:
        """Sizes before and after compression of the compressed chunks, or None on plain PostgreSQL."""
        return self._retry(timescale.compression_stats) if self.timescaledb else None

    def count(self) -> int:
        return int(self._retry(lambda conn: conn.execute("SELECT count(*) FROM telemetry").fetchone()[0]))  # type: ignore[index]

    def ping(self) -> bool:
        """Whether the database answers, decided within ``Probe.deadline_s`` (:mod:`ems.store.probe`)."""
        return self._probe.ping()
