"""Dashboard series (average, extremes and sample count per bucket): one query module for both backends.

On TimescaleDB the buckets come from the continuous aggregates ``telemetry_15m`` /
``telemetry_1h`` (real-time: rows newer than the last refresh are aggregated at read
time). Rows that arrived late, below the materialisation watermark (possibly into a
compressed chunk), are made visible by refreshing the requested window first; the
refresh is called only when TimescaleDB's invalidation logs hold a change overlapping
the window. On plain PostgreSQL the same buckets are computed from raw rows with an
index range scan. Both give identical numbers (tests/ems/test_timescale.py checks them
against each other and against numpy).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

ORIGIN = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # date_bin origin; time_bucket's 2000-01-03 is on the same grid

# Each returns (int4 device_key, timestamptz bucket, float8 avg, float8 min, float8 max, int8 samples),
# fixed-width and NOT NULL so the store reads them packed into one bytea; the store turns the bucket
# start into its column index. Buckets are cut with date_bin on the timestamp itself (integer
# arithmetic): EXTRACT(EPOCH ...) returns numeric, whose per-row division cost more than the scan.

# re-bucketing of aggregate rows to the requested width: the mean is sample-weighted
FROM_AGGREGATE = """
SELECT device_key::int4, date_bin(%(width)s, bucket, %(start)s),
       (sum(avg_value * samples) / sum(samples))::float8, min(min_value)::float8, max(max_value)::float8,
       sum(samples)::int8
FROM {view}
WHERE device_key = ANY(%(keys)s) AND quantity_id = %(q_id)s AND bucket >= %(start)s AND bucket < %(end)s
GROUP BY 1, 2
"""

# The requested width is the aggregate's own and the whole window lies below its watermark (after the
# refresh every bucket there is materialised): the rows straight from the aggregate's materialisation
# hypertable, which is what the view's materialised half reads, without the view's real-time union
# (planned per query, and empty below the watermark). Covered by the index of migration 0004, so an
# index-only scan. The table is named by TimescaleDB's catalog (CAGG_STATE).
FROM_MATERIALIZED = """
SELECT device_key::int4, bucket, avg_value::float8, min_value::float8, max_value::float8, samples::int8
FROM {table}
WHERE quantity_id = %(q_id)s AND device_key = ANY(%(keys)s) AND bucket >= %(start)s AND bucket < %(end)s
"""

# the requested width is the aggregate's own: rows as materialised, no re-grouping
FROM_AGGREGATE_AS_IS = """
SELECT device_key::int4, bucket, avg_value::float8, min_value::float8, max_value::float8, samples::int8
FROM {view}
WHERE device_key = ANY(%(keys)s) AND quantity_id = %(q_id)s AND bucket >= %(start)s AND bucket < %(end)s
"""

FROM_RAW = """
SELECT device_key::int4, date_bin(%(width)s, time, %(start)s),
       avg(value)::float8, min(value)::float8, max(value)::float8, count(*)::int8
FROM telemetry
WHERE device_key = ANY(%(keys)s) AND quantity_id = %(q_id)s AND time >= %(start)s AND time < %(end)s
  AND quality < 3
GROUP BY 1, 2
"""

# A continuous aggregate's state, in one round trip on TimescaleDB's own catalog (readable by every role):
# its materialisation hypertable; its watermark (TimescaleDB's internal time, µs since the Unix epoch:
# every bucket below it is materialised); and whether refreshing it over [lo, hi) would change anything:
# a logged change of its source (the raw hypertable, or for the hourly aggregate the 15-minute one)
# not yet moved to the aggregate, an invalidation of the aggregate itself, or a materialisation still
# pending. Rows above the invalidation threshold are never logged: the real-time part of the view
# aggregates them at read time. Refreshing costs a few to tens of milliseconds even when nothing
# changed (locks, threshold and log processing); this check is one index probe per log.
_CAGG = """
SELECT format('%%I.%%I', h.schema_name, h.table_name),
       _timescaledb_functions.cagg_watermark(ca.mat_hypertable_id),
       {changed}
