-- 0003: carbon accounting - user emission-factor versions, certificate and contract ledgers,
-- issued reports and their hash chain. Every table here is append-only: the trigger below
-- refuses UPDATE and DELETE, so corrections are always new rows.

CREATE FUNCTION carbon_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: corrections are new entries', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

-- User emission factors (published ones ship in ems/carbon/published_factors.yaml as version 1).
CREATE TABLE carbon_factor (
    key         text        NOT NULL,
    version     integer     NOT NULL CHECK (version >= 1),
    value       numeric     NOT NULL CHECK (value >= 0),
    unit        text        NOT NULL,
    scope       text        NOT NULL,
    region      text        NOT NULL,
    data_year   integer     NOT NULL,
    publisher   text        NOT NULL,
    document    text        NOT NULL,
    published   date,
    note        text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key, version)
);

CREATE TABLE carbon_factor_series (
    key              text        NOT NULL,
    version          integer     NOT NULL CHECK (version >= 1),
    interval_minutes integer     NOT NULL CHECK (interval_minutes > 0),
    publisher        text        NOT NULL,
    document         text        NOT NULL,
    note             text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key, version)
);

CREATE TABLE carbon_factor_point (
    key     text             NOT NULL,
    version integer          NOT NULL,
    t       timestamptz      NOT NULL,
    value   double precision NOT NULL CHECK (value >= 0),
    PRIMARY KEY (key, version, t),
    FOREIGN KEY (key, version) REFERENCES carbon_factor_series (key, version)
);

-- Green certificates (GEC): 1 certificate = 1 MWh.
CREATE TABLE carbon_certificate (
    serial           text        PRIMARY KEY,
    generator        text        NOT NULL,
    technology       text        NOT NULL,
    location         text        NOT NULL,
    production_start date        NOT NULL,
    production_end   date        NOT NULL CHECK (production_end >= production_start),
    issuer           text        NOT NULL,
    mwh              numeric     NOT NULL DEFAULT 1 CHECK (mwh = 1),
    registered_at    timestamptz NOT NULL DEFAULT now()
);

-- Retirements: seq 1 is the one retirement of a serial; seq > 1 are reassignments (with a reason).
-- UNIQUE (serial, seq) makes a concurrent second retirement of the same serial fail in the database.
CREATE TABLE carbon_certificate_event (
    event_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial       text        NOT NULL REFERENCES carbon_certificate (serial),
    seq          integer     NOT NULL CHECK (seq >= 1),
    kind         text        NOT NULL CHECK (kind IN ('retire', 'reassign')),
    period_start timestamptz NOT NULL,
    period_end   timestamptz NOT NULL CHECK (period_end > period_start),
    basis_kwh    numeric     NOT NULL CHECK (basis_kwh >= 0),
    beneficiary  text        NOT NULL,
    reason       text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (serial, seq),
    CHECK ((kind = 'retire') = (seq = 1)),
    CHECK (kind = 'retire' OR reason <> '')
);
CREATE INDEX carbon_certificate_event_period ON carbon_certificate_event (period_start, period_end);

-- Green-power contract deliveries: contractual shares of grid import (not metered separately).
CREATE TABLE carbon_contract_delivery (
    delivery_id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contract_id  text        NOT NULL,
    period_start timestamptz NOT NULL,
    period_end   timestamptz NOT NULL CHECK (period_end > period_start),
    kwh          numeric     NOT NULL CHECK (kwh >= 0),
    granularity  text        NOT NULL CHECK (granularity IN ('interval', 'period')),
    basis_kwh    numeric     CHECK (basis_kwh IS NULL OR basis_kwh >= 0),
    reference    text        NOT NULL DEFAULT '',
    replaces     bigint      UNIQUE REFERENCES carbon_contract_delivery (delivery_id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (granularity = 'interval' OR basis_kwh IS NOT NULL)
);
CREATE INDEX carbon_contract_delivery_period ON carbon_contract_delivery (period_start, period_end);

-- Issued reports, chained: chain_sha256 = sha256(prev_chain_sha256 ':' content_sha256 ':' seq).
CREATE TABLE carbon_report (
    seq              integer     PRIMARY KEY CHECK (seq >= 1),
    content_sha256   text        NOT NULL UNIQUE CHECK (length(content_sha256) = 64),
    prev_chain_sha256 text       NOT NULL CHECK (length(prev_chain_sha256) = 64),
    chain_sha256     text        NOT NULL UNIQUE CHECK (length(chain_sha256) = 64),
    park             text        NOT NULL,
    period_start     timestamptz NOT NULL,
    period_end       timestamptz NOT NULL,
    replaces_sha256  text        REFERENCES carbon_report (content_sha256),
    software_version text        NOT NULL,
    files            jsonb       NOT NULL DEFAULT '{}'::jsonb,
    issued_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER carbon_factor_append_only BEFORE UPDATE OR DELETE ON carbon_factor
    FOR EACH ROW EXECUTE FUNCTION carbon_append_only();
CREATE TRIGGER carbon_factor_series_append_only BEFORE UPDATE OR DELETE ON carbon_factor_series
    FOR EACH ROW EXECUTE FUNCTION carbon_append_only();
CREATE TRIGGER carbon_factor_point_append_only BEFORE UPDATE OR DELETE ON carbon_factor_point
    FOR EACH ROW EXECUTE FUNCTION carbon_append_only();
CREATE TRIGGER carbon_certificate_append_only BEFORE UPDATE OR DELETE ON carbon_certificate
    FOR EACH ROW EXECUTE FUNCTION carbon_append_only();
CREATE TRIGGER carbon_certificate_event_append_only BEFORE UPDATE OR DELETE ON carbon_certificate_event
    FOR EACH ROW EXECUTE FUNCTION carbon_append_only();
CREATE TRIGGER carbon_contract_delivery_append_only BEFORE UPDATE OR DELETE ON carbon_contract_delivery
    FOR EACH ROW EXECUTE FUNCTION carbon_append_only();
CREATE TRIGGER carbon_report_append_only BEFORE UPDATE OR DELETE ON carbon_report
    FOR EACH ROW EXECUTE FUNCTION carbon_append_only();
