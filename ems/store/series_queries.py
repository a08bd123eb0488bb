"""Dashboard series (average, extremes and sample count per bucket): one query module for both backends.

On TimescaleDB the buckets come from the continuous aggregates ``telemetry_15m`` /
``telemetry_1h`` (real-time: rows newer than the last refresh are aggregated at read
time). Rows that arrived late, below the materialisation watermark (possibly into a
compressed chunk), are made visible by refreshing the requested window first; a refresh
only recomputes buckets the extension has logged as invalidated, so it is cheap when
nothing changed. On plain PostgreSQL the same buckets are computed from raw rows with an
index range scan. Both give identical numbers (tests/ems/test_timescale.py checks them
against each other and against numpy).
"""

from __future__ import annotations

import datetime as dt

import psycopg

ORIGIN = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # date_bin origin; time_bucket's 2000-01-03 is on the same grid

# Both return (int4 device_key, int4 j, float8 avg, float8 min, float8 max, int8 samples), j being the
# bucket index from `start`, fixed-width and NOT NULL so the store reads them through binary COPY.

# re-bucketing of aggregate rows to the requested width: the mean is sample-weighted
FROM_AGGREGATE = """
SELECT device_key::int4, floor(EXTRACT(EPOCH FROM bucket - %(start)s) / %(step_s)s)::int4 AS j,
       (sum(avg_value * samples) / sum(samples))::float8, min(min_value)::float8, max(max_value)::float8,
       sum(samples)::int8
FROM {view}
WHERE device_key = ANY(%(keys)s) AND quantity_id = %(q_id)s AND bucket >= %(start)s AND bucket < %(end)s
GROUP BY 1, 2
"""

# the requested width is the aggregate's own: rows as materialised, no re-grouping
FROM_AGGREGATE_AS_IS = """
SELECT device_key::int4, floor(EXTRACT(EPOCH FROM bucket - %(start)s) / %(step_s)s)::int4 AS j,
       avg_value::float8, min_value::float8, max_value::float8, samples::int8
FROM {view}
WHERE device_key = ANY(%(keys)s) AND quantity_id = %(q_id)s AND bucket >= %(start)s AND bucket < %(end)s
"""

FROM_RAW = """
SELECT device_key::int4, floor(EXTRACT(EPOCH FROM time - %(start)s) / %(step_s)s)::int4 AS j,
       avg(value)::float8, min(value)::float8, max(value)::float8, count(*)::int8
FROM telemetry
WHERE device_key = ANY(%(keys)s) AND quantity_id = %(q_id)s AND time >= %(start)s AND time < %(end)s
  AND quality < 3
GROUP BY 1, 2
"""


def aggregate_for(width: dt.timedelta) -> tuple[str, dt.timedelta]:
    """The continuous aggregate a bucket width is built from, and that aggregate's bucket width."""
    hour = dt.timedelta(hours=1)
    return ("telemetry_1h", hour) if width % hour == dt.timedelta(0) else ("telemetry_15m", dt.timedelta(minutes=15))


def refresh(conn: psycopg.Connection, start: dt.datetime, end: dt.datetime, *, hourly: bool) -> None:
    """Materialise invalidated buckets over [start, end): the 15-minute aggregate, then the hourly one built on it."""
    views = [("telemetry_15m", dt.timedelta(minutes=15))] + (
        [("telemetry_1h", dt.timedelta(hours=1))] if hourly else []
    )
    for view, width in views:
        lo = ORIGIN + ((start - ORIGIN) // width) * width
        hi = ORIGIN + -((ORIGIN - end) // width) * width  # ceiling
        conn.execute("CALL refresh_continuous_aggregate(%s, %s, %s)", (view, lo, hi))


def query(
    conn: psycopg.Connection,
    *,
    timescaledb: bool,
    use_aggregate: bool,
    start: dt.datetime,
    end: dt.datetime,
    width: dt.timedelta,
) -> str:
    """The SQL to run for a series request; on TimescaleDB refreshes the window of the aggregate it reads."""
    if timescaledb and use_aggregate:
        view, own = aggregate_for(width)
        refresh(conn, start, end, hourly=view == "telemetry_1h")
        return (FROM_AGGREGATE_AS_IS if width == own else FROM_AGGREGATE).format(view=view)
    return FROM_RAW
