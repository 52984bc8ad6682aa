-- The client portal: contacts who may sign in (password and/or e-mail links), their sessions, single-use
-- sign-in links, and each tenant's portal branding.
CREATE TABLE portal_accounts (
    contact_id BIGINT PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    password_hash TEXT,                       -- NULL: e-mail sign-in links only
    sees_organization BIGINT NOT NULL DEFAULT 0,  -- all tickets of their organizations, not only their own
    enabled BIGINT NOT NULL DEFAULT 1,
    totp_secret TEXT,                         -- optional second factor the contact turns on, encrypted
    totp_enabled BIGINT NOT NULL DEFAULT 0,
    totp_last_step BIGINT NOT NULL DEFAULT 0, -- a code is accepted once
    created_at BIGINT NOT NULL,
    last_login_at BIGINT
);
CREATE INDEX portal_accounts_tenant ON portal_accounts (tenant_id);

CREATE TABLE portal_sessions (
    id TEXT PRIMARY KEY,                      -- keyed hash of the cookie value
    contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT 'full',       -- 'mfa': password or link accepted, the code still due
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX portal_sessions_contact ON portal_sessions (contact_id);

CREATE TABLE portal_links (
    id TEXT PRIMARY KEY,                      -- keyed hash of the link's token
    contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE portal_branding (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    title TEXT NOT NULL DEFAULT '',           -- shown instead of the tenant's name
    accent TEXT NOT NULL DEFAULT '#206bc4',   -- a CSS hex colour (served as the portal's theme.css)
    logo {{blob}},                            -- PNG, JPEG or WebP, at most 256 KiB
    logo_type TEXT NOT NULL DEFAULT '',
    welcome TEXT NOT NULL DEFAULT ''          -- a short text on the portal's home page
);
