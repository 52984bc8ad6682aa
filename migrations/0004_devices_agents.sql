-- Devices: one row per managed computer (the devices domain grows this table).
CREATE TABLE devices (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    hostname TEXT NOT NULL,
    platform TEXT NOT NULL DEFAULT '',
    os_name TEXT NOT NULL DEFAULT '',
    os_version TEXT NOT NULL DEFAULT '',
    agent_version TEXT NOT NULL DEFAULT '',
    inventory TEXT NOT NULL DEFAULT '{}',     -- latest inventory, JSON
    inventory_hash TEXT NOT NULL DEFAULT '',
    inventory_at BIGINT,
    live TEXT NOT NULL DEFAULT '{}',          -- latest metric sample (incl. top processes), JSON
    last_seen_at BIGINT,
    status TEXT NOT NULL DEFAULT 'new',      -- new, online, overdue, offline
    status_changed_at BIGINT,
    search TEXT NOT NULL DEFAULT '',          -- lower-case words from inventory for the device search
    created_at BIGINT NOT NULL
);
CREATE INDEX devices_tenant ON devices (tenant_id, organization_id, site_id);
CREATE INDEX devices_seen ON devices (last_seen_at);

CREATE TABLE enrollment_tokens (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    site_id BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    max_uses INTEGER NOT NULL,
    uses INTEGER NOT NULL DEFAULT 0,
    revoked_at BIGINT,
    created_by BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX enrollment_tokens_tenant ON enrollment_tokens (tenant_id);

-- An agent is a device's credentials; 'pending' waits for approval, 'revoked' is refused.
CREATE TABLE agents (
    id {{id}},
    uid TEXT NOT NULL UNIQUE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    device_id BIGINT NOT NULL UNIQUE REFERENCES devices(id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    enrollment_token_id BIGINT,
    created_at BIGINT NOT NULL,
    rotated_at BIGINT
);

-- (agent, sequence) of every batch stored: a resent batch is recognised and stored once.
CREATE TABLE agent_batches (
    agent_id BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (agent_id, seq)
);

-- Hot metric samples, moved to DuckDB and rolled up by the monitoring domain.
CREATE TABLE metric_samples (
    id {{monotonic_id}},
    tenant_id BIGINT NOT NULL,
    device_id BIGINT NOT NULL,
    ts {{float}} NOT NULL,
    metric TEXT NOT NULL,
    instance TEXT NOT NULL DEFAULT '',
    value {{float}} NOT NULL,
    received_at BIGINT NOT NULL DEFAULT 0   -- server time; lets the mover wait out slow commits on PostgreSQL
);
CREATE INDEX metric_samples_device ON metric_samples (device_id, ts);

CREATE TABLE agent_commands (
    id {{id}},
    uid TEXT NOT NULL UNIQUE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,                    -- JSON, exactly what was signed
    status TEXT NOT NULL,                     -- queued, delivered, running, succeeded, failed, timed_out, refused, cancelled, expired
    issued_at {{float}} NOT NULL,
    expires_at {{float}} NOT NULL,
    nonce TEXT NOT NULL,
    signature TEXT NOT NULL,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT,
    started_at BIGINT,
    finished_at BIGINT,
    exit_code INTEGER,
    stdout TEXT NOT NULL DEFAULT '',
    stderr TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX agent_commands_device ON agent_commands (device_id, status);

ALTER TABLE tenants ADD COLUMN agents_need_approval INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN offline_after_minutes INTEGER NOT NULL DEFAULT 5;
