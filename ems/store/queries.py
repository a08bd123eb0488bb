"""The store's SQL statements, in one place. Schema lives in ``migrations/``."""

from __future__ import annotations

CREATE_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS ingest_staging (
    time timestamptz NOT NULL,
    device_key integer NOT NULL,
    quantity_id smallint NOT NULL,
    value double precision NOT NULL,
    quality smallint NOT NULL
) ON COMMIT DELETE ROWS
"""

COPY_STAGING = "COPY ingest_staging (time, device_key, quantity_id, value, quality) FROM STDIN (FORMAT BINARY)"

# The optimistic fast path: the batch straight into telemetry, whose unique key rejects the whole
# COPY at the first reading already stored (the store then merges through the staging table).
COPY_TELEMETRY = "COPY telemetry (time, device_key, quantity_id, value, quality) FROM STDIN (FORMAT BINARY)"

# First write wins: a reading already stored for (device, quantity, time) is a duplicate.
# The anti-join is ~40 % faster than ON CONFLICT for bulk inserts; when a concurrent
# ingest of the same rows makes it hit the unique key, the store falls back to
# INSERT_FROM_STAGING_ON_CONFLICT inside the same transaction.
INSERT_NEW_FROM_STAGING = """
INSERT INTO telemetry (time, device_key, quantity_id, value, quality)
SELECT s.time, s.device_key, s.quantity_id, s.value, s.quality FROM ingest_staging s
WHERE NOT EXISTS (
    SELECT 1 FROM telemetry t
    WHERE t.device_key = s.device_key AND t.quantity_id = s.quantity_id AND t.time = s.time
)
"""

INSERT_FROM_STAGING_ON_CONFLICT = """
INSERT INTO telemetry (time, device_key, quantity_id, value, quality)
SELECT time, device_key, quantity_id, value, quality FROM ingest_staging
ON CONFLICT (device_key, quantity_id, time) DO NOTHING
"""

# A power sample holds for at most max_gap, so a new sample at t can change the integral of the
# buckets from (t - max_gap) to (t + max_gap). The store sends the distinct (device, start of the
# bucket the sample lies in) of the batch's power samples, as µs since the Unix epoch (exact, and
# independent of the session's time zone); every bucket from (start - max_gap) to
# (start + width + max_gap) is marked, a superset of what each sample needs, which is harmless
# (a dirty bucket is only recomputed from raw rows).
MARK_DIRTY = """
INSERT INTO rollup_dirty (device_key, bucket)
SELECT DISTINCT u.k, b
FROM unnest(%(keys)s::int4[], %(starts_us)s::int8[]) AS u(k, us),
     LATERAL (SELECT TIMESTAMPTZ 'epoch' + u.us * INTERVAL '1 microsecond' AS s) s,
     LATERAL generate_series(
         date_bin(%(width)s, s.s - %(gap)s, TIMESTAMPTZ '2000-01-01'),
         date_bin(%(width)s, s.s + %(width)s + %(gap)s - INTERVAL '1 microsecond', TIMESTAMPTZ '2000-01-01'),
         %(width)s) AS b
