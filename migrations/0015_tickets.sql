-- Service desk: tickets with a per-tenant number, configurable statuses (each of a fixed type), comments,
-- linked devices, contacts, and every status/assignee/priority change as a transition.
CREATE TABLE ticket_numbering (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    prefix TEXT NOT NULL DEFAULT 'T-',
    next_number BIGINT NOT NULL DEFAULT 1001
);

-- Seeded per tenant on first use (tickets/store.py DEFAULT_STATUSES).
CREATE TABLE ticket_statuses (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,                      -- new, open, pending, resolved, closed
    position BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ticket_statuses_name ON ticket_statuses (tenant_id, name);

CREATE TABLE contacts (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX contacts_by_org ON contacts (tenant_id, organization_id, name);

-- SLA: business-hours calendars and policies (targets per priority for three clocks).
CREATE TABLE sla_calendars (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL DEFAULT 'UTC',    -- IANA name
    weekly TEXT NOT NULL DEFAULT '{}',       -- JSON {"0": [[540, 1020]], ...}: local minutes per weekday (0 = Monday)
    holidays TEXT NOT NULL DEFAULT '[]',     -- JSON ["2026-12-25", ...]
    always_open BIGINT NOT NULL DEFAULT 0    -- 24x7
);

CREATE TABLE sla_policies (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    calendar_id BIGINT NOT NULL REFERENCES sla_calendars(id),
    targets TEXT NOT NULL,                   -- JSON {"P1": {"first_response": 900, "next_response": ..., "resolution": ...}}
    warn_percent BIGINT NOT NULL DEFAULT 80,
    organization_id BIGINT REFERENCES organizations(id) ON DELETE CASCADE,  -- NULL: any organization
    priority TEXT NOT NULL DEFAULT '',       -- '': any priority
    created_at BIGINT NOT NULL
);
CREATE INDEX sla_policies_by_tenant ON sla_policies (tenant_id, organization_id);

CREATE TABLE tickets (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    number TEXT NOT NULL,                    -- prefix + sequence, e.g. T-1001
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    contact_id BIGINT REFERENCES contacts(id) ON DELETE SET NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status_id BIGINT NOT NULL REFERENCES ticket_statuses(id),
    priority TEXT NOT NULL,                  -- P1 .. P4
    category TEXT NOT NULL DEFAULT '',
    assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    source TEXT NOT NULL,                    -- web, alert, api
    tags TEXT NOT NULL DEFAULT '[]',         -- JSON list
    alert_id BIGINT REFERENCES alerts(id) ON DELETE SET NULL,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,              -- epoch seconds
    updated_at BIGINT NOT NULL,
    first_response_at BIGINT,
    resolved_at BIGINT,
    closed_at BIGINT,
    awaiting_reply_since BIGINT,             -- a customer message nobody answered yet: the next-response clock
    sla_policy_id BIGINT REFERENCES sla_policies(id) ON DELETE SET NULL,
    sla_notified TEXT NOT NULL DEFAULT '',   -- clock:state pairs already published, e.g. "resolution:warning"
    alert_key TEXT                           -- alert rule + device: later alerts of it add to this ticket
);
CREATE UNIQUE INDEX tickets_number ON tickets (tenant_id, number);
CREATE INDEX tickets_by_org ON tickets (tenant_id, organization_id, updated_at);
CREATE INDEX tickets_by_assignee ON tickets (tenant_id, assignee_id);
CREATE INDEX tickets_by_alert ON tickets (tenant_id, alert_key);

-- Alert -> ticket, per tenant: off while min_severity is ''.
CREATE TABLE ticket_alert_settings (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    min_severity TEXT NOT NULL DEFAULT '',   -- '', info, warning, critical
    resolve_with_alert BIGINT NOT NULL DEFAULT 1
);

-- Time in a pending-type status: the resolution and next-response clocks stand still.
CREATE TABLE ticket_sla_pauses (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,                         -- NULL: still paused
    status TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ticket_sla_pauses_ticket ON ticket_sla_pauses (ticket_id, started_at);

CREATE TABLE ticket_devices (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    PRIMARY KEY (ticket_id, device_id)
);

CREATE TABLE ticket_comments (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,                      -- reply (public), note (internal), customer (the requester's message)
    body TEXT NOT NULL,
    author_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    author TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX ticket_comments_ticket ON ticket_comments (ticket_id, id);

CREATE TABLE ticket_transitions (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    field TEXT NOT NULL,                     -- status, assignee, priority
    old_value TEXT NOT NULL DEFAULT '',
    new_value TEXT NOT NULL DEFAULT '',
    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    actor TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ticket_transitions_ticket ON ticket_transitions (ticket_id, id);
