"""Authentication: passwords, TOTP, sessions, API tokens, throttling, resets, first run. No HTTP."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ninjait.core.crypto import new_token
from ninjait.core.db import Conn
from ninjait.core.errors import Conflict, Forbidden, Invalid, TooManyRequests, Unauthorized
from ninjait.core.runtime import Runtime
from ninjait.identity import passwords, store, totp
from ninjait.identity.principal import Actor, Principal, effective_permissions
from ninjait.identity.service import SLUG, normalise_email

TOKEN_PREFIX = "nit_"
RESET_MINUTES = 30
FACT_SETUP_TOKEN = "setup_token"


def _now() -> int:
    return int(time.time())


# --- throttling ------------------------------------------------------------------
# (free failures, cap on the back-off in seconds) per key kind. The per-account
# key that ignores the IP has a short cap, so an attacker spraying from many
# addresses can slow a real user down by a minute at most, never lock them out.
# 'sso_ip' counts single sign-on starts that did not finish (each start stores a row).
THROTTLE_RULES = {"acct_ip": (5, 900), "ip": (30, 900), "acct": (20, 60), "mfa": (5, 300), "reset_ip": (5, 900),
                  "sso_ip": (30, 300)}
THROTTLE_MEMORY = 3600  # failures older than this are forgotten


def throttle_keys(kind_values: dict[str, str]) -> dict[str, str]:
    return {f"{kind}:{value}": kind for kind, value in kind_values.items()}


def check_throttle(rt: Runtime, keys: dict[str, str]) -> None:
    now = _now()
    with rt.db.read() as c:
        rows = store.throttle_rows(c, list(keys))
    wait = max((r["blocked_until"] - now for r in rows), default=0)
    if wait > 0:
        raise TooManyRequests(f"too many failed attempts; try again in {wait} seconds", retry_after=wait)


def record_failure(rt: Runtime, keys: dict[str, str]) -> None:
    now = _now()

    def bump(c: Conn) -> None:
        existing = {r["key"]: r for r in store.throttle_rows(c, list(keys))}
        for key, kind in keys.items():
            row = existing.get(key)
            failures = 1 if row is None or row["updated_at"] < now - THROTTLE_MEMORY else row["failures"] + 1
            free, cap = THROTTLE_RULES[kind]
            blocked = now + min(2 ** (failures - free), cap) if failures > free else 0
            store.save_throttle(c, key, failures, blocked, now)

    rt.db.write(bump)


# --- sessions ---------------------------------------------------------------------

@dataclass(frozen=True)
class SessionInfo:
    sid: str
    user_id: int
    tenant_id: int
    stage: str  # 'full', 'mfa' (second factor due) or 'enrol' (must set up MFA first)
    csrf_token: str


def session_id(rt: Runtime, token: str) -> str:
    return rt.keyring.mac(token, purpose="session")


def _new_session(c: Conn, rt: Runtime, user: dict[str, Any], stage: str, ip: str, ua: str) -> str:
    token = new_token()
    now = _now()
    # A half-logged-in session (MFA pending) gets ten minutes, not a working day.
    lifetime = rt.settings.session_max_hours * 3600 if stage == "full" else 600
    store.insert_session(c, session_id(rt, token), user["id"], user["tenant_id"], stage, new_token(24), ip, ua,
                         now, now + lifetime)
    return token


def lookup_session(rt: Runtime, token: str) -> SessionInfo | None:
    if not token or len(token) > 200:
        return None
    sid = session_id(rt, token)
    now = _now()
    with rt.db.read() as c:
        row = store.get_session(c, sid)
    if row is None:
        return None
    idle_limit = rt.settings.session_idle_minutes * 60
    if row["expires_at"] < now or row["last_seen_at"] < now - idle_limit:
        rt.db.write(lambda c: store.delete_session(c, sid))
        return None
    if now - row["last_seen_at"] >= 60:  # one write a minute per session, not one per request
        rt.db.write(lambda c: store.touch_session(c, sid, now))
    return SessionInfo(sid, row["user_id"], row["tenant_id"], row["stage"], row["csrf_token"])


def principal_for_user(c: Conn, user: dict[str, Any], **extra: Any) -> Principal:
    assignments = store.assignments_for_user(c, user["tenant_id"], user["id"])
    everywhere, per_org = effective_permissions(assignments, bool(user["is_super_admin"]))
    return Principal(user_id=user["id"], tenant_id=user["tenant_id"], email=user["email"], name=user["name"],
                     is_super_admin=bool(user["is_super_admin"]), everywhere=everywhere, per_org=per_org, **extra)


def principal_for_session(rt: Runtime, info: SessionInfo) -> Principal | None:
    if info.stage != "full":
        return None
    with rt.db.read() as c:
        user = store.user_by_id(c, info.user_id)
        if user is None or user["disabled"]:
            return None
        return principal_for_user(c, user, session_id=info.sid, csrf_token=info.csrf_token)


def logout(rt: Runtime, info: SessionInfo, actor: Actor) -> None:
    rt.db.write(lambda c: store.delete_session(c, info.sid))
    rt.bus.emit("auth.logout", info.tenant_id, actor.as_dict(), object_type="user", object_id=info.user_id)


def list_sessions(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        rows = store.list_sessions(c, p.user_id)
    # The id shown is a short public handle; the full key stays server-side.
    return [{**{k: r[k] for k in ("stage", "ip", "user_agent", "created_at", "last_seen_at", "expires_at")},
             "id": r["id"][:16], "current": r["id"] == p.session_id} for r in rows]


def revoke_session(rt: Runtime, p: Principal, actor: Actor, handle: str) -> None:
    with rt.db.read() as c:
        matches = [r["id"] for r in store.list_sessions(c, p.user_id) if r["id"][:16] == handle]
    if len(matches) != 1:
        from ninjait.core.errors import NotFound

        raise NotFound("session not found")
    rt.db.write(lambda c: store.delete_session(c, matches[0]))
    rt.bus.emit("auth.session_revoked", p.tenant_id, actor.as_dict(), object_type="user", object_id=p.user_id)


# --- login ----------------------------------------------------------------------------

@dataclass(frozen=True)
class LoginOutcome:
    token: str
    stage: str
    user_id: int
    tenant_id: int


def _mfa_due(c: Conn, user: dict[str, Any]) -> str:
    if user["totp_enabled"]:
        return "mfa"
    tenant = store.get_tenant(c, user["tenant_id"])
    if user["is_super_admin"] or (tenant and tenant["mfa_required"]):
        return "enrol"
    return "full"


def login_password(rt: Runtime, email: str, password: str, ip: str, ua: str, request_id: str = "") -> LoginOutcome:
    email = email.strip().lower()[:254]
    keys = throttle_keys({"acct_ip": f"{email}|{ip}", "ip": ip, "acct": email})
    check_throttle(rt, keys)
    with rt.db.read() as c:
        user = store.user_by_email(c, email)
    ok = passwords.verify_password(user["password_hash"] if user else None, password)
    if not ok or user is None or user["disabled"]:
        record_failure(rt, keys)
        rt.bus.emit("auth.login_failed", user["tenant_id"] if user else None,
                    Actor(user["id"] if user else None, email, ip, request_id).as_dict(),
                    object_type="user", object_id=user["id"] if user else "",
                    summary={"reason": "disabled" if ok and user else "bad credentials"})
        raise Unauthorized("wrong e-mail address or password")

    def tidy(c: Conn) -> None:
        store.clear_throttle(c, [k for k, kind in keys.items() if kind != "ip"])
        if passwords.needs_rehash(user["password_hash"]):
            store.set_password_hash(c, user["id"], passwords.hash_password(password), _now())

    return begin_session(rt, user, ip, ua, request_id, method="password", also=tidy)


def begin_session(rt: Runtime, user: dict[str, Any], ip: str, ua: str, request_id: str = "", *,
                  method: str, mfa_satisfied: bool = False,
                  also: Callable[[Conn], None] | None = None) -> LoginOutcome:
    """A new session for a user whose first factor (a password, an identity provider) just checked out.

    The session is fully signed in unless a second factor is due here: the user has TOTP, or the
    tenant requires MFA. ``mfa_satisfied`` says the sign-in already included one (single sign-on
    trusts the identity provider for it), except for Super Admins, whose reach goes beyond any one
    tenant and its provider. ``also`` runs in the same transaction.
    """

    def start(c: Conn) -> tuple[str, str]:
        if also is not None:
            also(c)
        stage = "full" if mfa_satisfied and not user["is_super_admin"] else _mfa_due(c, user)
        return _new_session(c, rt, user, stage, ip, ua), stage

    token, stage = rt.db.write(start)
    summary = {"method": method} if stage == "full" else {"method": method, "next": stage}
    rt.bus.emit("auth.login" if stage == "full" else f"auth.{method}_ok", user["tenant_id"],
                Actor(user["id"], user["email"], ip, request_id).as_dict(), object_type="user",
                object_id=user["id"], summary=summary)
    return LoginOutcome(token, stage, user["id"], user["tenant_id"])


def complete_mfa(rt: Runtime, info: SessionInfo, code: str, ip: str, ua: str, request_id: str = "") -> str:
    """Check the second factor of a half-logged-in session; a new session id on success."""
    if info.stage != "mfa":
        raise Forbidden("no second factor is due for this session")
    keys = throttle_keys({"mfa": str(info.user_id)})
    check_throttle(rt, keys)
    with rt.db.read() as c:
        user = store.user_by_id(c, info.user_id)
    assert user is not None
    actor = Actor(user["id"], user["email"], ip, request_id)
    secret = rt.keyring.decrypt(user["totp_secret"], purpose="totp", context=f"user:{user['id']}").decode()
    step = totp.matching_step(secret, code)
    backup_hash = rt.keyring.mac(totp.normalise_backup_code(code), purpose="backup-code") if step is None else ""

    def finish(c: Conn) -> tuple[str | None, str]:
        if step is not None:
            if not store.claim_totp_step(c, user["id"], step):
                return None, "replayed code"
            method = "totp"
        elif store.use_backup_code(c, user["id"], backup_hash, _now()):
            method = "backup code"
        else:
            return None, "wrong code"
        store.delete_session(c, info.sid)
        store.clear_throttle(c, list(keys))
        return _new_session(c, rt, user, "full", ip, ua), method

    token, detail = rt.db.write(finish)
    if token is None:
        record_failure(rt, keys)
        rt.bus.emit("auth.mfa_failed", user["tenant_id"], actor.as_dict(), object_type="user", object_id=user["id"],
                    summary={"reason": detail})
        raise Unauthorized("that code was already used; wait for the next one" if detail == "replayed code"
                           else "wrong code")
    rt.bus.emit("auth.login", user["tenant_id"], actor.as_dict(), object_type="user", object_id=user["id"],
                summary={"second_factor": detail})
    return token


# --- MFA enrolment -----------------------------------------------------------------------

def start_enrolment(rt: Runtime, user_id: int) -> dict[str, str]:
    """A fresh secret (stored encrypted, not yet active) and its QR code."""
    with rt.db.read() as c:
        user = store.user_by_id(c, user_id)
    assert user is not None
    if user["totp_enabled"]:
        raise Conflict("two-factor authentication is already set up; turn it off first to replace it")
    secret = totp.new_secret()
    sealed = rt.keyring.encrypt(secret.encode(), purpose="totp", context=f"user:{user_id}")
    rt.db.write(lambda c: store.set_totp(c, user_id, sealed, False, _now()))
    uri = totp.provisioning_uri(secret, user["email"])
    return {"secret": secret, "uri": uri, "qr_svg": totp.qr_svg(uri)}


def _issue_backup_codes(c: Conn, rt: Runtime, user_id: int) -> list[str]:
    codes = totp.new_backup_codes()
    store.replace_backup_codes(c, user_id, [rt.keyring.mac(code, purpose="backup-code") for code in codes])
    return codes


def confirm_enrolment(rt: Runtime, user_id: int, code: str, ip: str, ua: str,
                      request_id: str = "") -> tuple[list[str], str]:
    """Activate TOTP with a first code; returns backup codes and a new session token."""
    with rt.db.read() as c:
        user = store.user_by_id(c, user_id)
    assert user is not None
    if user["totp_enabled"] or not user["totp_secret"]:
        raise Conflict("start the set-up again: no pending two-factor secret")
    secret = rt.keyring.decrypt(user["totp_secret"], purpose="totp", context=f"user:{user_id}").decode()
    step = totp.matching_step(secret, code)
    if step is None:
        raise Invalid("that code does not match; check the clock of your phone and try the next code", field="code")

    def activate(c: Conn) -> tuple[list[str], str]:
        c.execute("UPDATE users SET totp_enabled = 1, totp_last_step = ?, updated_at = ? WHERE id = ?",
                  (step, _now(), user_id))
        codes = _issue_backup_codes(c, rt, user_id)
        # MFA changed: every session ends; this browser gets a new one.
        store.delete_sessions_of_user(c, user_id)
        return codes, _new_session(c, rt, user, "full", ip, ua)

    codes, token = rt.db.write(activate)
    rt.bus.emit("auth.mfa_enabled", user["tenant_id"], Actor(user_id, user["email"], ip, request_id).as_dict(),
                object_type="user", object_id=user_id)
    return codes, token


def regenerate_backup_codes(rt: Runtime, p: Principal, actor: Actor) -> list[str]:
    with rt.db.read() as c:
        user = store.user_by_id(c, p.user_id)
    if not user or not user["totp_enabled"]:
        raise Conflict("set up two-factor authentication first")
    codes = rt.db.write(lambda c: _issue_backup_codes(c, rt, p.user_id))
    rt.bus.emit("auth.backup_codes_regenerated", p.tenant_id, actor.as_dict(), object_type="user", object_id=p.user_id)
    return codes


def backup_codes_left(rt: Runtime, user_id: int) -> int:
    with rt.db.read() as c:
        return store.backup_codes_left(c, user_id)


def disable_mfa(rt: Runtime, p: Principal, actor: Actor, password: str) -> None:
    with rt.db.read() as c:
        user = store.user_by_id(c, p.user_id)
        tenant = store.get_tenant(c, p.tenant_id)
    assert user is not None and tenant is not None
    if user["is_super_admin"] or tenant["mfa_required"]:
        raise Forbidden("two-factor authentication is required for your account")
    if not passwords.verify_password(user["password_hash"], password):
        raise Unauthorized("wrong password")

    def off(c: Conn) -> None:
        store.set_totp(c, p.user_id, None, False, _now())
        store.replace_backup_codes(c, p.user_id, [])
        store.delete_sessions_of_user(c, p.user_id, except_sid=p.session_id)

    rt.db.write(off)
    rt.bus.emit("auth.mfa_disabled", p.tenant_id, actor.as_dict(), object_type="user", object_id=p.user_id)


# --- passwords ---------------------------------------------------------------------------

def change_password(rt: Runtime, p: Principal, actor: Actor, current: str, new: str, ip: str, ua: str) -> str:
    """Returns a new session token for this browser; every other session ends."""
    with rt.db.read() as c:
        user = store.user_by_id(c, p.user_id)
    assert user is not None
    if not passwords.verify_password(user["password_hash"], current):
        raise Unauthorized("the current password is wrong")
    passwords.check_policy(new, email=user["email"], name=user["name"])
    hashed = passwords.hash_password(new)

    def change(c: Conn) -> str:
        store.set_password_hash(c, p.user_id, hashed, _now())
        store.delete_sessions_of_user(c, p.user_id)
        store.delete_resets_of_user(c, p.user_id)
        return _new_session(c, rt, user, "full", ip, ua)

    token = rt.db.write(change)
    rt.bus.emit("auth.password_changed", p.tenant_id, actor.as_dict(), object_type="user", object_id=p.user_id)
    return token


def request_password_reset(rt: Runtime, email: str, ip: str, request_id: str = "") -> str | None:
    """Create a reset token when the account exists; the caller mails it. The answer never says which."""
    keys = throttle_keys({"reset_ip": ip})
    check_throttle(rt, keys)
    record_failure(rt, keys)  # every request counts: this endpoint sends mail
    email = email.strip().lower()[:254]
    with rt.db.read() as c:
        user = store.user_by_email(c, email)
    if user is None or user["disabled"]:
        return None
    token = new_token()
    now = _now()
    rt.db.write(lambda c: store.insert_reset(c, rt.keyring.mac(token, purpose="reset"), user["id"], now,
                                             now + RESET_MINUTES * 60))
    rt.bus.emit("auth.password_reset_requested", user["tenant_id"], Actor(user["id"], email, ip, request_id).as_dict(),
                object_type="user", object_id=user["id"])
    return token


def reset_password(rt: Runtime, token: str, new: str, ip: str, request_id: str = "") -> None:
    token_hash = rt.keyring.mac(token.strip(), purpose="reset")
    with rt.db.read() as c:
        pending = c.one("SELECT user_id FROM password_resets WHERE token_hash = ? AND used_at IS NULL "
                        "AND expires_at >= ?", (token_hash, _now()))
        user = store.user_by_id(c, pending["user_id"]) if pending else None
    if user is None:
        raise Invalid("this reset link is invalid, used or expired; ask for a new one", field="token")
    passwords.check_policy(new, email=user["email"], name=user["name"])
    hashed = passwords.hash_password(new)

    def reset(c: Conn) -> bool:
        if store.claim_reset(c, token_hash, _now()) is None:
            return False
        store.set_password_hash(c, user["id"], hashed, _now())
        store.delete_sessions_of_user(c, user["id"])
        store.delete_resets_of_user(c, user["id"])
        return True

    if not rt.db.write(reset):
        raise Invalid("this reset link is invalid, used or expired; ask for a new one", field="token")
    rt.bus.emit("auth.password_reset", user["tenant_id"], Actor(user["id"], user["email"], ip, request_id).as_dict(),
                object_type="user", object_id=user["id"])


# --- API tokens -----------------------------------------------------------------------------

def create_api_token(rt: Runtime, p: Principal, actor: Actor, name: str, permissions: list[str],
                     expires_in_days: int | None) -> dict[str, Any]:
    if p.token_id is not None:
        raise Forbidden("API tokens cannot create API tokens; sign in to create one")
    name = name.strip()
    if not name or len(name) > 100:
        raise Invalid("token name must be 1-100 characters", field="name")
    if not permissions:
        raise Invalid("list the permissions the token should have", field="permissions")
    from ninjait.identity.permissions import PERMISSIONS

    unknown = sorted(set(permissions) - set(PERMISSIONS))
    if unknown:
        raise Invalid(f"unknown permission(s): {', '.join(unknown)}", field="permissions")
    beyond = sorted(set(permissions) - p.all_permissions())
    if beyond:
        raise Forbidden(f"a token cannot have permissions you do not hold: {', '.join(beyond)}")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise Invalid("expires_in_days must be from 1 to 3650, or empty for no expiry", field="expires_in_days")
    token = TOKEN_PREFIX + new_token()
    now = _now()
    expires_at = now + expires_in_days * 86400 if expires_in_days else None
    token_id = rt.db.write(lambda c: store.insert_token(
        c, p.tenant_id, p.user_id, name, token[:12], rt.keyring.mac(token, purpose="api-token"),
        sorted(set(permissions)), now, expires_at))
    rt.bus.emit("api_token.created", p.tenant_id, actor.as_dict(), object_type="api_token", object_id=token_id,
                summary={"name": name, "permissions": sorted(set(permissions)), "expires_at": expires_at})
    return {"id": token_id, "name": name, "token": token, "permissions": sorted(set(permissions)),
            "expires_at": expires_at}


def list_api_tokens(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        rows = store.list_tokens(c, p.tenant_id, p.user_id)
    return [{**r, "permissions": json.loads(r["permissions"])} for r in rows]


def revoke_api_token(rt: Runtime, p: Principal, actor: Actor, token_id: int) -> None:
    if not rt.db.write(lambda c: store.revoke_token(c, p.tenant_id, p.user_id, token_id, _now())):
        from ninjait.core.errors import NotFound

        raise NotFound("token not found")
    rt.bus.emit("api_token.revoked", p.tenant_id, actor.as_dict(), object_type="api_token", object_id=token_id)


def principal_for_token(rt: Runtime, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    now = _now()
    with rt.db.read() as c:
        row = store.token_by_hash(c, rt.keyring.mac(token, purpose="api-token"))
        if row is None or row["revoked_at"] or (row["expires_at"] and row["expires_at"] < now):
            return None
        user = store.user_by_id(c, row["user_id"])
        if user is None or user["disabled"]:
            return None
        holder = principal_for_user(c, user)
    if not row["last_used_at"] or now - row["last_used_at"] >= 60:
        rt.db.write(lambda c: store.mark_token_used(c, row["id"], now))
    # Checked again at every use: the token never holds more than its user holds now.
    granted = frozenset(json.loads(row["permissions"]))
    return Principal(user_id=holder.user_id, tenant_id=holder.tenant_id, email=holder.email, name=holder.name,
                     is_super_admin=holder.is_super_admin, everywhere=holder.everywhere & granted,
                     per_org={o: perms & granted for o, perms in holder.per_org.items() if perms & granted},
                     token_id=row["id"])


# --- first run ------------------------------------------------------------------------------

def users_exist(rt: Runtime) -> bool:
    with rt.db.read() as c:
        return store.count_users(c) > 0


def issue_setup_token(rt: Runtime) -> str | None:
    """At start, while no user exists: a one-time token for the first-run page (printed in the log)."""
    if users_exist(rt):
        rt.db.write(lambda c: c.execute("DELETE FROM appliance_facts WHERE key = ?", (FACT_SETUP_TOKEN,)))
        return None
    token = secrets.token_urlsafe(18)
    rt.db.write(lambda c: store.set_fact(c, FACT_SETUP_TOKEN, rt.keyring.mac(token, purpose="setup"), _now()))
    return token


def _create_first_admin(c: Conn, email: str, password: str, name: str, tenant_name: str, tenant_slug: str) -> tuple[int, int]:
    tenant = store.tenant_by_slug(c, tenant_slug)
    tenant_id = tenant["id"] if tenant else store.insert_tenant(c, tenant_name, tenant_slug, True, _now())
    if store.user_by_email(c, email) is not None:
        raise Conflict("a user with this e-mail address already exists")
    user_id = store.insert_user(c, tenant_id, email, name, passwords.hash_password(password), True, _now())
    store.replace_assignments(c, tenant_id, user_id, [(1, None)], _now())
    return tenant_id, user_id


def _check_new_admin(email: str, password: str, name: str, tenant_slug: str) -> str:
    email = normalise_email(email)
    passwords.check_policy(password, email=email, name=name)
    if not SLUG.match(tenant_slug):
        raise Invalid("tenant slug must be 2-41 lower-case letters, digits or dashes", field="tenant_slug")
    return email


def complete_setup(rt: Runtime, setup_token: str, email: str, password: str, name: str, tenant_name: str,
                   ip: str = "", request_id: str = "") -> int:
    """The first-run page: only while no user exists, and only with the token from the log."""
    if users_exist(rt):
        raise Forbidden("this appliance is already set up")
    email = _check_new_admin(email, password, name, "msp")
    tenant_name = tenant_name.strip()[:200] or "My MSP"

    def setup(c: Conn) -> tuple[int, int]:
        # Checked again inside the write: two racing requests cannot both succeed.
        if store.count_users(c) > 0:
            raise Forbidden("this appliance is already set up")
        stored = store.get_fact(c, FACT_SETUP_TOKEN)
        if not stored or not secrets.compare_digest(stored, rt.keyring.mac(setup_token.strip(), purpose="setup")):
            raise Forbidden("the setup token is wrong; it is printed in the server log at start")
        c.execute("DELETE FROM appliance_facts WHERE key = ?", (FACT_SETUP_TOKEN,))
        return _create_first_admin(c, email, password, name.strip()[:200], tenant_name, "msp")

    tenant_id, user_id = rt.db.write(setup)
    rt.bus.emit("appliance.setup_completed", tenant_id, Actor(user_id, email, ip, request_id).as_dict(),
                object_type="user", object_id=user_id, summary={"email": email, "tenant": tenant_name})
    return user_id


def create_super_admin(rt: Runtime, email: str, password: str, name: str = "", tenant_name: str = "My MSP",
                       tenant_slug: str = "msp") -> int:
    """`ninjait user create --super-admin`: whoever has a shell on the appliance may do this."""
    email = _check_new_admin(email, password, name, tenant_slug)

    def create(c: Conn) -> tuple[int, int]:
        result = _create_first_admin(c, email, password, name.strip()[:200], tenant_name, tenant_slug)
        c.execute("DELETE FROM appliance_facts WHERE key = ?", (FACT_SETUP_TOKEN,))
        return result

    tenant_id, user_id = rt.db.write(create)
    rt.bus.emit("user.created", tenant_id, Actor(None, "cli").as_dict(), object_type="user", object_id=user_id,
                summary={"email": email, "super_admin": True})
    return user_id


def purge_expired(rt: Runtime) -> None:
    now = _now()
    rt.db.write(lambda c: (store.delete_expired_sessions(c, now, now - rt.settings.session_idle_minutes * 60),
                           c.execute("DELETE FROM password_resets WHERE expires_at < ?", (now - 86400,)),
                           c.execute("DELETE FROM login_throttle WHERE updated_at < ? AND blocked_until < ?",
                                     (now - THROTTLE_MEMORY, now)),
                           store.delete_expired_oidc_logins(c, now)))
