"""SQL of the devices table."""

from __future__ import annotations

import json
from typing import Any

from ninjait.core.db import Conn

COLUMNS = ("id, tenant_id, organization_id, site_id, hostname, platform, os_name, os_version, agent_version, "
           "inventory_hash, inventory_at, last_seen_at, status, status_changed_at, created_at, purchase_date, "
           "warranty_end, owner, notes, updated_at")
ASSET_FIELDS = ("purchase_date", "warranty_end", "owner", "notes")


def insert(c: Conn, tenant_id: int, org_id: int, site_id: int, hostname: str, platform: str, now: int) -> int:
    return c.value("INSERT INTO devices (tenant_id, organization_id, site_id, hostname, platform, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?) RETURNING id", (tenant_id, org_id, site_id, hostname, platform, now))


# The inventory lives in device_inventories: a workstation's is ~30 KB, and the devices row is written by every
# check-in and read by every device list.
INVENTORY = ("COALESCE((SELECT inventory FROM device_inventories i WHERE i.device_id = devices.id "
             "AND i.tenant_id = devices.tenant_id), '{}') AS inventory")


def get(c: Conn, tenant_id: int, device_id: int) -> dict[str, Any] | None:
    return c.one(f"SELECT {COLUMNS}, {INVENTORY}, live FROM devices WHERE tenant_id = ? AND id = ?",
                 (tenant_id, device_id))


def get_many(c: Conn, tenant_id: int, device_ids: list[int]) -> list[dict[str, Any]]:
    if not device_ids:
        return []
    return c.all(f"SELECT {COLUMNS} FROM devices WHERE tenant_id = ? AND id IN ({','.join('?' * len(device_ids))})",
                 [tenant_id, *device_ids])


def list_for(c: Conn, tenant_id: int, orgs: frozenset[int] | None) -> list[dict[str, Any]]:
    rows = c.all(f"SELECT {COLUMNS} FROM devices WHERE tenant_id = ? ORDER BY hostname", (tenant_id,))
    return rows if orgs is None else [r for r in rows if r["organization_id"] in orgs]


def seen(c: Conn, device_id: int, now: int, agent_version: str, live: str | None) -> tuple[str, str, str]:
    """Record a check-in; returns the status and agent version the device had before (it is online now), and its
    inventory hash (one read for the three: this runs for every check-in)."""
    before = c.one("SELECT status, agent_version, inventory_hash FROM devices WHERE id = ?", (device_id,)) or {}
    changed = "status_changed_at = CASE WHEN status = 'online' THEN status_changed_at ELSE ? END"
    if live is None:
        c.execute(f"UPDATE devices SET last_seen_at = ?, agent_version = ?, status = 'online', {changed} "
                  "WHERE id = ?", (now, agent_version, now, device_id))
    else:
        c.execute(f"UPDATE devices SET last_seen_at = ?, agent_version = ?, live = ?, status = 'online', {changed} "
                  "WHERE id = ?", (now, agent_version, live, now, device_id))
    return before.get("status") or "", before.get("agent_version") or "", before.get("inventory_hash") or ""


def set_inventory(c: Conn, tenant_id: int, device_id: int, inventory: str, inventory_hash: str, hostname: str,
                  os_name: str, os_version: str, search: str, now: int) -> None:
    c.execute("UPDATE devices SET inventory_hash = ?, inventory_at = ?, hostname = ?, os_name = ?, os_version = ? "
              "WHERE tenant_id = ? AND id = ?",
              (inventory_hash, now, hostname, os_name, os_version, tenant_id, device_id))
    c.execute("INSERT INTO device_inventories (device_id, tenant_id, inventory, search) VALUES (?, ?, ?, ?) "
              "ON CONFLICT (device_id) DO UPDATE SET inventory = excluded.inventory, search = excluded.search",
              (device_id, tenant_id, inventory, search))


def brief(c: Conn, tenant_id: int, device_id: int) -> dict[str, Any] | None:
    """Where a device sits and what it is called: what other domains (alerts) need of it."""
    return c.one("SELECT id, organization_id, site_id, hostname FROM devices WHERE tenant_id = ? AND id = ?",
                 (tenant_id, device_id))


