"""Who may use the client portal, and how they sign in.

A portal account belongs to a contact: staff turn it on from the contact's page (or the API), optionally with a
password, and may let the contact see every ticket of their organizations instead of only their own. Contacts
sign in at ``/portal/<tenant slug>`` with their e-mail and password, or with a single-use link sent by e-mail
(15 minutes). Sessions are the portal's own (``portal_sessions``, cookie ``__Host-ninjait_portal``): a portal
session never opens a staff page, and a staff session never opens a portal page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ninjait.core.crypto import new_token
from ninjait.core.errors import Conflict, Forbidden, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity import authn, passwords, totp
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import contacts as contact_service

LINK_SECONDS = 15 * 60
SESSION_SECONDS = 12 * 3600
IDLE_SECONDS = 2 * 3600
MFA_SECONDS = 600


@dataclass(frozen=True)
class PortalUser:
    """A signed-in contact: what the portal's pages may show them."""

    contact_id: int
    tenant_id: int
    tenant_slug: str
    name: str
    email: str
    organization_ids: frozenset[int]
    sees_organization: bool
    session_id: str
    csrf_token: str
    stage: str = "full"  # 'mfa': the second factor is still due


def _hash(rt: Runtime, token: str, purpose: str) -> str:
    return rt.keyring.mac(token, purpose=purpose)


# --- staff side: turning access on and off ---------------------------------------------------------------

def get_access(rt: Runtime, p: Principal, contact_id: int) -> dict[str, Any]:
    contact_service.get_contact(rt, p, contact_id)  # 404 for contacts out of reach
    with rt.db.read() as c:
        row = c.one("SELECT enabled, sees_organization, password_hash, last_login_at FROM portal_accounts "
                    "WHERE tenant_id = ? AND contact_id = ?", (p.tenant_id, contact_id))
    if row is None:
        return {"enabled": False, "sees_organization": False, "password_set": False, "last_login_at": None}
    return {"enabled": bool(row["enabled"]), "sees_organization": bool(row["sees_organization"]),
            "password_set": bool(row["password_hash"]), "last_login_at": row["last_login_at"]}


def set_access(rt: Runtime, p: Principal, actor: Actor, contact_id: int, enabled: bool, sees_organization: bool,
               password: str = "") -> dict[str, Any]:
    """Turn a contact's portal access on or off; a password (checked like staff passwords) is optional: without
    one the contact signs in with e-mail links. Turning it off ends their sessions and removes their second
    factor."""
    contact = contact_service.get_contact(rt, p, contact_id)
    writable = p.organizations_for("tickets.write")
    if writable is not None and not writable.issuperset(contact["organization_ids"]):
        raise Forbidden("portal access needs tickets.write in every organization of the contact")
    if enabled and not contact["email"]:
        raise Invalid("the contact needs an e-mail address to sign in", field="email")
    hashed = None
    if password:
        passwords.check_policy(password, email=contact["email"], name=contact["name"])
        hashed = passwords.hash_password(password)
    now = int(time.time())

    def write(c: Any) -> None:
        c.execute("INSERT INTO portal_accounts (contact_id, tenant_id, password_hash, sees_organization, enabled, "
                  "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (contact_id) DO UPDATE SET "
                  "sees_organization = excluded.sees_organization, enabled = excluded.enabled, "
                  "password_hash = COALESCE(excluded.password_hash, portal_accounts.password_hash)",
                  (contact_id, p.tenant_id, hashed, int(sees_organization), int(enabled), now))
        if not enabled or hashed:
            end_sessions(c, p.tenant_id, contact_id)
        if not enabled:  # a contact who lost their authenticator gets access back without it
            c.execute("UPDATE portal_accounts SET totp_enabled = 0, totp_secret = NULL WHERE contact_id = ?",
                      (contact_id,))

    rt.db.write(write)
    rt.bus.emit("portal_access.updated", p.tenant_id, actor.as_dict(), object_type="contact", object_id=contact_id,
                summary={"enabled": enabled, "sees_organization": sees_organization, "password_set": bool(password)})
    return get_access(rt, p, contact_id)


def has_account(c: Any, tenant_id: int, contact_id: int) -> bool:
    return c.value("SELECT 1 FROM portal_accounts WHERE tenant_id = ? AND contact_id = ?",
                   (tenant_id, contact_id)) is not None


def end_sessions(c: Any, tenant_id: int, contact_id: int, *, with_links: bool = False) -> None:
    """Inside a write: sign the contact out everywhere (and spend its unused sign-in links)."""
    c.execute("DELETE FROM portal_sessions WHERE tenant_id = ? AND contact_id = ?", (tenant_id, contact_id))
    if with_links:
        c.execute("DELETE FROM portal_links WHERE tenant_id = ? AND contact_id = ?", (tenant_id, contact_id))


# --- signing in ---------------------------------------------------------------------------------------------

def tenant_by_slug(rt: Runtime, slug: str) -> dict[str, Any]:
    with rt.db.read() as c:
        row = c.one("SELECT id, name, slug FROM tenants WHERE slug = ?", (slug[:100],))
    if row is None:
        raise NotFound("no such portal")
    return row


