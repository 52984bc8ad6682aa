"""SQL of teams, queues, routing rules, canned responses, macros and recurring tickets (migration 0017).

Kept apart from store.py (tickets, statuses, SLA) so each file stays about one set of tables."""

from __future__ import annotations

from typing import Any

from ninjait.core.db import Conn

TEAM_COLUMNS = "id, tenant_id, name, strategy, last_assignee_id, created_at"
QUEUE_COLUMNS = "id, tenant_id, name, team_id, created_at"
RULE_COLUMNS = "id, tenant_id, name, position, enabled, on_update, continue_after, conditions, actions, created_at"
RECURRING_COLUMNS = ("id, tenant_id, organization_id, name, template, frequency, weekdays, day_of_month, time_of_day, "
                     "timezone, paused, next_at, last_occurrence, last_ticket_id, created_by, created_at")
# Tables whose rows are a tenant's desk settings: (table, columns, order).
SIMPLE = {"team": ("ticket_teams", TEAM_COLUMNS, "name, id"),
          "queue": ("ticket_queues", QUEUE_COLUMNS, "name, id"),
          "rule": ("ticket_routing_rules", RULE_COLUMNS, "position, id"),
          "canned": ("ticket_canned_responses", "id, tenant_id, title, body, created_at", "title, id"),
          "macro": ("ticket_macros", "id, tenant_id, name, actions, created_at", "name, id"),
          "recurring": ("ticket_recurring", RECURRING_COLUMNS, "name, id")}


def rows(c: Conn, kind: str, tenant_id: int) -> list[dict[str, Any]]:
    table, columns, order = SIMPLE[kind]
    return c.all(f"SELECT {columns} FROM {table} WHERE tenant_id = ? ORDER BY {order}", (tenant_id,))


def row(c: Conn, kind: str, tenant_id: int, row_id: int) -> dict[str, Any] | None:
    table, columns, _ = SIMPLE[kind]
    return c.one(f"SELECT {columns} FROM {table} WHERE tenant_id = ? AND id = ?", (tenant_id, row_id))


def insert(c: Conn, kind: str, tenant_id: int, values: dict[str, Any]) -> int:
    table = SIMPLE[kind][0]
    names = ["tenant_id", *values]
    return int(c.value(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)}) "
                       "RETURNING id", (tenant_id, *values.values())))


def update(c: Conn, kind: str, tenant_id: int, row_id: int, values: dict[str, Any]) -> None:
    if values:
        c.execute(f"UPDATE {SIMPLE[kind][0]} SET {', '.join(f'{k} = ?' for k in values)} WHERE tenant_id = ? AND id = ?",
                  (*values.values(), tenant_id, row_id))


def delete(c: Conn, kind: str, tenant_id: int, row_id: int) -> None:
    c.execute(f"DELETE FROM {SIMPLE[kind][0]} WHERE tenant_id = ? AND id = ?", (tenant_id, row_id))


def team_members(c: Conn, tenant_id: int, team_ids: list[int]) -> dict[int, list[int]]:
    if not team_ids:
        return {}
    found = c.all(f"SELECT team_id, user_id FROM ticket_team_members WHERE tenant_id = ? "
                  f"AND team_id IN ({', '.join('?' for _ in team_ids)}) ORDER BY user_id", (tenant_id, *team_ids))
    out: dict[int, list[int]] = {t: [] for t in team_ids}
    for r in found:
        out[r["team_id"]].append(r["user_id"])
    return out


def set_team_members(c: Conn, tenant_id: int, team_id: int, user_ids: list[int]) -> None:
    c.execute("DELETE FROM ticket_team_members WHERE tenant_id = ? AND team_id = ?", (tenant_id, team_id))
    c.executemany("INSERT INTO ticket_team_members (tenant_id, team_id, user_id) VALUES (?, ?, ?)",
                  [(tenant_id, team_id, u) for u in user_ids])


