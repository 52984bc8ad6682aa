"""Who is asking, and what they may do."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ninjait.core.errors import Forbidden
from ninjait.identity.permissions import APPLIANCE_WIDE, BUILTIN_ROLES


@dataclass(frozen=True)
class Principal:
    user_id: int
    tenant_id: int
    email: str
    name: str
    is_super_admin: bool
    # Permissions that hold in every organization of the tenant.
    everywhere: frozenset[str]
    # Permissions that hold only in some organizations (org-limited role assignments).
    per_org: Mapping[int, frozenset[str]] = field(default_factory=dict)
    session_id: str | None = None
    csrf_token: str | None = None
    token_id: int | None = None

    def can(self, permission: str, organization_id: int | None = None) -> bool:
        if permission in self.everywhere:
            return True
        return organization_id is not None and permission in self.per_org.get(organization_id, frozenset())

    def require_everywhere(self, permission: str, what: str) -> None:
        """Tenant-wide settings: changing them needs the permission in every organization, not only some."""
        if not self.can(permission):
            raise Forbidden(f"{what}: you need {permission} in every organization")

    def can_somewhere(self, permission: str) -> bool:
        return permission in self.everywhere or any(permission in p for p in self.per_org.values())

    def organizations_for(self, permission: str) -> frozenset[int] | None:
        """None: every organization; otherwise exactly these."""
        if permission in self.everywhere:
            return None
        return frozenset(org for org, perms in self.per_org.items() if permission in perms)

    def all_permissions(self) -> frozenset[str]:
        result = set(self.everywhere)
        for perms in self.per_org.values():
            result |= perms
        return frozenset(result)


@dataclass(frozen=True)
class Actor:
    """Who did something, for the audit log: a person, or the system."""

    user_id: int | None
    email: str
    ip: str = ""
    request_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "email": self.email, "ip": self.ip, "request_id": self.request_id}


SYSTEM = Actor(user_id=None, email="system")


def role_permissions(role_id: int, stored: str) -> frozenset[str]:
    builtin = BUILTIN_ROLES.get(role_id)
    return builtin.permissions() if builtin else frozenset(json.loads(stored or "[]"))


def effective_permissions(assignments: Iterable[Mapping[str, Any]], is_super_admin: bool,
                          ) -> tuple[frozenset[str], dict[int, frozenset[str]]]:
    everywhere: set[str] = set(BUILTIN_ROLES[1].permissions()) if is_super_admin else set()
    per_org: dict[int, set[str]] = {}
    for a in assignments:
        perms = role_permissions(a["role_id"], a["permissions"])
        if a["all_organizations"]:
            everywhere |= perms
        else:
            for org in a["organization_ids"]:
                per_org.setdefault(org, set()).update(perms)
    if is_super_admin:
        everywhere |= APPLIANCE_WIDE
    return frozenset(everywhere), {k: frozenset(v - everywhere) for k, v in per_org.items() if v - everywhere}
