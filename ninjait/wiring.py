"""Connects the domains' event subscribers to a runtime's bus.

Every process that can change data calls this once after ``runtime.start``:
``serve`` (through ``create_app``), ``worker`` and CLI commands, so an event
is audited whichever process emits it.
"""

from __future__ import annotations

from typing import Any

from ninjait.core.runtime import Runtime


def connect_subscribers(runtime: Runtime) -> None:
    from ninjait.agents import service as agents_service
    from ninjait.audit import service as audit_service

    audit_service.subscribe(runtime.bus, runtime.db, runtime.keyring)
    agents_service.subscribe(runtime.bus)
    from ninjait.alerts import sources as alert_sources

    alert_sources.subscribe(runtime)
    from ninjait.alerts import notify

    notify.subscribe(runtime)
    from ninjait.alerts import escalation

    escalation.subscribe(runtime)
    from ninjait.alerts import actions

    actions.subscribe(runtime)
    from ninjait.alerts import event_rules

    event_rules.subscribe(runtime)
    from ninjait.tickets import alert_tickets, mail_out, sla_notify

    alert_tickets.subscribe(runtime)
    sla_notify.subscribe(runtime)
    mail_out.subscribe(runtime)
    from ninjait.tickets import mentions

    mentions.subscribe(runtime)


def load_tasks() -> None:
    """Import every domain's tasks so the consumer knows them (periodic ones included)."""
    import ninjait.alerts.tasks  # noqa: F401
    import ninjait.backup.tasks  # noqa: F401
    import ninjait.identity.tasks  # noqa: F401
    import ninjait.monitoring.checks.tasks  # noqa: F401
    import ninjait.monitoring.tasks  # noqa: F401
    import ninjait.portal.tasks  # noqa: F401
    import ninjait.tickets.tasks  # noqa: F401
    import ninjait.tickets.collab_tasks  # noqa: F401


def start_loops(runtime: Runtime) -> list[Any]:
    """Loops that must run more often than once a minute (Huey's finest schedule); each has stop()."""
    from ninjait.monitoring.checks.evaluate import Ticker

    loops: list[Any] = [Ticker(runtime).start()]
    if runtime.settings.mail_receiver_port:
        from ninjait.tickets.mail_receiver import MailReceiver

        loops.append(MailReceiver(runtime).start())
    return loops


def control_handlers(runtime: Runtime) -> dict[str, Any]:
    """Requests the CLI may send the running appliance over its control socket (core/control.py)."""
    from ninjait.backup import service as backups

    return {"backup.stream": lambda request, out: backups.stream(runtime, out)}
