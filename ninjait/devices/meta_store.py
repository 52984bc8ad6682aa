"""SQL of what organises devices: tags, groups and their members, custom fields, saved views."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ninjait.core.db import Conn
from ninjait.devices.store import INVENTORY

Row = dict[str, Any]
GROUP_COLUMNS = "id, tenant_id, name, kind, rules, description, created_by, created_at, updated_at"
FIELD_COLUMNS = "id, tenant_id, key, label, type, choices, required, applies_to, created_at"
VALUES_TABLE = {"device": "device_custom_values", "ticket": "ticket_custom_values"}


def _marks(items: Iterable[Any]) -> str:
    return ",".join("?" for _ in items)


# --- tags ----------------------------------------------------------------------------------------

def tags_of(c: Conn, tenant_id: int, device_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if device_ids:
        for r in c.all(f"SELECT device_id, tag FROM device_tags WHERE tenant_id = ? AND device_id IN "
                       f"({_marks(device_ids)}) ORDER BY tag", [tenant_id, *device_ids]):
            found.setdefault(r["device_id"], []).append(r["tag"])
    return found


def add_tags(c: Conn, tenant_id: int, device_id: int, tags: Iterable[str]) -> None:
    c.executemany("INSERT INTO device_tags (tenant_id, device_id, tag) VALUES (?, ?, ?) "
                  "ON CONFLICT (device_id, tag) DO NOTHING", [(tenant_id, device_id, t) for t in tags])


def remove_tags(c: Conn, tenant_id: int, device_id: int, tags: Iterable[str]) -> None:
    c.executemany("DELETE FROM device_tags WHERE tenant_id = ? AND device_id = ? AND tag = ?",
                  [(tenant_id, device_id, t) for t in tags])


def set_tags(c: Conn, tenant_id: int, device_id: int, tags: Iterable[str]) -> None:
    c.execute("DELETE FROM device_tags WHERE tenant_id = ? AND device_id = ?", (tenant_id, device_id))
    add_tags(c, tenant_id, device_id, tags)


def tag_counts(c: Conn, tenant_id: int, orgs: frozenset[int] | None) -> list[Row]:
    scope, params = "", [tenant_id]
    if orgs is not None:
        scope = f" AND d.organization_id IN ({_marks(orgs) or 'NULL'})"
        params += sorted(orgs)
    return c.all("SELECT t.tag, count(*) AS devices FROM device_tags t JOIN devices d ON d.id = t.device_id "
                 f"WHERE t.tenant_id = ?{scope} GROUP BY t.tag ORDER BY t.tag", params)


# --- groups ----------------------------------------------------------------------------------------

def insert_group(c: Conn, tenant_id: int, name: str, kind: str, rules: str, description: str,
                 created_by: int | None, now: int) -> int:
    return c.value("INSERT INTO device_groups (tenant_id, name, kind, rules, description, created_by, created_at, "
                   "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                   (tenant_id, name, kind, rules, description, created_by, now, now))


def update_group(c: Conn, tenant_id: int, group_id: int, name: str, rules: str, description: str, now: int) -> None:
    c.execute("UPDATE device_groups SET name = ?, rules = ?, description = ?, updated_at = ? "
              "WHERE tenant_id = ? AND id = ?", (name, rules, description, now, tenant_id, group_id))


def get_group(c: Conn, tenant_id: int, group_id: int) -> Row | None:
    return c.one(f"SELECT {GROUP_COLUMNS} FROM device_groups WHERE tenant_id = ? AND id = ?", (tenant_id, group_id))


def group_named(c: Conn, tenant_id: int, name: str) -> int | None:
    return c.value("SELECT id FROM device_groups WHERE tenant_id = ? AND lower(name) = lower(?)", (tenant_id, name))


def list_groups(c: Conn, tenant_id: int, orgs: frozenset[int] | None) -> list[Row]:
    """Groups with how many of their members the caller may see."""
    scope, params = "", [tenant_id]
    if orgs is not None:
        scope = f" AND d.organization_id IN ({_marks(orgs) or 'NULL'})"
        params += sorted(orgs)
    counts = {r["group_id"]: r["n"] for r in c.all(
        "SELECT m.group_id, count(*) AS n FROM device_group_members m JOIN devices d ON d.id = m.device_id "
        f"WHERE m.tenant_id = ?{scope} GROUP BY m.group_id", params)}
    rows = c.all(f"SELECT {GROUP_COLUMNS} FROM device_groups WHERE tenant_id = ? ORDER BY lower(name)", (tenant_id,))
    return [{**r, "members": counts.get(r["id"], 0)} for r in rows]


def dynamic_groups(c: Conn, tenant_id: int) -> list[Row]:
    return c.all(f"SELECT {GROUP_COLUMNS} FROM device_groups WHERE tenant_id = ? AND kind = 'dynamic'", (tenant_id,))


def has_dynamic_groups(c: Conn, tenant_id: int) -> bool:
    return c.value("SELECT 1 FROM device_groups WHERE tenant_id = ? AND kind = 'dynamic' LIMIT 1",
                   (tenant_id,)) is not None


def delete_group(c: Conn, tenant_id: int, group_id: int) -> None:
    c.execute("DELETE FROM device_groups WHERE tenant_id = ? AND id = ?", (tenant_id, group_id))


def member_ids(c: Conn, tenant_id: int, group_id: int) -> set[int]:
    return {r["device_id"] for r in c.all("SELECT device_id FROM device_group_members WHERE tenant_id = ? AND "
                                          "group_id = ?", (tenant_id, group_id))}


def add_members(c: Conn, tenant_id: int, group_id: int, device_ids: Iterable[int]) -> None:
    c.executemany("INSERT INTO device_group_members (tenant_id, group_id, device_id) VALUES (?, ?, ?) "
                  "ON CONFLICT (group_id, device_id) DO NOTHING", [(tenant_id, group_id, d) for d in device_ids])


def remove_members(c: Conn, tenant_id: int, group_id: int, device_ids: Iterable[int]) -> None:
    c.executemany("DELETE FROM device_group_members WHERE tenant_id = ? AND group_id = ? AND device_id = ?",
                  [(tenant_id, group_id, d) for d in device_ids])


def groups_of(c: Conn, tenant_id: int, device_id: int) -> list[Row]:
    return c.all("SELECT g.id, g.name, g.kind FROM device_group_members m JOIN device_groups g ON g.id = m.group_id "
                 "WHERE m.tenant_id = ? AND m.device_id = ? ORDER BY lower(g.name)", (tenant_id, device_id))


def dynamic_group_ids_of(c: Conn, tenant_id: int, device_id: int) -> set[int]:
    return {r["group_id"] for r in c.all(
        "SELECT m.group_id FROM device_group_members m JOIN device_groups g ON g.id = m.group_id "
        "WHERE m.tenant_id = ? AND m.device_id = ? AND g.kind = 'dynamic'", (tenant_id, device_id))}


# --- custom fields -----------------------------------------------------------------------------------

def list_fields(c: Conn, tenant_id: int, applies_to: str | None = "device") -> list[Row]:
    """The fields of devices or of tickets (None: both, e.g. to check a new key is free)."""
    if applies_to is None:
        return c.all(f"SELECT {FIELD_COLUMNS} FROM custom_field_definitions WHERE tenant_id = ? ORDER BY lower(label)",
                     (tenant_id,))
    return c.all(f"SELECT {FIELD_COLUMNS} FROM custom_field_definitions WHERE tenant_id = ? AND applies_to = ? "
                 "ORDER BY lower(label)", (tenant_id, applies_to))


def get_field(c: Conn, tenant_id: int, field_id: int) -> Row | None:
    return c.one(f"SELECT {FIELD_COLUMNS} FROM custom_field_definitions WHERE tenant_id = ? AND id = ?",
                 (tenant_id, field_id))


def insert_field(c: Conn, tenant_id: int, key: str, label: str, kind: str, choices: str, required: bool,
                 now: int, applies_to: str = "device") -> int:
    return c.value("INSERT INTO custom_field_definitions (tenant_id, key, label, type, choices, required, created_at, "
                   "applies_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                   (tenant_id, key, label, kind, choices, int(required), now, applies_to))


def update_field(c: Conn, tenant_id: int, field_id: int, label: str, choices: str, required: bool) -> None:
    c.execute("UPDATE custom_field_definitions SET label = ?, choices = ?, required = ? WHERE tenant_id = ? AND id = ?",
              (label, choices, int(required), tenant_id, field_id))


def delete_field(c: Conn, tenant_id: int, field_id: int) -> None:
    c.execute("DELETE FROM custom_field_definitions WHERE tenant_id = ? AND id = ?", (tenant_id, field_id))


def field_value_count(c: Conn, tenant_id: int, field_id: int, outside: list[str] | None = None,
                      applies_to: str = "device") -> int:
    """Devices (or tickets) with a value for the field (outside: only values not in this list)."""
    extra, params = "", [tenant_id, field_id]
    if outside is not None:
        extra = f" AND value NOT IN ({_marks(outside) or 'NULL'})"
        params += outside
    return int(c.value(f"SELECT count(*) FROM {VALUES_TABLE[applies_to]} WHERE tenant_id = ? AND field_id = ?{extra}",
                       params))


def custom_values_of(c: Conn, tenant_id: int, device_ids: list[int]) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    if device_ids:
        for r in c.all("SELECT v.device_id, f.key, v.value FROM device_custom_values v "
                       "JOIN custom_field_definitions f ON f.id = v.field_id "
                       f"WHERE v.tenant_id = ? AND v.device_id IN ({_marks(device_ids)})", [tenant_id, *device_ids]):
            found.setdefault(r["device_id"], {})[r["key"]] = r["value"]
    return found


def set_custom_values(c: Conn, tenant_id: int, object_id: int, values: dict[int, str | None],
                      applies_to: str = "device") -> None:
    """field id -> value of a device (or ticket); None removes the value."""
    table, column = VALUES_TABLE[applies_to], f"{applies_to}_id"
    for field_id, value in values.items():
        if value is None:
            c.execute(f"DELETE FROM {table} WHERE {column} = ? AND field_id = ?", (object_id, field_id))
        else:
            c.execute(f"INSERT INTO {table} (tenant_id, {column}, field_id, value) VALUES (?, ?, ?, ?) "
                      f"ON CONFLICT ({column}, field_id) DO UPDATE SET value = excluded.value",
                      (tenant_id, object_id, field_id, value))


def clear_custom_values(c: Conn, tenant_id: int, device_id: int) -> None:
    c.execute("DELETE FROM device_custom_values WHERE tenant_id = ? AND device_id = ?", (tenant_id, device_id))


# --- facts for rules: every device of a tenant in one pass --------------------------------------------

def rule_rows(c: Conn, tenant_id: int, device_ids: list[int] | None, with_inventory: bool) -> list[Row]:
    columns = ("id, organization_id, site_id, hostname, platform, os_name, os_version, agent_version, owner, "
               "purchase_date, warranty_end" + (f", {INVENTORY}" if with_inventory else ""))
    if device_ids is None:
        return c.all(f"SELECT {columns} FROM devices WHERE tenant_id = ?", (tenant_id,))
    if not device_ids:
        return []
    return c.all(f"SELECT {columns} FROM devices WHERE tenant_id = ? AND id IN ({_marks(device_ids)})",
                 [tenant_id, *device_ids])


def all_tags(c: Conn, tenant_id: int) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for r in c.all("SELECT device_id, tag FROM device_tags WHERE tenant_id = ?", (tenant_id,)):
        found.setdefault(r["device_id"], set()).add(r["tag"])
    return found


def all_custom_values(c: Conn, tenant_id: int) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    for r in c.all("SELECT v.device_id, f.key, v.value FROM device_custom_values v "
                   "JOIN custom_field_definitions f ON f.id = v.field_id WHERE v.tenant_id = ?", (tenant_id,)):
        found.setdefault(r["device_id"], {})[r["key"]] = r["value"]
    return found


# --- saved views --------------------------------------------------------------------------------------

def list_views(c: Conn, tenant_id: int, user_id: int) -> list[Row]:
    return c.all("SELECT id, name, query, created_at FROM device_views WHERE tenant_id = ? AND user_id = ? "
                 "ORDER BY lower(name)", (tenant_id, user_id))


def get_view(c: Conn, tenant_id: int, user_id: int, view_id: int) -> Row | None:
    return c.one("SELECT id, name, query, created_at FROM device_views WHERE tenant_id = ? AND user_id = ? AND id = ?",
                 (tenant_id, user_id, view_id))


def save_view(c: Conn, tenant_id: int, user_id: int, name: str, query: str, now: int) -> int:
    """A view of the same name is replaced (saving again updates it)."""
    return c.value("INSERT INTO device_views (tenant_id, user_id, name, query, created_at) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query RETURNING id",
                   (tenant_id, user_id, name, query, now))


def delete_view(c: Conn, tenant_id: int, user_id: int, view_id: int) -> None:
    c.execute("DELETE FROM device_views WHERE tenant_id = ? AND user_id = ? AND id = ?", (tenant_id, user_id, view_id))
