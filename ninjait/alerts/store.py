"""SQL of alerts and their transitions."""

from __future__ import annotations

from typing import Any

from ninjait.core.db import Conn

COLUMNS = ("id, tenant_id, organization_id, device_id, source, rule, subject, fingerprint, severity, state, title, "
           "message, details, occurrences, flapping, first_at, last_at, acknowledged_at, acknowledged_by, "
           "resolved_at, resolved_by, resolution_note, in_maintenance, incident_id")


def open_by_fingerprint(c: Conn, tenant_id: int, fingerprint: str) -> dict[str, Any] | None:
    return c.one(f"SELECT {COLUMNS} FROM alerts WHERE tenant_id = ? AND fingerprint = ? AND state <> 'resolved'",
                 (tenant_id, fingerprint))


def resolved_since(c: Conn, tenant_id: int, fingerprint: str, since: int) -> int:
    return int(c.value("SELECT count(*) FROM alerts WHERE tenant_id = ? AND fingerprint = ? AND resolved_at >= ?",
                       (tenant_id, fingerprint, since)) or 0)


def insert(c: Conn, a: dict[str, Any]) -> int:
    return int(c.value(
        "INSERT INTO alerts (tenant_id, organization_id, device_id, source, rule, subject, fingerprint, severity, "
        "state, title, message, details, flapping, first_at, last_at, in_maintenance) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'triggered', ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (a["tenant_id"], a["organization_id"], a["device_id"], a["source"], a["rule"], a["subject"], a["fingerprint"],
         a["severity"], a["title"], a["message"], a["details"], a["flapping"], a["first_at"], a["last_at"],
         a["in_maintenance"])))


def occurred(c: Conn, alert_id: int, severity: str, title: str, message: str, now: int) -> None:
    c.execute("UPDATE alerts SET occurrences = occurrences + 1, last_at = ?, severity = ?, title = ?, message = ? "
              "WHERE id = ?", (now, severity, title, message, alert_id))


def acknowledge(c: Conn, alert_id: int, user_id: int | None, now: int) -> None:
    c.execute("UPDATE alerts SET state = 'acknowledged', acknowledged_at = ?, acknowledged_by = ? WHERE id = ?",
              (now, user_id, alert_id))


def resolve(c: Conn, alert_id: int, user_id: int | None, note: str, now: int) -> None:
    c.execute("UPDATE alerts SET state = 'resolved', resolved_at = ?, resolved_by = ?, resolution_note = ? "
              "WHERE id = ?", (now, user_id, note, alert_id))


def transition(c: Conn, tenant_id: int, alert_id: int, kind: str, now: int, user_id: int | None = None,
               actor: str = "", note: str = "") -> None:
    c.execute("INSERT INTO alert_transitions (tenant_id, alert_id, at, kind, user_id, actor, note) "
              "VALUES (?, ?, ?, ?, ?, ?, ?)", (tenant_id, alert_id, now, kind, user_id, actor, note))


def get(c: Conn, tenant_id: int, alert_id: int) -> dict[str, Any] | None:
    return c.one(f"SELECT {COLUMNS} FROM alerts WHERE tenant_id = ? AND id = ?", (tenant_id, alert_id))


def transitions(c: Conn, tenant_id: int, alert_id: int) -> list[dict[str, Any]]:
    return c.all("SELECT at, kind, user_id, actor, note FROM alert_transitions WHERE tenant_id = ? AND alert_id = ? "
                 "ORDER BY id", (tenant_id, alert_id))


def _scope(tenant_id: int, orgs: frozenset[int] | None) -> tuple[list[str], list[Any]]:
    where, args = ["a.tenant_id = ?"], [tenant_id]
    if orgs is not None:
        if not orgs:
            return ["1 = 0"], []
        where.append(f"a.organization_id IN ({', '.join('?' for _ in orgs)})")
        args += sorted(orgs)
    return where, args


STATE_FILTERS = {"open": "a.state <> 'resolved'", "triggered": "a.state = 'triggered'",
                 "acknowledged": "a.state = 'acknowledged'", "resolved": "a.state = 'resolved'", "all": "1 = 1"}


def search(c: Conn, tenant_id: int, orgs: frozenset[int] | None, *, state: str, severity: str,
           organization_id: int | None, device_id: int | None, since: int | None, limit: int,
           offset: int, alert_id: int | None = None, incident_id: int | None = None) -> tuple[list[dict[str, Any]], int]:
    where, args = _scope(tenant_id, orgs)
    where.append(STATE_FILTERS[state])
    for column, value in (("a.severity", severity or None), ("a.organization_id", organization_id),
                          ("a.device_id", device_id), ("a.id", alert_id), ("a.incident_id", incident_id)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if since is not None:
        where.append("a.first_at >= ?")
        args.append(since)
    clause = " AND ".join(where)
    total = int(c.value(f"SELECT count(*) FROM alerts a WHERE {clause}", tuple(args)) or 0)
    rows = c.all(
        f"SELECT {', '.join('a.' + col.strip() for col in COLUMNS.split(','))}, d.hostname AS device_hostname, "
        "o.name AS organization_name FROM alerts a LEFT JOIN devices d ON d.id = a.device_id "
        f"LEFT JOIN organizations o ON o.id = a.organization_id WHERE {clause} "
        "ORDER BY CASE a.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, a.last_at DESC, a.id DESC "
        "LIMIT ? OFFSET ?", (*args, limit, offset))
    return rows, total


def open_count(c: Conn, tenant_id: int, orgs: frozenset[int] | None) -> int:
    where, args = _scope(tenant_id, orgs)
    return int(c.value(f"SELECT count(*) FROM alerts a WHERE {' AND '.join(where)} AND a.state = 'triggered'",
                       tuple(args)) or 0)

