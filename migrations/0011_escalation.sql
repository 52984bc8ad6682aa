-- Escalation policies (ordered steps after N minutes unacknowledged, stopping on acknowledge), weekly
-- on-call rotations, and each alert's progress through its policy.
CREATE TABLE oncall_rotations (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    user_ids TEXT NOT NULL,                  -- JSON list, in turn order
    starts_at BIGINT NOT NULL,               -- the first hand-over; then every 7 days
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE escalation_policies (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    min_severity TEXT NOT NULL DEFAULT 'critical',
    ack_target_minutes BIGINT NOT NULL DEFAULT 15,
    steps TEXT NOT NULL,                     -- JSON: [{"after_minutes", "channel_id" | "user_id" | "rotation_id"}]
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE alert_escalations (
    alert_id BIGINT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    policy_id BIGINT NOT NULL REFERENCES escalation_policies(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL,
    next_step BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT,                          -- NULL: finished or stopped
    PRIMARY KEY (alert_id, policy_id)
);
CREATE INDEX alert_escalations_due ON alert_escalations (next_at);
