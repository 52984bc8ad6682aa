"""SQL of tickets, their statuses, comments, transitions, linked devices and contacts."""

from __future__ import annotations

import json
from typing import Any

from ninjait.core.db import Conn
from ninjait.devices import meta_store

DEFAULT_STATUSES = (("New", "new"), ("Open", "open"), ("Waiting on customer", "pending"),
                    ("Waiting on vendor", "pending"), ("Resolved", "resolved"), ("Closed", "closed"))
TICKET_COLUMNS = ("t.id, t.tenant_id, t.number, t.organization_id, t.contact_id, t.subject, t.description, t.status_id, "
                  "t.priority, t.category, t.assignee_id, t.source, t.tags, t.alert_id, t.created_by, t.created_at, "
                  "t.updated_at, t.first_response_at, t.resolved_at, t.closed_at, t.awaiting_reply_since, "
                  "t.sla_policy_id, t.sla_notified, t.due_at, s.name AS status, "
                  "s.type AS status_type, o.name AS organization_name, u.name AS assignee_name, "
                  "ct.name AS contact_name, "
                  # queue and team: migration 0017 (routing)
                  "t.queue_id, t.team_id, (SELECT name FROM ticket_queues WHERE id = t.queue_id) AS queue_name, "
                  "(SELECT name FROM ticket_teams WHERE id = t.team_id) AS team_name")
TICKET_FROM = ("tickets t JOIN ticket_statuses s ON s.id = t.status_id "
               "LEFT JOIN organizations o ON o.id = t.organization_id LEFT JOIN users u ON u.id = t.assignee_id "
               "LEFT JOIN contacts ct ON ct.id = t.contact_id")
CONTACT_COLUMNS = "id, tenant_id, organization_id, name, email, phone, title, created_at"


def ensure_statuses(c: Conn, tenant_id: int) -> None:
    """A tenant's statuses are seeded the first time it uses tickets, so new tenants need no hook."""
    if c.value("SELECT 1 FROM ticket_statuses WHERE tenant_id = ? LIMIT 1", (tenant_id,)) is not None:
        return
    for position, (name, kind) in enumerate(DEFAULT_STATUSES, start=1):
        c.execute("INSERT INTO ticket_statuses (tenant_id, name, type, position, pauses_sla) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT (tenant_id, name) DO NOTHING", (tenant_id, name, kind, position, int(kind == "pending")))


STATUS_COLUMNS = "id, name, type, position, pauses_sla"


def statuses(c: Conn, tenant_id: int) -> list[dict[str, Any]]:
    return c.all(f"SELECT {STATUS_COLUMNS} FROM ticket_statuses WHERE tenant_id = ? ORDER BY position, id",
                 (tenant_id,))


def status(c: Conn, tenant_id: int, status_id: int) -> dict[str, Any] | None:
    return c.one(f"SELECT {STATUS_COLUMNS} FROM ticket_statuses WHERE tenant_id = ? AND id = ?",
                 (tenant_id, status_id))


def first_status_of_type(c: Conn, tenant_id: int, kind: str) -> dict[str, Any] | None:
    return c.one(f"SELECT {STATUS_COLUMNS} FROM ticket_statuses WHERE tenant_id = ? AND type = ? "
                 "ORDER BY position, id LIMIT 1", (tenant_id, kind))


def insert_status(c: Conn, tenant_id: int, name: str, kind: str, position: int, pauses_sla: bool) -> int:
    return int(c.value("INSERT INTO ticket_statuses (tenant_id, name, type, position, pauses_sla) "
                       "VALUES (?, ?, ?, ?, ?) RETURNING id", (tenant_id, name, kind, position, int(pauses_sla))))


def update_status(c: Conn, tenant_id: int, status_id: int, name: str, kind: str, position: int,
                  pauses_sla: bool) -> None:
    c.execute("UPDATE ticket_statuses SET name = ?, type = ?, position = ?, pauses_sla = ? WHERE tenant_id = ? "
              "AND id = ?", (name, kind, position, int(pauses_sla), tenant_id, status_id))