def users_in_tenant(c: Conn, tenant_id: int, user_ids: list[int]) -> set[int]:
    if not user_ids:
        return set()
    found = c.all(f"SELECT id FROM users WHERE tenant_id = ? AND id IN ({', '.join('?' for _ in user_ids)})",
                  (tenant_id, *user_ids))
    return {r["id"] for r in found}


def lock_team(c: Conn, tenant_id: int, team_id: int) -> dict[str, Any] | None:
    """The team row, locked for this transaction on PostgreSQL (a no-op update takes the row lock), so two
    tickets routed at once never get the same round-robin turn."""
    return c.one("UPDATE ticket_teams SET last_assignee_id = last_assignee_id WHERE tenant_id = ? AND id = ? "
                 f"RETURNING {TEAM_COLUMNS}", (tenant_id, team_id))


def member_users(c: Conn, tenant_id: int, team_id: int) -> list[dict[str, Any]]:
    """Active members as user rows (what identity needs to work out their permissions), by id."""
    return c.all("SELECT u.id, u.tenant_id, u.email, u.name, u.is_super_admin FROM ticket_team_members m "
                 "JOIN users u ON u.id = m.user_id WHERE m.tenant_id = ? AND m.team_id = ? AND u.tenant_id = ? "
                 "AND u.disabled = 0 ORDER BY u.id", (tenant_id, team_id, tenant_id))


def open_counts(c: Conn, tenant_id: int, user_ids: list[int]) -> dict[int, int]:
    if not user_ids:
        return {}
    found = c.all("SELECT t.assignee_id, count(*) AS n FROM tickets t JOIN ticket_statuses s ON s.id = t.status_id "
                  f"WHERE t.tenant_id = ? AND t.assignee_id IN ({', '.join('?' for _ in user_ids)}) "
                  "AND s.type NOT IN ('resolved', 'closed') GROUP BY t.assignee_id", (tenant_id, *user_ids))
    return {r["assignee_id"]: int(r["n"]) for r in found}


def set_ticket_placement(c: Conn, tenant_id: int, ticket_id: int, values: dict[str, Any]) -> None:
    columns = [k for k in ("queue_id", "team_id") if k in values]
    if columns:
        c.execute(f"UPDATE tickets SET {', '.join(f'{k} = ?' for k in columns)} WHERE tenant_id = ? AND id = ?",
                  (*(values[k] for k in columns), tenant_id, ticket_id))


def ticket_placement(c: Conn, tenant_id: int, ticket_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Queue and team (ids and names) of tickets."""
    if not ticket_ids:
        return {}
    found = c.all("SELECT t.id, t.queue_id, q.name AS queue_name, t.team_id, tm.name AS team_name FROM tickets t "
                  "LEFT JOIN ticket_queues q ON q.id = t.queue_id LEFT JOIN ticket_teams tm ON tm.id = t.team_id "
                  f"WHERE t.tenant_id = ? AND t.id IN ({', '.join('?' for _ in ticket_ids)})", (tenant_id, *ticket_ids))
    return {r.pop("id"): r for r in found}


def next_rule_position(c: Conn, tenant_id: int) -> int:
    return int(c.value("SELECT coalesce(max(position), 0) + 1 FROM ticket_routing_rules WHERE tenant_id = ?",
                       (tenant_id,)))


def due_recurring(c: Conn, now: int) -> list[dict[str, Any]]:
    """Every tenant's: the periodic task works for the whole appliance."""
    return c.all(f"SELECT {RECURRING_COLUMNS} FROM ticket_recurring WHERE paused = 0 AND next_at IS NOT NULL "
                 "AND next_at <= ? ORDER BY next_at, id", (now,))


def claim_occurrence(c: Conn, recurring_id: int, expected_next: int, occurrence: int, next_at: int | None) -> bool:
    """Move the schedule past an occurrence only if nobody did meanwhile: the claim makes it exactly once."""
    return c.one("UPDATE ticket_recurring SET last_occurrence = ?, next_at = ? WHERE id = ? AND next_at = ? "
                 "AND paused = 0 RETURNING id", (occurrence, next_at, recurring_id, expected_next)) is not None
