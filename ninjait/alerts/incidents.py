"""Incidents: one rule firing on many devices of one organization within ``GROUP_WINDOW`` seconds (a
switch died, a bad patch) is one incident; its member alerts keep their own lifecycle. Only the first
member is notified: the others fold into it (routing skips them), so a technician gets one message,
not forty. An incident is open while any member is.
"""

from __future__ import annotations

from typing import Any

from ninjait.core.errors import NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Principal

GROUP_WINDOW = 600


def attach(c: Any, alert_id: int, tenant_id: int, organization_id: int | None, rule: str, title: str,
           at: int) -> int | None:
    """Inside the transaction that opened the alert: join (or start) the incident of the same rule in the same
    organization whose alerts were raised in the last GROUP_WINDOW seconds. Returns the incident id."""
    other = c.one("SELECT id, incident_id, title FROM alerts WHERE tenant_id = ? AND organization_id IS NOT DISTINCT FROM ? "
                  "AND rule = ? AND id <> ? AND state <> 'resolved' AND first_at >= ? ORDER BY id LIMIT 1",
                  (tenant_id, organization_id, rule, alert_id, at - GROUP_WINDOW))
    if other is None:
        return None
    incident_id = other["incident_id"]
    if incident_id is None:
        incident_id = int(c.value("INSERT INTO alert_incidents (tenant_id, organization_id, rule, title, first_at, "
                                  "last_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                                  (tenant_id, organization_id, rule, title, at, at)))
        c.execute("UPDATE alerts SET incident_id = ? WHERE id = ?", (incident_id, other["id"]))
    c.execute("UPDATE alerts SET incident_id = ? WHERE id = ?", (incident_id, alert_id))
    c.execute("UPDATE alert_incidents SET last_at = ? WHERE id = ?", (at, incident_id))
    return incident_id


def folded(c: Any, alert: dict[str, Any]) -> bool:
    """True when an earlier member of the alert's incident stands for it in notifications."""
    if not alert.get("incident_id"):
        return False
    return c.value("SELECT 1 FROM alerts WHERE incident_id = ? AND id < ? LIMIT 1",
                   (alert["incident_id"], alert["id"])) is not None


def _out(c: Any, row: dict[str, Any]) -> dict[str, Any]:
    members = c.all("SELECT a.id, a.state, a.severity, a.device_id, d.hostname AS device_hostname FROM alerts a "
                    "LEFT JOIN devices d ON d.id = a.device_id WHERE a.incident_id = ? ORDER BY a.id", (row["id"],))
    return {**row, "alerts": members, "open": any(m["state"] != "resolved" for m in members),
            "devices": len({m["device_id"] for m in members})}


def _scoped(p: Principal) -> tuple[str, list[Any]]:
    orgs = p.organizations_for("alerts.read")
    if orgs is None:
        return "", []
    return f" AND organization_id IN ({', '.join('?' for _ in orgs) or 'NULL'})", sorted(orgs)


def get_incident(rt: Runtime, p: Principal, incident_id: int) -> dict[str, Any]:
    scope, args = _scoped(p)
    with rt.db.read() as c:
        row = c.one("SELECT id, organization_id, rule, title, first_at, last_at FROM alert_incidents "
                    f"WHERE tenant_id = ? AND id = ?{scope}", (p.tenant_id, incident_id, *args))
        if row is None:
            raise NotFound("incident not found")
        return _out(c, row)


def list_incidents(rt: Runtime, p: Principal, limit: int = 100) -> list[dict[str, Any]]:
    scope, args = _scoped(p)
    with rt.db.read() as c:
        rows = c.all("SELECT id, organization_id, rule, title, first_at, last_at FROM alert_incidents "
                     f"WHERE tenant_id = ?{scope} ORDER BY last_at DESC, id DESC LIMIT ?", (p.tenant_id, *args, limit))
        return [_out(c, r) for r in rows]
