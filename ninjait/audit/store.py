"""SQL of the audit log. Rows are only ever inserted."""

from __future__ import annotations

from typing import Any

from ninjait.core.db import Conn

COLUMNS = "id, tenant_id, at, user_id, actor, ip, request_id, action, object_type, object_id, summary, prev_hash, hash"


def last_hash(c: Conn, tenant_id: int | None) -> str | None:
    if tenant_id is None:
        return c.value("SELECT hash FROM audit_log WHERE tenant_id IS NULL ORDER BY id DESC LIMIT 1")
    return c.value("SELECT hash FROM audit_log WHERE tenant_id = ? ORDER BY id DESC LIMIT 1", (tenant_id,))


def insert(c: Conn, e: dict[str, Any], prev_hash: str, entry_hash: str) -> int:
    return c.value(
        "INSERT INTO audit_log (tenant_id, at, user_id, actor, ip, request_id, action, object_type, object_id, "
        "summary, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (e["tenant_id"], e["at"], e["user_id"], e["actor"], e["ip"], e["request_id"], e["action"],
         e["object_type"], e["object_id"], e["summary"], prev_hash, entry_hash))


def chain(c: Conn, tenant_id: int | None) -> list[dict[str, Any]]:
    if tenant_id is None:
        return c.all(f"SELECT {COLUMNS} FROM audit_log WHERE tenant_id IS NULL ORDER BY id")
    return c.all(f"SELECT {COLUMNS} FROM audit_log WHERE tenant_id = ? ORDER BY id", (tenant_id,))


def chain_tenants(c: Conn) -> list[int | None]:
    return [r["tenant_id"] for r in c.all("SELECT DISTINCT tenant_id FROM audit_log")]


def search(c: Conn, tenant_id: int, *, action: str = "", user: str = "", object_type: str = "",
           since_ms: int | None = None, until_ms: int | None = None, limit: int = 100,
           before_id: int | None = None) -> list[dict[str, Any]]:
    where = ["tenant_id = ?"]
    params: list[Any] = [tenant_id]
    if action:
        where.append("action LIKE ?")
        params.append(action.replace("*", "%") if "*" in action else action)
    if user:
        where.append("actor = ?")
        params.append(user.lower())
    if object_type:
        where.append("object_type = ?")
        params.append(object_type)
    if since_ms is not None:
        where.append("at >= ?")
        params.append(since_ms)
    if until_ms is not None:
        where.append("at < ?")
        params.append(until_ms)
    if before_id is not None:
        where.append("id < ?")
        params.append(before_id)
    params.append(limit)
    return c.all(f"SELECT {COLUMNS} FROM audit_log WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?", params)


HEAD_PREFIX = "audit_head:"


def set_head(c: Conn, key: str, value: str, at_ms: int) -> None:
    c.execute("INSERT INTO appliance_facts (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE "
              "SET value = excluded.value, updated_at = excluded.updated_at", (key, value, at_ms // 1000))


def heads(c: Conn) -> dict[int | None, str]:
    """Recorded newest entry of each chain, as 'id:hash'."""
    found: dict[int | None, str] = {}
    for row in c.all("SELECT key, value FROM appliance_facts WHERE key LIKE 'audit_head:%'"):
        name = row["key"][len(HEAD_PREFIX):]
        found[None if name == "appliance" else int(name)] = row["value"]
    return found
