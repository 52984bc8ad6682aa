-- Alerts: one row per incident of a condition; the fingerprint (rule + subject) keeps one open alert
-- per condition, with an occurrence counter. Transitions record who did what and when.
CREATE TABLE alerts (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    organization_id BIGINT REFERENCES organizations(id) ON DELETE CASCADE,
    device_id BIGINT REFERENCES devices(id) ON DELETE SET NULL,
    source TEXT NOT NULL,                    -- device_status, check, event
    rule TEXT NOT NULL,                      -- e.g. device.unreachable, check:12
    subject TEXT NOT NULL,                   -- what the rule fired about, e.g. device:7
    fingerprint TEXT NOT NULL,               -- rule + subject
    severity TEXT NOT NULL,                  -- info, warning, critical
    state TEXT NOT NULL,                     -- triggered, acknowledged, resolved
    title TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '{}',
    occurrences BIGINT NOT NULL DEFAULT 1,
    flapping BIGINT NOT NULL DEFAULT 0,
    first_at BIGINT NOT NULL,                -- epoch seconds
    last_at BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    resolved_at BIGINT,
    resolved_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    resolution_note TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (tenant_id, fingerprint) WHERE state <> 'resolved';
CREATE INDEX alerts_by_state ON alerts (tenant_id, state, last_at);
CREATE INDEX alerts_by_fingerprint ON alerts (tenant_id, fingerprint, resolved_at);

CREATE TABLE alert_transitions (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    alert_id BIGINT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,                      -- epoch seconds
    kind TEXT NOT NULL,                      -- triggered, occurred, escalated, acknowledged, resolved, reopened
    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    actor TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_transitions_alert ON alert_transitions (alert_id, id);