FROM _timescaledb_catalog.continuous_agg ca JOIN _timescaledb_catalog.hypertable h ON h.id = ca.mat_hypertable_id
WHERE ca.user_view_name = %(view)s
"""
CAGG_STATE = _CAGG.format(
    changed="""EXISTS (SELECT 1 FROM _timescaledb_catalog.continuous_aggs_hypertable_invalidation_log l
               WHERE l.hypertable_id = ca.raw_hypertable_id
                 AND l.lowest_modified_value < %(hi)s AND l.greatest_modified_value >= %(lo)s)
       OR EXISTS (SELECT 1 FROM _timescaledb_catalog.continuous_aggs_materialization_invalidation_log l
                  WHERE l.materialization_id = ca.mat_hypertable_id
                    AND l.lowest_modified_value < %(hi)s AND l.greatest_modified_value >= %(lo)s)
       OR EXISTS (SELECT 1 FROM _timescaledb_catalog.continuous_aggs_materialization_ranges l
                  WHERE l.materialization_id = ca.mat_hypertable_id
                    AND l.lowest_modified_value < %(hi)s AND l.greatest_modified_value >= %(lo)s)"""
)

# CAGG_STATE without the refresh check, for TimescaleDB before 2.22 (no materialization_ranges catalog)
CAGG_WATERMARK = _CAGG.format(changed="true")
_UNIX_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def aggregate_for(width: dt.timedelta) -> tuple[str, dt.timedelta]:
    """The continuous aggregate a bucket width is built from, and that aggregate's bucket width."""
    hour = dt.timedelta(hours=1)
    return ("telemetry_1h", hour) if width % hour == dt.timedelta(0) else ("telemetry_15m", dt.timedelta(minutes=15))


@dataclass(frozen=True)
class _Aggregate:
    """CAGG_STATE of one continuous aggregate."""

    table: str  # its materialisation hypertable, quoted
    watermark_us: int | None
    changed: bool  # a refresh of the window would change something


def _state(conn: psycopg.Connection, view: str, lo_us: int, hi_us: int) -> _Aggregate | None:
    """CAGG_STATE. When the catalog lacks a table it probes (``continuous_aggs_materialization_ranges``
    came with TimescaleDB 2.22, the store accepts 2.13), CAGG_WATERMARK: the refresh is then always
    made (``changed``), and the materialisation table still read below the watermark. None when even
    that fails: refresh, and read the view. The store's connections are in autocommit (a refresh
    cannot run in a transaction), so a failed probe leaves the connection usable without a
    savepoint's round trips."""
    catalog_errors = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedFunction)
    for sql in (CAGG_STATE, CAGG_WATERMARK):
        try:
            row = conn.execute(sql, {"view": view, "lo": lo_us, "hi": hi_us}).fetchone()
        except catalog_errors:
            continue
        if row is None:
            return None
        return _Aggregate(str(row[0]), None if row[1] is None else int(row[1]), bool(row[2]))
    return None


def refresh(conn: psycopg.Connection, start: dt.datetime, end: dt.datetime, *, hourly: bool) -> int:
    """Materialise invalidated buckets over [start, end): the 15-minute aggregate, then the hourly one built on it.

    Skips an aggregate whose window has nothing to refresh (CAGG_STATE); returns how many it refreshed.
    """
    return _refresh(conn, start, end, hourly=hourly)[0]


def _refresh(
    conn: psycopg.Connection, start: dt.datetime, end: dt.datetime, *, hourly: bool
) -> tuple[int, _Aggregate | None]:
    """refresh(), and the state of the last aggregate (the one read) as it is afterwards."""
    views = [("telemetry_15m", dt.timedelta(minutes=15))] + (
        [("telemetry_1h", dt.timedelta(hours=1))] if hourly else []
    )
    refreshed, state = 0, None
    for n, (view, width) in enumerate(views, 1):
        lo = ORIGIN + ((start - ORIGIN) // width) * width
        hi = ORIGIN + -((ORIGIN - end) // width) * width  # ceiling
        us = dt.timedelta(microseconds=1)
        window = (lo - _UNIX_EPOCH) // us, (hi - _UNIX_EPOCH) // us
        state = _state(conn, view, *window)
        if state is not None and not state.changed:
            continue
        conn.execute("CALL refresh_continuous_aggregate(%s, %s, %s)", (view, lo, hi))
        refreshed += 1
        if state is not None and n == len(views):
            state = _state(conn, view, *window)  # the watermark moved
    return refreshed, state


def query(
    conn: psycopg.Connection,
    *,
    timescaledb: bool,
    use_aggregate: bool,
    start: dt.datetime,
    end: dt.datetime,
    width: dt.timedelta,
) -> str:
    """The SQL to run for a series request; on TimescaleDB refreshes the window of the aggregate it reads.

    Reads the materialisation table when the whole window lies below the watermark, else the view.
    """
    if timescaledb and use_aggregate:
        view, own = aggregate_for(width)
        _, state = _refresh(conn, start, end, hourly=view == "telemetry_1h")
        if width != own:
            return FROM_AGGREGATE.format(view=view)
        end_us = (end - _UNIX_EPOCH) // dt.timedelta(microseconds=1)
        if state is not None and state.watermark_us is not None and state.watermark_us >= end_us:
            return FROM_MATERIALIZED.format(table=state.table)
        return FROM_AGGREGATE_AS_IS.format(view=view)
    return FROM_RAW
