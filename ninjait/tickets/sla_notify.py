"""Ticket SLA warnings and breaches told through the alerts' notification channels.

A channel hears of them when its ``notify_ticket_sla`` is on, its minimum severity allows it (a warning is
sent as severity warning, a breach as critical) and, if it is limited to some organizations, the ticket is
of one of them. Quiet hours hold warnings, never breaches. Deliveries go through the same outbox as alerts
(retries, delivery log); the ticket's assignee is also e-mailed when a clock breaches.
"""

from __future__ import annotations

from typing import Any

from ninjait.alerts import channels, notify
from ninjait.core.events import Event
from ninjait.core.runtime import Runtime
from ninjait.integrations.plugins import Message

CLOCK_NAMES = {"first_response": "first response", "next_response": "next response", "resolution": "resolution"}


def message_for(rt: Runtime, ticket: dict[str, Any], event: Event) -> Message:
    data = event.data["summary"]
    breached = event.name == "ticket.sla_breached"
    clock = CLOCK_NAMES.get(data.get("clock", ""), data.get("clock", ""))
    what = "breached" if breached else f"at {data.get('percent', 0):.0f} %"
    return Message(event="triggered", severity="critical" if breached else "warning",
                   title=f"SLA {'breached' if breached else 'warning'}: {ticket['number']} {ticket['subject']}"[:200],
                   text=f"The {clock} target of {ticket['number']} ({ticket['priority']}, {ticket['organization']}) "
                        f"is {what}.",
                   url=f"{rt.settings.base_url}/tickets/{ticket['id']}",
                   fingerprint=f"ninjait-{ticket['tenant_id']}-ticket-{ticket['id']}-{data.get('clock', '')}",
                   organization=ticket["organization"] or "", tenant=ticket["tenant"])


def _ticket(c: Any, tenant_id: int, ticket_id: int) -> dict[str, Any] | None:
    return c.one("SELECT t.id, t.tenant_id, t.number, t.subject, t.priority, t.organization_id, "
                 "o.name AS organization, tn.name AS tenant, u.email AS assignee_email FROM tickets t "
                 "JOIN tenants tn ON tn.id = t.tenant_id LEFT JOIN organizations o ON o.id = t.organization_id "
                 "LEFT JOIN users u ON u.id = t.assignee_id AND u.disabled = 0 "
                 "WHERE t.tenant_id = ? AND t.id = ?", (tenant_id, ticket_id))


def route(rt: Runtime, event: Event, now: float | None = None) -> list[int]:
    """Put a delivery in the outbox for every channel that should hear of this SLA event; returns their ids."""
    tenant_id, ticket_id = event.tenant_id, int(event.data["object_id"])

    def write(c: Any) -> list[int]:
        ticket = _ticket(c, tenant_id, ticket_id)
        if ticket is None:
            return []
        message = message_for(rt, ticket, event)
        made = notify.route_ticket_notice(c, tenant_id, ticket["organization_id"], message,
                                          message.at if now is None else now)
        if event.name == "ticket.sla_breached" and ticket["assignee_email"]:
            made.append(channels.enqueue_direct(c, tenant_id, None, "email", ticket["assignee_email"], message))
        return made

    return rt.db.write(write)


def on_sla_event(rt: Runtime, event: Event) -> None:
    from ninjait.alerts import tasks

    for delivery_id in route(rt, event):
        tasks.send_notification(delivery_id)


def subscribe(rt: Runtime) -> None:
    for name in ("ticket.sla_warning", "ticket.sla_breached"):
        rt.bus.subscribe(name, lambda e: on_sla_event(rt, e))