def _account(c: Any, tenant_id: int, email: str) -> dict[str, Any] | None:
    return c.one("SELECT a.contact_id, a.password_hash, a.totp_enabled, ct.email, ct.name FROM portal_accounts a "
                 "JOIN contacts ct ON ct.id = a.contact_id WHERE a.tenant_id = ? AND ct.email = ? AND a.enabled = 1 "
                 "ORDER BY a.contact_id LIMIT 1", (tenant_id, email.strip().lower()))


def _start_session(rt: Runtime, tenant_id: int, contact_id: int) -> str:
    """A new session; with the contact's second factor on, it starts half signed in (10 minutes to give a code)."""
    token, now = new_token(), int(time.time())

    def write(c: Any) -> None:
        mfa = bool(c.value("SELECT totp_enabled FROM portal_accounts WHERE contact_id = ?", (contact_id,)))
        c.execute("INSERT INTO portal_sessions (id, contact_id, tenant_id, csrf_token, stage, created_at, last_seen_at, "
                  "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  (_hash(rt, token, "portal-session"), contact_id, tenant_id, new_token(24), "mfa" if mfa else "full",
                   now, now, now + (MFA_SECONDS if mfa else SESSION_SECONDS)))
        if not mfa:
            c.execute("UPDATE portal_accounts SET last_login_at = ? WHERE contact_id = ?", (now, contact_id))

    rt.db.write(write)
    return token


def login_password(rt: Runtime, slug: str, email: str, password: str, ip: str) -> str:
    """A session token, or Invalid with one message for every way it can fail (no account enumeration)."""
    tenant = tenant_by_slug(rt, slug)
    keys = authn.throttle_keys({"acct_ip": f"portal:{tenant['id']}:{email.lower()}|{ip}", "ip": ip})
    authn.check_throttle(rt, keys)
    with rt.db.read() as c:
        account = _account(c, tenant["id"], email)
    if account is None or not passwords.verify_password(account["password_hash"], password):
        authn.record_failure(rt, keys)
        rt.bus.emit("portal.login_failed", tenant["id"], {"user_id": None, "email": email[:254], "ip": ip},
                    object_type="contact", object_id=account["contact_id"] if account else None)
        raise Invalid("wrong e-mail or password", field="password")
    rt.bus.emit("portal.login", tenant["id"], {"user_id": None, "email": account["email"], "ip": ip},
                object_type="contact", object_id=account["contact_id"])
    return _start_session(rt, tenant["id"], account["contact_id"])


