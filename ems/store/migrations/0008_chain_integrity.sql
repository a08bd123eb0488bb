-- 0008: every field of a chain entry inside its hash (hash rule 2, ems/documents/chain.py) and
-- optional Ed25519 signatures. Rows issued before keep hash_rule 1 (hashed over the fields the
-- rule named then); new rows state their rule explicitly. Columns are added, never rewritten.
ALTER TABLE carbon_report
    ADD COLUMN hash_rule  smallint NOT NULL DEFAULT 1 CHECK (hash_rule IN (1, 2)),
    ADD COLUMN public_key text CHECK (length(public_key) = 64),
    ADD COLUMN signature  text CHECK (length(signature) = 128),
    ADD CHECK ((public_key IS NULL) = (signature IS NULL));
ALTER TABLE footprint_document
    ADD COLUMN hash_rule  smallint NOT NULL DEFAULT 1 CHECK (hash_rule IN (1, 2)),
    ADD COLUMN public_key text CHECK (length(public_key) = 64),
    ADD COLUMN signature  text CHECK (length(signature) = 128),
    ADD CHECK ((public_key IS NULL) = (signature IS NULL));
