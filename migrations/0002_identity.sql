-- Tenants (MSP accounts), their customers (organizations) and locations (sites).
CREATE TABLE tenants (
    id {{id}},
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    mfa_required INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE organizations (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE sites (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (organization_id, name)
);
CREATE INDEX sites_tenant ON sites (tenant_id, organization_id);

CREATE TABLE users (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email TEXT NOT NULL UNIQUE,              -- stored lower-case
    name TEXT NOT NULL DEFAULT '',
    password_hash TEXT,                      -- NULL: single sign-on only
    is_super_admin INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    totp_secret TEXT,                        -- encrypted with a key from the data directory
    totp_enabled INTEGER NOT NULL DEFAULT 0,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_tenant ON users (tenant_id);

-- Built-in roles have tenant_id NULL and fixed ids; their permission lists live in code.
CREATE TABLE roles (
    id {{id}},
    tenant_id BIGINT REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    permissions TEXT NOT NULL DEFAULT '[]',  -- JSON list of permission names (custom roles)
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX roles_name ON roles (COALESCE(tenant_id, 0), name);
INSERT INTO roles (id, tenant_id, name, description, created_at) VALUES
    (1, NULL, 'Organization Admin', 'Everything within the tenant', 0),
    (2, NULL, 'Technician', 'Devices, alerts, automation, patching, tickets; no billing or user admin', 0),
    (3, NULL, 'Help Desk', 'Tickets, with read access to devices and alerts', 0),
    (4, NULL, 'Billing Manager', 'Contracts, invoices, payments and reports', 0),
    (5, NULL, 'Read-Only', 'Sees everything they are allowed to, changes nothing', 0);
-- if postgresql
SELECT setval(pg_get_serial_sequence('roles', 'id'), 100);
-- end
-- if sqlite
INSERT INTO roles (id, tenant_id, name, description, permissions, created_at) VALUES (100, NULL, '~reserved', '', '[]', 0);
DELETE FROM roles WHERE id = 100;
-- end

CREATE TABLE role_assignments (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id BIGINT NOT NULL REFERENCES roles(id) ON DELETE RESTRICT,
    all_organizations INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);
CREATE INDEX role_assignments_user ON role_assignments (user_id);

-- When all_organizations = 0, the assignment holds only in these organizations.
CREATE TABLE role_assignment_organizations (
    assignment_id BIGINT NOT NULL REFERENCES role_assignments(id) ON DELETE CASCADE,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    PRIMARY KEY (assignment_id, organization_id)
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,                     -- keyed hash of the cookie value
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,                     -- 'mfa' (password ok, second factor due), 'enrol' (must set up MFA), 'full'
    csrf_token TEXT NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id {{id}},
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,                    -- first characters, to recognise a token in lists
    token_hash TEXT NOT NULL UNIQUE,
    permissions TEXT NOT NULL,               -- JSON list; never more than the user has at use time
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE mfa_backup_codes (
    id {{id}},
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT
);
CREATE INDEX mfa_backup_codes_user ON mfa_backup_codes (user_id);

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- Failed-login counters for back-off; keys look like 'ip:1.2.3.4' or 'acct:a@b'.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    blocked_until BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE oidc_providers (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret TEXT NOT NULL,             -- encrypted
    enabled INTEGER NOT NULL DEFAULT 1,
    create_users INTEGER NOT NULL DEFAULT 0,
    default_role_id BIGINT REFERENCES roles(id),
    updated_at BIGINT NOT NULL
);

-- Append-only; each entry's hash covers the previous entry's hash (one chain per tenant,
-- tenant_id NULL for appliance-wide events).
CREATE TABLE audit_log (
    id {{id}},
    tenant_id BIGINT,
    at BIGINT NOT NULL,                      -- epoch milliseconds, UTC
    user_id BIGINT,
    actor TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    request_id TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    object_type TEXT NOT NULL DEFAULT '',
    object_id TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
