-- Maintenance windows: while one covers a device, its new alerts are marked and not notified.
-- One-off (starts_at..ends_at) or weekly (weekdays at minute_of_day UTC for duration_minutes,
-- from starts_at until ends_at or forever).
CREATE TABLE maintenance_windows (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,                     -- tenant, organization, site, group, device
    scope_id BIGINT,                         -- NULL for tenant
    starts_at BIGINT NOT NULL,
    ends_at BIGINT,                          -- one-off: required; weekly: NULL = no end
    weekdays TEXT NOT NULL DEFAULT '',       -- weekly: "0,2,4" (Monday = 0); empty = one-off
    minute_of_day BIGINT NOT NULL DEFAULT 0,
    duration_minutes BIGINT NOT NULL DEFAULT 0,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX maintenance_windows_tenant ON maintenance_windows (tenant_id);
ALTER TABLE alerts ADD COLUMN in_maintenance BIGINT NOT NULL DEFAULT 0;
