-- Notification channels (per tenant, a plugin's kind + its settings; secrets encrypted with a key of the
-- data directory) and the delivery outbox: every message to send, its attempts and outcome.
CREATE TABLE notification_channels (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',        -- non-secret fields, JSON
    secrets TEXT NOT NULL DEFAULT '',         -- secret fields, JSON, encrypted (core/crypto.Keyring)
    min_severity TEXT NOT NULL DEFAULT 'warning',
    notify_resolved BIGINT NOT NULL DEFAULT 1,
    notify_flapping BIGINT NOT NULL DEFAULT 0,
    renotify_minutes BIGINT NOT NULL DEFAULT 0,
    organization_ids TEXT NOT NULL DEFAULT '[]',  -- JSON: only alerts of these organizations; [] = all
    group_ids TEXT NOT NULL DEFAULT '[]',         -- JSON: only alerts of devices in these groups; [] = all
    quiet_from BIGINT,                        -- quiet hours, minutes of the day UTC: only critical alerts go out
    quiet_to BIGINT,                          -- in them; the rest waits for their end
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE notification_deliveries (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    channel_id BIGINT REFERENCES notification_channels(id) ON DELETE CASCADE,
    alert_id BIGINT REFERENCES alerts(id) ON DELETE CASCADE,
    direct_kind TEXT NOT NULL DEFAULT '',     -- without a channel (escalation to a person): the kind ...
    direct_to TEXT NOT NULL DEFAULT '',       -- ... and its recipient, e.g. email + the on-call user's address
    event TEXT NOT NULL,                      -- triggered, reminder, resolved, test
    message TEXT NOT NULL,                    -- the Message, JSON
    status TEXT NOT NULL DEFAULT 'queued',    -- queued, sent, failed (permanently or out of attempts)
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    response_code BIGINT,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX notification_deliveries_channel ON notification_deliveries (tenant_id, channel_id, id);
CREATE INDEX notification_deliveries_due ON notification_deliveries (status, next_attempt_at);
CREATE INDEX notification_deliveries_alert ON notification_deliveries (alert_id, channel_id, created_at);
