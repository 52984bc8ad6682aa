"""Background work of ticket collaboration: deleting attachment files whose rows are gone."""

from __future__ import annotations

from ninjait.core import runtime
from ninjait.core.queue import crontab, huey
from ninjait.tickets import attachments


@huey.periodic_task(crontab(minute="17"))
def sweep_attachment_files() -> None:
    attachments.sweep_orphans(runtime.current())
