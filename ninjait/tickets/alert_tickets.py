"""Alert -> ticket: a tenant setting opens a ticket for every new alert of at least a severity.

The ticket gets the alert's organization and device, a priority from its severity (critical P1, warning P2,
info P3), source ``alert`` and the alert's id. A later alert of the same rule on the same device (the condition
came back) adds a note to the still-open ticket instead of opening another. With ``resolve_with_alert`` the
ticket moves to the tenant's first resolved-type status when the alert resolves. Alerts without an
organization (tenant-wide conditions) open no ticket: a ticket belongs to an organization.
"""

from __future__ import annotations

from typing import Any

from ninjait.core.errors import Invalid
from ninjait.core.events import Event
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import SYSTEM, Actor, Principal
from ninjait.tickets import service, store

SEVERITIES = ("info", "warning", "critical")
PRIORITY_OF = {"critical": "P1", "warning": "P2", "info": "P3"}
_system = service.system_principal


def get_settings(rt: Runtime, p: Principal) -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.alert_settings(c, p.tenant_id)
    return {"min_severity": row["min_severity"], "resolve_with_alert": bool(row["resolve_with_alert"])}


def save_settings(rt: Runtime, p: Principal, actor: Actor, min_severity: str, resolve_with_alert: bool) -> dict[str, Any]:
    p.require_everywhere("tickets.write", "alert tickets are tenant-wide")
    if min_severity and min_severity not in SEVERITIES:
        raise Invalid(f"min_severity must be one of {', '.join(SEVERITIES)} (or empty: off)", field="min_severity")
    rt.db.write(lambda c: store.save_alert_settings(c, p.tenant_id, min_severity, resolve_with_alert))
    rt.bus.emit("ticket_alert_settings.updated", p.tenant_id, actor.as_dict(), object_type="tenant",
                object_id=p.tenant_id, summary={"min_severity": min_severity, "resolve_with_alert": resolve_with_alert})
    return get_settings(rt, p)


def on_triggered(rt: Runtime, event: Event) -> int | None:
    """The ticket opened or added to, if the tenant wants one for this alert."""
    alert = event.data["summary"]
    tenant_id = event.tenant_id
    if tenant_id is None or alert.get("organization_id") is None:
        return None
    p = _system(tenant_id)
    settings = get_settings(rt, p)
    wanted = settings["min_severity"]
    if not wanted or SEVERITIES.index(alert["severity"]) < SEVERITIES.index(wanted):
        return None
    key = f"{alert['rule']}|{alert['device_id']}"
    with rt.db.read() as c:
        current = store.open_for_alert_key(c, tenant_id, key)
    if current is not None:
        service.add_comment(rt, p, SYSTEM, current["id"], "note",
                            f"Alert {alert['alert_id']} ({alert['severity']}) again: {alert['title']}")
        return int(current["id"])
    ticket = service.create_ticket(rt, p, SYSTEM, {
        "subject": alert["title"][:200], "organization_id": alert["organization_id"],
        "priority": PRIORITY_OF.get(alert["severity"], "P3"),
        "description": f"Opened for alert {alert['alert_id']} ({alert['severity']}, rule {alert['rule']}).",
        "device_ids": [alert["device_id"]] if alert.get("device_id") else []},
        source="alert", alert_id=alert["alert_id"])
    rt.db.write(lambda c: store.set_alert_key(c, tenant_id, ticket["id"], key))
    return int(ticket["id"])


def on_resolved(rt: Runtime, event: Event) -> int | None:
    alert = event.data["summary"]
    tenant_id = event.tenant_id
    if tenant_id is None:
        return None
    p = _system(tenant_id)
    if not get_settings(rt, p)["resolve_with_alert"]:
        return None
    with rt.db.read() as c:
        current = store.open_for_alert_key(c, tenant_id, f"{alert['rule']}|{alert['device_id']}")
        resolved = store.first_status_of_type(c, tenant_id, "resolved") or \
            store.first_status_of_type(c, tenant_id, "closed")
    if current is None or resolved is None:
        return None
    service.add_comment(rt, p, SYSTEM, current["id"], "note", f"Alert {alert['alert_id']} resolved: "
                        f"{alert.get('note') or 'the condition cleared'}")
    service.update_ticket(rt, p, SYSTEM, current["id"], {"status_id": resolved["id"]})
    return int(current["id"])


def subscribe(rt: Runtime) -> None:
    rt.bus.subscribe("alert.triggered", lambda e: on_triggered(rt, e))
    rt.bus.subscribe("alert.resolved", lambda e: on_resolved(rt, e))
