"""Devices: what other domains and the HTTP layer may ask of them."""

from __future__ import annotations

import json
import time
from typing import Any

from ninjait.core.db import Conn
from ninjait.core.errors import Forbidden, NotFound
from ninjait.core.runtime import Runtime
from ninjait.devices import store
from ninjait.identity.principal import Actor, Principal


def _out(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("inventory", "live"):
        if key in out:
            out[key] = json.loads(out[key] or "{}")
    return out


def list_devices(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return store.list_for(c, p.tenant_id, p.organizations_for("devices.read"))


def get_device(rt: Runtime, p: Principal, device_id: int, permission: str = "devices.read") -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.get(c, p.tenant_id, device_id)
    if row is None or not p.can("devices.read", row["organization_id"]):
        raise NotFound("device not found")
    if not p.can(permission, row["organization_id"]):
        raise Forbidden(f"you need the permission {permission} for this device's organization")
    return _out(row)


def delete_device(rt: Runtime, p: Principal, actor: Actor, device_id: int) -> None:
    device = get_device(rt, p, device_id, "devices.delete")
    rt.db.write(lambda c: store.delete(c, p.tenant_id, device_id))
    rt.bus.emit("device.deleted", p.tenant_id, actor.as_dict(), object_type="device", object_id=device_id,
                summary={"hostname": device["hostname"]})


# --- used by the agent gateway inside its own transaction -------------------------------------

def create_for_agent(c: Conn, tenant_id: int, org_id: int, site_id: int, hostname: str, platform: str) -> int:
    return store.insert(c, tenant_id, org_id, site_id, hostname[:253], platform, int(time.time()))


def record_check_in(c: Conn, device_id: int, now: int, agent_version: str, live: dict[str, Any] | None) -> None:
    store.seen(c, device_id, now, agent_version, json.dumps(live) if live is not None else None)


def known_inventory_hash(c: Conn, device_id: int) -> str:
    return store.inventory_hash(c, device_id)


def record_inventory(c: Conn, device_id: int, inventory: dict[str, Any], digest: str, now: int) -> None:
    store.set_inventory(c, device_id, json.dumps(inventory), digest, str(inventory.get("hostname", ""))[:253],
                        str(inventory.get("os_name", "")), str(inventory.get("os_version", "")), now)