def delete_status(c: Conn, tenant_id: int, status_id: int) -> None:
    c.execute("DELETE FROM ticket_statuses WHERE tenant_id = ? AND id = ?", (tenant_id, status_id))


def status_name_taken(c: Conn, tenant_id: int, name: str, except_id: int | None = None) -> bool:
    return c.value("SELECT 1 FROM ticket_statuses WHERE tenant_id = ? AND lower(name) = lower(?) AND id <> ?",
                   (tenant_id, name, except_id or 0)) is not None


def tickets_in_status(c: Conn, tenant_id: int, status_id: int) -> list[int]:
    return [r["id"] for r in c.all("SELECT id FROM tickets WHERE tenant_id = ? AND status_id = ?",
                                   (tenant_id, status_id))]


def numbering(c: Conn, tenant_id: int) -> dict[str, Any]:
    c.execute("INSERT INTO ticket_numbering (tenant_id) VALUES (?) ON CONFLICT (tenant_id) DO NOTHING", (tenant_id,))
    row = c.one("SELECT prefix, next_number FROM ticket_numbering WHERE tenant_id = ?", (tenant_id,))
    assert row is not None
    return row


def save_numbering(c: Conn, tenant_id: int, prefix: str, next_number: int) -> None:
    c.execute("UPDATE ticket_numbering SET prefix = ?, next_number = ? WHERE tenant_id = ?",
              (prefix, next_number, tenant_id))


def highest_number(c: Conn, tenant_id: int, prefix: str) -> int:
    """The highest sequence number a ticket has under this prefix (0: none)."""
    rows = c.all("SELECT number FROM tickets WHERE tenant_id = ? AND substr(number, 1, ?) = ?",
                 (tenant_id, len(prefix), prefix))
    tails = [r["number"][len(prefix):] for r in rows]
    return max((int(t) for t in tails if t.isdigit()), default=0)


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
        "priority, category, assignee_id, source, tags, alert_id, created_by, created_at, updated_at, due_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (t["tenant_id"], t["number"], t["organization_id"], t["contact_id"], t["subject"], t["description"],
         t["status_id"], t["priority"], t["category"], t["assignee_id"], t["source"], t["tags"], t["alert_id"],
         t["created_by"], t["created_at"], t["created_at"], t.get("due_at"))))


UPDATABLE = ("subject", "description", "status_id", "priority", "category", "assignee_id", "contact_id", "tags",
             "first_response_at", "resolved_at", "closed_at", "updated_at", "awaiting_reply_since", "sla_policy_id",
             "sla_notified", "due_at")


def update(c: Conn, tenant_id: int, ticket_id: int, changes: dict[str, Any]) -> None:
    columns = [k for k in UPDATABLE if k in changes]
    if columns:
        c.execute(f"UPDATE tickets SET {', '.join(f'{k} = ?' for k in columns)} WHERE tenant_id = ? AND id = ?",
                  (*(changes[k] for k in columns), tenant_id, ticket_id))


def get(c: Conn, tenant_id: int, ticket_id: int) -> dict[str, Any] | None:
    return c.one(f"SELECT {TICKET_COLUMNS} FROM {TICKET_FROM} WHERE t.tenant_id = ? AND t.id = ?",
                 (tenant_id, ticket_id))


def open_for_alert_key(c: Conn, tenant_id: int, alert_key: str) -> dict[str, Any] | None:
    return c.one(f"SELECT {TICKET_COLUMNS} FROM {TICKET_FROM} WHERE t.tenant_id = ? AND t.alert_key = ? "
                 "AND s.type NOT IN ('resolved', 'closed') ORDER BY t.id DESC LIMIT 1", (tenant_id, alert_key))


