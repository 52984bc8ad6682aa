-- A device's activity timeline: inventory changes with their diffs (software, disks, network, OS,
-- hardware, services, restarts). Audit-log entries about a device join them at read time.
CREATE TABLE device_activity (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,                      -- epoch seconds, UTC
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX device_activity_device ON device_activity (tenant_id, device_id, at);
CREATE INDEX audit_log_object ON audit_log (tenant_id, object_type, object_id, id);
