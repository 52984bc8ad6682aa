"""Device groups: static (members set by hand) and dynamic (members computed from rules).

Membership of both kinds is materialised in device_group_members, so readers (the device
list, checks targeting a group) never evaluate rules. Dynamic membership is recomputed
for one device when its inventory, agent version, tags, custom fields, site or asset
fields change, and for the whole tenant when a group's rules change.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ninjait.core.db import Conn
from ninjait.core.dialect import lock_for_transaction
from ninjait.core.errors import Conflict, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.devices import fields, meta_store, rules
from ninjait.identity import service as identity
from ninjait.identity.principal import Actor, Principal

KINDS = ("static", "dynamic")
# PostgreSQL: one advisory lock per tenant serialises membership writers, so a device changed while a
# group's rules change is evaluated against the new rules (READ COMMITTED sees what committed before the lock).
MEMBERSHIP_LOCK_BASE = 7_400_000_000  # audit chains use 7_300_000_000 + tenant


def _lock(c: Conn, tenant_id: int) -> None:
    lock_for_transaction(c, MEMBERSHIP_LOCK_BASE + tenant_id)


def _out(row: dict[str, Any], members: int | None = None) -> dict[str, Any]:
    out = {**row, "rules": json.loads(row["rules"]) if row["rules"] else None}
    if members is not None:
        out["members"] = members
    return out


def list_groups(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return [_out(r) for r in meta_store.list_groups(c, p.tenant_id, p.organizations_for("devices.read"))]


def get_group(rt: Runtime, p: Principal, group_id: int) -> dict[str, Any]:
    found = next((g for g in list_groups(rt, p) if g["id"] == group_id), None)
    if found is None:
        raise NotFound("device group not found")
    return found


def _check(c: Conn, tenant_id: int, kind: str, raw_rules: dict[str, Any] | None) -> str:
    if kind == "static":
        if raw_rules:
            raise Invalid("a static group has no rules; its members are set by hand", field="rules")
        return ""
    if raw_rules is None:
        raise Invalid("a dynamic group needs rules", field="rules")
    return json.dumps(rules.validate(raw_rules, fields.types_of(c, tenant_id)), separators=(",", ":"))


def _check_references(rt: Runtime, p: Principal, raw_rules: dict[str, Any] | None) -> None:
    """Sites and organizations named in rules must be the tenant's (and visible to the caller)."""
    if not raw_rules:
        return
    with rt.db.read() as c:
        rule = rules.validate(raw_rules, fields.types_of(c, p.tenant_id))
    for path, cond in rules.conditions(rule):
        try:
            if cond["field"] == "site":
                identity.get_site(rt, p, cond["value"])
            elif cond["field"] == "organization":
                identity.get_organization(rt, p, cond["value"])
        except NotFound:
            raise Invalid(f"{path}.value: no {cond['field']} with the id {cond['value']}",
                          field=f"{path}.value") from None


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 100:
        raise Invalid("the name is 1 to 100 characters", field="name")
    return name


def create_group(rt: Runtime, p: Principal, actor: Actor, name: str, kind: str, raw_rules: dict[str, Any] | None,
                 description: str = "") -> dict[str, Any]:
    fields.require_tenant_wide(p)
    name = _name(name)
    if kind not in KINDS:
        raise Invalid("kind is static or dynamic", field="kind")
    if kind == "dynamic":
        _check_references(rt, p, raw_rules)

    def create(c: Conn) -> int:
        stored = _check(c, p.tenant_id, kind, raw_rules)
        if meta_store.group_named(c, p.tenant_id, name) is not None:
            raise Conflict(f"a group named {name!r} exists", field="name")
        group_id = meta_store.insert_group(c, p.tenant_id, name, kind, stored, description.strip()[:1000],
                                           p.user_id or None, int(time.time()))
        if kind == "dynamic":
            refresh_group(c, p.tenant_id, group_id, json.loads(stored))
        return group_id

    group_id = rt.db.write(create)
    rt.bus.emit("device_group.created", p.tenant_id, actor.as_dict(), object_type="device_group",
                object_id=group_id, summary={"name": name, "kind": kind, "rules": raw_rules})
    return get_group(rt, p, group_id)


