-- Retention that never drops raw readings an issued document cites.
--
-- Issued carbon reports (carbon_report) and footprint documents (footprint_document) are
-- append-only and cite the telemetry of their period: an auditor re-running one needs those
-- raw rows. 0001's add_retention_policy would drop every chunk older than three years
-- regardless. It is replaced by a job that drops a chunk only if it is older than the
-- keep window AND its time range overlaps no issued report's or document's period.
-- energy_rollup is not a hypertable and is never dropped.
SELECT remove_retention_policy('telemetry');

CREATE FUNCTION ems_droppable_telemetry_chunks(keep interval)
RETURNS TABLE (chunk regclass, range_start timestamptz, range_end timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT format('%I.%I', c.chunk_schema, c.chunk_name)::regclass, c.range_start, c.range_end
    FROM timescaledb_information.chunks c
    WHERE c.hypertable_name = 'telemetry' AND c.range_end <= now() - keep
      AND NOT EXISTS (SELECT 1 FROM carbon_report r
                      WHERE r.period_start < c.range_end AND r.period_end > c.range_start)
      AND NOT EXISTS (SELECT 1 FROM footprint_document f
                      WHERE f.period_start < c.range_end AND f.period_end > c.range_start)
    ORDER BY c.range_start
$$;

CREATE PROCEDURE ems_telemetry_retention(job_id integer, config jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM ems_droppable_telemetry_chunks((config ->> 'keep')::interval) LOOP
        BEGIN
            -- drop_chunks drops chunks lying wholly inside [newer_than, older_than): exactly this one
            PERFORM drop_chunks('telemetry', older_than => c.range_end, newer_than => c.range_start);
        EXCEPTION WHEN deadlock_detected OR lock_not_available THEN
            -- a policy job (aggregate refresh, compression) holds the chunk: the next run drops it
            RAISE NOTICE 'telemetry chunk % is busy, left for the next retention run', c.chunk;
        END;
    END LOOP;
END $$;

SELECT add_job('ems_telemetry_retention', INTERVAL '1 day', config => '{"keep": "3 years"}');

-- Real-time aggregates: rows newer than the last refresh are aggregated at read time, so a
-- dashboard never lags the policy. Late rows older than that are made visible by the store
-- refreshing the requested window before it reads (ems/store/series_queries.py).
ALTER MATERIALIZED VIEW telemetry_15m SET (timescaledb.materialized_only = false);
ALTER MATERIALIZED VIEW telemetry_1h SET (timescaledb.materialized_only = false);
