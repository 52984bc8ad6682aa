"""REST API of identity: /api/v1/me, organizations, sites, users, roles, tenants, single sign-on."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from ninjait.core.runtime import Runtime
from ninjait.identity import authn, oidc, service
from ninjait.identity.http import actor_of, client_ip, principal_of
from ninjait.identity.models import (
    ApiToken, ApiTokenCreated, ApiTokenIn, Me, Organization, OrganizationIn, OrganizationPatch, PasswordResetConfirm,
    PasswordResetRequest, Permission, Role, RoleIn, RolePatch, Session, Site, SiteIn, SitePatch, SsoConfig, SsoConfigIn,
    Tenant, TenantIn, TenantPatch, User, UserIn, UserPatch, convert,
)

Req = Request[Any, Any, Any]


def rt(request: Req) -> Runtime:
    return request.app.state.runtime


def _assignments(items: list[Any] | None) -> list[dict[str, Any]] | None:
    if items is None:
        return None
    return [{"role_id": a.role_id, "role": a.role, "organization_ids": a.organization_ids} for a in items]


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["me"]
    opt = {"authenticated": True}

    @get("/", sync_to_thread=True)
    def me(self, request: Req) -> Me:
        p = principal_of(request)
        return Me(id=p.user_id, email=p.email, name=p.name, tenant_id=p.tenant_id, is_super_admin=p.is_super_admin,
                  permissions=sorted(p.everywhere), via_api_token=p.token_id is not None,
                  organization_permissions={str(k): sorted(v) for k, v in p.per_org.items()})

    @get("/sessions", sync_to_thread=True)
    def sessions(self, request: Req) -> list[Session]:
        return convert(authn.list_sessions(rt(request), principal_of(request)), list[Session])  # type: ignore[return-value]

    @delete("/sessions/{handle:str}", sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def revoke_session(self, request: Req, handle: FromPath[str]) -> None:
        authn.revoke_session(rt(request), principal_of(request), actor_of(request), handle)

    @get("/tokens", sync_to_thread=True)
    def tokens(self, request: Req) -> list[ApiToken]:
        return convert(authn.list_api_tokens(rt(request), principal_of(request)), list[ApiToken])  # type: ignore[return-value]

    @post("/tokens", sync_to_thread=True)
    def create_token(self, request: Req, data: JSONBody[ApiTokenIn]) -> ApiTokenCreated:
        """The token is shown in this answer only; store it now."""
        created = authn.create_api_token(rt(request), principal_of(request), actor_of(request), data.name,
                                         list(data.permissions), data.expires_in_days)
        return convert(created, ApiTokenCreated)  # type: ignore[return-value]

    @delete("/tokens/{token_id:int}", sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def revoke_token(self, request: Req, token_id: FromPath[int]) -> None:
        authn.revoke_api_token(rt(request), principal_of(request), actor_of(request), token_id)


class OrganizationController(Controller):
    path = "/api/v1/organizations"
    tags = ["organizations"]

    @get("/", opt={"permission": "organizations.read"}, sync_to_thread=True)
    def index(self, request: Req) -> list[Organization]:
        return convert(service.list_organizations(rt(request), principal_of(request)), list[Organization])  # type: ignore[return-value]

    @post("/", opt={"permission": "organizations.write"}, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[OrganizationIn]) -> Organization:
        row = service.create_organization(rt(request), principal_of(request), actor_of(request), data.name, data.notes)
        return convert(row, Organization)  # type: ignore[return-value]

    @get("/{org_id:int}", opt={"permission": "organizations.read"}, sync_to_thread=True)
    def show(self, request: Req, org_id: FromPath[int]) -> Organization:
        return convert(service.get_organization(rt(request), principal_of(request), org_id), Organization)  # type: ignore[return-value]

    @patch("/{org_id:int}", opt={"permission": "organizations.write"}, sync_to_thread=True)
    def update(self, request: Req, org_id: FromPath[int], data: JSONBody[OrganizationPatch]) -> Organization:
        row = service.update_organization(rt(request), principal_of(request), actor_of(request), org_id, data.name,
                                          data.notes)
        return convert(row, Organization)  # type: ignore[return-value]

    @delete("/{org_id:int}", opt={"permission": "organizations.delete"}, sync_to_thread=True,
            status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, org_id: FromPath[int]) -> None:
        service.delete_organization(rt(request), principal_of(request), actor_of(request), org_id)

    @get("/{org_id:int}/sites", opt={"permission": "organizations.read"}, sync_to_thread=True)
    def sites(self, request: Req, org_id: FromPath[int]) -> list[Site]:
        return convert(service.list_sites(rt(request), principal_of(request), org_id), list[Site])  # type: ignore[return-value]

    @post("/{org_id:int}/sites", opt={"permission": "organizations.write"}, sync_to_thread=True)
    def create_site(self, request: Req, org_id: FromPath[int], data: JSONBody[SiteIn]) -> Site:
        row = service.create_site(rt(request), principal_of(request), actor_of(request), org_id, data.name, data.address)
        return convert(row, Site)  # type: ignore[return-value]


class SiteController(Controller):
    path = "/api/v1/sites"
    tags = ["organizations"]

    @get("/{site_id:int}", opt={"permission": "organizations.read"}, sync_to_thread=True)
    def show(self, request: Req, site_id: FromPath[int]) -> Site:
        return convert(service.get_site(rt(request), principal_of(request), site_id), Site)  # type: ignore[return-value]

    @patch("/{site_id:int}", opt={"permission": "organizations.write"}, sync_to_thread=True)
    def update(self, request: Req, site_id: FromPath[int], data: JSONBody[SitePatch]) -> Site:
        row = service.update_site(rt(request), principal_of(request), actor_of(request), site_id, data.name,
                                  data.address)
        return convert(row, Site)  # type: ignore[return-value]

    @delete("/{site_id:int}", opt={"permission": "organizations.delete"}, sync_to_thread=True,
            status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, site_id: FromPath[int]) -> None:
        service.delete_site(rt(request), principal_of(request), actor_of(request), site_id)


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["users"]

    @get("/", opt={"permission": "users.read"}, sync_to_thread=True)
    def index(self, request: Req) -> list[User]:
        return convert(service.list_users(rt(request), principal_of(request)), list[User])  # type: ignore[return-value]

    @post("/", opt={"permission": "users.write"}, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[UserIn]) -> User:
        row = service.create_user(rt(request), principal_of(request), actor_of(request), data.email, data.name,
                                  data.password, _assignments(data.roles) or [])
        return convert(row, User)  # type: ignore[return-value]

    @get("/{user_id:int}", opt={"permission": "users.read"}, sync_to_thread=True)
    def show(self, request: Req, user_id: FromPath[int]) -> User:
        return convert(service.get_user(rt(request), principal_of(request), user_id), User)  # type: ignore[return-value]

    @patch("/{user_id:int}", opt={"permission": "users.write"}, sync_to_thread=True)
    def update(self, request: Req, user_id: FromPath[int], data: JSONBody[UserPatch]) -> User:
        row = service.update_user(rt(request), principal_of(request), actor_of(request), user_id, data.name,
                                  data.disabled, _assignments(data.roles))
        return convert(row, User)  # type: ignore[return-value]

    @delete("/{user_id:int}", opt={"permission": "users.delete"}, sync_to_thread=True,
            status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, user_id: FromPath[int]) -> None:
        service.delete_user(rt(request), principal_of(request), actor_of(request), user_id)


class RoleController(Controller):
    path = "/api/v1/roles"
    tags = ["users"]

    @get("/", opt={"permission": "users.read"}, sync_to_thread=True)
    def index(self, request: Req) -> list[Role]:
        return convert(service.list_roles(rt(request), principal_of(request)), list[Role])  # type: ignore[return-value]

    @post("/", opt={"permission": "users.write"}, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[RoleIn]) -> Role:
        row = service.create_role(rt(request), principal_of(request), actor_of(request), data.name, data.description,
                                  list(data.permissions))
        return convert(row, Role)  # type: ignore[return-value]

    @get("/{role_id:int}", opt={"permission": "users.read"}, sync_to_thread=True)
    def show(self, request: Req, role_id: FromPath[int]) -> Role:
        return convert(service.get_role(rt(request), principal_of(request), role_id), Role)  # type: ignore[return-value]

    @patch("/{role_id:int}", opt={"permission": "users.write"}, sync_to_thread=True)
    def update(self, request: Req, role_id: FromPath[int], data: JSONBody[RolePatch]) -> Role:
        row = service.update_role(rt(request), principal_of(request), actor_of(request), role_id, data.name,
                                  data.description, list(data.permissions) if data.permissions is not None else None)
        return convert(row, Role)  # type: ignore[return-value]

    @delete("/{role_id:int}", opt={"permission": "users.delete"}, sync_to_thread=True,
            status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, role_id: FromPath[int]) -> None:
        service.delete_role(rt(request), principal_of(request), actor_of(request), role_id)


@get("/api/v1/permissions", opt={"permission": "users.read"}, tags=["users"], sync_to_thread=False)
def permissions() -> list[Permission]:
    """Every permission name the appliance knows, with what it allows."""
    return [Permission(**p) for p in service.permission_catalogue()]


class TenantController(Controller):
    path = "/api/v1"
    tags = ["tenants"]

    @get("/tenant", opt={"authenticated": True}, sync_to_thread=True)
    def current(self, request: Req) -> Tenant:
        return convert(service.get_tenant(rt(request), principal_of(request).tenant_id), Tenant)  # type: ignore[return-value]

    @patch("/tenant", opt={"permission": "settings.write"}, sync_to_thread=True)
    def update_current(self, request: Req, data: JSONBody[TenantPatch]) -> Tenant:
        row = service.update_tenant_settings(rt(request), principal_of(request), actor_of(request), name=data.name,
                                             mfa_required=data.mfa_required,
                                             agents_need_approval=data.agents_need_approval)
        return convert(row, Tenant)  # type: ignore[return-value]

    @get("/tenant/sso", opt={"permission": "settings.write"}, sync_to_thread=True)
    def sso(self, request: Req) -> SsoConfig:
        return convert(oidc.get_config(rt(request), principal_of(request)), SsoConfig)  # type: ignore[return-value]

    @put("/tenant/sso", opt={"permission": "settings.write"}, sync_to_thread=True)
    def update_sso(self, request: Req, data: JSONBody[SsoConfigIn]) -> SsoConfig:
        """Single sign-on (OpenID Connect). Changing it needs every permission of an Organization Admin."""
        row = oidc.set_config(rt(request), principal_of(request), actor_of(request), issuer=data.issuer,
                              client_id=data.client_id, client_secret=data.client_secret or None,
                              enabled=data.enabled, create_users=data.create_users,
                              default_role_id=data.default_role_id)
        return convert(row, SsoConfig)  # type: ignore[return-value]

    @get("/tenants", opt={"permission": "tenants.manage"}, sync_to_thread=True)
    def index(self, request: Req) -> list[Tenant]:
        return convert(service.list_tenants(rt(request)), list[Tenant])  # type: ignore[return-value]

    @post("/tenants", opt={"permission": "tenants.manage"}, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[TenantIn]) -> Tenant:
        row = service.create_tenant(rt(request), actor_of(request), data.name, data.slug, data.mfa_required)
        return convert(row, Tenant)  # type: ignore[return-value]


class PasswordResetController(Controller):
    path = "/api/v1/auth/password-reset"
    tags = ["auth"]
    opt = {"public": True}

    @post("/", sync_to_thread=True, status_code=202)
    def request_reset(self, request: Req, data: JSONBody[PasswordResetRequest]) -> dict[str, str]:
        """Sends a reset link when the address belongs to an account; the answer is the same either way."""
        from ninjait.identity import tasks

        token = authn.request_password_reset(rt(request), data.email, client_ip(request))
        if token:
            tasks.send_password_reset(data.email.strip().lower(), token)
        return {"status": "if that address has an account, a reset link is on its way"}

    @post("/confirm", sync_to_thread=True)
    def confirm(self, request: Req, data: JSONBody[PasswordResetConfirm]) -> dict[str, str]:
        authn.reset_password(rt(request), data.token, data.password, client_ip(request))
        return {"status": "password changed; sign in with the new password"}


route_handlers = [MeController, OrganizationController, SiteController, UserController, RoleController, permissions,
                  TenantController, PasswordResetController]
