"""SQL of tickets, their statuses, comments, transitions, linked devices and contacts."""

from __future__ import annotations

from typing import Any

from ninjait.core.db import Conn

DEFAULT_STATUSES = (("New", "new"), ("Open", "open"), ("Waiting on customer", "pending"),
                    ("Waiting on vendor", "pending"), ("Resolved", "resolved"), ("Closed", "closed"))
TICKET_COLUMNS = ("t.id, t.tenant_id, t.number, t.organization_id, t.contact_id, t.subject, t.description, t.status_id, "
                  "t.priority, t.category, t.assignee_id, t.source, t.tags, t.alert_id, t.created_by, t.created_at, "
                  "t.updated_at, t.first_response_at, t.resolved_at, t.closed_at, s.name AS status, "
                  "s.type AS status_type, o.name AS organization_name, u.name AS assignee_name, "
                  "ct.name AS contact_name")
TICKET_FROM = ("tickets t JOIN ticket_statuses s ON s.id = t.status_id "
               "LEFT JOIN organizations o ON o.id = t.organization_id LEFT JOIN users u ON u.id = t.assignee_id "
               "LEFT JOIN contacts ct ON ct.id = t.contact_id")
CONTACT_COLUMNS = "id, tenant_id, organization_id, name, email, phone, created_at"


def ensure_statuses(c: Conn, tenant_id: int) -> None:
    """A tenant's statuses are seeded the first time it uses tickets, so new tenants need no hook."""
    if c.value("SELECT 1 FROM ticket_statuses WHERE tenant_id = ? LIMIT 1", (tenant_id,)) is not None:
        return
    for position, (name, kind) in enumerate(DEFAULT_STATUSES, start=1):
        c.execute("INSERT INTO ticket_statuses (tenant_id, name, type, position) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT (tenant_id, name) DO NOTHING", (tenant_id, name, kind, position))


def statuses(c: Conn, tenant_id: int) -> list[dict[str, Any]]:
    return c.all("SELECT id, name, type, position FROM ticket_statuses WHERE tenant_id = ? ORDER BY position, id",
                 (tenant_id,))


def status(c: Conn, tenant_id: int, status_id: int) -> dict[str, Any] | None:
    return c.one("SELECT id, name, type, position FROM ticket_statuses WHERE tenant_id = ? AND id = ?",
                 (tenant_id, status_id))


def first_status_of_type(c: Conn, tenant_id: int, kind: str) -> dict[str, Any] | None:
    return c.one("SELECT id, name, type, position FROM ticket_statuses WHERE tenant_id = ? AND type = ? "
                 "ORDER BY position, id LIMIT 1", (tenant_id, kind))


def next_number(c: Conn, tenant_id: int) -> str:
    # The UPDATE takes the row lock on PostgreSQL, so two writers never get the same number.
    c.execute("INSERT INTO ticket_numbering (tenant_id) VALUES (?) ON CONFLICT (tenant_id) DO NOTHING", (tenant_id,))
    row = c.one("UPDATE ticket_numbering SET next_number = next_number + 1 WHERE tenant_id = ? "
                "RETURNING prefix, next_number - 1 AS number", (tenant_id,))
    assert row is not None
    return f"{row['prefix']}{row['number']}"


def insert(c: Conn, t: dict[str, Any]) -> int:
    return int(c.value(
        "INSERT INTO tickets (tenant_id, number, organization_id, contact_id, subject, description, status_id, "
        "priority, category, assignee_id, source, tags, alert_id, created_by, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (t["tenant_id"], t["number"], t["organization_id"], t["contact_id"], t["subject"], t["description"],
         t["status_id"], t["priority"], t["category"], t["assignee_id"], t["source"], t["tags"], t["alert_id"],
         t["created_by"], t["created_at"], t["created_at"])))


UPDATABLE = ("subject", "description", "status_id", "priority", "category", "assignee_id", "contact_id", "tags",
             "first_response_at", "resolved_at", "closed_at", "updated_at")


def update(c: Conn, tenant_id: int, ticket_id: int, changes: dict[str, Any]) -> None:
    columns = [k for k in UPDATABLE if k in changes]
    if columns:
        c.execute(f"UPDATE tickets SET {', '.join(f'{k} = ?' for k in columns)} WHERE tenant_id = ? AND id = ?",
                  (*(changes[k] for k in columns), tenant_id, ticket_id))


def get(c: Conn, tenant_id: int, ticket_id: int) -> dict[str, Any] | None:
    return c.one(f"SELECT {TICKET_COLUMNS} FROM {TICKET_FROM} WHERE t.tenant_id = ? AND t.id = ?",
                 (tenant_id, ticket_id))


def open_for_alert(c: Conn, tenant_id: int, alert_id: int) -> dict[str, Any] | None:
    return c.one(f"SELECT {TICKET_COLUMNS} FROM {TICKET_FROM} WHERE t.tenant_id = ? AND t.alert_id = ? "
                 "AND s.type NOT IN ('resolved', 'closed') ORDER BY t.id DESC LIMIT 1", (tenant_id, alert_id))


