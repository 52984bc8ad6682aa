-- Time spent on tickets: manual entries and the stopwatch (an entry without ended_at is running; one per user).
CREATE TABLE time_entries (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,                         -- NULL: the stopwatch is running
    minutes BIGINT NOT NULL DEFAULT 0,
    work_type TEXT NOT NULL DEFAULT 'remote',
    billable BIGINT NOT NULL DEFAULT 1,
    note TEXT NOT NULL DEFAULT '',
    billed_at BIGINT,                        -- set by billing when invoiced
    created_at BIGINT NOT NULL
);
CREATE INDEX time_entries_ticket ON time_entries (tenant_id, ticket_id);
CREATE INDEX time_entries_user ON time_entries (tenant_id, user_id, started_at);
