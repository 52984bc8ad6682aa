"""SQL of the devices table."""

from __future__ import annotations

from typing import Any

from ninjait.core.db import Conn

COLUMNS = ("id, tenant_id, organization_id, site_id, hostname, platform, os_name, os_version, agent_version, "
           "inventory_hash, inventory_at, last_seen_at, created_at")


def insert(c: Conn, tenant_id: int, org_id: int, site_id: int, hostname: str, platform: str, now: int) -> int:
    return c.value("INSERT INTO devices (tenant_id, organization_id, site_id, hostname, platform, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?) RETURNING id", (tenant_id, org_id, site_id, hostname, platform, now))


def get(c: Conn, tenant_id: int, device_id: int) -> dict[str, Any] | None:
    return c.one(f"SELECT {COLUMNS}, inventory, live FROM devices WHERE tenant_id = ? AND id = ?",
                 (tenant_id, device_id))


def list_for(c: Conn, tenant_id: int, orgs: frozenset[int] | None) -> list[dict[str, Any]]:
    rows = c.all(f"SELECT {COLUMNS} FROM devices WHERE tenant_id = ? ORDER BY hostname", (tenant_id,))
    return rows if orgs is None else [r for r in rows if r["organization_id"] in orgs]


def seen(c: Conn, device_id: int, now: int, agent_version: str, live: str | None) -> None:
    if live is None:
        c.execute("UPDATE devices SET last_seen_at = ?, agent_version = ? WHERE id = ?",
                  (now, agent_version, device_id))
    else:
        c.execute("UPDATE devices SET last_seen_at = ?, agent_version = ?, live = ? WHERE id = ?",
                  (now, agent_version, live, device_id))


def set_inventory(c: Conn, device_id: int, inventory: str, inventory_hash: str, hostname: str, os_name: str,
                  os_version: str, now: int) -> None:
    c.execute("UPDATE devices SET inventory = ?, inventory_hash = ?, inventory_at = ?, hostname = ?, os_name = ?, "
              "os_version = ? WHERE id = ?", (inventory, inventory_hash, now, hostname, os_name, os_version, device_id))


def inventory_hash(c: Conn, device_id: int) -> str:
    return c.value("SELECT inventory_hash FROM devices WHERE id = ?", (device_id,)) or ""


def delete(c: Conn, tenant_id: int, device_id: int) -> None:
    c.execute("DELETE FROM devices WHERE tenant_id = ? AND id = ?", (tenant_id, device_id))
