"""What raises and clears alerts: domain events on the bus.

* ``device.status_changed``: overdue (warning) or offline (critical) raises ``device.unreachable`` for the
  device; back online clears it.
* ``check.failed`` / ``check.recovered``: raises / clears ``check:<id>`` for the device, at the check's severity.

Handlers run in the publisher's thread after its commit, one short write each.
"""

from __future__ import annotations

import logging
from typing import Any

from ninjait.alerts import service
from ninjait.devices import store as device_store
from ninjait.core.events import Event
from ninjait.core.runtime import Runtime

log = logging.getLogger("ninjait.alerts")
UNREACHABLE = "device.unreachable"


def device_of(rt: Runtime, tenant_id: int, device_id: int) -> dict[str, Any] | None:
    with rt.db.read() as c:
        return device_store.brief(c, tenant_id, device_id)


def on_device_status(rt: Runtime, event: Event) -> None:
    device_id = int(event.data.get("object_id") or 0)
    change = event.data.get("summary") or {}
    to = change.get("to")
    if event.tenant_id is None or not device_id:
        return
    subject = f"device:{device_id}"
    if to == "online":
        service.clear(rt, event.tenant_id, UNREACHABLE, subject, note="the device checked in again")
        return
    if to not in ("overdue", "offline"):
        return
    device = device_of(rt, event.tenant_id, device_id)
    if device is None:
        return
    hostname = device["hostname"]
    offline = to == "offline"
    service.trigger(rt, service.Condition(
        tenant_id=event.tenant_id, rule=UNREACHABLE, subject=subject, source="device_status",
        severity="critical" if offline else "warning",
        title=f"{hostname} is offline" if offline else f"{hostname} missed its check-ins",
        message=f"status {change.get('from', '?')} → {to}", organization_id=device["organization_id"],
        device_id=device_id, details={"from": change.get("from"), "to": to}))


def on_check(rt: Runtime, event: Event) -> None:
    data = {**event.data, **(event.data.get("summary") or {})}
    device_id, check_id = int(data.get("device_id") or 0), data.get("check_id")
    if event.tenant_id is None or not device_id or check_id is None:
        return
    rule, subject = f"check:{check_id}", f"device:{device_id}"
    if event.name == "check.recovered":
        service.clear(rt, event.tenant_id, rule, subject, note="the check passes again")
        return
    device = device_of(rt, event.tenant_id, device_id)
    if device is None:
        return
    severity = data.get("severity") if data.get("severity") in service.SEVERITIES else "warning"
    name = data.get("name") or data.get("check_name") or f"check {check_id}"
    service.trigger(rt, service.Condition(
        tenant_id=event.tenant_id, rule=rule, subject=subject, source="check", severity=severity,
        title=f"{name} failed on {device['hostname']}", message=str(data.get("message") or data.get("value") or ""),
        organization_id=device["organization_id"], device_id=device_id,
        details={k: data.get(k) for k in ("check_id", "kind", "state", "value", "message") if k in data}))


def on_check_gone(rt: Runtime, event: Event) -> None:
    """A deleted check, or a device taken out of one, cannot recover: its open alerts resolve."""
    if event.tenant_id is None:
        return
    rule = f"check:{event.data.get('object_id')}"
    if event.name == "check.deleted":
        service.clear_rule(rt, event.tenant_id, rule, note="the check was deleted")
    else:
        device_id = (event.data.get("summary") or {}).get("device_id")
        service.clear(rt, event.tenant_id, rule, f"device:{device_id}", note="the device was excluded from the check")


def subscribe(rt: Runtime) -> None:
    rt.bus.subscribe("device.status_changed", lambda e: on_device_status(rt, e))
    rt.bus.subscribe("check.failed", lambda e: on_check(rt, e))
    rt.bus.subscribe("check.recovered", lambda e: on_check(rt, e))
    rt.bus.subscribe("check.deleted", lambda e: on_check_gone(rt, e))
    rt.bus.subscribe("check.device_excluded", lambda e: on_check_gone(rt, e))
