-- The dashboard series read a window of one quantity for a set of devices from the continuous
-- aggregates' materialisation tables (ems/store/series_queries.py, FROM_MATERIALIZED). TimescaleDB's
-- default indexes there are per group column ((device_key, bucket), (quantity_id, bucket)), so the
-- read was a bitmap heap scan filtering devices; this index serves it as one index-only range scan
-- per chunk, in the order the store places the rows.
CREATE INDEX IF NOT EXISTS telemetry_15m_series ON telemetry_15m (quantity_id, device_key, bucket)
    INCLUDE (avg_value, min_value, max_value, samples);
CREATE INDEX IF NOT EXISTS telemetry_1h_series ON telemetry_1h (quantity_id, device_key, bucket)
    INCLUDE (avg_value, min_value, max_value, samples);
