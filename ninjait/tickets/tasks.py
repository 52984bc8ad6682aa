"""Background work of tickets: SLA warnings and breaches, recurring tickets."""

from __future__ import annotations

from ninjait.core import runtime
from ninjait.core.queue import crontab, huey
from ninjait.tickets import recurring, sla_policies


@huey.periodic_task(crontab(minute="*"))
def sla_timers() -> None:
    sla_policies.advance(runtime.current())


@huey.periodic_task(crontab(minute="*"))
def recurring_tickets() -> None:
    recurring.run_due(runtime.current())