def search(c: Conn, tenant_id: int, orgs: frozenset[int] | None, filters: dict[str, Any], limit: int,
           offset: int) -> tuple[list[dict[str, Any]], int]:
    where, args = ["t.tenant_id = ?"], [tenant_id]
    if orgs is not None:
        if not orgs:
            return [], 0
        where.append(f"t.organization_id IN ({', '.join('?' for _ in orgs)})")
        args += sorted(orgs)
    if filters.get("unassigned"):
        where.append("t.assignee_id IS NULL")
    if filters.get("open_only"):
        where.append("s.type NOT IN ('resolved', 'closed')")
    for column, key in (("t.assignee_id", "assignee_id"), ("t.status_id", "status_id"), ("s.type", "status_type"),
                        ("t.priority", "priority"), ("t.organization_id", "organization_id")):
        if filters.get(key) is not None:
            where.append(f"{column} = ?")
            args.append(filters[key])
    clause = " AND ".join(where)
    total = int(c.value(f"SELECT count(*) FROM {TICKET_FROM} WHERE {clause}", tuple(args)) or 0)
    rows = c.all(f"SELECT {TICKET_COLUMNS} FROM {TICKET_FROM} WHERE {clause} "
                 "ORDER BY t.priority, t.updated_at DESC, t.id DESC LIMIT ? OFFSET ?", (*args, limit, offset))
    return rows, total


def set_devices(c: Conn, tenant_id: int, ticket_id: int, device_ids: list[int]) -> None:
    c.execute("DELETE FROM ticket_devices WHERE tenant_id = ? AND ticket_id = ?", (tenant_id, ticket_id))
    c.executemany("INSERT INTO ticket_devices (tenant_id, ticket_id, device_id) VALUES (?, ?, ?)",
                  [(tenant_id, ticket_id, d) for d in device_ids])


def devices(c: Conn, tenant_id: int, ticket_id: int) -> list[dict[str, Any]]:
    return c.all("SELECT d.id, d.hostname FROM ticket_devices td JOIN devices d ON d.id = td.device_id "
                 "WHERE td.tenant_id = ? AND td.ticket_id = ? ORDER BY d.hostname", (tenant_id, ticket_id))


def device_orgs(c: Conn, tenant_id: int, device_ids: list[int]) -> dict[int, int]:
    if not device_ids:
        return {}
    rows = c.all(f"SELECT id, organization_id FROM devices WHERE tenant_id = ? "
                 f"AND id IN ({', '.join('?' for _ in device_ids)})", (tenant_id, *device_ids))
    return {r["id"]: r["organization_id"] for r in rows}


def add_comment(c: Conn, tenant_id: int, ticket_id: int, kind: str, body: str, author_id: int | None, author: str,
                at: int) -> int:
    return int(c.value("INSERT INTO ticket_comments (tenant_id, ticket_id, kind, body, author_id, author, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                       (tenant_id, ticket_id, kind, body, author_id, author, at)))


def comments(c: Conn, tenant_id: int, ticket_id: int) -> list[dict[str, Any]]:
    return c.all("SELECT id, kind, body, author_id, author, created_at FROM ticket_comments "
                 "WHERE tenant_id = ? AND ticket_id = ? ORDER BY id", (tenant_id, ticket_id))


def transition(c: Conn, tenant_id: int, ticket_id: int, at: int, field: str, old: str, new: str,
               user_id: int | None, actor: str) -> None:
    c.execute("INSERT INTO ticket_transitions (tenant_id, ticket_id, at, field, old_value, new_value, user_id, actor) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (tenant_id, ticket_id, at, field, old, new, user_id, actor))


def transitions(c: Conn, tenant_id: int, ticket_id: int) -> list[dict[str, Any]]:
    return c.all("SELECT at, field, old_value, new_value, user_id, actor FROM ticket_transitions "
                 "WHERE tenant_id = ? AND ticket_id = ? ORDER BY id", (tenant_id, ticket_id))


def user_in_tenant(c: Conn, tenant_id: int, user_id: int) -> dict[str, Any] | None:
    return c.one("SELECT id, name, email FROM users WHERE tenant_id = ? AND id = ? AND disabled = 0",
                 (tenant_id, user_id))


def organization_exists(c: Conn, tenant_id: int, organization_id: int) -> bool:
    return c.value("SELECT 1 FROM organizations WHERE tenant_id = ? AND id = ?",
                   (tenant_id, organization_id)) is not None


def contact(c: Conn, tenant_id: int, contact_id: int) -> dict[str, Any] | None:
    return c.one(f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE tenant_id = ? AND id = ?", (tenant_id, contact_id))


def contacts(c: Conn, tenant_id: int, orgs: frozenset[int] | None, organization_id: int | None) -> list[dict[str, Any]]:
    where, args = ["tenant_id = ?"], [tenant_id]
    if orgs is not None:
        if not orgs:
            return []
        where.append(f"organization_id IN ({', '.join('?' for _ in orgs)})")
        args += sorted(orgs)
    if organization_id is not None:
        where.append("organization_id = ?")
        args.append(organization_id)
    return c.all(f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE {' AND '.join(where)} ORDER BY name, id", tuple(args))


def insert_contact(c: Conn, tenant_id: int, organization_id: int, name: str, email: str, phone: str, at: int) -> int:
    return int(c.value("INSERT INTO contacts (tenant_id, organization_id, name, email, phone, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?) RETURNING id", (tenant_id, organization_id, name, email, phone, at)))


def update_contact(c: Conn, tenant_id: int, contact_id: int, name: str, email: str, phone: str) -> None:
    c.execute("UPDATE contacts SET name = ?, email = ?, phone = ? WHERE tenant_id = ? AND id = ?",
              (name, email, phone, tenant_id, contact_id))


def delete_contact(c: Conn, tenant_id: int, contact_id: int) -> None:
    c.execute("DELETE FROM contacts WHERE tenant_id = ? AND id = ?", (tenant_id, contact_id))
