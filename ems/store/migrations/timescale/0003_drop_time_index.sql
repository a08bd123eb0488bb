-- create_hypertable's default index on (time DESC) is not used by any query: every read of
-- telemetry names its device and quantity (the primary key), chunk exclusion bounds time, and the
-- continuous aggregates' refresh scans whole chunks. Maintaining it cost about half the
-- hypertable's ingest rate (benchmarks/ingest.py, docs/storage.md).
DROP INDEX IF EXISTS telemetry_time_idx;
