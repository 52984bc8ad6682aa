"""The only SQL that touches identity tables. Every tenant-owned query takes tenant_id first."""

from __future__ import annotations

import json
from typing import Any

from ninjait.core.db import Conn

Row = dict[str, Any]

USER_COLUMNS = ("id, tenant_id, email, name, password_hash, is_super_admin, disabled, totp_secret, "
                "totp_enabled, totp_last_step, created_at, updated_at")


# --- tenants ---------------------------------------------------------------

def insert_tenant(c: Conn, name: str, slug: str, mfa_required: bool, now: int) -> int:
    return c.value("INSERT INTO tenants (name, slug, mfa_required, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                   (name, slug, int(mfa_required), now))


def get_tenant(c: Conn, tenant_id: int) -> Row | None:
    return c.one("SELECT id, name, slug, mfa_required, agents_need_approval, created_at FROM tenants WHERE id = ?", (tenant_id,))


def tenant_by_slug(c: Conn, slug: str) -> Row | None:
    return c.one("SELECT id, name, slug, mfa_required, agents_need_approval, created_at FROM tenants WHERE slug = ?", (slug,))


def list_tenants(c: Conn) -> list[Row]:
    return c.all("SELECT id, name, slug, mfa_required, agents_need_approval, created_at FROM tenants ORDER BY name")


def update_tenant(c: Conn, tenant_id: int, name: str, mfa_required: bool, agents_need_approval: bool) -> None:
    c.execute("UPDATE tenants SET name = ?, mfa_required = ?, agents_need_approval = ? WHERE id = ?",
              (name, int(mfa_required), int(agents_need_approval), tenant_id))


# --- organizations and sites -----------------------------------------------

def insert_organization(c: Conn, tenant_id: int, name: str, notes: str, now: int) -> int:
    return c.value("INSERT INTO organizations (tenant_id, name, notes, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                   (tenant_id, name, notes, now))


def get_organization(c: Conn, tenant_id: int, org_id: int) -> Row | None:
    return c.one("SELECT id, tenant_id, name, notes, created_at FROM organizations WHERE tenant_id = ? AND id = ?",
                 (tenant_id, org_id))


def list_organizations(c: Conn, tenant_id: int, only: frozenset[int] | None) -> list[Row]:
    rows = c.all("SELECT o.id, o.tenant_id, o.name, o.notes, o.created_at, "
                 "(SELECT count(*) FROM sites s WHERE s.organization_id = o.id) AS site_count "
                 "FROM organizations o WHERE o.tenant_id = ? ORDER BY o.name", (tenant_id,))
    return rows if only is None else [r for r in rows if r["id"] in only]


def update_organization(c: Conn, tenant_id: int, org_id: int, name: str, notes: str) -> None:
    c.execute("UPDATE organizations SET name = ?, notes = ? WHERE tenant_id = ? AND id = ?",
              (name, notes, tenant_id, org_id))


def delete_organization(c: Conn, tenant_id: int, org_id: int) -> None:
    c.execute("DELETE FROM organizations WHERE tenant_id = ? AND id = ?", (tenant_id, org_id))


def insert_site(c: Conn, tenant_id: int, org_id: int, name: str, address: str, now: int) -> int:
    return c.value("INSERT INTO sites (tenant_id, organization_id, name, address, created_at) "
                   "VALUES (?, ?, ?, ?, ?) RETURNING id", (tenant_id, org_id, name, address, now))


def get_site(c: Conn, tenant_id: int, site_id: int) -> Row | None:
    return c.one("SELECT id, tenant_id, organization_id, name, address, created_at FROM sites "
                 "WHERE tenant_id = ? AND id = ?", (tenant_id, site_id))


def list_sites(c: Conn, tenant_id: int, org_id: int) -> list[Row]:
    return c.all("SELECT id, tenant_id, organization_id, name, address, created_at FROM sites "
                 "WHERE tenant_id = ? AND organization_id = ? ORDER BY name", (tenant_id, org_id))


def update_site(c: Conn, tenant_id: int, site_id: int, name: str, address: str) -> None:
    c.execute("UPDATE sites SET name = ?, address = ? WHERE tenant_id = ? AND id = ?",
              (name, address, tenant_id, site_id))


def delete_site(c: Conn, tenant_id: int, site_id: int) -> None:
    c.execute("DELETE FROM sites WHERE tenant_id = ? AND id = ?", (tenant_id, site_id))


# --- users -------------------------------------------------------------------

def count_users(c: Conn) -> int:
    return int(c.value("SELECT count(*) FROM users"))


def insert_user(c: Conn, tenant_id: int, email: str, name: str, password_hash: str | None,
                is_super_admin: bool, now: int) -> int:
    return c.value("INSERT INTO users (tenant_id, email, name, password_hash, is_super_admin, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                   (tenant_id, email, name, password_hash, int(is_super_admin), now, now))


def user_by_email(c: Conn, email: str) -> Row | None:
    """Appliance-wide lookup, for login only (e-mails are unique across tenants)."""
    return c.one(f"SELECT {USER_COLUMNS} FROM users WHERE email = ?", (email,))


def user_by_id(c: Conn, user_id: int) -> Row | None:
    """Unscoped: for the session/token of the user themself, never for fetching someone else."""
    return c.one(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,))


def get_user(c: Conn, tenant_id: int, user_id: int) -> Row | None:
    return c.one(f"SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ? AND id = ?", (tenant_id, user_id))


def list_users(c: Conn, tenant_id: int) -> list[Row]:
    return c.all(f"SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ? ORDER BY email", (tenant_id,))


def update_user_profile(c: Conn, tenant_id: int, user_id: int, name: str, disabled: bool, now: int) -> None:
    c.execute("UPDATE users SET name = ?, disabled = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
              (name, int(disabled), now, tenant_id, user_id))


def set_password_hash(c: Conn, user_id: int, password_hash: str, now: int) -> None:
    c.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", (password_hash, now, user_id))


def set_totp(c: Conn, user_id: int, secret: str | None, enabled: bool, now: int) -> None:
    c.execute("UPDATE users SET totp_secret = ?, totp_enabled = ?, totp_last_step = 0, updated_at = ? WHERE id = ?",
              (secret, int(enabled), now, user_id))


def claim_totp_step(c: Conn, user_id: int, step: int) -> bool:
    """Record the step as used; False when it (or a later one) was used already: a replay."""
    return c.value("UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ? RETURNING id",
                   (step, user_id, step)) is not None


def delete_user(c: Conn, tenant_id: int, user_id: int) -> None:
    c.execute("DELETE FROM users WHERE tenant_id = ? AND id = ?", (tenant_id, user_id))


# --- roles and assignments -------------------------------------------------

def list_roles(c: Conn, tenant_id: int) -> list[Row]:
    return c.all("SELECT id, tenant_id, name, description, permissions, created_at FROM roles "
                 "WHERE tenant_id IS NULL OR tenant_id = ? ORDER BY tenant_id IS NOT NULL, id", (tenant_id,))


def get_role(c: Conn, tenant_id: int, role_id: int) -> Row | None:
    return c.one("SELECT id, tenant_id, name, description, permissions, created_at FROM roles "
                 "WHERE id = ? AND (tenant_id IS NULL OR tenant_id = ?)", (role_id, tenant_id))


def role_by_name(c: Conn, tenant_id: int, name: str) -> Row | None:
    return c.one("SELECT id, tenant_id, name, description, permissions, created_at FROM roles "
                 "WHERE lower(name) = lower(?) AND (tenant_id IS NULL OR tenant_id = ?)", (name, tenant_id))


def insert_role(c: Conn, tenant_id: int, name: str, description: str, permissions: list[str], now: int) -> int:
    return c.value("INSERT INTO roles (tenant_id, name, description, permissions, created_at) "
                   "VALUES (?, ?, ?, ?, ?) RETURNING id", (tenant_id, name, description, json.dumps(permissions), now))


def update_role(c: Conn, tenant_id: int, role_id: int, name: str, description: str, permissions: list[str]) -> None:
    c.execute("UPDATE roles SET name = ?, description = ?, permissions = ? WHERE tenant_id = ? AND id = ?",
              (name, description, json.dumps(permissions), tenant_id, role_id))


def delete_role(c: Conn, tenant_id: int, role_id: int) -> None:
    c.execute("DELETE FROM roles WHERE tenant_id = ? AND id = ?", (tenant_id, role_id))


def role_in_use(c: Conn, tenant_id: int, role_id: int) -> int:
    """Assignments of the role, plus one when single sign-on gives it to the users it creates."""
    return int(c.value("SELECT (SELECT count(*) FROM role_assignments WHERE tenant_id = ? AND role_id = ?) + "
                       "(SELECT count(*) FROM oidc_providers WHERE tenant_id = ? AND default_role_id = ?)",
                       (tenant_id, role_id, tenant_id, role_id)))


def assignments_for_user(c: Conn, tenant_id: int, user_id: int) -> list[Row]:
    rows = c.all("SELECT a.id, a.role_id, a.all_organizations, r.name AS role_name, r.tenant_id AS role_tenant, "
                 "r.permissions FROM role_assignments a JOIN roles r ON r.id = a.role_id "
                 "WHERE a.tenant_id = ? AND a.user_id = ? ORDER BY a.id", (tenant_id, user_id))
    for row in rows:
        row["organization_ids"] = [] if row["all_organizations"] else [
            r["organization_id"] for r in c.all(
                "SELECT organization_id FROM role_assignment_organizations WHERE assignment_id = ? "
                "ORDER BY organization_id", (row["id"],))]
    return rows


def replace_assignments(c: Conn, tenant_id: int, user_id: int,
                        assignments: list[tuple[int, list[int] | None]], now: int) -> None:
    c.execute("DELETE FROM role_assignments WHERE tenant_id = ? AND user_id = ?", (tenant_id, user_id))
    for role_id, org_ids in assignments:
        aid = c.value("INSERT INTO role_assignments (tenant_id, user_id, role_id, all_organizations, created_at) "
                      "VALUES (?, ?, ?, ?, ?) RETURNING id", (tenant_id, user_id, role_id, int(org_ids is None), now))
        for org_id in org_ids or ():
            c.execute("INSERT INTO role_assignment_organizations (assignment_id, organization_id) VALUES (?, ?)",
                      (aid, org_id))


# --- sessions ----------------------------------------------------------------

def insert_session(c: Conn, sid: str, user_id: int, tenant_id: int, stage: str, csrf: str, ip: str, ua: str,
                   now: int, expires_at: int) -> None:
    c.execute("INSERT INTO sessions (id, user_id, tenant_id, stage, csrf_token, ip, user_agent, created_at, "
              "last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              (sid, user_id, tenant_id, stage, csrf, ip, ua[:300], now, now, expires_at))


def get_session(c: Conn, sid: str) -> Row | None:
    return c.one("SELECT id, user_id, tenant_id, stage, csrf_token, ip, user_agent, created_at, last_seen_at, "
                 "expires_at FROM sessions WHERE id = ?", (sid,))


def touch_session(c: Conn, sid: str, now: int) -> None:
    c.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", (now, sid))


def list_sessions(c: Conn, user_id: int) -> list[Row]:
    return c.all("SELECT id, stage, ip, user_agent, created_at, last_seen_at, expires_at FROM sessions "
                 "WHERE user_id = ? ORDER BY last_seen_at DESC", (user_id,))


def delete_session(c: Conn, sid: str) -> None:
    c.execute("DELETE FROM sessions WHERE id = ?", (sid,))


def delete_sessions_of_user(c: Conn, user_id: int, except_sid: str | None = None) -> None:
    c.execute("DELETE FROM sessions WHERE user_id = ? AND id <> ?", (user_id, except_sid or ""))


def delete_expired_sessions(c: Conn, now: int, idle_cutoff: int) -> None:
    c.execute("DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?", (now, idle_cutoff))


# --- API tokens -------------------------------------------------------------

def insert_token(c: Conn, tenant_id: int, user_id: int, name: str, prefix: str, token_hash: str,
                 permissions: list[str], now: int, expires_at: int | None) -> int:
    return c.value("INSERT INTO api_tokens (tenant_id, user_id, name, prefix, token_hash, permissions, created_at, "
                   "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                   (tenant_id, user_id, name, prefix, token_hash, json.dumps(permissions), now, expires_at))


def token_by_hash(c: Conn, token_hash: str) -> Row | None:
    return c.one("SELECT id, tenant_id, user_id, name, permissions, expires_at, revoked_at, last_used_at "
                 "FROM api_tokens WHERE token_hash = ?", (token_hash,))


def list_tokens(c: Conn, tenant_id: int, user_id: int) -> list[Row]:
    return c.all("SELECT id, name, prefix, permissions, created_at, expires_at, last_used_at, revoked_at "
                 "FROM api_tokens WHERE tenant_id = ? AND user_id = ? ORDER BY id DESC", (tenant_id, user_id))


def revoke_token(c: Conn, tenant_id: int, user_id: int, token_id: int, now: int) -> int:
    return int(c.value("UPDATE api_tokens SET revoked_at = ? WHERE tenant_id = ? AND user_id = ? AND id = ? "
                       "AND revoked_at IS NULL RETURNING id", (now, tenant_id, user_id, token_id)) or 0)


def mark_token_used(c: Conn, token_id: int, now: int) -> None:
    c.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, token_id))


# --- MFA backup codes -------------------------------------------------------

def replace_backup_codes(c: Conn, user_id: int, hashes: list[str]) -> None:
    c.execute("DELETE FROM mfa_backup_codes WHERE user_id = ?", (user_id,))
    c.executemany("INSERT INTO mfa_backup_codes (user_id, code_hash) VALUES (?, ?)", [(user_id, h) for h in hashes])


def use_backup_code(c: Conn, user_id: int, code_hash: str, now: int) -> bool:
    used = c.value("UPDATE mfa_backup_codes SET used_at = ? WHERE id = (SELECT id FROM mfa_backup_codes WHERE "
                   "user_id = ? AND code_hash = ? AND used_at IS NULL LIMIT 1) RETURNING id",
                   (now, user_id, code_hash))
    return used is not None


def backup_codes_left(c: Conn, user_id: int) -> int:
    return int(c.value("SELECT count(*) FROM mfa_backup_codes WHERE user_id = ? AND used_at IS NULL", (user_id,)))


# --- password resets ----------------------------------------------------------

def insert_reset(c: Conn, token_hash: str, user_id: int, now: int, expires_at: int) -> None:
    c.execute("INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
              (token_hash, user_id, now, expires_at))


def claim_reset(c: Conn, token_hash: str, now: int) -> int | None:
    """Mark the token used; the user id when it was valid and unused."""
    return c.value("UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND used_at IS NULL "
                   "AND expires_at >= ? RETURNING user_id", (now, token_hash, now))


def delete_resets_of_user(c: Conn, user_id: int) -> None:
    c.execute("DELETE FROM password_resets WHERE user_id = ?", (user_id,))


# --- login throttling -------------------------------------------------------

def throttle_rows(c: Conn, keys: list[str]) -> list[Row]:
    marks = ",".join("?" * len(keys))
    return c.all(f"SELECT key, failures, blocked_until, updated_at FROM login_throttle WHERE key IN ({marks})", keys)


def save_throttle(c: Conn, key: str, failures: int, blocked_until: int, now: int) -> None:
    c.execute("INSERT INTO login_throttle (key, failures, blocked_until, updated_at) VALUES (?, ?, ?, ?) "
              "ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, blocked_until = excluded.blocked_until, "
              "updated_at = excluded.updated_at", (key, failures, blocked_until, now))


def clear_throttle(c: Conn, keys: list[str]) -> None:
    marks = ",".join("?" * len(keys))
    c.execute(f"DELETE FROM login_throttle WHERE key IN ({marks})", keys)


# --- single sign-on (OpenID Connect) ------------------------------------------

OIDC_COLUMNS = "tenant_id, issuer, client_id, client_secret, enabled, create_users, default_role_id, updated_at"


def get_oidc_provider(c: Conn, tenant_id: int) -> Row | None:
    return c.one(f"SELECT {OIDC_COLUMNS} FROM oidc_providers WHERE tenant_id = ?", (tenant_id,))


def save_oidc_provider(c: Conn, tenant_id: int, issuer: str, client_id: str, client_secret: str, enabled: bool,
                       create_users: bool, default_role_id: int | None, now: int) -> None:
    c.execute("INSERT INTO oidc_providers (tenant_id, issuer, client_id, client_secret, enabled, create_users, "
              "default_role_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET "
              "issuer = excluded.issuer, client_id = excluded.client_id, client_secret = excluded.client_secret, "
              "enabled = excluded.enabled, create_users = excluded.create_users, "
              "default_role_id = excluded.default_role_id, updated_at = excluded.updated_at",
              (tenant_id, issuer, client_id, client_secret, int(enabled), int(create_users), default_role_id, now))


def insert_oidc_login(c: Conn, state_hash: str, tenant_id: int, nonce: str, code_verifier: str, next_path: str,
                      now: int, expires_at: int) -> None:
    c.execute("INSERT INTO oidc_logins (state_hash, tenant_id, nonce, code_verifier, next_path, created_at, "
              "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
              (state_hash, tenant_id, nonce, code_verifier, next_path, now, expires_at))


def claim_oidc_login(c: Conn, state_hash: str, now: int) -> Row | None:
    """Take the pending sign-in for this state, once: a second callback with the same state finds nothing."""
    return c.one("DELETE FROM oidc_logins WHERE state_hash = ? AND expires_at >= ? "
                 "RETURNING tenant_id, nonce, code_verifier, next_path", (state_hash, now))


def delete_expired_oidc_logins(c: Conn, now: int) -> None:
    c.execute("DELETE FROM oidc_logins WHERE expires_at < ?", (now,))


# --- appliance facts --------------------------------------------------------

def get_fact(c: Conn, key: str) -> str | None:
    return c.value("SELECT value FROM appliance_facts WHERE key = ?", (key,))


def set_fact(c: Conn, key: str, value: str, now: int) -> None:
    c.execute("INSERT INTO appliance_facts (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE "
              "SET value = excluded.value, updated_at = excluded.updated_at", (key, value, now))
