"""Notification routing: which configured channels hear of an alert, and reminders while nobody acts.

Subscribes to ``alert.triggered``, ``alert.escalated`` and ``alert.resolved``. For each enabled channel
of the tenant whose rules match, one delivery goes into the outbox in one transaction; the deliveries
are then sent by the task queue (``tasks.send_notification``), and whatever is still due (a retry, a
task lost to a restart) by the minute sweeper.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ninjait.alerts import channels, incidents
from ninjait.core.events import Event
from ninjait.core.runtime import Runtime
from ninjait.integrations.plugins import Message

RANK = {s: i for i, s in enumerate(channels.SEVERITIES)}


def _alert(c: Any, alert_id: int) -> dict[str, Any] | None:
    return c.one("SELECT a.id, a.tenant_id, a.organization_id, a.title, a.message, a.severity, a.state, a.flapping, "
                 "a.in_maintenance, a.incident_id, a.fingerprint, "
                 "a.device_id, d.hostname, o.name AS organization, t.name AS tenant FROM alerts a "
                 "JOIN tenants t ON t.id = a.tenant_id LEFT JOIN devices d ON d.id = a.device_id "
                 "LEFT JOIN organizations o ON o.id = a.organization_id WHERE a.id = ?", (alert_id,))


def message_for(rt: Runtime, alert: dict[str, Any], event: str) -> Message:
    text = alert["message"] or alert["title"]
    if event == "resolved":
        text = f"Resolved. {text}"
    return Message(event=event, title=alert["title"], severity=alert["severity"], text=text,
                   url=f"{rt.settings.base_url}/alerts/{alert['id']}", alert_id=alert["id"],
                   fingerprint=f"ninjait-{alert['tenant_id']}-{alert['fingerprint']}", device=alert["hostname"] or "",
                   organization=alert["organization"] or "", tenant=alert["tenant"])


def _matching(c: Any, alert: dict[str, Any], event: str) -> list[dict[str, Any]]:
    if alert["in_maintenance"] or incidents.folded(c, alert):
        return []  # raised during a maintenance window, or an earlier member of its incident speaks for it
    rows = c.all("SELECT id, min_severity, notify_resolved, notify_flapping, organization_ids, group_ids, quiet_from, "
                 "quiet_to "
                 "FROM notification_channels "
                 "WHERE tenant_id = ? AND enabled = 1 ORDER BY id", (alert["tenant_id"],))
    chosen = []
    for ch in rows:
        if RANK[alert["severity"]] < RANK[ch["min_severity"]]:
            continue
        if alert["flapping"] and not ch["notify_flapping"]:
            continue
        only = json.loads(ch["organization_ids"] or "[]")
        if only and alert["organization_id"] not in only:
            continue  # a channel of some customers only (e.g. their own Teams channel)
        in_groups = json.loads(ch["group_ids"] or "[]")
        if in_groups and not c.value(
                f"SELECT 1 FROM device_group_members WHERE device_id = ? AND group_id IN "
                f"({', '.join('?' for _ in in_groups)})", (alert["device_id"], *in_groups)):
            continue  # a channel for some device groups only (e.g. the servers)
        told = c.value("SELECT count(*) FROM notification_deliveries WHERE alert_id = ? AND channel_id = ? "
                       "AND event IN ('triggered', 'reminder')", (alert["id"], ch["id"]))
        if event == "resolved" and (not ch["notify_resolved"] or not told):
            continue  # nobody is told of the end of what they never heard of
        if event == "triggered" and told:
            continue  # an escalation reaches only channels that did not hear of it yet
        chosen.append(ch)
    return chosen


def route(rt: Runtime, alert_id: int, event: str) -> list[int]:
    """Put a delivery in the outbox for every channel that should hear of this; returns their ids."""
    def write(c: Any) -> list[int]:
        alert = _alert(c, alert_id)
        if alert is None:
            return []
        message = message_for(rt, alert, event)
        now = time.time()
        made = []
        for ch in _matching(c, alert, event):
            made.append(channels.enqueue(c, alert["tenant_id"], ch["id"], alert_id, message,
                                         not_before=_not_before(ch, alert["severity"], now)))
        return made

    return rt.db.write(write)


def _not_before(channel: dict[str, Any], severity: str, now: float) -> int | None:
    """In a channel's quiet hours only critical messages go out; the rest wait for the hours to end."""
    return None if severity == "critical" else channels.quiet_until(channel["quiet_from"], channel["quiet_to"], now)


def route_ticket_notice(c: Any, tenant_id: int, organization_id: int, message: Message, now: float) -> list[int]:
    """A service-desk notice (an SLA warning or breach) into the outbox of every enabled channel that opted in
    (``notify_ticket_sla``) and whose minimum severity and organizations let it through."""
    made = []
    for ch in c.all("SELECT id, min_severity, organization_ids, quiet_from, quiet_to FROM notification_channels "
                    "WHERE tenant_id = ? AND enabled = 1 AND notify_ticket_sla = 1 ORDER BY id", (tenant_id,)):
        only = json.loads(ch["organization_ids"] or "[]")
        if RANK[message.severity] < RANK[ch["min_severity"]] or (only and organization_id not in only):
            continue
        made.append(channels.enqueue(c, tenant_id, ch["id"], None, message,
                                     not_before=_not_before(ch, message.severity, now)))
    return made


def _send_later(delivery_ids: list[int]) -> None:
    from ninjait.alerts import tasks

    for delivery_id in delivery_ids:
        tasks.send_notification(delivery_id)


def on_alert(rt: Runtime, event: Event) -> None:
    kind = {"alert.triggered": "triggered", "alert.escalated": "triggered", "alert.resolved": "resolved"}[event.name]
    _send_later(route(rt, int(event.data["object_id"]), kind))


def reminders(rt: Runtime, now: float | None = None) -> list[int]:
    """A reminder for each unacknowledged alert whose channel asks for one and last heard of it
    ``renotify_minutes`` ago or longer."""
    at = int(time.time() if now is None else now)

    def write(c: Any) -> list[int]:
        due = c.all(
            "SELECT d.alert_id, d.channel_id, ch.renotify_minutes, max(d.created_at) AS last FROM notification_deliveries d "
            "JOIN notification_channels ch ON ch.id = d.channel_id JOIN alerts a ON a.id = d.alert_id "
            "WHERE a.state = 'triggered' AND a.in_maintenance = 0 AND ch.enabled = 1 AND ch.renotify_minutes > 0 "
            "AND d.event IN ('triggered', 'reminder') GROUP BY d.alert_id, d.channel_id, ch.renotify_minutes")
        made = []
        for row in due:
            if at - row["last"] < row["renotify_minutes"] * 60:
                continue
            alert = _alert(c, row["alert_id"])
            if alert is not None:
                made.append(channels.enqueue(c, alert["tenant_id"], row["channel_id"], alert["id"],
                                             message_for(rt, alert, "reminder")))
        return made

    return rt.db.write(write)


def subscribe(rt: Runtime) -> None:
    for name in ("alert.triggered", "alert.escalated", "alert.resolved"):
        rt.bus.subscribe(name, lambda e: on_alert(rt, e))
