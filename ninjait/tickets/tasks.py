"""Background work of tickets: SLA warnings and breaches."""

from __future__ import annotations

from ninjait.core import runtime
from ninjait.core.queue import crontab, huey
from ninjait.tickets import sla_policies


@huey.periodic_task(crontab(minute="*"))
def sla_timers() -> None:
    sla_policies.advance(runtime.current())
