-- TimescaleDB extras, applied only when the extension is available (ems/store/backend.py).
-- The application API is identical on plain PostgreSQL; these make large parks cheaper to keep.

SELECT create_hypertable('telemetry', by_range('time', INTERVAL '1 day'), migrate_data => true);

ALTER TABLE telemetry SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'device_key, quantity_id',
    timescaledb.compress_orderby = 'time'
);
SELECT add_compression_policy('telemetry', compress_after => INTERVAL '7 days');

-- Raw readings are kept three years (audit trail); energy_rollup is kept forever.
SELECT add_retention_policy('telemetry', drop_after => INTERVAL '3 years');

-- Continuous aggregates for dashboards and Grafana (averages, extremes, counts).
-- Energy for accounting stays in energy_rollup: its sample-and-hold integral needs
-- the next sample's time (a window function), which continuous aggregates cannot use.
CREATE MATERIALIZED VIEW telemetry_15m
WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '15 minutes', time) AS bucket,
       device_key, quantity_id,
       avg(value) AS avg_value, min(value) AS min_value, max(value) AS max_value,
       count(*) AS samples
FROM telemetry
WHERE quality < 3
GROUP BY bucket, device_key, quantity_id
WITH NO DATA;

SELECT add_continuous_aggregate_policy('telemetry_15m',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '15 minutes',
    schedule_interval => INTERVAL '5 minutes');

CREATE MATERIALIZED VIEW telemetry_1h
WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket,
       device_key, quantity_id,
       sum(avg_value * samples) / sum(samples) AS avg_value,
       min(min_value) AS min_value, max(max_value) AS max_value,
       sum(samples) AS samples
FROM telemetry_15m
GROUP BY 1, device_key, quantity_id
WITH NO DATA;

SELECT add_continuous_aggregate_policy('telemetry_1h',
    start_offset => INTERVAL '7 days', end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '30 minutes');
