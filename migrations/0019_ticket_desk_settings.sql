-- Service-desk settings a tenant edits: which statuses pause the SLA, contacts of several organizations
-- (with a title), which notification channels hear of SLA warnings and breaches, and ticket due dates.

-- A pending-type status pauses the resolution and next-response clocks unless its pauses_sla is 0
-- (e.g. "Scheduled": waiting, but on us). Resolved/closed types always pause.
ALTER TABLE ticket_statuses ADD COLUMN pauses_sla BIGINT NOT NULL DEFAULT 0;
UPDATE ticket_statuses SET pauses_sla = 1 WHERE type = 'pending';

ALTER TABLE contacts ADD COLUMN title TEXT NOT NULL DEFAULT '';

-- Every organization a contact asks for help on behalf of; contacts.organization_id is the main one and is
-- listed here too. A ticket's requester must be a contact of the ticket's organization.
CREATE TABLE contact_organizations (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, organization_id)
);
CREATE INDEX contact_organizations_org ON contact_organizations (tenant_id, organization_id);
INSERT INTO contact_organizations (tenant_id, contact_id, organization_id)
    SELECT tenant_id, id, organization_id FROM contacts;

ALTER TABLE notification_channels ADD COLUMN notify_ticket_sla BIGINT NOT NULL DEFAULT 0;

ALTER TABLE tickets ADD COLUMN due_at BIGINT;             -- a date promised to the customer (epoch seconds), optional

-- Custom fields for tickets share the definitions of device custom fields (one key space per tenant).
ALTER TABLE custom_field_definitions ADD COLUMN applies_to TEXT NOT NULL DEFAULT 'device';  -- device, ticket
CREATE TABLE ticket_custom_values (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    field_id BIGINT NOT NULL REFERENCES custom_field_definitions(id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    PRIMARY KEY (ticket_id, field_id)
);
CREATE INDEX ticket_custom_values_field ON ticket_custom_values (tenant_id, field_id, value);
