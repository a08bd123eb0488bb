-- 0001: devices, quantities, raw telemetry, energy rollups.
-- Plain PostgreSQL. TimescaleDB extras (hypertable, compression, retention,
-- continuous aggregates) live in timescale/0001_timescale.sql and are applied
-- by ems/store/backend.py only when the extension is available.

CREATE TABLE device (
    device_key  integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id   text NOT NULL UNIQUE,
    type        text NOT NULL,
    bus         text NOT NULL,
    spec        jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE quantity (
    quantity_id smallint PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    unit        text NOT NULL,
    kind        text NOT NULL,
    description text NOT NULL
);

-- One row per (device, quantity, time). The key makes ingest idempotent: the
-- first accepted value wins and later duplicates are counted, not stored.
-- No foreign keys: the application validates device and quantity before COPY,
-- and FK checks would halve bulk ingest speed.
CREATE TABLE telemetry (
    time        timestamptz      NOT NULL,
    device_key  integer          NOT NULL,
    quantity_id smallint         NOT NULL,
    value       double precision NOT NULL,
    quality     smallint         NOT NULL DEFAULT 0,
    PRIMARY KEY (device_key, quantity_id, time)
);

-- Energy per device per base interval, integrated from active power (p_kw) with a
-- sample-and-hold rule (see ems/store/rollups.py). Maintained by the application:
-- ingest marks buckets dirty, queries refresh dirty buckets first, so the
-- rollup is always recomputed from raw rows and a duplicate can never double-count.
CREATE TABLE energy_rollup (
    device_key  integer          NOT NULL,
    bucket      timestamptz      NOT NULL,
    e_out_kwh   double precision NOT NULL,
    e_in_kwh    double precision NOT NULL,
    p_min_kw    double precision,
    p_max_kw    double precision,
    samples     integer          NOT NULL,
    coverage    double precision NOT NULL,
    PRIMARY KEY (device_key, bucket)
);

CREATE TABLE rollup_dirty (
    device_key integer     NOT NULL,
    bucket     timestamptz NOT NULL,
    PRIMARY KEY (device_key, bucket)
);

CREATE TABLE store_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE ingest_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    source      text        NOT NULL,
    submitted   integer     NOT NULL,
    accepted    integer     NOT NULL,
    duplicates  integer     NOT NULL,
    rejected    integer     NOT NULL
);
