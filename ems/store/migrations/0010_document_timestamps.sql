-- 0010: RFC 3161 timestamp tokens for chain entries (ems/documents/timestamp.py). A token is
-- requested after an entry is chained, from the configured time-stamping authority, over the
-- entry's chain hash; it is evidence about the entry, not part of it, so it lives beside the chain
-- tables and never changes a chain hash. One token per entry; stored once, never altered.
CREATE TABLE document_timestamp (
    chain_table   text        NOT NULL CHECK (chain_table IN ('carbon_report', 'footprint_document')),
    chain_sha256  text        NOT NULL,
    tsa_url       text        NOT NULL,
    token         bytea       NOT NULL,  -- DER TimeStampResp as the authority sent it
    gen_time      timestamptz NOT NULL,  -- the authority's genTime, read from the token
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_table, chain_sha256)
);
CREATE TRIGGER document_timestamp_append_only BEFORE UPDATE OR DELETE ON document_timestamp
    FOR EACH ROW EXECUTE FUNCTION carbon_append_only();
