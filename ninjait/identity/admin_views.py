"""Settings pages for tenant admins: users, roles, organizations and sites, security policy."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from ninjait.core.errors import ServiceError
from ninjait.identity import service
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.permissions import PERMISSIONS
from ninjait.identity.views import FormData, _back, field, rt, values
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]


def perm(name: str) -> dict[str, str]:
    return {"permission": name}


@get("/settings", opt={"authenticated": True}, include_in_schema=False, sync_to_thread=False)
def settings_index(request: Req) -> Template:
    return page(request, "identity/settings.html", active="settings", p=principal_of(request))


# --- users -----------------------------------------------------------------------------------

def _users_page(request: Req, *, status_code: int = 200, error: str = "", form: dict[str, Any] | None = None) -> Template:
    p = principal_of(request)
    return page(request, "identity/users.html", status_code=status_code, active="settings", error=error,
                users=service.list_users(rt(request), p), roles=service.list_roles(rt(request), p),
                organizations=service.list_organizations(rt(request), p), form=form or {},
                can_write=p.can("users.write"))


def _assignments_from_form(data: dict[str, Any]) -> list[dict[str, Any]]:
    role_ids = [int(v) for v in values(data, "role_id", 50) if v.isdigit()]
    org_ids = [int(v) for v in values(data, "organization_id", 500) if v.isdigit()]
    return [{"role_id": rid, "organization_ids": org_ids or None} for rid in role_ids]


@get("/settings/users", opt=perm("users.read"), include_in_schema=False, sync_to_thread=True)
def users_page(request: Req) -> Template:
    return _users_page(request)


@post("/settings/users", opt=perm("users.write"), include_in_schema=False, sync_to_thread=True)
def users_create(request: Req, data: FormData) -> Response[Any]:
    form = {k: field(data, k, 254) for k in ("email", "name")}
    password = field(data, "password", 1000)
    try:
        service.create_user(rt(request), principal_of(request), actor_of(request), form["email"], form["name"],
                            password or None, _assignments_from_form(data))
    except ServiceError as exc:
        return _users_page(request, status_code=exc.status, error=exc.message, form=form)
    return _back("/settings/users", "user-created")


def _user_page(request: Req, user_id: FromPath[int], *, status_code: int = 200, error: str = "") -> Template:
    p = principal_of(request)
    return page(request, "identity/user_edit.html", status_code=status_code, active="settings", error=error,
                user=service.get_user(rt(request), p, user_id), roles=service.list_roles(rt(request), p),
                organizations=service.list_organizations(rt(request), p), can_write=p.can("users.write"),
                can_delete=p.can("users.delete"), is_self=user_id == p.user_id)


@get("/settings/users/{user_id:int}", opt=perm("users.read"), include_in_schema=False, sync_to_thread=True)
def user_page(request: Req, user_id: FromPath[int]) -> Template:
    return _user_page(request, user_id)


@post("/settings/users/{user_id:int}", opt=perm("users.write"), include_in_schema=False, sync_to_thread=True)
def user_update(request: Req, user_id: FromPath[int], data: FormData) -> Response[Any]:
    p = principal_of(request)
    try:
        service.update_user(rt(request), p, actor_of(request), user_id, name=field(data, "name", 200),
                            disabled=field(data, "disabled") == "on" if user_id != p.user_id else None,
                            roles=_assignments_from_form(data) if user_id != p.user_id else None)
    except ServiceError as exc:
        return _user_page(request, user_id, status_code=exc.status, error=exc.message)
    return _back(f"/settings/users/{user_id}", "saved")


@post("/settings/users/{user_id:int}/delete", opt=perm("users.delete"), include_in_schema=False, sync_to_thread=True)
def user_delete(request: Req, user_id: FromPath[int]) -> Response[Any]:
    try:
        service.delete_user(rt(request), principal_of(request), actor_of(request), user_id)
    except ServiceError as exc:
        return _user_page(request, user_id, status_code=exc.status, error=exc.message)
    return _back("/settings/users", "user-deleted")


# --- roles -----------------------------------------------------------------------------------

def _roles_page(request: Req, *, status_code: int = 200, error: str = "", form: dict[str, Any] | None = None) -> Template:
    p = principal_of(request)
    return page(request, "identity/roles.html", status_code=status_code, active="settings", error=error,
                roles=service.list_roles(rt(request), p), permissions=sorted(PERMISSIONS.items()), form=form or {},
                can_write=p.can("users.write"), grantable=p.everywhere)


@get("/settings/roles", opt=perm("users.read"), include_in_schema=False, sync_to_thread=True)
def roles_page(request: Req) -> Template:
    return _roles_page(request)


@post("/settings/roles", opt=perm("users.write"), include_in_schema=False, sync_to_thread=True)
def roles_create(request: Req, data: FormData) -> Response[Any]:
    form = {"name": field(data, "name", 100), "description": field(data, "description", 500),
            "permissions": values(data, "permissions")}
    try:
        service.create_role(rt(request), principal_of(request), actor_of(request), form["name"], form["description"],
                            form["permissions"])
    except ServiceError as exc:
        return _roles_page(request, status_code=exc.status, error=exc.message, form=form)
    return _back("/settings/roles", "role-created")


@post("/settings/roles/{role_id:int}", opt=perm("users.write"), include_in_schema=False, sync_to_thread=True)
def role_update(request: Req, role_id: FromPath[int], data: FormData) -> Response[Any]:
    try:
        service.update_role(rt(request), principal_of(request), actor_of(request), role_id, field(data, "name", 100),
                            field(data, "description", 500), values(data, "permissions"))
    except ServiceError as exc:
        return _roles_page(request, status_code=exc.status, error=exc.message)
    return _back("/settings/roles", "saved")


@post("/settings/roles/{role_id:int}/delete", opt=perm("users.delete"), include_in_schema=False, sync_to_thread=True)
def role_delete(request: Req, role_id: FromPath[int]) -> Response[Any]:
    try:
        service.delete_role(rt(request), principal_of(request), actor_of(request), role_id)
    except ServiceError as exc:
        return _roles_page(request, status_code=exc.status, error=exc.message)
    return _back("/settings/roles", "role-deleted")


# --- organizations and sites ---------------------------------------------------------------------

def _orgs_page(request: Req, *, status_code: int = 200, error: str = "", form: dict[str, Any] | None = None) -> Template:
    p = principal_of(request)
    return page(request, "identity/organizations.html", status_code=status_code, active="settings", error=error,
                organizations=service.list_organizations(rt(request), p), form=form or {},
                can_write=p.can("organizations.write"))


@get("/settings/organizations", opt=perm("organizations.read"), include_in_schema=False, sync_to_thread=True)
def organizations_page(request: Req) -> Template:
    return _orgs_page(request)


@post("/settings/organizations", opt=perm("organizations.write"), include_in_schema=False, sync_to_thread=True)
def organizations_create(request: Req, data: FormData) -> Response[Any]:
    form = {"name": field(data, "name", 200), "notes": field(data, "notes")}
    try:
        org = service.create_organization(rt(request), principal_of(request), actor_of(request), form["name"],
                                          form["notes"])
    except ServiceError as exc:
        return _orgs_page(request, status_code=exc.status, error=exc.message, form=form)
    return _back(f"/settings/organizations/{org['id']}", "organization-created")


def _org_page(request: Req, org_id: FromPath[int], *, status_code: int = 200, error: str = "") -> Template:
    p = principal_of(request)
    return page(request, "identity/organization.html", status_code=status_code, active="settings", error=error,
                org=service.get_organization(rt(request), p, org_id),
                sites=service.list_sites(rt(request), p, org_id),
                can_write=p.can("organizations.write", org_id), can_delete=p.can("organizations.delete", org_id))


@get("/settings/organizations/{org_id:int}", opt=perm("organizations.read"), include_in_schema=False,
     sync_to_thread=True)
def organization_page(request: Req, org_id: FromPath[int]) -> Template:
    return _org_page(request, org_id)


@post("/settings/organizations/{org_id:int}", opt=perm("organizations.write"), include_in_schema=False,
      sync_to_thread=True)
def organization_update(request: Req, org_id: FromPath[int], data: FormData) -> Response[Any]:
    try:
        service.update_organization(rt(request), principal_of(request), actor_of(request), org_id,
                                    field(data, "name", 200), field(data, "notes"))
    except ServiceError as exc:
        return _org_page(request, org_id, status_code=exc.status, error=exc.message)
    return _back(f"/settings/organizations/{org_id}", "saved")


@post("/settings/organizations/{org_id:int}/delete", opt=perm("organizations.delete"), include_in_schema=False,
      sync_to_thread=True)
def organization_delete(request: Req, org_id: FromPath[int]) -> Response[Any]:
    service.delete_organization(rt(request), principal_of(request), actor_of(request), org_id)
    return _back("/settings/organizations", "organization-deleted")


@post("/settings/organizations/{org_id:int}/sites", opt=perm("organizations.write"), include_in_schema=False,
      sync_to_thread=True)
def site_create(request: Req, org_id: FromPath[int], data: FormData) -> Response[Any]:
    try:
        service.create_site(rt(request), principal_of(request), actor_of(request), org_id, field(data, "name", 200),
                            field(data, "address", 1000))
    except ServiceError as exc:
        return _org_page(request, org_id, status_code=exc.status, error=exc.message)
    return _back(f"/settings/organizations/{org_id}", "site-created")


@post("/settings/sites/{site_id:int}/delete", opt=perm("organizations.delete"), include_in_schema=False,
      sync_to_thread=True)
def site_delete(request: Req, site_id: FromPath[int]) -> Response[Any]:
    p = principal_of(request)
    site = service.get_site(rt(request), p, site_id)
    service.delete_site(rt(request), p, actor_of(request), site_id)
    return _back(f"/settings/organizations/{site['organization_id']}", "site-deleted")


# --- tenant security ---------------------------------------------------------------------------

@get("/settings/security", opt=perm("settings.write"), include_in_schema=False, sync_to_thread=True)
def security_page(request: Req) -> Template:
    tenant = service.get_tenant(rt(request), principal_of(request).tenant_id)
    return page(request, "identity/security.html", active="settings", tenant=tenant)


@post("/settings/security", opt=perm("settings.write"), include_in_schema=False, sync_to_thread=True)
def security_update(request: Req, data: FormData) -> Response[Any]:
    service.update_tenant_settings(rt(request), principal_of(request), actor_of(request),
                                   mfa_required=field(data, "mfa_required") == "on",
                                   agents_need_approval=field(data, "agents_need_approval") == "on")
    return _back("/settings/security", "saved")


route_handlers = [settings_index, users_page, users_create, user_page, user_update, user_delete, roles_page,
                  roles_create, role_update, role_delete, organizations_page, organizations_create, organization_page,
                  organization_update, organization_delete, site_create, site_delete, security_page, security_update]


# --- tenants (Super Admin) ---------------------------------------------------------------------

def _tenants_page(request: Req, *, status_code: int = 200, error: str = "", form: dict[str, Any] | None = None) -> Template:
    return page(request, "identity/tenants.html", status_code=status_code, active="settings", error=error,
                tenants=service.list_tenants(rt(request)), form=form or {})


@get("/settings/tenants", opt=perm("tenants.manage"), include_in_schema=False, sync_to_thread=True)
def tenants_page(request: Req) -> Template:
    return _tenants_page(request)


@post("/settings/tenants", opt=perm("tenants.manage"), include_in_schema=False, sync_to_thread=True)
def tenants_create(request: Req, data: FormData) -> Response[Any]:
    form = {"name": field(data, "name", 200), "slug": field(data, "slug", 41)}
    try:
        service.create_tenant(rt(request), actor_of(request), form["name"], form["slug"],
                              mfa_required=field(data, "mfa_required") == "on")
    except ServiceError as exc:
        return _tenants_page(request, status_code=exc.status, error=exc.message, form=form)
    return _back("/settings/tenants", "tenant-created")


route_handlers += [tenants_page, tenants_create]
