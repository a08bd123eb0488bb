-- Plain-PostgreSQL stand-ins for the TimescaleDB continuous aggregates (timescale/0001_timescale.sql):
-- same names and columns, computed from raw rows on every read, so dashboards and Grafana
-- run the same SQL on both backends. Applied only on the plain path (ems/store/backend.py).
-- date_bin from 2000-01-01 gives the same 15-minute and 1-hour buckets as time_bucket.

CREATE VIEW telemetry_15m AS
SELECT date_bin(INTERVAL '15 minutes', time, TIMESTAMPTZ '2000-01-01') AS bucket,
       device_key, quantity_id,
       avg(value) AS avg_value, min(value) AS min_value, max(value) AS max_value,
       count(*) AS samples
FROM telemetry
WHERE quality < 3
GROUP BY 1, device_key, quantity_id;

CREATE VIEW telemetry_1h AS
SELECT date_bin(INTERVAL '1 hour', time, TIMESTAMPTZ '2000-01-01') AS bucket,
       device_key, quantity_id,
       avg(value) AS avg_value, min(value) AS min_value, max(value) AS max_value,
       count(*) AS samples
FROM telemetry
WHERE quality < 3
GROUP BY 1, device_key, quantity_id;
