"""API shapes of identity (msgspec Structs): what comes in, what goes out."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct

Name = Annotated[str, Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, Meta(max_length=1000)]
LongText = Annotated[str, Meta(max_length=5000)]
Email = Annotated[str, Meta(min_length=3, max_length=254)]
Password = Annotated[str, Meta(max_length=128)]
PermissionList = Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(max_length=200)]


class Organization(Struct):
    id: int
    name: str
    notes: str
    created_at: int
    site_count: int = 0


class OrganizationIn(Struct, forbid_unknown_fields=True):
    name: Name
    notes: LongText = ""


class OrganizationPatch(Struct, forbid_unknown_fields=True):
    name: Name | None = None
    notes: LongText | None = None


class Site(Struct):
    id: int
    organization_id: int
    name: str
    address: str
    created_at: int


class SiteIn(Struct, forbid_unknown_fields=True):
    name: Name
    address: ShortText = ""


class SitePatch(Struct, forbid_unknown_fields=True):
    name: Name | None = None
    address: ShortText | None = None


class RoleAssignment(Struct, forbid_unknown_fields=True):
    """A role given to a user, everywhere (organization_ids null) or in the listed organizations."""

    role_id: int | None = None
    role: Annotated[str, Meta(max_length=100)] | None = None
    organization_ids: Annotated[list[int], Meta(max_length=500)] | None = None


class RoleAssignmentOut(Struct):
    role_id: int
    role_name: str
    organization_ids: list[int] | None


class User(Struct):
    id: int
    email: str
    name: str
    is_super_admin: bool
    disabled: bool
    mfa_enabled: bool
    has_password: bool
    created_at: int
    roles: list[RoleAssignmentOut]


class UserIn(Struct, forbid_unknown_fields=True):
    email: Email
    name: Annotated[str, Meta(max_length=200)] = ""
    password: Password | None = None
    roles: Annotated[list[RoleAssignment], Meta(max_length=50)] = []


class UserPatch(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=200)] | None = None
    disabled: bool | None = None
    roles: Annotated[list[RoleAssignment], Meta(max_length=50)] | None = None


class Role(Struct):
    id: int
    name: str
    description: str
    builtin: bool
    permissions: list[str]


class RoleIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    permissions: PermissionList
    description: Annotated[str, Meta(max_length=500)] = ""


class RolePatch(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    permissions: PermissionList | None = None
    description: Annotated[str, Meta(max_length=500)] | None = None


class Permission(Struct):
    name: str
    description: str


class Tenant(Struct):
    id: int
    name: str
    slug: str
    mfa_required: bool
    agents_need_approval: bool
    created_at: int


class TenantIn(Struct, forbid_unknown_fields=True):
    name: Name
    slug: Annotated[str, Meta(min_length=2, max_length=41)]
    mfa_required: bool = True


class TenantPatch(Struct, forbid_unknown_fields=True):
    name: Name | None = None
    mfa_required: bool | None = None
    agents_need_approval: bool | None = None


class SsoConfig(Struct):
    """The tenant's OpenID Connect provider. The client secret is never returned, only whether one is set."""

    configured: bool
    issuer: str
    client_id: str
    client_secret_set: bool
    enabled: bool
    create_users: bool
    default_role_id: int | None
    updated_at: int | None
    redirect_uri: str


class SsoConfigIn(Struct, forbid_unknown_fields=True):
    """Replaces the provider settings; leave client_secret out (or empty) to keep the stored one."""

    issuer: Annotated[str, Meta(min_length=8, max_length=500)]
    client_id: Annotated[str, Meta(min_length=1, max_length=255)]
    client_secret: Annotated[str, Meta(max_length=1000)] | None = None
    enabled: bool = True
    create_users: bool = False
    default_role_id: int | None = None


class Me(Struct):
    id: int
    email: str
    name: str
    tenant_id: int
    is_super_admin: bool
    permissions: list[str]
    organization_permissions: dict[str, list[str]]
    via_api_token: bool


class Session(Struct):
    id: str
    current: bool
    stage: str
    ip: str
    user_agent: str
    created_at: int
    last_seen_at: int
    expires_at: int


class ApiToken(Struct):
    id: int
    name: str
    prefix: str
    permissions: list[str]
    created_at: int
    expires_at: int | None
    last_used_at: int | None
    revoked_at: int | None


class ApiTokenIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    permissions: PermissionList
    expires_in_days: Annotated[int, Meta(ge=1, le=3650)] | None = None


class ApiTokenCreated(Struct):
    id: int
    name: str
    token: str
    permissions: list[str]
    expires_at: int | None


class PasswordResetRequest(Struct, forbid_unknown_fields=True):
    email: Email


class PasswordResetConfirm(Struct, forbid_unknown_fields=True):
    token: Annotated[str, Meta(min_length=10, max_length=200)]
    password: Password


class AuditEntry(Struct):
    id: int
    time: str
    at: int
    actor: str
    user_id: int | None
    ip: str
    request_id: str
    action: str
    object_type: str
    object_id: str
    summary: dict | list | str | int | None


def convert(value: object, kind: type) -> object:
    return msgspec.convert(value, kind, strict=False)