def inventory_of(c: Conn, device_id: int) -> dict[str, Any]:
    """A device's latest inventory ({} before the first), for appliance-wide work that knows the device only."""
    return json.loads(c.value("SELECT inventory FROM device_inventories WHERE device_id = ?", (device_id,)) or "{}")


def tenant_and_inventory(c: Conn, device_id: int) -> tuple[int, dict[str, Any]]:
    row = c.one(f"SELECT tenant_id, {INVENTORY} FROM devices WHERE id = ?", (device_id,))
    return row["tenant_id"], json.loads(row["inventory"] or "{}")


def update(c: Conn, tenant_id: int, device_id: int, values: dict[str, Any]) -> None:
    """values: editable columns (hostname, site_id, organization_id, asset fields) and updated_at."""
    sets = ", ".join(f"{k} = ?" for k in values)
    c.execute(f"UPDATE devices SET {sets} WHERE tenant_id = ? AND id = ?", [*values.values(), tenant_id, device_id])


def insert_asset(c: Conn, tenant_id: int, org_id: int, site_id: int, hostname: str, assets: dict[str, str],
                 now: int) -> int:
    return c.value("INSERT INTO devices (tenant_id, organization_id, site_id, hostname, purchase_date, warranty_end, "
                   "owner, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                   (tenant_id, org_id, site_id, hostname, *(assets[k] for k in ASSET_FIELDS), now, now))


def delete(c: Conn, tenant_id: int, device_id: int) -> None:
    c.execute("DELETE FROM devices WHERE tenant_id = ? AND id = ?", (tenant_id, device_id))


SORTS = {"hostname": "hostname", "last_seen": "last_seen_at", "status": "status", "os": "os_name",
         "created": "created_at"}


def search(c: Conn, tenant_id: int, orgs: frozenset[int] | None, *, q: str = "", organization_id: int | None = None,
           site_id: int | None = None, status: str = "", os: str = "", tag: str = "", group_id: int | None = None,
           custom: tuple[int, str] | None = None, sort: str = "hostname", descending: bool = False,
           limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    where, params = ["tenant_id = ?"], [tenant_id]
    if orgs is not None:
        if not orgs:
            return [], 0
        where.append(f"organization_id IN ({','.join('?' * len(orgs))})")
        params += sorted(orgs)
    for term in q.lower().split()[:8]:
        # Every word must match somewhere: host name, address, OS, serial, user, software.
        where.append("(lower(hostname) LIKE ? OR id IN (SELECT device_id FROM device_inventories "
                     "WHERE tenant_id = ? AND search LIKE ?))")
        params += [f"%{term}%", tenant_id, f"%{term}%"]
    if organization_id is not None:
        where.append("organization_id = ?")
        params.append(organization_id)
    if site_id is not None:
        where.append("site_id = ?")
        params.append(site_id)
    if status:
        where.append("status = ?")
        params.append(status)
    if os:
        where.append("lower(os_name) LIKE ?")
        params.append(f"%{os.lower()}%")
    if tag:
        where.append("id IN (SELECT device_id FROM device_tags WHERE tenant_id = ? AND tag = ?)")
        params += [tenant_id, tag]
    if group_id is not None:
        where.append("id IN (SELECT device_id FROM device_group_members WHERE tenant_id = ? AND group_id = ?)")
        params += [tenant_id, group_id]
    if custom is not None:
        where.append("id IN (SELECT device_id FROM device_custom_values WHERE tenant_id = ? AND field_id = ? "
                     "AND lower(value) = ?)")
        params += [tenant_id, custom[0], custom[1].lower()]
    clause = " AND ".join(where)
    total = int(c.value(f"SELECT count(*) FROM devices WHERE {clause}", params))
    order = f"{SORTS[sort]} {'DESC' if descending else 'ASC'}, id"
    rows = c.all(f"SELECT {COLUMNS} FROM devices WHERE {clause} ORDER BY {order} LIMIT ? OFFSET ?",
                 [*params, limit, offset])
    return rows, total
