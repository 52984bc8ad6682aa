"""Periodic and requested backups. They run in `serve`, the process that holds DuckDB."""

from __future__ import annotations

from typing import Any

from ninjait.backup import service
from ninjait.core import runtime
from ninjait.core.errors import Conflict
from ninjait.core.queue import crontab, huey


@huey.periodic_task(crontab(minute="*/5"))
def scheduled_backup() -> None:
    # Checks whether one is due (backup_schedule_hours after the newest backup): the schedule
    # survives restarts and any hours value, and a second run finds nothing due.
    service.run_scheduled(runtime.current())


@huey.task()
def backup_now(actor: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """A backup somebody asked for (Settings → Backups, POST /api/v1/backups)."""
    try:
        return service.run(runtime.current(), "manual", actor)
    except Conflict:
        return None  # one is running already: its archive answers the request
