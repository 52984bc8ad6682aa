"""Background work of alerts: sending notifications, the outbox sweeper, reminders."""

from __future__ import annotations

import logging

from ninjait.alerts import channels, escalation, notify
from ninjait.core import runtime
from ninjait.core.queue import crontab, huey

log = logging.getLogger("ninjait.notifications")


@huey.task()
def send_notification(delivery_id: int) -> None:
    channels.deliver(runtime.current(), delivery_id)


@huey.periodic_task(crontab(minute="*"))
def sweep_notifications() -> None:
    """Retries that are due, and deliveries whose task was lost (a restart between enqueue and send)."""
    rt = runtime.current()
    for delivery_id in channels.due(rt):
        channels.deliver(rt, delivery_id)


@huey.periodic_task(crontab(minute="*"))
def remind() -> None:
    rt = runtime.current()
    made = notify.reminders(rt)
    for delivery_id in made:
        send_notification(delivery_id)
    if made:
        log.info("reminders queued", extra={"fields": {"count": len(made)}})


@huey.periodic_task(crontab(minute="*"))
def escalate() -> None:
    """The due steps of escalation policies for alerts nobody has acknowledged."""
    for delivery_id in escalation.advance(runtime.current()):
        send_notification(delivery_id)
