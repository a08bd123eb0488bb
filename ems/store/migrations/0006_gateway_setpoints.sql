-- 0006: setpoints queued for gateway-connected devices (pulled by the gateway, acknowledged by it).
-- value is the request clamped to the device's ratings; a newer setpoint for the same device and
-- quantity supersedes a pending one; a pending setpoint past valid_until is no longer handed out.
CREATE TABLE gateway_setpoint (
    setpoint_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id     text             NOT NULL,
    gateway_id    text             NOT NULL,
    quantity      text             NOT NULL CHECK (quantity IN ('p_setpoint_kw', 'p_limit_pct')),
    requested     double precision NOT NULL,
    value         double precision NOT NULL,
    created_at    timestamptz      NOT NULL DEFAULT now(),
    created_by    text             NOT NULL,  -- key id of the operator
    valid_until   timestamptz      NOT NULL,
    status        text             NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'applied', 'failed', 'superseded')),
    acked_at      timestamptz,
    applied_value double precision,           -- what the gateway reports the device took
    detail        text             NOT NULL DEFAULT ''
);
CREATE INDEX gateway_setpoint_pending ON gateway_setpoint (gateway_id, device_id) WHERE status = 'pending';
