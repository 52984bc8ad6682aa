"""Devices: what other domains and the HTTP layer may ask of them."""

from __future__ import annotations

import json
import time
from typing import Any

from ninjait.core import csvfile
from ninjait.core.db import Conn
from ninjait.core.errors import Forbidden, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.devices import activity, store
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


STATUSES = ("new", "online", "overdue", "offline")


def search_devices(rt: Runtime, p: Principal, *, q: str = "", organization_id: int | None = None,
                   site_id: int | None = None, status: str = "", os: str = "", sort: str = "hostname",
                   page: int = 1, per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    """One page of the devices the principal may see, and how many match in all."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in store.SORTS:
        raise Invalid(f"sort must be one of {', '.join(store.SORTS)} (prefix - for descending)", field="sort")
    if status and status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}", field="status")
    if not 1 <= per_page <= 1000 or page < 1:
        raise Invalid("page starts at 1 and per_page is 1 to 1000", field="per_page")
    if len(q) > 200:
        raise Invalid("the search is longer than 200 characters", field="q")
    with rt.db.read() as c:
        return store.search(c, p.tenant_id, p.organizations_for("devices.read"), q=q, organization_id=organization_id,
                            site_id=site_id, status=status, os=os, sort=key, descending=descending, limit=per_page,
                            offset=(page - 1) * per_page)


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


def to_csv(rt: Runtime, p: Principal, rows: list[dict[str, Any]]) -> str:
    from ninjait.identity import service as identity

    orgs = {o["id"]: o["name"] for o in identity.list_organizations(rt, p)}
    return csvfile.render(
        ["id", "hostname", "organization", "status", "os", "os_version", "agent_version", "last_seen_utc"],
        ([r["id"], r["hostname"], orgs.get(r["organization_id"], ""), r["status"], r["os_name"], r["os_version"],
          r["agent_version"],
          time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r["last_seen_at"])) if r["last_seen_at"] else ""]
         for r in rows))


# --- used by the agent gateway inside its own transaction -------------------------------------

def create_for_agent(c: Conn, tenant_id: int, org_id: int, site_id: int, hostname: str, platform: str) -> int:
    return store.insert(c, tenant_id, org_id, site_id, hostname[:253], platform, int(time.time()))


def record_check_in(c: Conn, device_id: int, now: int, agent_version: str, live: dict[str, Any] | None) -> str:
    """Returns the device's status before this check-in."""
    return store.seen(c, device_id, now, agent_version, json.dumps(live) if live is not None else None)


def search_text(inventory: dict[str, Any]) -> str:
    """Lower-case words a technician may search a device by: names, addresses, OS, serial, users, software."""
    parts = [inventory.get(k, "") for k in ("hostname", "os_name", "os_version", "serial", "manufacturer", "model")]
    for nic in inventory.get("nics", []):
        parts += [nic.get("mac", ""), *nic.get("addresses", [])]
    parts += inventory.get("users", [])
    parts += [s.get("name", "") for s in inventory.get("software", [])]
    return " ".join(str(p) for p in parts if p).lower()[:200_000]


def known_inventory_hash(c: Conn, device_id: int) -> str:
    return store.inventory_hash(c, device_id)


def record_inventory(c: Conn, device_id: int, inventory: dict[str, Any], digest: str, now: int) -> None:
    """Store a new inventory and what changed since the one before, for the device's timeline."""
    tenant_id, before = store.tenant_and_inventory(c, device_id)
    activity.record_inventory_changes(c, tenant_id, device_id, before, inventory, now)
    store.set_inventory(c, device_id, json.dumps(inventory), digest, str(inventory.get("hostname", ""))[:253],
                        str(inventory.get("os_name", "")), str(inventory.get("os_version", "")),
                        search_text(inventory), now)


# --- the device page's inventory tabs and activity timeline ----------------------------------

TIMELINE_KINDS = ("", "inventory", "events")


def timeline(rt: Runtime, p: Principal, device_id: int, *, before: int | None = None, kind: str = "",
             limit: int = 50) -> list[dict[str, Any]]:
    """Newest first; ``before`` (epoch milliseconds) pages back from the last entry seen."""
    if kind not in TIMELINE_KINDS:
        raise Invalid("kind must be inventory or events (or empty for both)", field="kind")
    if not 1 <= limit <= 500:
        raise Invalid("limit must be 1 to 500", field="limit")
    if before is not None and before < 0:
        raise Invalid("before is epoch milliseconds, not negative", field="before")
    device = get_device(rt, p, device_id)
    with rt.db.read() as c:
        return activity.timeline(c, p.tenant_id, device["id"], before=before, kind=kind, limit=limit)


def software(device: dict[str, Any], q: str = "", limit: int = 500) -> tuple[list[dict[str, Any]], int]:
    """A device's installed software matching every word of ``q`` (name or publisher), sorted by name."""
    if len(q) > 200:
        raise Invalid("the search is longer than 200 characters", field="q")
    words = q.lower().split()
    rows = sorted(device["inventory"].get("software", []), key=lambda s: str(s.get("name", "")).lower())
    found = [s for s in rows if all(w in f"{s.get('name', '')} {s.get('publisher', '')}".lower() for w in words)]
    return found[:limit], len(found)