def update_group(rt: Runtime, p: Principal, actor: Actor, group_id: int, name: str,
                 raw_rules: dict[str, Any] | None, description: str = "") -> dict[str, Any]:
    fields.require_tenant_wide(p)
    current = get_group(rt, p, group_id)
    name = _name(name)
    if current["kind"] == "dynamic":
        _check_references(rt, p, raw_rules)

    def update(c: Conn) -> None:
        stored = _check(c, p.tenant_id, current["kind"], raw_rules)
        other = meta_store.group_named(c, p.tenant_id, name)
        if other is not None and other != group_id:
            raise Conflict(f"a group named {name!r} exists", field="name")
        meta_store.update_group(c, p.tenant_id, group_id, name, stored, description.strip()[:1000], int(time.time()))
        if current["kind"] == "dynamic":
            refresh_group(c, p.tenant_id, group_id, json.loads(stored))

    rt.db.write(update)
    rt.bus.emit("device_group.updated", p.tenant_id, actor.as_dict(), object_type="device_group",
                object_id=group_id, summary={"name": name, "rules": raw_rules, "before": current["rules"]})
    return get_group(rt, p, group_id)


def delete_group(rt: Runtime, p: Principal, actor: Actor, group_id: int) -> None:
    fields.require_tenant_wide(p)
    current = get_group(rt, p, group_id)
    rt.db.write(lambda c: meta_store.delete_group(c, p.tenant_id, group_id))
    rt.bus.emit("device_group.deleted", p.tenant_id, actor.as_dict(), object_type="device_group",
                object_id=group_id, summary={"name": current["name"], "kind": current["kind"]})


def static_group(rt: Runtime, p: Principal, group_id: int) -> dict[str, Any]:
    group = get_group(rt, p, group_id)
    if group["kind"] != "static":
        raise Invalid("members of a dynamic group follow its rules; they cannot be set by hand", field="group_id")
    return group


# --- evaluation ---------------------------------------------------------------------------------

def _facts(c: Conn, tenant_id: int, device_ids: list[int] | None, with_inventory: bool) -> list[rules.Facts]:
    rows = meta_store.rule_rows(c, tenant_id, device_ids, with_inventory)
    if device_ids is None:
        tags, custom = meta_store.all_tags(c, tenant_id), meta_store.all_custom_values(c, tenant_id)
    else:
        tags = {k: set(v) for k, v in meta_store.tags_of(c, tenant_id, device_ids).items()}
        custom = meta_store.custom_values_of(c, tenant_id, device_ids)
    facts = []
    for r in rows:
        if with_inventory:
            r["inventory"] = json.loads(r["inventory"] or "{}")
        facts.append(rules.Facts(r, tags.get(r["id"], set()), custom.get(r["id"], {})))
    return facts


def matching(c: Conn, tenant_id: int, rule: dict[str, Any]) -> list[rules.Facts]:
    types = fields.types_of(c, tenant_id)
    return [f for f in _facts(c, tenant_id, None, rules.names_inventory(rule)) if rules.matches(rule, f, types)]


def refresh_group(c: Conn, tenant_id: int, group_id: int, rule: dict[str, Any]) -> None:
    """Recompute a dynamic group's members over every device of the tenant (one pass)."""
    _lock(c, tenant_id)
    wanted = {f.row["id"] for f in matching(c, tenant_id, rule)}
    current = meta_store.member_ids(c, tenant_id, group_id)
    meta_store.remove_members(c, tenant_id, group_id, sorted(current - wanted))
    meta_store.add_members(c, tenant_id, group_id, sorted(wanted - current))


def refresh_devices(c: Conn, tenant_id: int, device_ids: list[int]) -> None:
    """Recompute these devices' dynamic memberships, inside the caller's transaction."""
    if not device_ids:
        return
    _lock(c, tenant_id)  # before looking for groups: a group created concurrently is then seen or sees us
    if not meta_store.has_dynamic_groups(c, tenant_id):
        return
    groups = [(g["id"], json.loads(g["rules"])) for g in meta_store.dynamic_groups(c, tenant_id)]
    types = fields.types_of(c, tenant_id)
    with_inventory = any(rules.names_inventory(rule) for _, rule in groups)
    for facts in _facts(c, tenant_id, device_ids, with_inventory):
        device_id = facts.row["id"]
        wanted = {gid for gid, rule in groups if rules.matches(rule, facts, types)}
        current = meta_store.dynamic_group_ids_of(c, tenant_id, device_id)
        for gid in current - wanted:
            meta_store.remove_members(c, tenant_id, gid, [device_id])
        for gid in wanted - current:
            meta_store.add_members(c, tenant_id, gid, [device_id])


def preview(rt: Runtime, p: Principal, raw_rules: dict[str, Any]) -> dict[str, Any]:
    """How many devices (that the caller may see) the rules would hold now, and a few of their names."""
    orgs = p.organizations_for("devices.read")
    with rt.db.read() as c:
        rule = rules.validate(raw_rules, fields.types_of(c, p.tenant_id))
        found = [f.row for f in matching(c, p.tenant_id, rule)]
    visible = sorted((r["hostname"] for r in found if orgs is None or r["organization_id"] in orgs), key=str.lower)
    return {"count": len(visible), "sample": visible[:10]}
