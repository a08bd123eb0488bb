-- 0005: tenant and product footprints - production counts and the hash chain of footprint
-- documents (tenant statements, CBAM electricity sheets, product inventories). Both tables are
-- append-only (carbon_append_only() from 0003): a corrected production count is a new entry and
-- the latest entry per (line, day) is the effective one.

CREATE TABLE footprint_production (
    entry_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    line_id    text        NOT NULL,
    day        date        NOT NULL,  -- park-local calendar day
    quantity   numeric     NOT NULL CHECK (quantity >= 0),
    unit       text        NOT NULL,
    source     text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX footprint_production_line_day ON footprint_production (line_id, day, entry_id);

-- Same chain rule as carbon_report (ems.carbon.hashchain); a separate chain for tenant documents.
CREATE TABLE footprint_document (
    seq               integer     PRIMARY KEY CHECK (seq >= 1),
    doc_type          text        NOT NULL CHECK (doc_type IN ('tenant_statement', 'cbam_sheet', 'product_inventory')),
    tenant_id         text        NOT NULL,
    content_sha256    text        NOT NULL UNIQUE CHECK (length(content_sha256) = 64),
    prev_chain_sha256 text        NOT NULL CHECK (length(prev_chain_sha256) = 64),
    chain_sha256      text        NOT NULL UNIQUE CHECK (length(chain_sha256) = 64),
    park              text        NOT NULL,
    period_start      timestamptz NOT NULL,
    period_end        timestamptz NOT NULL,
    replaces_sha256   text        REFERENCES footprint_document (content_sha256),
    software_version  text        NOT NULL,
    files             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    issued_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX footprint_document_tenant ON footprint_document (tenant_id, seq);

CREATE TRIGGER footprint_production_append_only BEFORE UPDATE OR DELETE ON footprint_production
    FOR EACH ROW EXECUTE FUNCTION carbon_append_only();
CREATE TRIGGER footprint_document_append_only BEFORE UPDATE OR DELETE ON footprint_document
    FOR EACH ROW EXECUTE FUNCTION carbon_append_only();
