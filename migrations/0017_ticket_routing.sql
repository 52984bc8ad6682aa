-- Service desk routing: teams and queues on tickets, ordered routing rules, canned responses, macros and
-- recurring tickets (tickets/teams.py, routing.py, macros.py, recurring.py).
CREATE TABLE ticket_teams (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    strategy TEXT NOT NULL DEFAULT 'manual',  -- manual, round_robin, least_open
    last_assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL,  -- round-robin: who got the last ticket
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ticket_teams_name ON ticket_teams (tenant_id, name);

CREATE TABLE ticket_team_members (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    team_id BIGINT NOT NULL REFERENCES ticket_teams(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE ticket_queues (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    team_id BIGINT REFERENCES ticket_teams(id) ON DELETE SET NULL,  -- the default team of its tickets
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ticket_queues_name ON ticket_queues (tenant_id, name);

ALTER TABLE tickets ADD COLUMN queue_id BIGINT REFERENCES ticket_queues(id) ON DELETE SET NULL;
ALTER TABLE tickets ADD COLUMN team_id BIGINT REFERENCES ticket_teams(id) ON DELETE SET NULL;
CREATE INDEX tickets_by_queue ON tickets (tenant_id, queue_id);
CREATE INDEX tickets_by_team ON tickets (tenant_id, team_id, assignee_id);

CREATE TABLE ticket_routing_rules (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,                 -- evaluated in ascending order
    enabled BIGINT NOT NULL DEFAULT 1,
    on_update BIGINT NOT NULL DEFAULT 0,      -- also evaluated after every change of a ticket
    continue_after BIGINT NOT NULL DEFAULT 0, -- a match does not stop the evaluation
    conditions TEXT NOT NULL DEFAULT '{}',    -- JSON: organization_ids, categories, priorities, sources, keywords
    actions TEXT NOT NULL DEFAULT '{}',       -- JSON: queue_id, team_id, assignee_id, priority, tags
    created_at BIGINT NOT NULL
);
CREATE INDEX ticket_routing_rules_order ON ticket_routing_rules (tenant_id, position, id);

CREATE TABLE ticket_canned_responses (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body TEXT NOT NULL,                       -- a sandboxed Jinja template: {{ ticket.number }}, {{ contact.name }}
    created_at BIGINT NOT NULL
);

CREATE TABLE ticket_macros (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    actions TEXT NOT NULL DEFAULT '{}',       -- JSON: status_id, priority, assignee_id, team_id, queue_id, tags, comment
    created_at BIGINT NOT NULL
);

CREATE TABLE ticket_recurring (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    template TEXT NOT NULL,                   -- JSON: subject, description, priority, category, queue_id, team_id, assignee_id, device_ids
    frequency TEXT NOT NULL,                  -- daily, weekly, monthly
    weekdays TEXT NOT NULL DEFAULT '[]',      -- weekly: JSON [0..6], 0 = Monday
    day_of_month BIGINT NOT NULL DEFAULT 1,   -- monthly: 1..31 (the last day in shorter months)
    time_of_day BIGINT NOT NULL DEFAULT 540,  -- local minutes after midnight
    timezone TEXT NOT NULL DEFAULT 'UTC',
    paused BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT,                           -- the next occurrence (epoch seconds); the task claims it
    last_occurrence BIGINT,                   -- the last occurrence a ticket was opened for
    last_ticket_id BIGINT REFERENCES tickets(id) ON DELETE SET NULL,
    created_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ticket_recurring_due ON ticket_recurring (paused, next_at);
CREATE INDEX ticket_recurring_by_org ON ticket_recurring (tenant_id, organization_id);
