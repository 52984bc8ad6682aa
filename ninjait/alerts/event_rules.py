"""Alerts from any domain event the MSP picks: "alert me when an agent is revoked", "when a script
fails". A rule names the event, the severity, and optionally the event that resolves the alert again.
The alert's subject is the event's device (or its object type), so repeats fold into one open alert.

Rules are read through a per-runtime cache (CACHE_SECONDS; other processes see changes after that) because the subscriber sees every event.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from ninjait.alerts import service
from ninjait.alerts.sources import device_of
from ninjait.core.errors import Conflict, Invalid, NotFound
from ninjait.core.events import Event
from ninjait.core.runtime import Runtime, attached
from ninjait.identity.principal import Actor, Principal

EVENT_NAME = re.compile(r"^[a-z_]+\.[a-z_.]+$")
CACHE_SECONDS = 30
COLUMNS = "id, name, event, clear_event, severity, enabled, created_at"
# Events that never make an alert of their own (alerts' own events would loop).
NEVER = ("alert.",)


class _Cache:
    def __init__(self) -> None:
        self.rules: dict[int, list[dict[str, Any]]] = {}
        self.loaded_at = 0.0
        self.lock = threading.Lock()

    def for_tenant(self, rt: Runtime, tenant_id: int) -> list[dict[str, Any]]:
        with self.lock:
            if time.monotonic() - self.loaded_at > CACHE_SECONDS:
                with rt.db.read() as c:
                    rows = c.all(f"SELECT tenant_id, {COLUMNS} FROM alert_event_rules WHERE enabled = 1")
                self.rules = {}
                for r in rows:
                    self.rules.setdefault(r["tenant_id"], []).append(r)
                self.loaded_at = time.monotonic()
            return self.rules.get(tenant_id, [])

    def forget(self) -> None:
        with self.lock:
            self.loaded_at = 0.0


def _cache(rt: Runtime) -> _Cache:
    return attached(rt, "event_rule_cache", _Cache)


def _check_event(name: str, value: str, required: bool) -> str:
    value = value.strip()
    if (required or value) and (not EVENT_NAME.match(value) or value.startswith(NEVER) or len(value) > 100):
        raise Invalid(f"{name} is an event name like agent.revoked (not an alert.* event)", field=name)
    return value


def create_rule(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    service.require_tenant_wide(p, "event rules")
    name = str(data.get("name", "")).strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("name must be 1 to 100 characters", field="name")
    event = _check_event("event", str(data.get("event", "")), True)
    clear = _check_event("clear_event", str(data.get("clear_event", "")), False)
    if data.get("severity", "warning") not in service.SEVERITIES:
        raise Invalid(f"severity must be one of {', '.join(service.SEVERITIES)}", field="severity")

    def write(c: Any) -> int:
        if c.value("SELECT 1 FROM alert_event_rules WHERE tenant_id = ? AND name = ?", (p.tenant_id, name)):
            raise Conflict(f"an event rule named {name!r} exists", field="name")
        return int(c.value("INSERT INTO alert_event_rules (tenant_id, name, event, clear_event, severity, enabled, "
                           "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                           (p.tenant_id, name, event, clear, data.get("severity", "warning"),
                            int(bool(data.get("enabled", True))), int(time.time()))))

    rule_id = rt.db.write(write)
    _cache(rt).forget()
    rt.bus.emit("alert_event_rule.created", p.tenant_id, actor.as_dict(), object_type="alert_event_rule",
                object_id=rule_id, summary={"name": name, "event": event})
    return get_rule(rt, p, rule_id)


def get_rule(rt: Runtime, p: Principal, rule_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = c.one(f"SELECT {COLUMNS} FROM alert_event_rules WHERE tenant_id = ? AND id = ?", (p.tenant_id, rule_id))
    if row is None:
        raise NotFound("event rule not found")
    return {**row, "enabled": bool(row["enabled"])}


def list_rules(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        rows = c.all(f"SELECT {COLUMNS} FROM alert_event_rules WHERE tenant_id = ? ORDER BY name", (p.tenant_id,))
    return [{**r, "enabled": bool(r["enabled"])} for r in rows]


def delete_rule(rt: Runtime, p: Principal, actor: Actor, rule_id: int) -> None:
    service.require_tenant_wide(p, "event rules")
    get_rule(rt, p, rule_id)
    rt.db.write(lambda c: c.execute("DELETE FROM alert_event_rules WHERE tenant_id = ? AND id = ?",
                                    (p.tenant_id, rule_id)))
    _cache(rt).forget()
    rt.bus.emit("alert_event_rule.deleted", p.tenant_id, actor.as_dict(), object_type="alert_event_rule",
                object_id=rule_id)


def on_event(rt: Runtime, event: Event) -> None:
    if event.tenant_id is None or event.name.startswith(NEVER):
        return
    rules = [r for r in _cache(rt).for_tenant(rt, event.tenant_id) if event.name in (r["event"], r["clear_event"])]
    if not rules:
        return
    object_type, object_id = event.data.get("object_type") or "", event.data.get("object_id")
    device_id = int(object_id) if object_type == "device" and object_id is not None else None
    subject = f"device:{device_id}" if device_id else object_type or "tenant"
    for r in rules:
        if event.name == r["clear_event"]:
            service.clear(rt, event.tenant_id, f"event:{r['id']}", subject, note=f"{event.name} happened")
            continue
        device = None
        if device_id:
            device = device_of(rt, event.tenant_id, device_id)
        where = f" on {device['hostname']}" if device else ""
        service.trigger(rt, service.Condition(
            tenant_id=event.tenant_id, rule=f"event:{r['id']}", subject=subject, source="event", severity=r["severity"],
            title=f"{r['name']}{where}", message=_message(event)[:2000],
            organization_id=device["organization_id"] if device else None, device_id=device_id if device else None,
            details={"event": event.name, "summary": event.data.get("summary") or {}}))


def _message(event: Event) -> str:
    summary = event.data.get("summary") or {}
    if "message" in summary:  # e.g. agent.event: what the endpoint logged
        return f"{summary.get('source') or event.name}: {summary['message']}"
    return f"{event.name}: {summary}"


def subscribe(rt: Runtime) -> None:
    rt.bus.subscribe("*", lambda e: on_event(rt, e))
