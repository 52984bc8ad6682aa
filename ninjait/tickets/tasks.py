"""Background work of tickets: SLA warnings and breaches, ticket e-mail out (and its retries), mailboxes in."""

from __future__ import annotations

from ninjait.core import runtime
from ninjait.core.queue import crontab, huey
from ninjait.tickets import mail_imap, mail_out, sla_policies


@huey.periodic_task(crontab(minute="*"))
def sla_timers() -> None:
    sla_policies.advance(runtime.current())


@huey.task()
def send_ticket_mail(outbox_id: int) -> None:
    mail_out.send(runtime.current(), outbox_id)


@huey.periodic_task(crontab(minute="*"))
def sweep_ticket_mail() -> None:
    """Retries that are due, and messages whose task was lost (a restart between queueing and sending)."""
    rt = runtime.current()
    for outbox_id in mail_out.due(rt):
        mail_out.send(rt, outbox_id)


@huey.periodic_task(crontab(minute="*"))
def poll_mailboxes() -> None:
    mail_imap.poll_due(runtime.current())
