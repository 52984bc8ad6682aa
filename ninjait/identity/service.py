"""Tenants, organizations, sites, users and roles: the rules, no HTTP.

Every function that reads or changes tenant data takes the acting Principal
and works inside ``principal.tenant_id`` only; an object of another tenant,
or of an organization the principal may not see, is reported as not found.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ninjait.core.db import Conn
from ninjait.core.errors import Conflict, Forbidden, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity import passwords, store
from ninjait.identity.permissions import APPLIANCE_WIDE, PERMISSIONS
from ninjait.identity.principal import Actor, Principal, role_permissions

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}$")


def now() -> int:
    return int(time.time())


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL.match(email):
        raise Invalid("e-mail address is not valid", field="email")
    return email


def _name(value: str, what: str, limit: int = 200) -> str:
    value = value.strip()
    if not value:
        raise Invalid(f"{what} must not be empty", field="name")
    if len(value) > limit:
        raise Invalid(f"{what} must be at most {limit} characters", field="name")
    return value


def _unique(fn: Any, what: str) -> Any:
    """Run a write; turn a unique-constraint failure into a clear 409."""
    try:
        return fn()
    except Exception as exc:
        text = str(exc).lower()
        if "unique" in text or "duplicate key" in text:
            raise Conflict(f"{what} already exists") from None
        raise


# --- tenants (Super Admin) ----------------------------------------------------

def create_tenant(rt: Runtime, actor: Actor, name: str, slug: str, mfa_required: bool = True) -> dict[str, Any]:
    name = _name(name, "tenant name")
    slug = slug.strip().lower()
    if not SLUG.match(slug):
        raise Invalid("slug must be 2-41 lower-case letters, digits or dashes", field="slug")
    tenant_id = _unique(lambda: rt.db.write(lambda c: store.insert_tenant(c, name, slug, mfa_required, now())),
                        f"a tenant with slug {slug!r}")
    rt.bus.emit("tenant.created", tenant_id, actor.as_dict(), object_type="tenant", object_id=tenant_id,
                summary={"name": name, "slug": slug})
    return get_tenant(rt, tenant_id)


def get_tenant(rt: Runtime, tenant_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.get_tenant(c, tenant_id)
    if row is None:
        raise NotFound("tenant not found")
    return row


def list_tenants(rt: Runtime) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return store.list_tenants(c)


def update_tenant_settings(rt: Runtime, p: Principal, actor: Actor, *, name: str | None = None,
                           mfa_required: bool | None = None,
                           agents_need_approval: bool | None = None) -> dict[str, Any]:
    before = get_tenant(rt, p.tenant_id)
    after = {
        "name": _name(name, "tenant name") if name is not None else before["name"],
        "mfa_required": bool(before["mfa_required"]) if mfa_required is None else mfa_required,
        "agents_need_approval": (bool(before["agents_need_approval"]) if agents_need_approval is None
                                 else agents_need_approval),
    }
    rt.db.write(lambda c: store.update_tenant(c, p.tenant_id, after["name"], after["mfa_required"],
                                              after["agents_need_approval"]))
    rt.bus.emit("tenant.updated", p.tenant_id, actor.as_dict(), object_type="tenant", object_id=p.tenant_id,
                summary={"before": {k: before[k] if k == "name" else bool(before[k]) for k in after},
                         "after": after})
    return get_tenant(rt, p.tenant_id)


# --- organizations and sites --------------------------------------------------

def list_organizations(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return store.list_organizations(c, p.tenant_id, p.organizations_for("organizations.read"))


def get_organization(rt: Runtime, p: Principal, org_id: int, permission: str = "organizations.read") -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.get_organization(c, p.tenant_id, org_id)
    if row is None or not p.can("organizations.read", org_id):
        raise NotFound("organization not found")
    if not p.can(permission, org_id):
        raise Forbidden(f"you need the permission {permission} for this organization")
    return row


def create_organization(rt: Runtime, p: Principal, actor: Actor, name: str, notes: str = "") -> dict[str, Any]:
    if not p.can("organizations.write"):
        raise Forbidden("creating organizations needs organizations.write in every organization")
    name = _name(name, "organization name")
    org_id = _unique(lambda: rt.db.write(lambda c: store.insert_organization(c, p.tenant_id, name, notes[:5000], now())),
                     f"an organization named {name!r}")
    rt.bus.emit("organization.created", p.tenant_id, actor.as_dict(), object_type="organization",
                object_id=org_id, summary={"name": name})
    return get_organization(rt, p, org_id)


def update_organization(rt: Runtime, p: Principal, actor: Actor, org_id: int, name: str | None,
                        notes: str | None) -> dict[str, Any]:
    before = get_organization(rt, p, org_id, "organizations.write")
    new_name = _name(name, "organization name") if name is not None else before["name"]
    new_notes = notes[:5000] if notes is not None else before["notes"]
    _unique(lambda: rt.db.write(lambda c: store.update_organization(c, p.tenant_id, org_id, new_name, new_notes)),
            f"an organization named {new_name!r}")
    rt.bus.emit("organization.updated", p.tenant_id, actor.as_dict(), object_type="organization", object_id=org_id,
                summary={"before": {"name": before["name"]}, "after": {"name": new_name}})
    return get_organization(rt, p, org_id)


def delete_organization(rt: Runtime, p: Principal, actor: Actor, org_id: int) -> None:
    before = get_organization(rt, p, org_id, "organizations.delete")
    rt.db.write(lambda c: store.delete_organization(c, p.tenant_id, org_id))
    rt.bus.emit("organization.deleted", p.tenant_id, actor.as_dict(), object_type="organization", object_id=org_id,
                summary={"name": before["name"]})


def list_sites(rt: Runtime, p: Principal, org_id: int) -> list[dict[str, Any]]:
    get_organization(rt, p, org_id)
    with rt.db.read() as c:
        return store.list_sites(c, p.tenant_id, org_id)


def get_site(rt: Runtime, p: Principal, site_id: int, permission: str = "organizations.read") -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.get_site(c, p.tenant_id, site_id)
    if row is None or not p.can("organizations.read", row["organization_id"]):
        raise NotFound("site not found")
    if not p.can(permission, row["organization_id"]):
        raise Forbidden(f"you need the permission {permission} for this organization")
    return row


def create_site(rt: Runtime, p: Principal, actor: Actor, org_id: int, name: str, address: str = "") -> dict[str, Any]:
    get_organization(rt, p, org_id, "organizations.write")
    name = _name(name, "site name")
    site_id = _unique(lambda: rt.db.write(lambda c: store.insert_site(c, p.tenant_id, org_id, name, address[:1000], now())),
                      f"a site named {name!r} in this organization")
    rt.bus.emit("site.created", p.tenant_id, actor.as_dict(), object_type="site", object_id=site_id,
                summary={"name": name, "organization_id": org_id})
    return get_site(rt, p, site_id)


def update_site(rt: Runtime, p: Principal, actor: Actor, site_id: int, name: str | None,
                address: str | None) -> dict[str, Any]:
    before = get_site(rt, p, site_id, "organizations.write")
    new_name = _name(name, "site name") if name is not None else before["name"]
    new_address = address[:1000] if address is not None else before["address"]
    _unique(lambda: rt.db.write(lambda c: store.update_site(c, p.tenant_id, site_id, new_name, new_address)),
            f"a site named {new_name!r} in this organization")
    rt.bus.emit("site.updated", p.tenant_id, actor.as_dict(), object_type="site", object_id=site_id,
                summary={"before": {"name": before["name"]}, "after": {"name": new_name}})
    return get_site(rt, p, site_id)


def delete_site(rt: Runtime, p: Principal, actor: Actor, site_id: int) -> None:
    before = get_site(rt, p, site_id, "organizations.delete")
    rt.db.write(lambda c: store.delete_site(c, p.tenant_id, site_id))
    rt.bus.emit("site.deleted", p.tenant_id, actor.as_dict(), object_type="site", object_id=site_id,
                summary={"name": before["name"]})


# --- roles ---------------------------------------------------------------------

def _role_out(row: dict[str, Any]) -> dict[str, Any]:
    builtin = row["tenant_id"] is None
    return {"id": row["id"], "name": row["name"], "description": row["description"], "builtin": builtin,
            "permissions": sorted(role_permissions(row["id"], row["permissions"]))}


def list_roles(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return [_role_out(r) for r in store.list_roles(c, p.tenant_id)]


def get_role(rt: Runtime, p: Principal, role_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.get_role(c, p.tenant_id, role_id)
    if row is None:
        raise NotFound("role not found")
    return _role_out(row)


def _check_permission_names(p: Principal, names: list[str]) -> list[str]:
    unknown = sorted(set(names) - set(PERMISSIONS))
    if unknown:
        raise Invalid(f"unknown permission(s): {', '.join(unknown)}", field="permissions")
    reserved = sorted(set(names) & APPLIANCE_WIDE)
    if reserved:
        raise Invalid(f"{', '.join(reserved)} belong(s) to Super Admins and cannot be put in a role",
                      field="permissions")
    beyond = sorted(set(names) - p.everywhere)
    if beyond:
        # Nobody hands out what they do not hold themselves (SimpleHelp CVE-2024-57726).
        raise Forbidden(f"you cannot grant permissions you do not hold: {', '.join(beyond)}")
    return sorted(set(names))


def create_role(rt: Runtime, p: Principal, actor: Actor, name: str, description: str,
                permissions: list[str]) -> dict[str, Any]:
    name = _name(name, "role name", 100)
    perms = _check_permission_names(p, permissions)
    role_id = _unique(lambda: rt.db.write(lambda c: store.insert_role(c, p.tenant_id, name, description[:500], perms, now())),
                      f"a role named {name!r}")
    rt.bus.emit("role.created", p.tenant_id, actor.as_dict(), object_type="role", object_id=role_id,
                summary={"name": name, "permissions": perms})
    return get_role(rt, p, role_id)


def update_role(rt: Runtime, p: Principal, actor: Actor, role_id: int, name: str | None, description: str | None,
                permissions: list[str] | None) -> dict[str, Any]:
    before = get_role(rt, p, role_id)
    if before["builtin"]:
        raise Forbidden("built-in roles cannot be changed; copy one into a custom role")
    new_name = _name(name, "role name", 100) if name is not None else before["name"]
    perms = _check_permission_names(p, permissions) if permissions is not None else before["permissions"]
    desc = description[:500] if description is not None else before["description"]
    _unique(lambda: rt.db.write(lambda c: store.update_role(c, p.tenant_id, role_id, new_name, desc, perms)),
            f"a role named {new_name!r}")
    rt.bus.emit("role.updated", p.tenant_id, actor.as_dict(), object_type="role", object_id=role_id,
                summary={"before": {"name": before["name"], "permissions": before["permissions"]},
                         "after": {"name": new_name, "permissions": perms}})
    return get_role(rt, p, role_id)


def delete_role(rt: Runtime, p: Principal, actor: Actor, role_id: int) -> None:
    before = get_role(rt, p, role_id)
    if before["builtin"]:
        raise Forbidden("built-in roles cannot be deleted")

    def delete(c: Conn) -> None:
        if store.role_in_use(c, p.tenant_id, role_id):
            raise Conflict("the role is assigned to users; remove those assignments first")
        store.delete_role(c, p.tenant_id, role_id)

    rt.db.write(delete)
    rt.bus.emit("role.deleted", p.tenant_id, actor.as_dict(), object_type="role", object_id=role_id,
                summary={"name": before["name"]})


# --- users ---------------------------------------------------------------------

def _user_out(c: Conn, row: dict[str, Any]) -> dict[str, Any]:
    assignments = store.assignments_for_user(c, row["tenant_id"], row["id"])
    return {
        "id": row["id"], "email": row["email"], "name": row["name"],
        "is_super_admin": bool(row["is_super_admin"]), "disabled": bool(row["disabled"]),
        "mfa_enabled": bool(row["totp_enabled"]), "has_password": row["password_hash"] is not None,
        "created_at": row["created_at"],
        "roles": [{"role_id": a["role_id"], "role_name": a["role_name"],
                   "organization_ids": a["organization_ids"] if not a["all_organizations"] else None}
                  for a in assignments],
    }


def list_users(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return [_user_out(c, r) for r in store.list_users(c, p.tenant_id)]


def get_user(rt: Runtime, p: Principal, user_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.get_user(c, p.tenant_id, user_id)
        if row is None:
            raise NotFound("user not found")
        return _user_out(c, row)


def resolve_assignments(c: Conn, p: Principal, roles: list[dict[str, Any]]) -> list[tuple[int, list[int] | None]]:
    """Check requested role assignments: roles exist here, organizations are ours, no escalation."""
    result: list[tuple[int, list[int] | None]] = []
    for item in roles:
        role_ref = item.get("role_id") if item.get("role_id") is not None else item.get("role")
        if isinstance(role_ref, int):
            role = store.get_role(c, p.tenant_id, role_ref)
        elif isinstance(role_ref, str):
            role = store.role_by_name(c, p.tenant_id, role_ref.strip())
        else:
            raise Invalid("each role assignment needs role_id or role (a name)", field="roles")
        if role is None:
            raise Invalid(f"unknown role {role_ref!r}", field="roles")
        org_ids = item.get("organization_ids")
        if org_ids is not None:
            if not org_ids:
                raise Invalid("organization_ids must list at least one organization, or be null for all",
                              field="roles")
            for org_id in org_ids:
                if store.get_organization(c, p.tenant_id, int(org_id)) is None:
                    raise Invalid(f"unknown organization {org_id}", field="roles")
        perms = role_permissions(role["id"], role["permissions"])
        beyond = sorted(perms - p.everywhere)
        if beyond:
            raise Forbidden(f"you cannot assign the role {role['name']!r}: it grants permissions you do not hold "
                            f"({', '.join(beyond[:5])})")
        result.append((role["id"], [int(o) for o in org_ids] if org_ids is not None else None))
    return result


def create_user(rt: Runtime, p: Principal, actor: Actor, email: str, name: str, password: str | None,
                roles: list[dict[str, Any]]) -> dict[str, Any]:
    email = normalise_email(email)
    name = name.strip()[:200]
    if password is not None:
        passwords.check_policy(password, email=email, name=name)
    password_hash = passwords.hash_password(password) if password else None

    def create(c: Conn) -> int:
        if store.user_by_email(c, email) is not None:
            raise Conflict("a user with this e-mail address already exists")
        assignments = resolve_assignments(c, p, roles)
        user_id = store.insert_user(c, p.tenant_id, email, name, password_hash, False, now())
        store.replace_assignments(c, p.tenant_id, user_id, assignments, now())
        return user_id

    user_id = rt.db.write(create)
    rt.bus.emit("user.created", p.tenant_id, actor.as_dict(), object_type="user", object_id=user_id,
                summary={"email": email, "roles": roles})
    return get_user(rt, p, user_id)


def update_user(rt: Runtime, p: Principal, actor: Actor, user_id: int, name: str | None = None,
                disabled: bool | None = None, roles: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    before = get_user(rt, p, user_id)
    if before["is_super_admin"] and not p.is_super_admin:
        raise Forbidden("only a Super Admin can change a Super Admin")
    if user_id == p.user_id and (disabled or roles is not None):
        raise Forbidden("you cannot disable yourself or change your own roles")
    new_name = name.strip()[:200] if name is not None else before["name"]
    new_disabled = before["disabled"] if disabled is None else disabled

    def update(c: Conn) -> None:
        if roles is not None:
            store.replace_assignments(c, p.tenant_id, user_id, resolve_assignments(c, p, roles), now())
        store.update_user_profile(c, p.tenant_id, user_id, new_name, new_disabled, now())
        if new_disabled or roles is not None:
            # Privileges changed: every session of that user logs in again.
            store.delete_sessions_of_user(c, user_id)

    rt.db.write(update)
    after = get_user(rt, p, user_id)
    rt.bus.emit("user.updated", p.tenant_id, actor.as_dict(), object_type="user", object_id=user_id,
                summary={"before": {k: before[k] for k in ("name", "disabled", "roles")},
                         "after": {k: after[k] for k in ("name", "disabled", "roles")}})
    return after


def delete_user(rt: Runtime, p: Principal, actor: Actor, user_id: int) -> None:
    before = get_user(rt, p, user_id)
    if user_id == p.user_id:
        raise Forbidden("you cannot delete yourself")
    if before["is_super_admin"] and not p.is_super_admin:
        raise Forbidden("only a Super Admin can delete a Super Admin")
    rt.db.write(lambda c: store.delete_user(c, p.tenant_id, user_id))
    rt.bus.emit("user.deleted", p.tenant_id, actor.as_dict(), object_type="user", object_id=user_id,
                summary={"email": before["email"]})


def permission_catalogue() -> list[dict[str, str]]:
    return [{"name": k, "description": v} for k, v in sorted(PERMISSIONS.items())]
