-- 0004: API keys. Only a SHA-256 digest of each secret is stored; the key is shown once at creation.
CREATE TABLE api_key (
    key_id      text PRIMARY KEY,
    name        text        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('gateway', 'operator', 'auditor', 'admin', 'tenant')),
    secret_sha256 bytea     NOT NULL,
    gateway_id  text,       -- gateway keys: may write devices whose park connection names this gateway
    devices     text[]      NOT NULL DEFAULT '{}',  -- gateway keys: extra devices they may write
    tenant_id   text,       -- tenant keys: the tenant whose statements they may read
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CHECK (role <> 'gateway' OR gateway_id IS NOT NULL OR cardinality(devices) > 0),
    CHECK (role <> 'tenant' OR tenant_id IS NOT NULL)
);