def request_link(rt: Runtime, slug: str, email: str, ip: str) -> str | None:
    """A sign-in link token for an enabled account (None otherwise); the caller e-mails it. The page answers the
    same either way."""
    tenant = tenant_by_slug(rt, slug)
    keys = authn.throttle_keys({"reset_ip": f"portal:{ip}"})
    authn.check_throttle(rt, keys)
    authn.record_failure(rt, keys)  # every request counts: a link is a mail sent to someone
    with rt.db.read() as c:
        account = _account(c, tenant["id"], email)
    if account is None:
        return None
    token, now = new_token(), int(time.time())
    rt.db.write(lambda c: c.execute(
        "INSERT INTO portal_links (id, contact_id, tenant_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        (_hash(rt, token, "portal-link"), account["contact_id"], tenant["id"], now, now + LINK_SECONDS)))
    return token


def login_link(rt: Runtime, slug: str, token: str) -> str:
    """Spend a sign-in link (once, within 15 minutes); returns a session token."""
    tenant = tenant_by_slug(rt, slug)
    now = int(time.time())

    def spend(c: Any) -> int | None:
        row = c.one("UPDATE portal_links SET used_at = ? WHERE id = ? AND tenant_id = ? AND used_at IS NULL "
                    "AND expires_at >= ? RETURNING contact_id", (now, _hash(rt, token[:200], "portal-link"),
                                                                tenant["id"], now))
        if row is None:
            return None
        enabled = c.value("SELECT enabled FROM portal_accounts WHERE contact_id = ?", (row["contact_id"],))
        return int(row["contact_id"]) if enabled else None

    contact_id = rt.db.write(spend)
    if contact_id is None:
        raise Invalid("this sign-in link is used, expired or unknown: ask for a new one", field="token")
    return _start_session(rt, tenant["id"], contact_id)


def user_for_session(rt: Runtime, token: str) -> PortalUser | None:
    if not token or len(token) > 200:
        return None
    sid, now = _hash(rt, token, "portal-session"), int(time.time())
    with rt.db.read() as c:
        row = c.one("SELECT s.contact_id, s.tenant_id, s.csrf_token, s.stage, s.last_seen_at, s.expires_at, a.enabled, "
                    "a.sees_organization, ct.name, ct.email, t.slug FROM portal_sessions s "
                    "JOIN portal_accounts a ON a.contact_id = s.contact_id JOIN contacts ct ON ct.id = s.contact_id "
                    "JOIN tenants t ON t.id = s.tenant_id WHERE s.id = ?", (sid,))
        if row is None:
            return None
        orgs = frozenset(r["organization_id"] for r in c.all(
            "SELECT organization_id FROM contact_organizations WHERE contact_id = ?", (row["contact_id"],)))
    if not row["enabled"] or row["expires_at"] < now or row["last_seen_at"] < now - IDLE_SECONDS:
        rt.db.write(lambda c: c.execute("DELETE FROM portal_sessions WHERE id = ?", (sid,)))
        return None
    if now - row["last_seen_at"] >= 60:
        rt.db.write(lambda c: c.execute("UPDATE portal_sessions SET last_seen_at = ? WHERE id = ?", (now, sid)))
    return PortalUser(row["contact_id"], row["tenant_id"], row["slug"], row["name"], row["email"], orgs,
                      bool(row["sees_organization"]), sid, row["csrf_token"], row["stage"])


def logout(rt: Runtime, user: PortalUser) -> None:
    rt.db.write(lambda c: c.execute("DELETE FROM portal_sessions WHERE id = ?", (user.session_id,)))


# --- the optional second factor ------------------------------------------------------------------------------

def _totp_row(c: Any, contact_id: int) -> dict[str, Any]:
    row = c.one("SELECT totp_secret, totp_enabled, totp_last_step FROM portal_accounts WHERE contact_id = ?",
                (contact_id,))
    assert row is not None
    return row


def _secret(rt: Runtime, contact_id: int, sealed: str) -> str:
    return rt.keyring.decrypt(sealed, purpose="portal-totp", context=f"contact:{contact_id}").decode()


def _claim_code(rt: Runtime, user: PortalUser, code: str) -> bool:
    """The code is right and its step was not used before (claimed atomically, so a code works once)."""
    with rt.db.read() as c:
        row = _totp_row(c, user.contact_id)
    if not row["totp_secret"]:
        return False
    step = totp.matching_step(_secret(rt, user.contact_id, row["totp_secret"]), code)
    if step is None:
        return False
    return bool(rt.db.write(lambda c: c.one(
        "UPDATE portal_accounts SET totp_last_step = ? WHERE contact_id = ? AND totp_last_step < ? "
        "RETURNING contact_id", (step, user.contact_id, step))))


def complete_mfa(rt: Runtime, user: PortalUser, code: str, ip: str) -> None:
    keys = authn.throttle_keys({"mfa": f"portal:{user.contact_id}"})
    authn.check_throttle(rt, keys)
    if user.stage != "mfa" or not _claim_code(rt, user, code):
        authn.record_failure(rt, keys)
        raise Invalid("that code is not right (or was used already)", field="code")
    now = int(time.time())
    rt.db.write(lambda c: (
        c.execute("UPDATE portal_sessions SET stage = 'full', expires_at = ? WHERE id = ?",
                  (now + SESSION_SECONDS, user.session_id)),
        c.execute("UPDATE portal_accounts SET last_login_at = ? WHERE contact_id = ?", (now, user.contact_id))))
    rt.bus.emit("portal.login", user.tenant_id, {"user_id": None, "email": user.email, "ip": ip},
                object_type="contact", object_id=user.contact_id, summary={"mfa": True})


def start_totp(rt: Runtime, user: PortalUser) -> dict[str, str]:
    """A new secret (stored, not yet on) and its QR code for the contact's authenticator app."""
    if totp_enabled(rt, user):
        raise Conflict("two-step sign-in is on: turn it off first to set up another app")
    secret = totp.new_secret()
    sealed = rt.keyring.encrypt(secret.encode(), purpose="portal-totp", context=f"contact:{user.contact_id}")
    rt.db.write(lambda c: c.execute("UPDATE portal_accounts SET totp_secret = ? WHERE contact_id = ? "
                                    "AND totp_enabled = 0", (sealed, user.contact_id)))
    uri = totp.provisioning_uri(secret, user.email)
    return {"secret": secret, "qr": totp.qr_svg(uri)}


def set_totp(rt: Runtime, user: PortalUser, code: str, enabled: bool) -> None:
    """Turn the second factor on (confirming the new secret) or off (with a current code)."""
    with rt.db.read() as c:
        row = _totp_row(c, user.contact_id)
    if bool(row["totp_enabled"]) == enabled:
        return
    if not _claim_code(rt, user, code):
        raise Invalid("that code is not right (or was used already)", field="code")
    rt.db.write(lambda c: (
        c.execute("UPDATE portal_accounts SET totp_enabled = ?, totp_secret = CASE WHEN ? = 1 THEN totp_secret "
                  "ELSE NULL END WHERE contact_id = ?", (int(enabled), int(enabled), user.contact_id)),
        c.execute("DELETE FROM portal_sessions WHERE contact_id = ? AND id <> ?", (user.contact_id, user.session_id))))
    rt.bus.emit("portal.mfa_" + ("enabled" if enabled else "disabled"), user.tenant_id,
                {"user_id": None, "email": user.email}, object_type="contact", object_id=user.contact_id)


def totp_enabled(rt: Runtime, user: PortalUser) -> bool:
    with rt.db.read() as c:
        return bool(_totp_row(c, user.contact_id)["totp_enabled"])
