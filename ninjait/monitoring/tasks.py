"""Periodic work of monitoring. They run in the `serve` process, which owns the DuckDB file."""

from __future__ import annotations

import logging

from ninjait.core import runtime
from ninjait.core.queue import crontab, huey
from ninjait.monitoring import service

log = logging.getLogger("ninjait.monitoring")


@huey.periodic_task(crontab(minute="*"), retries=2, retry_delay=10)
def move_metrics() -> None:
    moved = service.move_hot_samples(runtime.current())
    if moved:
        log.info("moved metric samples to the analytics store", extra={"fields": {"rows": moved}})


@huey.periodic_task(crontab(minute="*"))
def device_status() -> None:
    service.evaluate_statuses(runtime.current())


@huey.periodic_task(crontab(minute="17"))
def purge_metrics() -> None:
    removed = service.purge(runtime.current())
    log.info("purged old metrics", extra={"fields": removed})
