-- 0009: alerts (raised by ems.alerts, acknowledged through the API) and a durable outbox of
-- messages to external receivers (group robots, e-mail, the city carbon platform).

-- One row per alert occurrence; at most one open (uncleared) alert per rule and subject, so a
-- condition that persists across evaluations is one alert, not one per evaluation.
CREATE TABLE alert (
    alert_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule         text        NOT NULL,
    subject      text        NOT NULL,  -- device, gateway, meter or 'park'
    severity     text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    message      text        NOT NULL,
    details      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    raised_at    timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,  -- latest evaluation that still found the condition
    cleared_at   timestamptz,
    acked_at     timestamptz,
    acked_by     text,
    ack_note     text
);
CREATE UNIQUE INDEX alert_open_one ON alert (rule, subject) WHERE cleared_at IS NULL;
CREATE INDEX alert_raised ON alert (raised_at DESC);

-- The alert log: what happened to each alert, append-only (carbon_append_only() from 0003).
CREATE TABLE alert_event (
    event_id bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id bigint      NOT NULL REFERENCES alert (alert_id),
    event    text        NOT NULL CHECK (event IN ('raised', 'acknowledged', 'cleared')),
    actor    text        NOT NULL,  -- 'engine' or the API key's name
    note     text        NOT NULL DEFAULT '',
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_event_alert ON alert_event (alert_id, event_id);
CREATE TRIGGER alert_event_append_only BEFORE UPDATE OR DELETE ON alert_event
    FOR EACH ROW EXECUTE FUNCTION carbon_append_only();

-- Messages waiting for (or done with) delivery. The body is stored as the exact bytes to send
-- (text, not jsonb, which would reorder keys). (channel, receiver, dedup_key) is unique, so
-- enqueueing the same message twice (a re-run export, a restarted engine) sends it once.
CREATE TABLE outbox (
    message_id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel         text        NOT NULL,  -- wecom, dingtalk, email, city_platform
    receiver        text        NOT NULL,  -- configured receiver name; never its URL or secret
    dedup_key       text        NOT NULL,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),  -- after a failure; a new message is due at once
    last_error      text,
    delivered_at    timestamptz,
    UNIQUE (channel, receiver, dedup_key)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