def set_alert_key(c: Conn, tenant_id: int, ticket_id: int, alert_key: str) -> None:
    c.execute("UPDATE tickets SET alert_key = ? WHERE tenant_id = ? AND id = ?", (alert_key, tenant_id, ticket_id))


def alert_settings(c: Conn, tenant_id: int) -> dict[str, Any]:
    row = c.one("SELECT min_severity, resolve_with_alert FROM ticket_alert_settings WHERE tenant_id = ?", (tenant_id,))
    return row or {"min_severity": "", "resolve_with_alert": 1}


def save_alert_settings(c: Conn, tenant_id: int, min_severity: str, resolve_with_alert: bool) -> None:
    c.execute("INSERT INTO ticket_alert_settings (tenant_id, min_severity, resolve_with_alert) VALUES (?, ?, ?) "
              "ON CONFLICT (tenant_id) DO UPDATE SET min_severity = excluded.min_severity, "
              "resolve_with_alert = excluded.resolve_with_alert", (tenant_id, min_severity, int(resolve_with_alert)))


def search(c: Conn, tenant_id: int, orgs: frozenset[int] | None, filters: dict[str, Any], limit: int,
           offset: int) -> tuple[list[dict[str, Any]], int]:
    where, args = ["t.tenant_id = ?"], [tenant_id]
    if orgs is not None:
        if not orgs:
            return [], 0
        where.append(f"t.organization_id IN ({', '.join('?' for _ in orgs)})")
        args += sorted(orgs)
    if filters.get("ids") is not None:  # full-text hits (search.py)
        if not filters["ids"]:
            return [], 0
        where.append(f"t.id IN ({', '.join('?' for _ in filters['ids'])})")
        args += filters["ids"]
    if filters.get("unassigned"):
        where.append("t.assignee_id IS NULL")
    if filters.get("with_sla"):
        where.append("t.sla_policy_id IS NOT NULL")
    if filters.get("open_only"):
        where.append("s.type NOT IN ('resolved', 'closed')")
    for column, key in (("t.assignee_id", "assignee_id"), ("t.status_id", "status_id"), ("s.type", "status_type"),
                        ("t.priority", "priority"), ("t.organization_id", "organization_id"),
                        ("t.contact_id", "contact_id"), ("t.queue_id", "queue_id"), ("t.team_id", "team_id")):
        if filters.get(key) is not None:
            where.append(f"{column} = ?")
            args.append(filters[key])
    clause = " AND ".join(where)
    total = int(c.value(f"SELECT count(*) FROM {TICKET_FROM} WHERE {clause}", tuple(args)) or 0)
    rows = c.all(f"SELECT {TICKET_COLUMNS} FROM {TICKET_FROM} WHERE {clause} "
                 "ORDER BY t.priority, t.updated_at DESC, t.id DESC LIMIT ? OFFSET ?", (*args, limit, offset))
    return rows, total


def custom_values(c: Conn, tenant_id: int, ticket_id: int) -> dict[str, str]:
    return {r["key"]: r["value"] for r in c.all(
        "SELECT f.key, v.value FROM ticket_custom_values v JOIN custom_field_definitions f ON f.id = v.field_id "
        "WHERE v.tenant_id = ? AND v.ticket_id = ? ORDER BY f.key", (tenant_id, ticket_id))}


def set_custom_values(c: Conn, tenant_id: int, ticket_id: int, values: dict[int, str | None]) -> None:
    """field id -> value; None removes the value."""
    meta_store.set_custom_values(c, tenant_id, ticket_id, values, applies_to="ticket")


