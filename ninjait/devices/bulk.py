"""Bulk actions on devices chosen in the list: tag, untag, move to a site, add to or remove from a
static group, queue a command (now or later).

The action's own input (tag, site, group, command) is checked once, before any device: a bad
one is a 400 and nothing changes. Then each device is checked on its own; the answer lists
which succeeded and which were refused, and why.
"""

from __future__ import annotations

from typing import Any

from ninjait.agents import service as agents
from ninjait.core.db import Conn
from ninjait.core.errors import Invalid, ServiceError
from ninjait.core.runtime import Runtime
from ninjait.devices import groups, meta_store, service, store
from ninjait.identity.principal import Actor, Principal

ACTIONS = ("add_tag", "remove_tag", "move_to_site", "add_to_group", "remove_from_group", "queue_command")
MAX_IDS = 1000


def _permitted(rt: Runtime, p: Principal, ids: list[int]) -> tuple[dict[int, dict[str, Any]], list[dict[str, Any]]]:
    """Devices the caller may change, and refusals for the rest."""
    allowed: dict[int, dict[str, Any]] = {}
    refused: list[dict[str, Any]] = []
    with rt.db.read() as c:
        rows = {r["id"]: r for r in store.get_many(c, p.tenant_id, ids)}
    for device_id in ids:
        row = rows.get(device_id)
        if row is None or not p.can("devices.read", row["organization_id"]):
            refused.append({"id": device_id, "reason": "device not found"})
        elif not p.can("devices.write", row["organization_id"]):
            refused.append({"id": device_id, "reason": "you need devices.write in this device's organization"})
        else:
            allowed[device_id] = row
    return allowed, refused


def run(rt: Runtime, p: Principal, actor: Actor, ids: list[int], action: str, *, tag: str = "",
        site_id: int | None = None, group_id: int | None = None,
        command: dict[str, Any] | None = None) -> dict[str, Any]:
    if action not in ACTIONS:
        raise Invalid(f"action must be one of {', '.join(ACTIONS)}", field="action")
    ids = list(dict.fromkeys(ids))
    if not 1 <= len(ids) <= MAX_IDS:
        raise Invalid(f"choose 1 to {MAX_IDS} devices", field="ids")
    change: Any = None
    summary: dict[str, Any] = {"bulk": action}
    if action in ("add_tag", "remove_tag"):
        change = service.clean_tag(tag, "tag")
        summary["tag"] = change
    elif action == "move_to_site":
        if site_id is None:
            raise Invalid("move_to_site needs site_id", field="site_id")
        change = service.target_site(rt, p, site_id)
        summary["site_id"] = site_id
    elif action in ("add_to_group", "remove_from_group"):
        if group_id is None:
            raise Invalid(f"{action} needs group_id", field="group_id")
        change = groups.static_group(rt, p, group_id)
        summary["group_id"] = group_id
    else:
        if command is None:
            raise Invalid("queue_command needs command", field="command")
        agents.check_command(command["kind"], command.get("payload") or {}, command.get("expires_in_seconds", 3600),
                             command.get("not_before"))
    allowed, refused = _permitted(rt, p, ids)
    result: dict[str, Any] = {"action": action, "succeeded": [], "refused": refused, "commands": {}}
    if action == "queue_command":
        assert command is not None
        for device_id in allowed:
            try:
                queued = agents.queue_command(rt, p, actor, device_id, command["kind"], command.get("payload") or {},
                                              command.get("expires_in_seconds", 3600), command.get("not_before"))
            except ServiceError as exc:
                refused.append({"id": device_id, "reason": exc.message})
                continue
            result["succeeded"].append(device_id)
            result["commands"][str(device_id)] = queued["id"]
        return result
    chosen = sorted(allowed)
    rt.db.write(lambda c: _apply(c, p.tenant_id, action, change, chosen))
    result["succeeded"] = chosen
    for device_id in chosen:
        rt.bus.emit("device.updated", p.tenant_id, actor.as_dict(), object_type="device", object_id=device_id,
                    summary={**summary, "hostname": allowed[device_id]["hostname"]})
    return result


def _apply(c: Conn, tenant_id: int, action: str, change: Any, device_ids: list[int]) -> None:
    """One transaction for every permitted device: all of them change, or (on an error) none."""
    for device_id in device_ids:
        if action == "add_tag":
            meta_store.add_tags(c, tenant_id, device_id, [change])
        elif action == "remove_tag":
            meta_store.remove_tags(c, tenant_id, device_id, [change])
        elif action == "move_to_site":
            store.update(c, tenant_id, device_id, {"site_id": change["id"],
                                                   "organization_id": change["organization_id"]})
    if action == "add_to_group":
        meta_store.add_members(c, tenant_id, change["id"], device_ids)
    elif action == "remove_from_group":
        meta_store.remove_members(c, tenant_id, change["id"], device_ids)
    else:
        groups.refresh_devices(c, tenant_id, device_ids)
