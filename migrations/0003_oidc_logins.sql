-- Single sign-on (OpenID Connect) sign-ins in flight: one row from the redirect to the
-- identity provider until its answer comes back (or ten minutes pass). The row is the
-- server-side half of `state`; the browser holds the other half in a short-lived cookie.
CREATE TABLE oidc_logins (
    state_hash TEXT PRIMARY KEY,             -- keyed hash of `state`; the value itself is never stored
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    nonce TEXT NOT NULL,
    code_verifier TEXT NOT NULL,             -- PKCE (S256)
    next_path TEXT NOT NULL DEFAULT '/',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_logins_expires ON oidc_logins (expires_at);
