"""Which checks apply to which devices: scopes (tenant, organization, site, group, device) minus exclusions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ninjait.core.db import Conn
from ninjait.monitoring.checks import store


@dataclass
class CheckSet:
    """Enabled checks of some tenants, ready to be matched against devices."""

    checks: list[dict[str, Any]]
    excluded: dict[int, set[int]] = field(default_factory=dict)
    groups: dict[int, set[int]] = field(default_factory=dict)
    by_tenant: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for check in self.checks:
            if isinstance(check["params"], str):
                check["params"] = json.loads(check["params"])
            self.by_tenant.setdefault(check["tenant_id"], []).append(check)

    def for_device(self, device: dict[str, Any]) -> list[dict[str, Any]]:
        return [c for c in self.by_tenant.get(device["tenant_id"], ()) if applies(self, c, device)]


def applies(cs: CheckSet, check: dict[str, Any], device: dict[str, Any]) -> bool:
    if check["tenant_id"] != device["tenant_id"] or device["id"] in cs.excluded.get(check["id"], ()):
        return False
    kind, scope_id = check["scope_kind"], check["scope_id"]
    if kind == "tenant":
        return True
    if kind == "organization":
        return device["organization_id"] == scope_id
    if kind == "site":
        return device["site_id"] == scope_id
    if kind == "device":
        return device["id"] == scope_id
    if kind == "group":
        return device["id"] in cs.groups.get(scope_id, ())
    return False


def load(c: Conn, tenant_ids: Iterable[int] | None = None, run_from: str = "",
         kinds: Iterable[str] | None = None) -> CheckSet:
    rows = store.enabled_checks(c, tenant_ids, run_from)
    if kinds is not None:
        wanted = set(kinds)
        rows = [r for r in rows if r["kind"] in wanted]
    groups: dict[int, set[int]] = {}
    by_tenant: dict[int, list[int]] = {}
    for r in rows:
        if r["scope_kind"] == "group":
            by_tenant.setdefault(r["tenant_id"], []).append(r["scope_id"])
    for tenant_id, group_ids in by_tenant.items():
        groups.update(store.group_members(c, tenant_id, sorted(set(group_ids))))
    return CheckSet(rows, store.exclusions(c, [r["id"] for r in rows]), groups)