ON CONFLICT DO NOTHING
"""

# Sample-and-hold integration of p_kw over each dirty bucket:
#   E = Σ_i p_i · |[t_i, min(t_{i+1}, t_i + max_gap)) ∩ bucket|
# split into the positive part (e_out, injection) and negative part (e_in, draw).
# Samples with quality BAD (3) are ignored. One range scan per device (from its first
# to its last dirty bucket) keeps the plan simple whatever the table statistics say.
# Because max_gap < bucket width, a hold segment touches at most two buckets: the
# "pieces" CTE splits it there.
REFRESH_DIRTY = """
WITH d AS (
    DELETE FROM rollup_dirty RETURNING device_key, bucket
), r AS (
    SELECT device_key, min(bucket) AS lo, max(bucket) AS hi FROM d GROUP BY device_key
), s AS (
    SELECT t.device_key, t.time, t.value,
           date_bin(%(width)s, t.time, TIMESTAMPTZ '2000-01-01') AS b0,
           LEAST(COALESCE(lead(t.time) OVER (PARTITION BY t.device_key ORDER BY t.time), 'infinity'),
                 t.time + %(gap)s) AS seg_end
    FROM r
    JOIN telemetry t
      ON t.device_key = r.device_key AND t.quantity_id = %(p_id)s AND t.quality < 3
     AND t.time >= r.lo - %(gap)s AND t.time < r.hi + %(width)s
), pieces AS (
    SELECT device_key, b0 AS bucket, value, true AS own,
           EXTRACT(EPOCH FROM LEAST(seg_end, b0 + %(width)s) - time) AS dur_s
    FROM s
    UNION ALL
    SELECT device_key, b0 + %(width)s, value, false,
           EXTRACT(EPOCH FROM seg_end - (b0 + %(width)s))
    FROM s WHERE seg_end > b0 + %(width)s
), agg AS (
    SELECT d.device_key, d.bucket,
           COALESCE(SUM(GREATEST(p.value, 0) * p.dur_s) / 3600.0, 0) AS e_out_kwh,
           COALESCE(SUM(GREATEST(-p.value, 0) * p.dur_s) / 3600.0, 0) AS e_in_kwh,
           MIN(p.value) FILTER (WHERE p.own) AS p_min_kw,
           MAX(p.value) FILTER (WHERE p.own) AS p_max_kw,
           COUNT(*) FILTER (WHERE p.own) AS samples,
           COALESCE(SUM(p.dur_s), 0) / EXTRACT(EPOCH FROM %(width)s) AS coverage
    FROM d LEFT JOIN pieces p ON p.device_key = d.device_key AND p.bucket = d.bucket
    GROUP BY d.device_key, d.bucket
)
INSERT INTO energy_rollup AS r (device_key, bucket, e_out_kwh, e_in_kwh, p_min_kw, p_max_kw, samples, coverage)
SELECT device_key, bucket, e_out_kwh, e_in_kwh, p_min_kw, p_max_kw, samples, coverage FROM agg
ON CONFLICT (device_key, bucket) DO UPDATE SET
    e_out_kwh = EXCLUDED.e_out_kwh, e_in_kwh = EXCLUDED.e_in_kwh,
    p_min_kw = EXCLUDED.p_min_kw, p_max_kw = EXCLUDED.p_max_kw,
    samples = EXCLUDED.samples, coverage = EXCLUDED.coverage
"""

# Rollups at the base interval (no aggregation needed); the store turns bucket starts into column indexes.
SELECT_ROLLUP_BASE = """
SELECT device_key, bucket, e_out_kwh, e_in_kwh, coverage
FROM energy_rollup
WHERE bucket >= %(start)s AND bucket < %(end)s AND device_key = ANY(%(keys)s)
"""

# Rollups summed to the requested step, cut from `start` with date_bin (integer arithmetic on the
# timestamp; EXTRACT(EPOCH ...) is numeric and its per-row division cost more than the query).
SELECT_ROLLUP = """
SELECT device_key, date_bin(%(step)s, bucket, %(start)s),
       sum(e_out_kwh)::float8, sum(e_in_kwh)::float8, sum(coverage)::float8
FROM energy_rollup
WHERE bucket >= %(start)s AND bucket < %(end)s AND device_key = ANY(%(keys)s)
GROUP BY 1, 2
"""

# Counter energy: last counter reading at or before each boundary, differenced.
SELECT_COUNTER_AT = """
SELECT b, (SELECT value FROM telemetry t
           WHERE t.device_key = %(key)s AND t.quantity_id = %(q_id)s AND t.time <= b AND t.quality < 3
           ORDER BY t.time DESC LIMIT 1)
FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz, %(width)s) AS b
"""

SELECT_RAW = """
SELECT time, value, quality FROM telemetry
WHERE device_key = %(key)s AND quantity_id = %(q_id)s AND time >= %(start)s AND time < %(end)s
ORDER BY time
"""

SELECT_LATEST = """
SELECT d.device_id, q.name, l.time, l.value, l.quality
FROM device d CROSS JOIN quantity q
CROSS JOIN LATERAL (
    SELECT time, value, quality FROM telemetry t
    WHERE t.device_key = d.device_key AND t.quantity_id = q.quantity_id
    ORDER BY time DESC LIMIT 1
) l
ORDER BY d.device_id, q.name
"""

UPSERT_DEVICE = """
INSERT INTO device (device_id, type, bus, spec) VALUES (%s, %s, %s, %s)
ON CONFLICT (device_id) DO UPDATE SET type = EXCLUDED.type, bus = EXCLUDED.bus, spec = EXCLUDED.spec,
    updated_at = now()
WHERE device.spec IS DISTINCT FROM EXCLUDED.spec OR device.bus IS DISTINCT FROM EXCLUDED.bus
"""

UPSERT_QUANTITY = """
INSERT INTO quantity (quantity_id, name, unit, kind, description) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (quantity_id) DO UPDATE SET name = EXCLUDED.name, unit = EXCLUDED.unit, kind = EXCLUDED.kind,
    description = EXCLUDED.description
"""

LOG_INGEST = """
INSERT INTO ingest_log (source, submitted, accepted, duplicates, rejected) VALUES (%s, %s, %s, %s, %s)
"""
