-- Device organisation: asset fields, tags, groups (static and dynamic), custom fields, saved views,
-- and commands that wait for a not-before time.

-- Asset fields a technician keeps by hand (dates are YYYY-MM-DD).
ALTER TABLE devices ADD COLUMN purchase_date TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN warranty_end TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN updated_at BIGINT;
CREATE INDEX devices_hostname ON devices (tenant_id, hostname);

-- Tags are lower-case words; a device has each at most once.
CREATE TABLE device_tags (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (device_id, tag)
);
CREATE INDEX device_tags_tag ON device_tags (tenant_id, tag, device_id);

-- kind 'static': members set by hand; 'dynamic': members computed from rules (JSON, see docs/devices.md).
CREATE TABLE device_groups (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    rules TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- Materialised for both kinds: checks and the device list read membership from here only.
CREATE TABLE device_group_members (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES device_groups(id) ON DELETE CASCADE,
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, device_id)
);
CREATE INDEX device_group_members_device ON device_group_members (device_id);
CREATE INDEX device_group_members_tenant ON device_group_members (tenant_id, group_id);

CREATE TABLE custom_field_definitions (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    type TEXT NOT NULL,                       -- text, number, date, choice
    choices TEXT NOT NULL DEFAULT '[]',       -- JSON list of strings, for 'choice'
    required INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, key)
);

-- One value per device and field, as canonical text (numbers without trailing zeros, dates YYYY-MM-DD).
CREATE TABLE device_custom_values (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    device_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    field_id BIGINT NOT NULL REFERENCES custom_field_definitions(id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    PRIMARY KEY (device_id, field_id)
);
CREATE INDEX device_custom_values_field ON device_custom_values (tenant_id, field_id, value);

-- A user's saved device list: a name and the list's query string.
CREATE TABLE device_views (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, name)
);

-- "Run later": a queued command is not handed to the agent before this time (NULL: at once).
ALTER TABLE agent_commands ADD COLUMN not_before BIGINT;
