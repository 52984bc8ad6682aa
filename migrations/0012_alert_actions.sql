-- Actions on alerts: a script queued on the alert's device (signed like any command) when a matching
-- alert is raised or resolved: self-healing.
CREATE TABLE alert_actions (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    rule TEXT NOT NULL DEFAULT '',           -- the alert rule it answers (e.g. check:12); '' = every rule
    on_event TEXT NOT NULL,                  -- triggered, resolved
    min_severity TEXT NOT NULL DEFAULT 'info',
    interpreter TEXT NOT NULL,
    script TEXT NOT NULL,
    timeout_seconds BIGINT NOT NULL DEFAULT 300,
    enabled BIGINT NOT NULL DEFAULT 1,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
