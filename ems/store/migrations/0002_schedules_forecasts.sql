-- 0002: forecasts, their accuracy, and versioned dispatch schedules (plan vs actual).
-- Rows are only ever inserted: a new plan for the same horizon is a new version.

-- One issued forecast (a horizon of regular intervals).
CREATE TABLE forecast_run (
    run_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issued_at        timestamptz NOT NULL DEFAULT now(),
    start_time       timestamptz NOT NULL,
    interval_minutes smallint    NOT NULL CHECK (interval_minutes > 0),
    n_intervals      integer     NOT NULL CHECK (n_intervals > 0),
    note             text        NOT NULL DEFAULT ''
);
CREATE INDEX forecast_run_start ON forecast_run (start_time);

-- The forecast of one series (device id, or 'price' / 'ef'), one array element per interval.
CREATE TABLE forecast_series (
    run_id  bigint NOT NULL REFERENCES forecast_run (run_id) ON DELETE CASCADE,
    series  text   NOT NULL,
    kind    text   NOT NULL CHECK (kind IN ('pv', 'wind', 'load', 'direct', 'price', 'ef')),
    method  text   NOT NULL,
    unit    text   NOT NULL,
    vals    double precision[] NOT NULL,
    PRIMARY KEY (run_id, series)
);

-- Accuracy of a forecast series against what was then measured (MAE, RMSE, bias in the series unit).
CREATE TABLE forecast_accuracy (
    run_id       bigint      NOT NULL REFERENCES forecast_run (run_id) ON DELETE CASCADE,
    series       text        NOT NULL,
    method       text        NOT NULL,
    evaluated_at timestamptz NOT NULL DEFAULT now(),
    n            integer     NOT NULL CHECK (n >= 0),
    mae          double precision,
    rmse         double precision,
    bias         double precision,
    skill_vs_persistence double precision,
    unit         text        NOT NULL,
    PRIMARY KEY (run_id, series)
);

-- A dispatch schedule: what was planned, from which forecast, how it was solved.
CREATE TABLE schedule (
    schedule_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text        NOT NULL CHECK (kind IN ('day_ahead', 'mpc', 'baseline', 'what_if')),
    start_time       timestamptz NOT NULL,
    version          integer     NOT NULL CHECK (version >= 1),
    created_at       timestamptz NOT NULL DEFAULT now(),
    interval_minutes smallint    NOT NULL CHECK (interval_minutes > 0),
    n_intervals      integer     NOT NULL CHECK (n_intervals > 0),
    method           text        NOT NULL,
    status           text        NOT NULL,
    objective_mode   text        NOT NULL,
    solver_status    text        NOT NULL,
    fallback_reason  text,
    solve_time_s     double precision NOT NULL,
    forecast_run_id  bigint REFERENCES forecast_run (run_id),
    kpis             jsonb       NOT NULL,
    summary          jsonb       NOT NULL,
    UNIQUE (kind, start_time, version)
);

-- One row per planned interval: park totals as columns, per-device decisions in jsonb
-- ({"BESS": {"p_kw": .., "soc": ..}, "PV1": {"curtail_kw": ..}, ...}).
CREATE TABLE schedule_interval (
    schedule_id      bigint      NOT NULL REFERENCES schedule (schedule_id) ON DELETE CASCADE,
    time             timestamptz NOT NULL,
    grid_import_kw   double precision NOT NULL,
    grid_export_kw   double precision NOT NULL,
    local_re_kw      double precision NOT NULL,
    green_kw         double precision NOT NULL,
    curtail_kw       double precision NOT NULL,
    consumption_kw   double precision NOT NULL,
    emissions_kg     double precision NOT NULL,
    park_ef_kg_per_kwh double precision NOT NULL,
    devices          jsonb       NOT NULL,
    PRIMARY KEY (schedule_id, time)
);