def outbound_mail(c: Conn, tenant_id: int, ticket_id: int) -> list[dict[str, Any]]:
    rows = c.all("SELECT id, comment_id, recipients, message_id, status, attempts, last_error, created_at, sent_at "
                 "FROM ticket_mail_outbox WHERE tenant_id = ? AND ticket_id = ? ORDER BY id", (tenant_id, ticket_id))
    return [{**r, "recipients": json.loads(r["recipients"])} for r in rows]


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
    row = c.one(f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE tenant_id = ? AND id = ?", (tenant_id, contact_id))
    if row is not None:
        row["organization_ids"] = contact_organizations(c, tenant_id, [contact_id]).get(contact_id, [])
    return row


def contact_by_email(c: Conn, tenant_id: int, email: str) -> dict[str, Any] | None:
    row = c.one(f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE tenant_id = ? AND email = ? ORDER BY id LIMIT 1",
                (tenant_id, email.lower()))
    if row is not None:
        row["organization_ids"] = contact_organizations(c, tenant_id, [row["id"]]).get(row["id"], [])
    return row


def participants(c: Conn, tenant_id: int, ticket_id: int) -> set[str]:
    """The addresses that may add to a ticket by e-mail: its requester's and its CCs'."""
    email = c.value("SELECT ct.email FROM tickets t JOIN contacts ct ON ct.id = t.contact_id "
                    "WHERE t.tenant_id = ? AND t.id = ?", (tenant_id, ticket_id))
    ccs = {r["email"] for r in c.all("SELECT email FROM ticket_ccs WHERE tenant_id = ? AND ticket_id = ?",
                                     (tenant_id, ticket_id))}
    return ({email} if email else set()) | ccs


def staff_user(c: Conn, tenant_id: int, email: str) -> dict[str, Any] | None:
    return c.one("SELECT id, tenant_id, name, email, is_super_admin FROM users WHERE tenant_id = ? AND email = ? "
                 "AND disabled = 0", (tenant_id, email.lower()))


def contact_organizations(c: Conn, tenant_id: int, contact_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    if not contact_ids:
        return out
    for row in c.all(f"SELECT contact_id, organization_id FROM contact_organizations WHERE tenant_id = ? "
                     f"AND contact_id IN ({', '.join('?' for _ in contact_ids)}) ORDER BY organization_id",
                     (tenant_id, *contact_ids)):
        out.setdefault(row["contact_id"], []).append(row["organization_id"])
    return out


def contact_in_organization(c: Conn, tenant_id: int, contact_id: int, organization_id: int) -> bool:
    return c.value("SELECT 1 FROM contact_organizations WHERE tenant_id = ? AND contact_id = ? AND organization_id = ?",
                   (tenant_id, contact_id, organization_id)) is not None


def contacts(c: Conn, tenant_id: int, orgs: frozenset[int] | None, organization_id: int | None,
             query: str = "") -> list[dict[str, Any]]:
    """Contacts of any organization in ``orgs`` (None: all), optionally of one organization or matching a text."""
    where, args = ["tenant_id = ?"], [tenant_id]
    for chosen in ([organization_id] if organization_id is not None else None, orgs):
        if chosen is None:
            continue
        if not chosen:
            return []
        where.append("id IN (SELECT contact_id FROM contact_organizations WHERE tenant_id = ? AND organization_id IN "
                     f"({', '.join('?' for _ in chosen)}))")
        args += [tenant_id, *sorted(chosen)]
    if query:
        where.append("(lower(name) LIKE ? OR lower(email) LIKE ? OR lower(phone) LIKE ?)")
        like = "%" + query.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
        args += [like, like, like]
    rows = c.all(f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE {' AND '.join(where)} ORDER BY name, id LIMIT 1000",
                 tuple(args))
    links = contact_organizations(c, tenant_id, [r["id"] for r in rows])
    return [{**r, "organization_ids": links.get(r["id"], [])} for r in rows]


def insert_contact(c: Conn, tenant_id: int, organization_id: int, fields: dict[str, str], at: int) -> int:
    return int(c.value("INSERT INTO contacts (tenant_id, organization_id, name, email, phone, title, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                       (tenant_id, organization_id, fields["name"], fields["email"], fields["phone"], fields["title"],
                        at)))


def update_contact(c: Conn, tenant_id: int, contact_id: int, fields: dict[str, str]) -> None:
    c.execute("UPDATE contacts SET name = ?, email = ?, phone = ?, title = ? WHERE tenant_id = ? AND id = ?",
              (fields["name"], fields["email"], fields["phone"], fields["title"], tenant_id, contact_id))


def set_contact_organizations(c: Conn, tenant_id: int, contact_id: int, organization_ids: list[int]) -> None:
    c.execute("DELETE FROM contact_organizations WHERE tenant_id = ? AND contact_id = ?", (tenant_id, contact_id))
    c.executemany("INSERT INTO contact_organizations (tenant_id, contact_id, organization_id) VALUES (?, ?, ?)",
                  [(tenant_id, contact_id, o) for o in organization_ids])
    c.execute("UPDATE contacts SET organization_id = ? WHERE tenant_id = ? AND id = ?",
              (organization_ids[0], tenant_id, contact_id))


def delete_contact(c: Conn, tenant_id: int, contact_id: int) -> None:
    c.execute("DELETE FROM contacts WHERE tenant_id = ? AND id = ?", (tenant_id, contact_id))


def organizations_existing(c: Conn, tenant_id: int, organization_ids: list[int]) -> set[int]:
    if not organization_ids:
        return set()
    return {r["id"] for r in c.all(f"SELECT id FROM organizations WHERE tenant_id = ? AND id IN "
                                   f"({', '.join('?' for _ in organization_ids)})", (tenant_id, *organization_ids))}


# SLA calendars, policies and pauses.
CALENDAR_COLUMNS = "id, tenant_id, name, timezone, weekly, holidays, always_open"
POLICY_COLUMNS = "id, tenant_id, name, calendar_id, targets, warn_percent, organization_id, priority, created_at"


def calendars(c: Conn, tenant_id: int) -> list[dict[str, Any]]:
    return c.all(f"SELECT {CALENDAR_COLUMNS} FROM sla_calendars WHERE tenant_id = ? ORDER BY name, id", (tenant_id,))


def calendar(c: Conn, tenant_id: int, calendar_id: int) -> dict[str, Any] | None:
    return c.one(f"SELECT {CALENDAR_COLUMNS} FROM sla_calendars WHERE tenant_id = ? AND id = ?",
                 (tenant_id, calendar_id))


def insert_calendar(c: Conn, tenant_id: int, cal: dict[str, Any]) -> int:
    return int(c.value("INSERT INTO sla_calendars (tenant_id, name, timezone, weekly, holidays, always_open) "
                       "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                       (tenant_id, cal["name"], cal["timezone"], cal["weekly"], cal["holidays"], cal["always_open"])))


def update_calendar(c: Conn, tenant_id: int, calendar_id: int, cal: dict[str, Any]) -> None:
    c.execute("UPDATE sla_calendars SET name = ?, timezone = ?, weekly = ?, holidays = ?, always_open = ? "
              "WHERE tenant_id = ? AND id = ?", (cal["name"], cal["timezone"], cal["weekly"], cal["holidays"],
                                                 cal["always_open"], tenant_id, calendar_id))


def calendar_in_use(c: Conn, tenant_id: int, calendar_id: int) -> bool:
    return c.value("SELECT 1 FROM sla_policies WHERE tenant_id = ? AND calendar_id = ? LIMIT 1",
                   (tenant_id, calendar_id)) is not None


def delete_calendar(c: Conn, tenant_id: int, calendar_id: int) -> None:
    c.execute("DELETE FROM sla_calendars WHERE tenant_id = ? AND id = ?", (tenant_id, calendar_id))


def policies(c: Conn, tenant_id: int) -> list[dict[str, Any]]:
    return c.all(f"SELECT {POLICY_COLUMNS} FROM sla_policies WHERE tenant_id = ? ORDER BY name, id", (tenant_id,))


def policy(c: Conn, tenant_id: int, policy_id: int) -> dict[str, Any] | None:
    return c.one(f"SELECT {POLICY_COLUMNS} FROM sla_policies WHERE tenant_id = ? AND id = ?", (tenant_id, policy_id))


def insert_policy(c: Conn, tenant_id: int, pol: dict[str, Any], at: int) -> int:
    return int(c.value(
        "INSERT INTO sla_policies (tenant_id, name, calendar_id, targets, warn_percent, organization_id, priority, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (tenant_id, pol["name"], pol["calendar_id"], pol["targets"], pol["warn_percent"], pol["organization_id"],
         pol["priority"], at)))


def update_policy(c: Conn, tenant_id: int, policy_id: int, pol: dict[str, Any]) -> None:
    c.execute("UPDATE sla_policies SET name = ?, calendar_id = ?, targets = ?, warn_percent = ?, organization_id = ?, "
              "priority = ? WHERE tenant_id = ? AND id = ?",
              (pol["name"], pol["calendar_id"], pol["targets"], pol["warn_percent"], pol["organization_id"],
               pol["priority"], tenant_id, policy_id))


def delete_policy(c: Conn, tenant_id: int, policy_id: int) -> None:
    c.execute("DELETE FROM sla_policies WHERE tenant_id = ? AND id = ?", (tenant_id, policy_id))


def matching_policy(c: Conn, tenant_id: int, organization_id: int, priority: str) -> int | None:
    """The most specific policy: organization and priority, then organization, then priority, then the default."""
    return c.value("SELECT id FROM sla_policies WHERE tenant_id = ? AND (organization_id = ? OR organization_id IS NULL) "
                   "AND (priority = ? OR priority = '') "
                   "ORDER BY CASE WHEN organization_id IS NULL THEN 1 ELSE 0 END, "
                   "CASE WHEN priority = '' THEN 1 ELSE 0 END, id LIMIT 1", (tenant_id, organization_id, priority))


def start_pause(c: Conn, tenant_id: int, ticket_id: int, at: int, status_name: str) -> None:
    if c.value("SELECT 1 FROM ticket_sla_pauses WHERE ticket_id = ? AND ended_at IS NULL", (ticket_id,)) is None:
        c.execute("INSERT INTO ticket_sla_pauses (tenant_id, ticket_id, started_at, status) VALUES (?, ?, ?, ?)",
                  (tenant_id, ticket_id, at, status_name))


def end_pause(c: Conn, ticket_id: int, at: int) -> None:
    c.execute("UPDATE ticket_sla_pauses SET ended_at = ? WHERE ticket_id = ? AND ended_at IS NULL", (at, ticket_id))


def pauses(c: Conn, tenant_id: int, ticket_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not ticket_ids:
        return {}
    rows = c.all(f"SELECT ticket_id, started_at, ended_at, status FROM ticket_sla_pauses WHERE tenant_id = ? "
                 f"AND ticket_id IN ({', '.join('?' for _ in ticket_ids)}) ORDER BY started_at, id",
                 (tenant_id, *ticket_ids))
    out: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["ticket_id"], []).append(r)
    return out


def open_tickets_with_sla(c: Conn) -> list[dict[str, Any]]:
    """Every tenant's: the periodic SLA task works for the whole appliance."""
    return c.all(f"SELECT {TICKET_COLUMNS} FROM {TICKET_FROM} WHERE t.sla_policy_id IS NOT NULL "
                 "AND s.type <> 'closed' ORDER BY t.tenant_id, t.id")


def claim_notification(c: Conn, ticket_id: int, before: str, after: str) -> bool:
    """Record a published SLA state only if nobody did it meanwhile (safe with several workers)."""
    return c.one("UPDATE tickets SET sla_notified = ? WHERE id = ? AND sla_notified = ? RETURNING id",
                 (after, ticket_id, before)) is not None
