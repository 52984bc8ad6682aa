-- Incidents: the same rule firing on several devices of one organization within a short window is one
-- incident with member alerts; only its first member is notified.
CREATE TABLE alert_incidents (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    organization_id BIGINT REFERENCES organizations(id) ON DELETE CASCADE,
    rule TEXT NOT NULL,
    title TEXT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL
);
CREATE INDEX alert_incidents_tenant ON alert_incidents (tenant_id, last_at);
ALTER TABLE alerts ADD COLUMN incident_id BIGINT REFERENCES alert_incidents(id) ON DELETE SET NULL;
CREATE INDEX alerts_by_rule ON alerts (tenant_id, organization_id, rule, first_at);
