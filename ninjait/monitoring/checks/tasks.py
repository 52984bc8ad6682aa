"""Periodic work of checks: agent-offline checks and the appliance's probes every minute, history purge hourly.

Sample-driven checks and agent results are evaluated every few seconds by the evaluator's own loop
(`evaluate.Ticker`, started by `ninjait serve`): Huey's periodic tasks run at most once a minute.
"""

from __future__ import annotations

import logging

from ninjait.core import runtime
from ninjait.core.queue import crontab, huey
from ninjait.monitoring.checks import evaluate, probes

log = logging.getLogger("ninjait.checks")


@huey.periodic_task(crontab(minute="*"))
def agent_offline_checks() -> None:
    evaluate.offline_pass(runtime.current())


@huey.periodic_task(crontab(minute="*"))
def appliance_probes() -> None:
    probes.probe_pass(runtime.current())


@huey.periodic_task(crontab(minute="23"))
def purge_check_results() -> None:
    removed = evaluate.purge(runtime.current())
    if removed:
        log.info("purged old check results", extra={"fields": {"rows": removed}})
