-- Alerts from domain events the MSP chooses (e.g. agent.revoked, command.finished): a rule names the event,
-- the severity, and optionally the event that resolves the alert again.
CREATE TABLE alert_event_rules (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    event TEXT NOT NULL,
    clear_event TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL DEFAULT 'warning',
    enabled BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
